"""The operator's credit corrections: grants, debits and refunds of pack and overage charges
(SPEC §10; docs/rules.md "Operator adjustments" and "Pack refunds").

Each is one write transaction under the member's account lock, idempotent with an
``Idempotency-Key``: a repeat answers the first result and writes nothing.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from inmail.domain import adjustments as rules
from inmail.domain.credits import Book, Lot
from inmail.domain.cycles import require_utc
from inmail.domain.errors import NotFound
from inmail.domain.money import Money
from inmail.services.context import Deps, OpenAccount, account_in_memory, lock_and_catch_up
from inmail.services.idempotency import idempotent
from inmail.store import accounts as account_store
from inmail.store import refunds as refund_store


@dataclass(frozen=True, slots=True)
class Granted:
    """A grant: its new lot (``lot_id``, ``credits``, ``expires_at``: None never), its ledger
    line (``entry_id``) and the member's balance after it (credits)."""

    member_id: str
    credits: int
    reason: str
    lot_id: int
    expires_at: datetime | None
    entry_id: int
    balance_after: int
    at: datetime


@dataclass(frozen=True, slots=True)
class DebitLine:
    entry_id: int
    lot_id: int
    amount: int  # negative: credits taken from that lot


@dataclass(frozen=True, slots=True)
class Debited:
    """A debit: one ledger line per lot it took from, and the balance after (credits)."""

    member_id: str
    credits: int
    reason: str
    entries: tuple[DebitLine, ...]
    balance_after: int
    at: datetime


def grant_credits(
    deps: Deps,
    *,
    member_id: str,
    credits: int,
    reason: str,
    expires_at: datetime | None,
    now: datetime,
    idempotency_key: str | None = None,
) -> Granted:
    """Grant ``credits`` (1..MAX_ADJUSTMENT_CREDITS) as an ``adjustment`` lot that expires at
    ``expires_at`` (aware, after ``now``; None: never), with ``reason`` (1..180 characters)
    shown to the member. Raises ValidationError(credits|reason|expires_at), UnknownMember.
    """
    require_utc(now)
    request = {"credits": credits, "reason": reason, "expires_at": expires_at}

    def effect(conn: Connection) -> Granted:
        opened = _opened(deps, conn, member_id, now)
        lot = rules.grant(
            opened.book, credits=credits, reason=reason, expires_at=expires_at, now=now
        )
        (entry_id,) = opened.save()
        assert lot.id is not None
        return Granted(
            member_id,
            credits,
            reason,
            lot.id,
            lot.expires_at,
            entry_id,
            opened.book.balance,
            now,
        )

    return idempotent(
        deps,
        member_id=member_id,
        scope=f"grant:{member_id}",
        key=idempotency_key,
        request=request,
        now=now,
        effect=effect,
        encode=_encode,
        decode=_decode_granted,
    )


def debit_credits(
    deps: Deps,
    *,
    member_id: str,
    credits: int,
    reason: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> Debited:
    """Take ``credits`` (1..MAX_ADJUSTMENT_CREDITS) in spending order, with ``reason`` shown to
    the member. Raises ValidationError(credits|reason), UnknownMember, InsufficientCredits
    (the live balance is smaller: nothing is taken).
    """
    require_utc(now)

    def effect(conn: Connection) -> Debited:
        opened = _opened(deps, conn, member_id, now)
        rules.debit(opened.book, credits=credits, reason=reason, now=now)
        taken = [(e.lot, e.amount) for e in opened.book.entries]
        entry_ids = opened.save()
        lines = tuple(
            DebitLine(i, _lot_id(lot), amount)
            for i, (lot, amount) in zip(entry_ids, taken, strict=True)
        )
        return Debited(member_id, credits, reason, lines, opened.book.balance, now)

    return idempotent(
        deps,
        member_id=member_id,
        scope=f"debit:{member_id}",
        key=idempotency_key,
        request={"credits": credits, "reason": reason},
        now=now,
        effect=effect,
        encode=_encode,
        decode=_decode_debited,
    )


def _opened(deps: Deps, conn: Connection, member_id: str, now: datetime) -> OpenAccount:
    """The locked account with what was due written first, so the book's log holds only
    the caller's own lines."""
    opened = lock_and_catch_up(deps, conn, member_id, now)
    opened.save()
    return opened


def _lot_id(lot: Lot) -> int:
    assert lot.id is not None
    return lot.id


@dataclass(frozen=True, slots=True)
class Refunded:
    """A refund: the refund charge (``refund_id``, ``amount``: negative money, ``at``), the
    charge it refunds and what is left of it, the credits taken back from its lot
    (``clawed_back``; ``entry_id`` None when none) and the balance after (credits)."""

    refund_id: str
    charge_id: str
    member_id: str
    amount: Money
    refunded: Money
    left: Money
    clawed_back: int
    lot_id: int | None
    entry_id: int | None
    balance_after: int
    at: datetime


@dataclass(frozen=True, slots=True)
class RefundPreview:
    """What :func:`refund_charge` would do now: refund ``amount``, take back ``clawback`` of
    the lot's ``unused`` credits, leave ``left`` to refund."""

    charge: refund_store.StoredCharge
    amount: Money
    clawback: int
    unused: int
    refunded: Money
    left: Money
    balance_after: int


def refund_charge(
    deps: Deps,
    *,
    charge_id: str,
    amount_minor: int | None,
    now: datetime,
    idempotency_key: str | None = None,
) -> Refunded:
    """Refund ``amount_minor`` (None: all that is left) of a pack or overage charge: a
    negative ``refund`` charge, and floor(unused x amount / left) of its lot's unused credits
    taken back (docs/rules.md "Pack refunds"). Credits already spent stay spent.

    Raises NotFound (no such charge), ChargeNotRefundable, ChargeAlreadyRefunded,
    ValidationError(amount_minor).
    """
    require_utc(now)
    member_id = _charge_owner(deps, charge_id)

    def effect(conn: Connection) -> Refunded:
        opened = _opened(deps, conn, member_id, now)
        charge, plan, lot = _plan(conn, opened.book, charge_id, amount_minor, now)
        made = rules.refund(opened.book, lot, plan, of=charge.id, now=now)
        entry_ids = opened.save()
        return Refunded(
            made.id,
            charge.id,
            member_id,
            made.price,
            Money(charge.price.amount_minor - plan.left_after.amount_minor, made.price.currency),
            plan.left_after,
            -(made.credits or 0),
            None if lot is None else lot.id,
            entry_ids[0] if entry_ids else None,
            opened.book.balance,
            now,
        )

    return idempotent(
        deps,
        member_id=member_id,
        scope=f"refund:{charge_id}",
        key=idempotency_key,
        request={"charge_id": charge_id, "amount_minor": amount_minor},
        now=now,
        effect=effect,
        encode=_encode,
        decode=_decode_refunded,
    )


def preview_refund(
    deps: Deps, *, charge_id: str, amount_minor: int | None, now: datetime
) -> RefundPreview:
    """What :func:`refund_charge` would refund and take back at ``now``; writes nothing.
    Raises what the refund would."""
    require_utc(now)
    member_id = _charge_owner(deps, charge_id)
    with deps.db.read() as conn:
        _, book = account_in_memory(deps, conn, member_id, now)
        charge, plan, lot = _plan(conn, book, charge_id, amount_minor, now)
        taken = plan.clawback if lot is not None else 0
        return RefundPreview(
            charge,
            plan.amount,
            taken,
            plan.unused,
            Money(
                charge.price.amount_minor - plan.left_after.amount_minor - plan.amount.amount_minor,
                charge.price.currency,
            ),
            plan.left_after,
            book.balance - taken,
        )


def _charge_owner(deps: Deps, charge_id: str) -> str:
    with deps.db.read() as conn:
        found = refund_store.find_charge(conn, charge_id)
    if found is None:
        raise NotFound(f"there is no charge {charge_id!r}")
    return found.member_id


def _plan(
    conn: Connection, book: Book, charge_id: str, amount_minor: int | None, now: datetime
) -> tuple[refund_store.StoredCharge, rules.RefundPlan, Lot | None]:
    """The charge, the refund's plan, and the charge's lot (None: it bought none)."""
    charge = refund_store.find_charge(conn, charge_id)
    if charge is None:
        raise NotFound(f"there is no charge {charge_id!r}")
    refunded = refund_store.refunded_minor(conn, charge.member_id, charge.id)
    lot = _charge_lot(conn, book, charge)
    unused = 0 if lot is None or lot.expired_by(now) else lot.remaining
    plan = rules.plan_refund(
        kind=charge.kind,
        price=charge.price,
        refunded=refunded,
        amount_minor=amount_minor,
        unused=unused,
    )
    return charge, plan, lot


def _charge_lot(conn: Connection, book: Book, charge: refund_store.StoredCharge) -> Lot | None:
    lot_id = refund_store.purchase_lot_id(conn, charge.member_id, charge.id)
    if lot_id is None:
        return None
    for lot in book.lots:
        if lot.id == lot_id:
            return lot
    found = account_store.load_lots(conn, [lot_id])  # emptied: the book holds live lots only
    return found[0] if found else None


def _json(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Money):
        return [value.amount_minor, value.currency]
    if isinstance(value, DebitLine):
        return [value.entry_id, value.lot_id, value.amount]
    raise TypeError(type(value).__name__)


def _encode(result: Granted | Debited | Refunded) -> str:
    fields: dict[str, Any] = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    return json.dumps(fields, default=_json)


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _decode_granted(text: str) -> Granted:
    data = json.loads(text)
    data["expires_at"] = _time(data["expires_at"])
    data["at"] = _time(data["at"])
    return Granted(**data)


def _decode_debited(text: str) -> Debited:
    data = json.loads(text)
    data["entries"] = tuple(DebitLine(*line) for line in data["entries"])
    data["at"] = _time(data["at"])
    return Debited(**data)


def _decode_refunded(text: str) -> Refunded:
    data = json.loads(text)
    for name in ("amount", "refunded", "left"):
        data[name] = Money(*data[name])
    data["at"] = _time(data["at"])
    return Refunded(**data)
