"""Credit lots, the ledger they produce, and the order credits are spent in (SPEC §3).

A :class:`Book` holds one account's live lots and balance in memory. Every
rule that moves credits goes through it, and it records one ledger
:class:`Entry` per lot touched, with the balance after. The store persists
new lots, changed lots and the entries; nothing here knows about SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from uuid_utils import uuid7

from inmail.domain.errors import InsufficientCredits, ValidationError
from inmail.domain.money import Money
from inmail.domain.text import TextRule
from inmail.domain.timeline import later

# An operator adjustment's reason: it becomes the ledger lines' reference ("adjustment:...").
ADJUSTMENT_REASON_MAX = 180
ADJUSTMENT_REASON = TextRule(ADJUSTMENT_REASON_MAX)


class LotSource(StrEnum):
    ALLOTMENT = "allotment"
    PURCHASE = "purchase"
    OVERAGE = "overage"
    ADJUSTMENT = "adjustment"
    REFUND = "refund"


class EntryKind(StrEnum):
    GRANT = "grant"
    SPEND = "spend"
    FORFEIT = "forfeit"
    EXPIRE = "expire"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"


class ChargeKind(StrEnum):
    SUBSCRIPTION = "subscription"
    PACK = "pack"
    OVERAGE = "overage"
    PRORATION = "proration"
    REFUND = "refund"  # money given back for a pack or overage charge: a negative amount


@dataclass(eq=False, slots=True)
class Lot:
    """Credits from one grant. ``id`` is None until the store has saved it."""

    id: int | None
    source: LotSource
    granted: int
    remaining: int
    created_at: datetime
    expires_at: datetime | None

    @property
    def is_plan_credit(self) -> bool:
        """Plan credits are the allotment: the only ones the rollover cap counts."""
        return self.source is LotSource.ALLOTMENT

    def expired_by(self, moment: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= moment


@dataclass(frozen=True, slots=True)
class Entry:
    """One append-only ledger line: a signed amount on one lot."""

    kind: EntryKind
    lot: Lot
    amount: int
    balance_after: int
    at: datetime
    reference: str
    seat: str | None = None  # the team seat whose send a pool's line pays (domain/teams.py)


def new_id(prefix: str) -> str:
    """An opaque, unique id such as ``ch_019a2c1c83a37199...``: the prefix and 32 hex digits.

    A UUIDv7 (RFC 9562): its first 48 bits are the time in ms, so ids made later sort later
    and a new row's key lands at the right edge of its index, one b-tree page per index
    instead of a random one (a send wrote 39 pages to SQLite's log with random ids). Not a
    secret: tokens and links are made with ``secrets`` and only stored under such ids."""
    return f"{prefix}_{uuid7().hex}"


@dataclass(frozen=True, slots=True)
class Charge:
    """Money owed by the member: handed to the operator's payment processor."""

    kind: ChargeKind
    price: Money
    at: datetime
    reference: str
    credits: int | None = None
    id: str = field(default_factory=lambda: new_id("ch"))


@dataclass(slots=True)
class Book:
    """One account's credits, changed only through methods that write ledger entries."""

    balance: int
    lots: list[Lot]
    entries: list[Entry] = field(default_factory=list)
    charges: list[Charge] = field(default_factory=list)
    new_lots: list[Lot] = field(default_factory=list)
    touched: dict[int, Lot] = field(default_factory=dict)

    @property
    def plan_credits(self) -> int:
        return sum(lot.remaining for lot in self.lots if lot.is_plan_credit)

    @property
    def purchased_credits(self) -> int:
        return self.balance - self.plan_credits

    def grant(
        self,
        *,
        kind: EntryKind,
        source: LotSource,
        credits: int,
        at: datetime,
        expires_at: datetime | None,
        reference: str,
    ) -> Lot:
        lot = Lot(None, source, credits, credits, at, expires_at)
        self.lots.append(lot)
        self.new_lots.append(lot)
        self._record(kind, lot, credits, at, reference)
        return lot

    def take(self, kind: EntryKind, lot: Lot, amount: int, at: datetime, reference: str) -> None:
        """Remove ``amount`` credits from ``lot`` (a spend, forfeit, expiry or debit)."""
        if not 0 < amount <= lot.remaining:
            raise ValueError(f"cannot take {amount} from a lot holding {lot.remaining}")
        lot.remaining -= amount
        self._record(kind, lot, -amount, at, reference)

    def give_back(self, lot: Lot, amount: int, at: datetime, reference: str) -> None:
        """Return credits to the lot they were spent from (a credit-back)."""
        missing = lot.granted - lot.remaining
        if not 0 < amount <= missing:
            raise ValueError(f"cannot return {amount} to a lot missing {missing}")
        lot.remaining += amount
        self._record(EntryKind.REFUND, lot, amount, at, reference)

    def charge(self, charge: Charge) -> None:
        self.charges.append(charge)

    def _record(self, kind: EntryKind, lot: Lot, amount: int, at: datetime, ref: str) -> None:
        self.balance += amount
        if lot.id is not None:
            self.touched[lot.id] = lot
        self.entries.append(Entry(kind, lot, amount, self.balance, at, ref))


def spending_order(lots: Iterable[Lot], now: datetime) -> list[Lot]:
    """Live lots in the order a spend draws from them (SPEC §3).

    Plan credits first, oldest first: they are the ones the cap puts at risk.
    Then purchased, overage and other credits, soonest expiry first (credits
    that never expire last).

    The same order is written in SQL where the database picks the lot: the plain spend's
    one statement on PostgreSQL (store.fast_spend) and ``ix_lots_spending_order``; a change
    here must be made there too (tests/integration/test_spend_at_once.py compares them).
    """
    live = [lot for lot in lots if lot.remaining > 0 and not lot.expired_by(now)]
    plan = sorted((lot for lot in live if lot.is_plan_credit), key=_age)
    other = sorted((lot for lot in live if not lot.is_plan_credit), key=_expiry_then_age)
    return plan + other


def _age(lot: Lot) -> tuple[datetime, int]:
    return lot.created_at, lot.id if lot.id is not None else 1 << 62


def _expiry_then_age(lot: Lot) -> tuple[bool, datetime, datetime, int]:
    never = lot.expires_at is None
    expiry = lot.expires_at if lot.expires_at is not None else lot.created_at
    return never, expiry, *_age(lot)


def draw(book: Book, kind: EntryKind, cost: int, now: datetime, reference: str) -> None:
    """Take ``cost`` credits in spending order, or refuse without touching anything."""
    if cost < 0:
        raise ValidationError(f"a cost cannot be negative (got {cost})", field="cost")
    lots = spending_order(book.lots, now)
    available = sum(lot.remaining for lot in lots)
    if available < cost:
        raise InsufficientCredits(f"this needs {cost} credit(s) and {available} are available")
    left = cost
    for lot in lots:
        if left == 0:
            break
        amount = min(left, lot.remaining)
        book.take(kind, lot, amount, now, reference)
        left -= amount


def expire_due(book: Book, until: datetime) -> None:
    """Expire every lot whose lifetime has ended by ``until``, each at its own expiry time."""
    due = [lot for lot in book.lots if lot.remaining > 0 and lot.expired_by(until)]
    for lot in sorted(due, key=_expiry_then_age):
        assert lot.expires_at is not None
        book.take(EntryKind.EXPIRE, lot, lot.remaining, lot.expires_at, f"lot:{lot.id}")


def forfeit_above_cap(book: Book, cap: int, at: datetime, reference: str) -> int:
    """Forfeit plan credits above ``cap``, oldest plan lots first; returns how many."""
    excess = max(0, book.plan_credits - cap)
    left = excess
    for lot in sorted((lot for lot in book.lots if lot.is_plan_credit), key=_age):
        amount = min(left, lot.remaining)
        if amount:
            book.take(EntryKind.FORFEIT, lot, amount, at, reference)
            left -= amount
    return excess


@dataclass(frozen=True, slots=True)
class RefundedShare:
    """How much of the charge that bought a lot (a pack, an overage) has been refunded:
    ``refunded_minor`` of ``price_minor``; ``reference`` names the latest refund charge
    (``charge:<id>``), as the refund's own clawback line does."""

    refunded_minor: int
    price_minor: int
    reference: str

    def of(self, credits: int) -> int:
        """The refunded share of ``credits`` returned to the lot, rounded down like the
        refund's clawback: all of them once the charge is refunded in full."""
        return credits * self.refunded_minor // self.price_minor if self.price_minor else 0


def credit_back(
    book: Book,
    draws: Iterable[tuple[Lot, int]],
    now: datetime,
    reference: str,
    *,
    capped_since: bool,
    refunded: Mapping[int, RefundedShare] | None = None,
) -> int:
    """Return a spend's credits to the lots they came from (SPEC §5); returns how many stay.

    ``draws`` are (lot, credits) as the spend took them. ``capped_since``: a
    renewal since the spend left plan credits at its cap (a cancel's cap is 0),
    so that credit, had it not been spent, would have been forfeited then.
    ``refunded``: by lot id, the refunded share of the charge that bought it.
    A credit never outlives the rule that would have taken it: returned to a
    lot that has expired, it expires again at once; a plan credit returned
    after a renewal at the cap is forfeited again at once; returned to a pack
    whose charge was refunded, the refunded share is taken back at once (an
    ``adjustment`` line naming the refund: the refund claws back every unused
    credit, and a returned credit is unused again). The lines are in the ledger,
    and nobody gains a credit the cap, a cancel, a lifetime or a refund removed.
    """
    shares = refunded or {}
    kept = 0
    for lot, amount in draws:
        book.give_back(lot, amount, now, reference)
        share = shares.get(lot.id) if lot.id is not None else None
        if lot.expired_by(now):
            book.take(EntryKind.EXPIRE, lot, amount, now, reference)
        elif capped_since and lot.is_plan_credit:
            book.take(EntryKind.FORFEIT, lot, amount, now, reference)
        elif share is not None and (taken := share.of(amount)) > 0:
            book.take(EntryKind.ADJUSTMENT, lot, taken, now, share.reference)
            kept += amount - taken
        else:
            kept += amount
    return kept


def lifetime_end(start: datetime, days: int | None) -> datetime | None:
    """When a lot granted at ``start`` with a lifetime of ``days`` expires; None: never.

    A lifetime that would end after 9999-12-31 never ends (domain/timeline.py).
    """
    return None if days is None else later(start, timedelta(days=days))


def upcoming_forfeit(lots: Iterable[Lot], renewal_at: datetime, allotment: int, cap: int) -> int:
    """Credits the renewal at ``renewal_at`` forfeits if nothing is spent before it."""
    plan_left = sum(
        lot.remaining for lot in lots if lot.is_plan_credit and not lot.expired_by(renewal_at)
    )
    return max(0, plan_left + allotment - cap)
