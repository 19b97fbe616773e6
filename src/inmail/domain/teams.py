"""Team contracts: a pooled credit account, seats, and per-seat monthly caps (SPEC §10).

A team's credits live in one account, the pool, whose holder id is the team's id.
Its terms are the team's plan scaled by the contracted seats (:func:`pool_plan`):
allotment x seats each cycle, the cap x seats (or the operator's own pool cap), the
fee x seats. A seat is a member who sends from the pool; its admins may cap each
seat's sends per calendar month (UTC). Pure rules: no I/O, ``now`` passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from inmail.domain.errors import SeatCapReached, ValidationError
from inmail.domain.plans import Plan
from inmail.domain.text import TextRule
from inmail.domain.timeline import LATEST

TEAM_PREFIX = "tm"
TEAM_NAME = TextRule(200)
MAX_SEATS = 10_000
MAX_SEAT_CAP = 1_000_000


@dataclass(frozen=True, slots=True)
class Team:
    """A team contract: its plan (by code), contracted ``seats``, ``pool_cap`` (None: the
    plan's cap x seats) and whether its admins let seats buy overage (``seat_overage``)."""

    id: str
    name: str
    plan_code: str
    seats: int
    pool_cap: int | None
    seat_overage: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Seat:
    """A member's seat on a team: ``admin`` (set by the operator) and ``monthly_cap``
    (credits a month, None: no cap; set by the team's admins)."""

    member_id: str
    team_id: str
    admin: bool
    monthly_cap: int | None
    assigned_at: datetime


def is_team_id(holder_id: str) -> bool:
    """Whether an account holder id names a team's pool (``tm_…``) rather than a member."""
    return holder_id.startswith(TEAM_PREFIX + "_")


def pool_plan(plan: Plan, team: Team) -> Plan:
    """The pool's terms: ``plan`` with allotment, cap and fee multiplied by the seats.

    The pool cap is the operator's ``pool_cap`` when set (SPEC §10: "capped at cap x
    seats" by default). The version stays the plan's, so history names real terms.
    """
    cap = plan.rollover_cap * team.seats if team.pool_cap is None else team.pool_cap
    return replace(
        plan,
        monthly_allotment=plan.monthly_allotment * team.seats,
        rollover_cap=cap,
        price=plan.price.times(team.seats),
    )


def check_team_terms(name: str, seats: int, pool_cap: int | None) -> None:
    """Raise ValidationError (naming the field) for a name, seat count or pool cap out of range."""
    TEAM_NAME.check(name, field="name")
    if isinstance(seats, bool) or not isinstance(seats, int) or not 1 <= seats <= MAX_SEATS:
        raise ValidationError(f"seats is a whole number from 1 to {MAX_SEATS}", field="seats")
    if pool_cap is not None and (isinstance(pool_cap, bool) or not pool_cap >= 0):
        raise ValidationError("pool_cap is a whole number of credits >= 0", field="pool_cap")


def check_seat_cap(cap: int | None, used: int) -> None:
    """A cap an admin may set: none, or 0..MAX_SEAT_CAP and not below this month's usage.

    Never below what the seat already used this month, so "usage ≤ cap" holds at every
    moment (the audit checks it); a cap equal to the usage stops the seat for the month.
    """
    if cap is None:
        return
    if isinstance(cap, bool) or not isinstance(cap, int) or not 0 <= cap <= MAX_SEAT_CAP:
        raise ValidationError(
            f"monthly_cap is a whole number of credits from 0 to {MAX_SEAT_CAP}, or null",
            field="monthly_cap",
        )
    if cap < used:
        raise ValidationError(
            f"this seat has used {used} credit(s) this month: a cap cannot be below that",
            field="monthly_cap",
        )


def month_start(now: datetime) -> datetime:
    """The start of the calendar month (UTC) holding ``now``: a seat cap's period."""
    moment = now.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month_start(now: datetime) -> datetime:
    """The start of the calendar month (UTC) after the one holding ``now``; in December of
    9999, the end of time (domain/timeline.py: no later month can be written)."""
    start = month_start(now)
    if start.month == 12:
        return LATEST if start.year == LATEST.year else start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def allow_seat_spend(seat: Seat, used: int, cost: int, admins: Sequence[str]) -> None:
    """Refuse a send of ``cost`` credits that would take the seat past its monthly cap.

    ``used`` is what the seat spent this month (credit-backs excluded); ``admins`` are
    the team admins' names, shown so the member knows whom to ask. Raises SeatCapReached.
    """
    if seat.monthly_cap is None or used + cost <= seat.monthly_cap:
        return
    who = ", ".join(admins) if admins else "your team's admin"
    raise SeatCapReached(
        f"your seat has used {used} of its {seat.monthly_cap} credits this month "
        f"(a cap set by {who}); ask them to raise it"
    )


@dataclass(frozen=True, slots=True)
class SeatAllowance:
    """A seat's monthly cap as a spend meets it: the ``seat``, the credits it ``used`` this
    month (credit-backs excluded) and the team admins' names (whom to ask)."""

    seat: Seat
    used: int
    admins: tuple[str, ...]

    def allow(self, cost: int, *, already: int = 0) -> None:
        """Refuse ``cost`` credits more, ``already`` having been spent since ``used`` was
        read (a bulk send's earlier recipients). Raises SeatCapReached."""
        allow_seat_spend(self.seat, self.used + already, cost, self.admins)


def usage_text(used: int, cap: int | None) -> str:
    """What the seat holder sees: "12 of 40 this month" (or "12 this month, no cap")."""
    if cap is None:
        return f"{used} this month, no cap"
    return f"{used} of {cap} this month"
