"""Spending, buying packs, credit-backs and adjustments: the writes that move credits."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Executable, Table

from inmail.domain.credits import (
    ADJUSTMENT_REASON,
    EntryKind,
    Lot,
    LotSource,
    draw,
    new_id,
    spending_order,
)
from inmail.domain.credits import credit_back as credit_back_rule
from inmail.domain.cycles import require_utc
from inmail.domain.errors import (
    AlreadySpent,
    Conflict,
    InmailNotOnPlan,
    InsufficientCredits,
    NotFound,
    UnknownPack,
    ValidationError,
)
from inmail.domain.events import Event
from inmail.domain.money import Money
from inmail.domain.plans import Pack
from inmail.domain.purchases import (
    OverageSettings,
    PackPreview,
    check_agreed_charge,
    check_overage,
    overage_packs,
    preview_pack,
)
from inmail.domain.purchases import buy_pack as buy_pack_rule
from inmail.observe.metrics import record_overage
from inmail.services.context import (
    Deps,
    OpenAccount,
    account_in_memory,
    lock_and_catch_up,
)
from inmail.services.idempotency import check_key, fingerprint, idempotent, replay
from inmail.services.seats import name_the_seat, open_payer
from inmail.services.settings import update_settings
from inmail.store import accounts as account_store
from inmail.store import catalog as catalog_store
from inmail.store import outbox
from inmail.store import refunds as refund_store
from inmail.store import spends as spend_store
from inmail.store.fast_spend import FastSpendRequest, Guard, Replay
from inmail.store.idempotency import StoredResponse
from inmail.store.messaging import notification_event, notify
from inmail.store.spends import SpendRecord
from inmail.store.tables import notifications

MAX_REFERENCE_LENGTH = 200


@dataclass(frozen=True, slots=True)
class SpendResult:
    spend_id: str
    reference: str
    cost: int
    balance_after: int
    overage_charge: Money | None


def spend_credits(
    deps: Deps,
    *,
    member_id: str,
    cost: int,
    reference: str,
    now: datetime,
    idempotency_key: str | None = None,
    also_insert: tuple[tuple[Table, dict[str, Any]], ...] = (),
    events: tuple[Event, ...] = (),
    also_execute: tuple[Executable, ...] = (),
    request: dict[str, object] | None = None,
    scope: str | None = None,
    agreed_overage_minor: int | None = None,
    then_execute: Callable[[SpendResult], tuple[Guard, ...]] | None = None,
) -> SpendResult:
    """Spend ``cost`` credits for ``reference`` (one InMail): atomic, never below zero.

    Plan credits go first, oldest first, then purchased ones by expiry. With
    too few credits the plan's overage pack is bought in the same transaction
    when the plan and the member allow it; otherwise nothing is written.

    ``also_insert`` rows (the message a spend pays for) are written in the
    same transaction: both exist or neither; each notification among them with its
    ``notification.created`` event, then ``events`` (the caller's, such as ``inmail.sent``),
    after the spend's own ledger events (docs/events.md). So are the ``also_execute``
    statements, each of which must change exactly one row (a conditional
    UPDATE that guards a rule), or the whole spend is refused with Conflict.
    ``request`` and ``scope`` name what an idempotency key guards (by
    default, this spend itself). ``agreed_overage_minor`` is the overage price
    the member was shown (0: none): an overage costing more is refused with
    CostChanged (None: whatever the rules bill). ``then_execute`` builds, from the
    spend's result (what it cost, the overage it billed), conditional UPDATEs
    (store.fast_spend.Guard) run last in the same transaction, each of which must
    change exactly one row (else Conflict, nothing written): a caller's bookkeeping that
    must hold with the charge, such as a bulk send's running total. Unlike
    ``also_execute`` they run on the hot path too. A replay runs none of them.
    """
    require_utc(now)
    _check_cost(cost)
    _check_reference(reference)
    request = request if request is not None else {"cost": cost, "reference": reference}
    scope = scope or f"spend:{member_id}"
    if idempotency_key is not None:
        check_key(idempotency_key)
    told = tuple(notification_event(v) for table, v in also_insert if table is notifications)
    order = FastSpendRequest(
        member_id, cost, reference, new_id("sp"), now, None, tuple(also_insert), (*told, *events)
    )
    if then_execute is not None:
        order = replace(order, then=lambda after: then_execute(_result(order, after)))
    fast = None if also_execute else _fast_spend(deps, order, scope, idempotency_key, request)
    if fast is not None:
        return fast

    written: list[SpendResult] = []

    def effect(conn: Connection) -> SpendResult:
        opened, seat = open_payer(deps, conn, member_id, now, cost)
        result = _spend(opened, cost, reference, now, agreed_overage_minor, seat)
        opened.save()
        for table, values in also_insert:
            conn.execute(table.insert().values(**values))
        outbox.append(conn, order.events)
        after = () if then_execute is None else then_execute(result)
        guarded = [(s, None) for s in also_execute] + [(g.statement, g.params) for g in after]
        for statement, params in guarded:
            if conn.execute(statement, params).rowcount != 1:
                raise Conflict(
                    "this changed while you were sending (an answer or another follow-up "
                    "arrived); nothing was charged: reload and try again"
                )
        if result.overage_charge is not None:
            notify(
                conn,
                member_id=member_id,
                at=now,
                kind="overage_purchase",
                text=f"Out of credits: {result.overage_charge} of overage credits were billed",
                reference=reference,
            )
        written.append(result)
        return result

    spent = idempotent(
        deps,
        member_id=member_id,
        scope=scope,
        key=idempotency_key,
        request=request,
        now=now,
        effect=effect,
        encode=encode_spend,
        decode=decode_spend,
    )
    # Counted once committed; a replayed first answer was counted when it was first billed.
    if written and spent is written[-1] and spent.overage_charge is not None:
        record_overage(spent.overage_charge)
    return spent


def _fast_spend(
    deps: Deps,
    order: FastSpendRequest,
    scope: str,
    key: str | None,
    request: dict[str, object],
) -> SpendResult | None:
    """The common case on the hot path (see store.fast_spend); None means: take the general path."""
    digest = "" if key is None else fingerprint(request)
    attempt = replace(order, key=None if key is None else (scope, key, digest))

    def encode(balance_after: int) -> str:
        return encode_spend(_result(order, balance_after))

    outcome = deps.db.fast_spend.spend(attempt, deps.plans.cached, encode)
    if isinstance(outcome, Replay):
        stored = StoredResponse(outcome.fingerprint, outcome.response)
        return replay(stored, digest, decode_spend)
    if outcome is None:
        return None
    return _result(order, outcome)


def _result(order: FastSpendRequest, balance_after: int) -> SpendResult:
    assert order.cost is not None  # spend_credits always names its cost
    return SpendResult(order.spend_id, order.reference, order.cost, balance_after, None)


def _spend(
    opened: OpenAccount,
    cost: int,
    reference: str,
    now: datetime,
    agreed_overage: int | None,
    seat: str | None = None,
) -> SpendResult:
    """Spend from the opened account; ``seat``: the team seat whose send the pool pays."""
    account, book = opened.account, opened.book
    first = len(book.entries)  # the lines this spend writes (after the catch-up's)
    plan = account.subscription.plan
    if cost > 0 and not plan.inmail:
        raise InmailNotOnPlan(
            f"the {plan.name} plan does not include InMail; purchased credits stay "
            "until they expire but can only be used on a plan with InMail"
        )
    if spend_store.find_spend(opened.conn, reference) is not None:
        raise AlreadySpent(f"{reference!r} has been paid for already")
    available = sum(lot.remaining for lot in spending_order(book.lots, now))
    overage = None
    if available < cost:
        overage = _buy_overage(opened, cost - available, now, agreed_overage, seat)
    draw(book, EntryKind.SPEND, cost, now, reference)
    name_the_seat(book, first, seat)
    record = SpendRecord(new_id("sp"), account.member_id, reference, cost, now, None, seat)
    spend_store.insert_spend(opened.conn, record)
    return SpendResult(record.id, reference, cost, book.balance, overage)


def _buy_overage(
    opened: OpenAccount, shortfall: int, now: datetime, agreed: int | None, seat: str | None
) -> Money:
    account, book = opened.account, opened.book
    plan = account.subscription.plan
    if not plan.overage:
        raise InsufficientCredits(
            f"you have {book.balance} credit(s); this needs {book.balance + shortfall} and the "
            f"{plan.name} plan has no automatic overage"
        )
    if seat is not None and not account.overage.auto_overage:
        # A pool's automatic overage is its admins' permission for seats (never silent).
        raise InsufficientCredits(
            f"your team's pool has {book.balance} credit(s); this needs "
            f"{book.balance + shortfall} and the team's admins have not allowed overage for seats"
        )
    if not account.overage.auto_overage:
        raise InsufficientCredits(
            f"you have {book.balance} credit(s); this needs {book.balance + shortfall} "
            "and automatic overage is turned off"
        )
    pack = _pack(opened.conn, plan.overage_pack)
    count = overage_packs(shortfall, pack)
    price = pack.price.times(count)
    check_agreed_charge(price, agreed, "sending (an overage purchase)")
    cycle = account.subscription.current_cycle(now)
    since = cycle.start if cycle is not None else now
    spent = account_store.overage_spent_since(opened.conn, account.member_id, since, price.currency)
    check_overage(account.overage, spent, price)
    for _ in range(count):
        buy_pack_rule(book, plan, pack, now, overage=True)
    return price


def _pack(conn: Connection, code: str) -> Pack:
    for pack in catalog_store.all_packs(conn):
        if pack.code == code:
            return pack
    raise UnknownPack(f"there is no credit pack {code!r}")


def _check_cost(cost: int) -> None:
    if isinstance(cost, bool) or not isinstance(cost, int) or cost < 0:
        raise ValidationError(
            f"cost must be a whole number of credits >= 0, not {cost!r}", field="cost"
        )


def _check_reference(reference: str) -> None:
    if not reference or len(reference) > MAX_REFERENCE_LENGTH or not reference.isprintable():
        raise ValidationError(
            f"a reference is 1 to {MAX_REFERENCE_LENGTH} printable characters", field="reference"
        )


def encode_spend(result: SpendResult) -> str:
    """A spend's answer as an idempotency key stores it (:func:`decode_spend` reads it)."""
    overage = result.overage_charge
    return json.dumps(
        {
            "spend_id": result.spend_id,
            "reference": result.reference,
            "cost": result.cost,
            "balance_after": result.balance_after,
            "overage": None if overage is None else [overage.amount_minor, overage.currency],
        }
    )


def decode_spend(text: str) -> SpendResult:
    """A stored spend answer. Raises Conflict for another answer under the same key.

    A key's scope can hold the answer of a free message (a thread post whose
    follow-up became a free message after a reply): the caller then looks the
    key up again and answers that (see services.idempotency.first_answer_or).
    """
    data = json.loads(text)
    if "spend_id" not in data:
        raise Conflict("this Idempotency-Key answered a message that cost nothing")
    overage = data["overage"]
    return SpendResult(
        data["spend_id"],
        data["reference"],
        data["cost"],
        data["balance_after"],
        None if overage is None else Money(overage[0], overage[1]),
    )


@dataclass(frozen=True, slots=True)
class Purchase:
    charge_id: str
    pack: str
    credits: int
    price: Money
    lot_id: int
    balance_after: int


def buy_pack(
    deps: Deps,
    *,
    member_id: str,
    pack: str,
    now: datetime,
    idempotency_key: str | None = None,
    agreed_minor: int | None = None,
    buyer_id: str | None = None,
) -> Purchase:
    """Buy a credit pack: a charge and a purchase lot, at once (SPEC §6).

    ``agreed_minor`` is the price the member was shown (a confirm page): a pack
    that now costs more is refused with CostChanged (None: today's price).
    ``buyer_id``: who buys for ``member_id``'s account when that is not themselves (a
    team admin for the pool); the idempotency key is theirs, so two admins who happen
    to pick the same key buy twice, as they asked.
    """
    require_utc(now)

    def effect(conn: Connection) -> Purchase:
        opened = lock_and_catch_up(deps, conn, member_id, now)
        chosen = _pack(conn, pack)
        check_agreed_charge(chosen.price, agreed_minor, "this pack")
        bought = buy_pack_rule(opened.book, opened.account.subscription.plan, chosen, now)
        opened.save()
        assert bought.lot.id is not None
        return Purchase(
            bought.charge.id,
            chosen.code,
            chosen.credits,
            chosen.price,
            bought.lot.id,
            opened.book.balance,
        )

    return idempotent(
        deps,
        member_id=member_id,
        scope=f"purchase:{member_id}" if buyer_id is None else f"purchase:{member_id}:{buyer_id}",
        key=idempotency_key,
        request={"pack": pack},
        now=now,
        effect=effect,
        encode=_encode_purchase,
        decode=_decode_purchase,
    )


def _encode_purchase(p: Purchase) -> str:
    return json.dumps(
        [
            p.charge_id,
            p.pack,
            p.credits,
            p.price.amount_minor,
            p.price.currency,
            p.lot_id,
            p.balance_after,
        ]
    )


def _decode_purchase(text: str) -> Purchase:
    charge_id, pack, credits, amount, currency, lot_id, balance = json.loads(text)
    return Purchase(charge_id, pack, credits, Money(amount, currency), lot_id, balance)


def refund_spend(deps: Deps, *, member_id: str, reference: str, now: datetime) -> int:
    """Credit-back: return a spend's credits to the lots they came from, at most once.

    Each lot keeps its expiry, so a credit returned to a lot that has expired
    in the meantime expires again at once, and one returned to a lot forfeited
    since (the cap, a cancel) is forfeited again at once: both entries are in
    the ledger (see domain.credits.credit_back). Returns the balance after.
    """
    require_utc(now)
    with deps.db.write() as conn:
        return credit_back(deps, conn, member_id=member_id, reference=reference, now=now)


def credit_back(
    deps: Deps, conn: Connection, *, member_id: str, reference: str, now: datetime
) -> int:
    """:func:`refund_spend` inside the caller's write transaction."""
    spend = spend_store.find_spend(conn, reference)
    # A seat's send was paid by its team's pool: the credit goes back there (SPEC §10).
    seat = None if spend is None or spend.seat_member_id != member_id else member_id
    holder = member_id if spend is None or seat is None else spend.member_id
    opened = lock_and_catch_up(deps, conn, holder, now)
    if spend is None or spend.member_id != holder:
        raise NotFound(f"member {member_id!r} has no spend {reference!r}")
    if not spend_store.mark_refunded(conn, spend.reference, now):
        raise Conflict(f"{reference!r} was refunded already")
    draws = spend_store.spend_draws(conn, holder, reference)
    since = spend_store.renewals_after(conn, holder, spend.at)
    since += [r.outcome for r in opened.renewals]  # applied by this catch-up, not saved yet
    capped = any(outcome.at_cap for outcome in since)
    first = len(opened.book.entries)
    refunded = refund_store.refunded_shares(conn, holder, [lot_id for lot_id, _ in draws])
    credit_back_rule(
        opened.book,
        _draw_lots(opened, draws),
        now,
        reference,
        capped_since=capped,
        refunded=refunded,
    )
    name_the_seat(opened.book, first, seat)
    opened.save()
    return opened.book.balance


def _draw_lots(opened: OpenAccount, draws: list[tuple[int, int]]) -> list[tuple[Lot, int]]:
    """The spend's (lot, credits), loading the lots the book left out (emptied since)."""
    book = opened.book
    by_id = {lot.id: lot for lot in book.lots}
    missing = [lot_id for lot_id, _ in draws if lot_id not in by_id]
    for lot in account_store.load_lots(opened.conn, missing):
        book.lots.append(lot)
        by_id[lot.id] = lot
    return [(by_id[lot_id], amount) for lot_id, amount in draws]


def adjust_credits(deps: Deps, *, member_id: str, amount: int, reason: str, now: datetime) -> int:
    """An operator's correction: a positive amount grants a lot, a negative one debits.

    Adjustment credits never expire and do not count toward the rollover cap.
    Returns the balance after.
    """
    require_utc(now)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise ValidationError(
            "an adjustment is a whole, non-zero number of credits", field="amount"
        )
    ADJUSTMENT_REASON.check(reason, field="reason")
    reference = f"adjustment:{reason.strip()}"
    with deps.db.write() as conn:
        opened = lock_and_catch_up(deps, conn, member_id, now)
        if amount > 0:
            opened.book.grant(
                kind=EntryKind.ADJUSTMENT,
                source=LotSource.ADJUSTMENT,
                credits=amount,
                at=now,
                expires_at=None,
                reference=reference,
            )
        else:
            draw(opened.book, EntryKind.ADJUSTMENT, -amount, now, reference)
        opened.save()
        return opened.book.balance


def update_overage_settings(
    deps: Deps, *, member_id: str, auto_overage: bool, limit_minor: int | None, now: datetime
) -> OverageSettings:
    """Turn automatic overage on or off and set the per-cycle spending limit (None: no limit)."""
    changes = {"auto_overage": auto_overage, "overage_limit_minor": limit_minor}
    updated = update_settings(deps, member_id=member_id, changes=changes, now=now)
    return OverageSettings(updated.auto_overage, updated.overage_limit_minor)


def preview_purchase(deps: Deps, *, member_id: str, pack: str, now: datetime) -> PackPreview:
    """What :func:`buy_pack` would charge and grant at ``now``; read-only, writes nothing.

    Raises what the purchase would: UnknownPack, PacksNotOnPlan, UnknownMember.
    """
    require_utc(now)
    with deps.db.read() as conn:
        chosen = _pack(conn, pack)
        account, book = account_in_memory(deps, conn, member_id, now)
        return preview_pack(book, account.subscription.plan, chosen, now)
