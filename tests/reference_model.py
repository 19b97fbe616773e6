"""A small, obviously correct in-memory model of the credit ledger (SPEC §2, §3, §6),
and of who may send a new InMail to whom (SPEC §4: :class:`AwaitingInmails`).

Written from the SPEC with the default catalog, not from ``src/``: the stateful test in
``tests/integration/test_ledger_model.py`` drives the real services and this model side by
side and compares them after every step.

The model is eager where the services are lazy: moving its clock applies every renewal and
expiry that has come due, each at its own time. SPEC §2 requires the lazy catch-up on the
next read or write to give exactly that result.
"""

from __future__ import annotations

import calendar
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

BASIC = "basic"
MICROSECOND = timedelta(microseconds=1)
PACK_LIFETIME = timedelta(days=365)
OVERAGE_PACK = "pack_1"


@dataclass(frozen=True, slots=True)
class PlanTerms:
    code: str
    allotment: int
    cap: int
    fee_minor: int
    inmail: bool
    packs: bool
    overage: bool

    @property
    def has_cycles(self) -> bool:
        """Basic has no billing cycles; every other plan renews monthly."""
        return self.code != BASIC


def _paid(code: str, allotment: int, fee_minor: int) -> PlanTerms:
    return PlanTerms(code, allotment, 3 * allotment, fee_minor, True, True, True)


# SPEC §1 (cap = 3 x allotment). The fees are the illustrative defaults of the seeded catalog.
PLANS: dict[str, PlanTerms] = {
    p.code: p
    for p in (
        PlanTerms(BASIC, 0, 0, 0, inmail=False, packs=False, overage=False),
        _paid("premium_business", 25, 5999),
        _paid("sales_navigator_professional", 15, 9999),
        _paid("recruiter_lite", 25, 17000),
        _paid("recruiter", 50, 83500),
        _paid("recruiter_corporate", 75, 99900),
    )
}

# SPEC §6: pack code -> (credits, price in USD cents).
PACKS: dict[str, tuple[int, int]] = {
    "pack_1": (1, 1000),
    "pack_5": (5, 4500),
    "pack_10": (10, 8500),
    "pack_25": (25, 20000),
}


Terms = Callable[[str, datetime], PlanTerms]
"""A plan's terms as they were at a moment."""


class Refused(Exception):
    """The model refuses an action; ``code`` is the error code the service must raise."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def add_months(anchor: datetime, months: int) -> datetime:
    """The anchor ``months`` later, its day clamped to that month's last day."""
    index = anchor.month - 1 + months
    year, month = anchor.year + index // 12, index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return anchor.replace(year=year, month=month, day=min(anchor.day, last_day))


@dataclass(slots=True)
class Lot:
    number: int  # creation order: the tie-break between lots created at the same moment
    source: str  # "allotment" (plan credits), "purchase" or "overage"
    remaining: int
    created_at: datetime
    expires_at: datetime | None

    @property
    def is_plan_credit(self) -> bool:
        return self.source == "allotment"


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str
    source: str
    amount: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Charge:
    kind: str
    amount_minor: int
    credits: int | None
    at: datetime


@dataclass(slots=True)
class Account:
    """One member: plan, billing anchor, lots, ledger and charges. Always caught up."""

    terms: Terms  # SPEC §1: every cycle takes the terms in force at its start
    plan: PlanTerms = PLANS[BASIC]
    anchor: datetime | None = None
    renewed: int = 0  # cycles 0 .. renewed-1 of this subscription have been renewed
    pending: str | None = None  # the plan code a downgrade or cancel moves to
    auto_overage: bool = True
    overage_limit_minor: int | None = None
    lots: list[Lot] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    charges: list[Charge] = field(default_factory=list)
    spends: int = 0  # spends recorded, one per charged action
    renewals: int = 0  # renewals of every subscription this member has had
    _numbers: itertools.count[int] = field(default_factory=itertools.count)

    # ---- what a member reads

    @property
    def balance(self) -> int:
        return sum(lot.remaining for lot in self.lots)

    @property
    def plan_credits(self) -> int:
        return sum(lot.remaining for lot in self.lots if lot.is_plan_credit)

    @property
    def purchased_credits(self) -> int:
        return self.balance - self.plan_credits

    def total(self, kind: str) -> int:
        """Credits moved by ledger entries of ``kind``, as a positive number."""
        return abs(sum(e.amount for e in self.entries if e.kind == kind))

    def live_lots(self) -> Counter[tuple[str, int, datetime | None]]:
        return Counter(
            (lot.source, lot.remaining, lot.expires_at) for lot in self.lots if lot.remaining
        )

    def next_renewal_at(self) -> datetime | None:
        if not self.plan.has_cycles:
            return None
        assert self.anchor is not None
        return add_months(self.anchor, self.renewed)

    def current_cycle(self) -> tuple[datetime, datetime] | None:
        """(start, end) of the cycle we are in; None on Basic."""
        if not self.plan.has_cycles:
            return None
        assert self.anchor is not None
        return add_months(self.anchor, self.renewed - 1), add_months(self.anchor, self.renewed)

    def forfeit_at_next_renewal(self) -> int:
        """Plan credits the next renewal forfeits if none are spent before it."""
        at = self.next_renewal_at()
        if at is None:
            return 0
        terms = self.terms(self.pending or self.plan.code, at - MICROSECOND)
        return max(0, self.plan_credits + terms.allotment - terms.cap)

    # ---- time passing (SPEC §2)

    def catch_up(self, now: datetime) -> int:
        """Apply every renewal and expiry due by ``now``, in order; returns the renewals."""
        done = 0
        while (at := self.next_renewal_at()) is not None and at <= now:
            self._renew(at)
            done += 1
        self._expire(now)
        return done

    def _renew(self, at: datetime) -> None:
        self._expire(at)
        if self.renewed > 0:  # the first cycle keeps the terms just subscribed to
            # A cycle's terms are those in force just before it starts (an edit at that very
            # instant comes after the renewal).
            self.plan = self.terms(self.pending or self.plan.code, at - MICROSECOND)
        self.pending = None
        self.renewed += 1
        self.renewals += 1
        if self.plan.allotment:
            self._grant("allotment", self.plan.allotment, at, expires_at=None)
        excess = self.plan_credits - self.plan.cap
        for lot in self._plan_lots_oldest_first():
            if excess <= 0:
                break
            amount = min(excess, lot.remaining)
            self._take("forfeit", lot, amount, at)
            excess -= amount
        if self.plan.fee_minor:
            self.charges.append(Charge("subscription", self.plan.fee_minor, None, at))

    def _expire(self, until: datetime) -> None:
        due = [
            lot
            for lot in self.lots
            if lot.remaining and lot.expires_at is not None and lot.expires_at <= until
        ]
        for lot in due:
            assert lot.expires_at is not None
            self._take("expire", lot, lot.remaining, lot.expires_at)

    # ---- actions; each one checks everything before it changes anything

    def spend(self, cost: int, now: datetime) -> tuple[int, int | None]:
        """SPEC §3, §6: returns (balance after, overage bought in minor units or None)."""
        if cost > 0 and not self.plan.inmail:
            raise Refused("inmail-not-on-plan")
        overage = None
        if cost > self.balance:
            overage = self._buy_overage(cost - self.balance, now)
        left = cost
        for lot in self._spending_order():
            if left == 0:
                break
            amount = min(left, lot.remaining)
            self._take("spend", lot, amount, now)
            left -= amount
        self.spends += 1
        return self.balance, overage

    def _buy_overage(self, shortfall: int, now: datetime) -> int:
        if not self.plan.overage or not self.auto_overage:
            raise Refused("insufficient-credits")
        credits, price = PACKS[OVERAGE_PACK]
        count = -(-shortfall // credits)
        cycle = self.current_cycle()
        assert cycle is not None
        used = sum(c.amount_minor for c in self.charges if c.kind == "overage" and c.at >= cycle[0])
        limit = self.overage_limit_minor
        if limit is not None and used + count * price > limit:
            raise Refused("overage-limit-reached")
        for _ in range(count):
            self.charges.append(Charge("overage", price, credits, now))
            self._grant("overage", credits, now, expires_at=now + PACK_LIFETIME)
        return count * price

    def buy_pack(self, code: str, now: datetime) -> int:
        """SPEC §6: a charge and a purchase lot at once; returns the balance after."""
        if not self.plan.packs:
            raise Refused("packs-not-on-plan")
        credits, price = PACKS[code]
        self.charges.append(Charge("pack", price, credits, now))
        self._grant("purchase", credits, now, expires_at=now + PACK_LIFETIME)
        return self.balance

    def change_plan(self, code: str, now: datetime) -> str:
        """SPEC §6; returns what happened: none, subscribe, upgrade, scheduled, unscheduled."""
        new = self.terms(code, now)
        if new.code == self.plan.code:
            withdrawn, self.pending = self.pending is not None, None
            return "unscheduled" if withdrawn else "none"
        if not self.plan.has_cycles:
            self.plan, self.anchor, self.renewed, self.pending = new, now, 0, None
            self.catch_up(now)  # the first cycle starts, and renews, now
            return "subscribe"
        if new.has_cycles and new.allotment > self.plan.allotment:
            self._upgrade(new, now)
            return "upgrade"
        self.pending = new.code
        return "scheduled"

    def _upgrade(self, new: PlanTerms, now: datetime) -> None:
        cycle = self.current_cycle()
        assert cycle is not None
        start, end = cycle
        left, whole = (end - now) // MICROSECOND, (end - start) // MICROSECOND
        extra = (new.allotment - self.plan.allotment) * left // whole
        if extra:
            self._grant("allotment", extra, now, expires_at=None)
        fee = max(0, new.fee_minor - self.plan.fee_minor) * left // whole
        if fee:
            self.charges.append(Charge("proration", fee, extra, now))
        self.plan, self.pending = new, None

    # ---- lots

    def _grant(self, source: str, credits: int, at: datetime, expires_at: datetime | None) -> None:
        self.lots.append(Lot(next(self._numbers), source, credits, at, expires_at))
        self.entries.append(Entry("grant", source, credits, at))

    def _take(self, kind: str, lot: Lot, amount: int, at: datetime) -> None:
        assert 0 < amount <= lot.remaining
        lot.remaining -= amount
        self.entries.append(Entry(kind, lot.source, -amount, at))

    def _plan_lots_oldest_first(self) -> list[Lot]:
        plan = [lot for lot in self.lots if lot.is_plan_credit and lot.remaining]
        return sorted(plan, key=lambda lot: (lot.created_at, lot.number))

    def _spending_order(self) -> list[Lot]:
        """Plan credits oldest first, then the others soonest expiry first."""
        others = [lot for lot in self.lots if not lot.is_plan_credit and lot.remaining]
        by_expiry = sorted(
            others,
            key=lambda lot: (lot.expires_at is None, lot.expires_at or lot.created_at, lot.number),
        )
        return self._plan_lots_oldest_first() + by_expiry


@dataclass(slots=True)
class Ledger:
    """Every member's account, all kept caught up to the same clock."""

    accounts: dict[str, Account] = field(default_factory=dict)
    # Each plan's versions, oldest first, with the moment each came into force.
    versions: dict[str, list[tuple[datetime | None, PlanTerms]]] = field(
        default_factory=lambda: {code: [(None, terms)] for code, terms in PLANS.items()}
    )

    def terms(self, code: str, at: datetime) -> PlanTerms:
        """The newest version written at or before ``at``."""
        return [t for since, t in self.versions[code] if since is None or since <= at][-1]

    def edit_plan(
        self, code: str, now: datetime, *, allotment: int, cap: int, fee_minor: int
    ) -> None:
        """An operator's edit: a new version, in force from ``now``; history stays."""
        terms = replace(
            self.versions[code][-1][1], allotment=allotment, cap=cap, fee_minor=fee_minor
        )
        self.versions[code].append((now, terms))

    def create_member(self, member_id: str, plan: str, now: datetime) -> None:
        account = self.accounts[member_id] = Account(self.terms)
        account.change_plan(plan, now)

    def catch_up(self, now: datetime) -> int:
        """Renew and expire everything due by ``now``; returns how many cycles renewed."""
        return sum(account.catch_up(now) for account in self.accounts.values())

    def row_counts(self, members: set[str] | None = None) -> list[int]:
        """How many lots, ledger entries, charges, spends and renewals ``members`` have."""
        accounts = [a for m, a in self.accounts.items() if members is None or m in members]
        return [
            sum(len(a.lots) for a in accounts),
            sum(len(a.entries) for a in accounts),
            sum(len(a.charges) for a in accounts),
            sum(a.spends for a in accounts),
            sum(a.renewals for a in accounts),
        ]

    def next_due_at(self) -> datetime | None:
        """The earliest renewal or expiry that is still to come."""
        moments = [
            lot.expires_at
            for account in self.accounts.values()
            for lot in account.lots
            if lot.remaining and lot.expires_at is not None
        ]
        moments += [at for account in self.accounts.values() if (at := account.next_renewal_at())]
        return min(moments, default=None)


@dataclass(slots=True)
class AwaitingInmails:
    """SPEC §4: a sender has at most one InMail awaiting a response per recipient.

    ``tests/integration/test_send_concurrency.py`` sends, answers and declines
    through the services and here side by side.
    """

    threads: dict[tuple[str, str], str] = field(default_factory=dict)  # (from, to) -> thread

    def check_send(self, sender: str, recipient: str) -> None:
        """Refused while the pair's last InMail awaits a response: the follow-up is the way."""
        if (sender, recipient) in self.threads:
            raise Refused("inmail-already-awaiting-response")

    def sent(self, sender: str, recipient: str, thread: str) -> None:
        self.check_send(sender, recipient)
        self.threads[(sender, recipient)] = thread

    def responded(self, sender: str, recipient: str) -> None:
        """A reply or a decline ends the wait."""
        del self.threads[(sender, recipient)]
