"""Team contracts (SPEC §10): the operator's teams and seats, the team admins' caps,
overage permission, packs and per-seat usage, and the seat holder's own usage.

The pool is an account held by the team (id ``tm_…``): renewals, packs, overage and
the audit work on it as on any account (services.context.holder_terms scales its plan).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection

from inmail.domain.billing import Subscription, catch_up
from inmail.domain.credits import Book, new_id
from inmail.domain.cycles import require_utc
from inmail.domain.errors import Conflict, Forbidden, UnknownMember, UnknownTeam, ValidationError
from inmail.domain.events import (
    SEAT_ASSIGNED,
    SEAT_CAP_CHANGED,
    SEAT_REMOVED,
    TEAM_CHANGED,
    seat_changed,
    team_created,
    team_event,
)
from inmail.domain.plan_changes import subscribe
from inmail.domain.plans import BASIC
from inmail.domain.purchases import OverageSettings
from inmail.domain.teams import (
    TEAM_PREFIX,
    Seat,
    Team,
    check_seat_cap,
    check_team_terms,
    month_start,
    next_month_start,
    usage_text,
)
from inmail.services.context import Deps, holder_terms, plans_in_force
from inmail.services.credits import Purchase, buy_pack
from inmail.services.idempotency import keyed, keyed_write
from inmail.services.statements import CreditsView, get_credits
from inmail.store import accounts as account_store
from inmail.store import members as member_store
from inmail.store import outbox
from inmail.store import teams as team_store


@dataclass(frozen=True, slots=True)
class TeamRecord:
    """A team as the API shows it: terms and seats (no balances)."""

    id: str
    name: str
    plan: str
    seats: int
    pool_cap: int | None
    seat_overage: bool
    created_at: datetime
    members: tuple[str, ...]
    admins: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SeatUsage:
    """One seat's use of the pool this calendar month (UTC): sends and credits, net of
    credit-backs; ``cap`` None: no cap."""

    member_id: str
    handle: str
    name: str
    admin: bool
    cap: int | None
    sends: int
    used: int
    text: str


@dataclass(frozen=True, slots=True)
class TeamView:
    """What a team admin sees: the team, its pool's credits and each seat's usage."""

    team: TeamRecord
    pool: CreditsView
    period_start: datetime
    period_end: datetime
    seats: tuple[SeatUsage, ...]


@dataclass(frozen=True, slots=True)
class MySeat:
    """What a seat holder sees: "12 of 40 this month"."""

    team_id: str
    team_name: str
    admin: bool
    monthly_cap: int | None
    used: int
    period_start: datetime
    period_end: datetime
    text: str
    admins: tuple[str, ...]


def create_team(
    deps: Deps,
    *,
    name: str,
    plan: str,
    seats: int,
    now: datetime,
    pool_cap: int | None = None,
    idempotency_key: str | None = None,
) -> TeamRecord:
    """The operator creates a team on a paid plan with ``seats`` seats; its pool's first cycle
    starts now (allotment x seats granted, fee x seats charged). Raises ValidationError,
    UnknownPlan."""
    require_utc(now)
    check_team_terms(name, seats, pool_cap)
    request = {"name": name, "plan": plan, "seats": seats, "pool_cap": pool_cap}

    def effect(conn: Connection) -> TeamRecord:
        in_force = plans_in_force(conn)
        chosen = in_force(plan, now)  # UnknownPlan
        if not chosen.is_paid or not chosen.inmail:
            raise ValidationError("a team's plan must be a paid plan with InMail", field="plan")
        team = Team(new_id(TEAM_PREFIX), name.strip(), plan, seats, pool_cap, False, now)
        team_store.insert_team(conn, team)
        _open_pool(deps, conn, team, now)
        outbox.append(conn, [team_created(team)])
        return _record(conn, team)

    write = keyed(TeamRecord, "operator:teams", idempotency_key, request)
    return keyed_write(deps, write, now=now, effect=effect)


def _open_pool(deps: Deps, conn: Connection, team: Team, now: datetime) -> None:
    """The pool's account: subscribed now to the team's plan scaled by its seats."""
    sub = Subscription(new_id("sub"), plans_in_force(conn)(BASIC, now), now, renewed_cycle=-1)
    account_store.insert_account(conn, team.id, sub)
    versions, in_force = holder_terms(deps, conn, team.id)
    account = account_store.lock_account(conn, team.id, versions)
    assert account is not None
    book = Book(0, [])
    subscribe(account.subscription, in_force(team.plan_code, now), new_id("sub"), now)
    done = catch_up(book, account.subscription, in_force, now)
    account_store.save(conn, account, book, done)
    # A seat buys overage only with the admins' permission: off until they allow it.
    account_store.update_overage_settings(conn, team.id, OverageSettings(False, None))


def _record(conn: Connection, team: Team, seats: list[Seat] | None = None) -> TeamRecord:
    """The team as shown, with its ``seats`` (read when not given)."""
    seats = team_store.seats_of(conn, team.id) if seats is None else seats
    return TeamRecord(
        team.id,
        team.name,
        team.plan_code,
        team.seats,
        team.pool_cap,
        team.seat_overage,
        team.created_at,
        tuple(s.member_id for s in seats),
        tuple(s.member_id for s in seats if s.admin),
    )


def _team(conn: Connection, team_id: str) -> Team:
    team = team_store.get_team(conn, team_id)
    if team is None:
        raise UnknownTeam(f"there is no team {team_id!r}")
    return team


def get_team(deps: Deps, *, team_id: str) -> TeamRecord:
    """The team (operator's view). Raises UnknownTeam."""
    with deps.db.read() as conn:
        return _record(conn, _team(conn, team_id))


def list_teams(deps: Deps, *, after: str | None, limit: int) -> list[TeamRecord]:
    """Teams by id, after ``after`` (operator's view)."""
    with deps.db.read() as conn:
        found = team_store.list_teams(conn, after=after, limit=limit)
        seats = team_store.seats_of_teams(conn, [t.id for t in found])
        return [_record(conn, t, seats[t.id]) for t in found]


def change_terms(
    deps: Deps, *, team_id: str, seats: int, pool_cap: int | None, now: datetime
) -> TeamRecord:
    """The operator changes the contracted seats and the pool cap (None: the plan's cap x
    seats). They apply from the pool's next renewal: this cycle's grant and fee stand, and
    a renewal scales the plan by the seats it finds. Never fewer seats than are taken
    (Conflict). Raises UnknownTeam, ValidationError (``seats``, ``pool_cap``)."""
    require_utc(now)
    with deps.db.write() as conn:
        team = _team(conn, team_id)
        check_team_terms(team.name, seats, pool_cap)
        account_store.lock_account_row(conn, team_id)
        taken = len(team_store.seats_of(conn, team_id))
        if seats < taken:
            raise Conflict(f"{taken} seats are taken: remove seats before contracting fewer")
        team_store.update_terms(conn, team_id, seats, pool_cap)
        changed = replace(team, seats=seats, pool_cap=pool_cap)
        outbox.append(conn, [team_event(TEAM_CHANGED, changed, now)])
        return _record(conn, changed)


def assign_seat(
    deps: Deps, *, team_id: str, member_id: str, admin: bool, now: datetime
) -> TeamRecord:
    """The operator seats a member on the team (an admin or not). A member holds one seat at
    most, and a team no more seats than its contract: Conflict otherwise. From now on the
    member's sends pay from the pool; their own account is left as it is (docs/rules.md).
    Raises UnknownTeam, UnknownMember, Conflict."""
    require_utc(now)
    with deps.db.write() as conn:
        team = _team(conn, team_id)
        account_store.lock_account_row(conn, team_id)
        if member_store.get_member(conn, member_id) is None:
            raise UnknownMember(f"there is no member {member_id!r}")
        held = team_store.seat_of(conn, member_id)
        if held is not None:
            raise Conflict(f"member {member_id!r} already holds a seat on team {held.team_id!r}")
        if len(team_store.seats_of(conn, team_id)) >= team.seats:
            raise Conflict(f"all {team.seats} seats of team {team_id!r} are taken")
        seat = Seat(member_id, team_id, admin, None, now)
        team_store.insert_seat(conn, seat)
        outbox.append(conn, [seat_changed(SEAT_ASSIGNED, seat, now)])
        return _record(conn, team)


def remove_seat(deps: Deps, *, team_id: str, member_id: str, now: datetime) -> TeamRecord:
    """The member leaves the team: back to their own account; the pool keeps its credits.
    Raises UnknownTeam, UnknownMember (not seated on this team)."""
    require_utc(now)
    with deps.db.write() as conn:
        team = _team(conn, team_id)
        account_store.lock_account_row(conn, team_id)
        seat = team_store.seat_of(conn, member_id)
        if seat is None or seat.team_id != team_id:
            raise UnknownMember(f"member {member_id!r} holds no seat on team {team_id!r}")
        team_store.delete_seat(conn, team_id, member_id)
        outbox.append(conn, [seat_changed(SEAT_REMOVED, seat, now)])
        return _record(conn, team)


def set_seat_admin(
    deps: Deps, *, team_id: str, member_id: str, admin: bool, now: datetime
) -> TeamRecord:
    """The operator makes a seat holder a team admin, or not. Raises UnknownTeam, UnknownMember."""
    require_utc(now)
    with deps.db.write() as conn:
        team = _team(conn, team_id)
        seat = _seat_on(conn, team_id, member_id)
        team_store.update_seat(conn, replace(seat, admin=admin))
        return _record(conn, team)


def _seat_on(conn: Connection, team_id: str, member_id: str) -> Seat:
    seat = team_store.seat_of(conn, member_id)
    if seat is None or seat.team_id != team_id:
        raise UnknownMember(f"member {member_id!r} holds no seat on team {team_id!r}")
    return seat


def _check_admin(conn: Connection, team_id: str, admin_id: str) -> Team:
    """The team, if ``admin_id`` is one of its admins; UnknownTeam for anyone else (a member
    learns nothing about teams they do not run)."""
    team = team_store.get_team(conn, team_id)
    seat = team_store.seat_of(conn, admin_id)
    if team is None or seat is None or seat.team_id != team_id:
        raise UnknownTeam(f"there is no team {team_id!r} that you run")
    if not seat.admin:
        raise Forbidden("only the team's admins manage it")
    return team


def set_seat_cap(
    deps: Deps, *, admin_id: str, team_id: str, member_id: str, cap: int | None, now: datetime
) -> SeatUsage:
    """A team admin sets a seat's monthly cap (credits a calendar month, UTC; None: no cap).

    Under the pool's lock, as sends check caps: never below what the seat used this month
    (ValidationError naming ``monthly_cap``). Raises UnknownTeam, Forbidden, UnknownMember.
    """
    require_utc(now)
    with deps.db.write() as conn:
        _check_admin(conn, team_id, admin_id)
        account_store.lock_account_row(conn, team_id)
        seat = _seat_on(conn, team_id, member_id)
        used = team_store.seat_usage(conn, team_id, member_id, month_start(now))
        check_seat_cap(cap, used)
        changed = replace(seat, monthly_cap=cap)
        team_store.update_seat(conn, changed)
        outbox.append(conn, [seat_changed(SEAT_CAP_CHANGED, changed, now)])
        return _usage(conn, team_id, now, only=member_id)[0]


def set_seat_overage(
    deps: Deps, *, admin_id: str, team_id: str, allowed: bool, now: datetime
) -> TeamRecord:
    """A team admin lets seats buy overage for the pool when it runs dry, or not (default).
    Raises UnknownTeam, Forbidden."""
    require_utc(now)
    with deps.db.write() as conn:
        team = _check_admin(conn, team_id, admin_id)
        account_store.lock_account_row(conn, team_id)
        team_store.set_seat_overage(conn, team_id, allowed)
        account_store.update_overage_settings(conn, team_id, OverageSettings(allowed, None))
        changed = replace(team, seat_overage=allowed)
        outbox.append(conn, [team_event(TEAM_CHANGED, changed, now)])
        return _record(conn, changed)


def buy_team_pack(
    deps: Deps,
    *,
    admin_id: str,
    team_id: str,
    pack: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> Purchase:
    """A team admin buys a pack for the pool: charged to the team. Raises UnknownTeam,
    Forbidden, UnknownPack, PacksNotOnPlan, IdempotencyKeyReused."""
    with deps.db.read() as conn:
        _check_admin(conn, team_id, admin_id)
    return buy_pack(
        deps,
        member_id=team_id,
        pack=pack,
        now=now,
        idempotency_key=idempotency_key,
        buyer_id=admin_id,
    )


def team_view(deps: Deps, *, admin_id: str, team_id: str, now: datetime) -> TeamView:
    """The team admin's view: pool credits and each seat's usage this month. Raises
    UnknownTeam, Forbidden."""
    require_utc(now)
    with deps.db.read() as conn:
        team = _check_admin(conn, team_id, admin_id)
    pool = get_credits(deps, member_id=team_id, now=now)
    with deps.db.read() as conn:
        return TeamView(
            _record(conn, team),
            pool,
            month_start(now),
            next_month_start(now),
            tuple(_usage(conn, team_id, now)),
        )


def _usage(
    conn: Connection, team_id: str, now: datetime, only: str | None = None
) -> list[SeatUsage]:
    used = team_store.usage_by_seat(conn, team_id, month_start(now))
    rows = []
    for seat in team_store.seats_of(conn, team_id):
        if only is not None and seat.member_id != only:
            continue
        member = member_store.get_member(conn, seat.member_id)
        assert member is not None
        sends, credits = used.get(seat.member_id, (0, 0))
        rows.append(
            SeatUsage(
                seat.member_id,
                member.handle,
                member.name,
                seat.admin,
                seat.monthly_cap,
                sends,
                credits,
                usage_text(credits, seat.monthly_cap),
            )
        )
    return rows


USAGE_COLUMNS = ("member_id", "handle", "name", "admin", "monthly_cap", "sends", "credits_used")


def usage_csv(deps: Deps, *, admin_id: str, team_id: str, now: datetime) -> str:
    """Per-seat usage this month as CSV (header :data:`USAGE_COLUMNS`; an empty cap: none)."""
    view = team_view(deps, admin_id=admin_id, team_id=team_id, now=now)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(USAGE_COLUMNS)
    for s in view.seats:
        cap = "" if s.cap is None else s.cap
        writer.writerow([s.member_id, s.handle, s.name, s.admin, cap, s.sends, s.used])
    return out.getvalue()


def my_seat(deps: Deps, *, member_id: str, now: datetime) -> MySeat | None:
    """The member's seat and its usage this month ("12 of 40 this month"); None: no seat."""
    require_utc(now)
    with deps.db.read() as conn:
        seat = team_store.seat_of(conn, member_id)
        if seat is None:
            return None
        team = _team(conn, seat.team_id)
        used = team_store.seat_usage(conn, team.id, member_id, month_start(now))
        return MySeat(
            team.id,
            team.name,
            seat.admin,
            seat.monthly_cap,
            used,
            month_start(now),
            next_month_start(now),
            usage_text(used, seat.monthly_cap),
            tuple(team_store.admin_names(conn, team.id)),
        )
