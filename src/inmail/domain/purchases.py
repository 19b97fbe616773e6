"""Credit packs and automatic overage: buying, previewing, the per-cycle limit (SPEC §6)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from inmail.domain.credits import (
    Book,
    Charge,
    ChargeKind,
    EntryKind,
    Lot,
    LotSource,
    lifetime_end,
)
from inmail.domain.errors import CostChanged, OverageLimitReached, PacksNotOnPlan
from inmail.domain.money import Money
from inmail.domain.plans import Pack, Plan


@dataclass(frozen=True, slots=True)
class PackPurchase:
    charge: Charge
    lot: Lot


def buy_pack(
    book: Book, plan: Plan, pack: Pack, now: datetime, *, overage: bool = False
) -> PackPurchase:
    """Record the charge and grant the pack's credits at once (SPEC §6)."""
    if not plan.packs:
        raise PacksNotOnPlan(f"the {plan.name} plan cannot buy credit packs")
    kind = ChargeKind.OVERAGE if overage else ChargeKind.PACK
    charge = Charge(kind, pack.price, now, f"pack:{pack.code}", credits=pack.credits)
    book.charge(charge)
    lot = book.grant(
        kind=EntryKind.GRANT,
        source=LotSource.OVERAGE if overage else LotSource.PURCHASE,
        credits=pack.credits,
        at=now,
        expires_at=lifetime_end(now, plan.pack_credit_lifetime_days),
        reference=f"charge:{charge.id}",
    )
    return PackPurchase(charge, lot)


@dataclass(frozen=True, slots=True)
class PackPreview:
    """What :func:`buy_pack` would charge and grant now, and the balance after it."""

    pack: Pack
    charge: Money
    credits: int
    expires_at: datetime | None
    balance_after: int


def preview_pack(book: Book, plan: Plan, pack: Pack, now: datetime) -> PackPreview:
    """Run :func:`buy_pack` on a copy of the book: same rule, same refusal, nothing kept."""
    scratch = copy.deepcopy(book)
    bought = buy_pack(scratch, plan, pack, now)
    return PackPreview(
        pack, bought.charge.price, bought.lot.granted, bought.lot.expires_at, scratch.balance
    )


@dataclass(frozen=True, slots=True)
class OverageSettings:
    auto_overage: bool = True
    limit_minor: int | None = None


def overage_packs(shortfall: int, pack: Pack) -> int:
    """How many overage packs cover ``shortfall`` credits."""
    return -(-shortfall // pack.credits)


def check_overage(settings: OverageSettings, spent_this_cycle: Money, cost: Money) -> None:
    """Refuse an automatic overage purchase that would pass the member's per-cycle limit."""
    limit = settings.limit_minor
    if limit is not None and spent_this_cycle.amount_minor + cost.amount_minor > limit:
        raise OverageLimitReached(
            f"buying {cost} of overage credits would pass your overage limit of "
            f"{Money(limit, cost.currency)} this cycle ({spent_this_cycle} used)"
        )


def check_agreed_charge(charge: Money | None, agreed_minor: int | None, what: str) -> None:
    """Never bill unseen: refuse a charge dearer than the one the member was shown.

    ``charge`` is what the write would bill (None: nothing); ``agreed_minor`` the
    amount shown, in minor units (0: no charge was shown); None means the
    caller agreed to what the rules bill (the API, whose callers can preview).
    Raises CostChanged, and the caller's transaction writes nothing.
    """
    if charge is None or agreed_minor is None or charge.amount_minor <= agreed_minor:
        return
    shown = "no charge" if agreed_minor == 0 else str(Money(agreed_minor, charge.currency))
    raise CostChanged(
        f"{what} now bills {charge}, but you were shown {shown}; nothing was charged: "
        "look at the new amount and confirm again"
    )


@dataclass(frozen=True, slots=True)
class CheaperPack:
    """A pack whose credits cost less each than overage's: ``per_credit`` vs ``overage_per_credit``
    (both rounded down to the minor unit, for showing)."""

    pack: Pack
    per_credit: Money
    overage_per_credit: Money


def packs_cheaper_than_overage(plan: Plan, packs: Iterable[Pack]) -> list[CheaperPack]:
    """The packs ``plan`` may buy whose price per credit is below its overage pack's (SPEC §6),
    cheapest per credit first; none when the plan has no packs or no overage.

    Compared exactly (price x credits of the other), in the overage pack's currency only.
    """
    every = list(packs)
    overage = next((p for p in every if p.code == plan.overage_pack), None)
    if not (plan.packs and plan.overage) or overage is None:
        return []
    o_price, o_credits = overage.price, overage.credits
    cheaper = [
        p
        for p in every
        if p.code != overage.code
        and p.price.currency == o_price.currency
        and p.price.amount_minor * o_credits < o_price.amount_minor * p.credits
    ]
    cheaper.sort(key=lambda p: (p.price.amount_minor / p.credits, p.credits))
    each = Money(o_price.amount_minor // o_credits, o_price.currency)
    return [
        CheaperPack(p, Money(p.price.amount_minor // p.credits, p.price.currency), each)
        for p in cheaper
    ]
