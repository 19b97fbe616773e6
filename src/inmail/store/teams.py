"""Teams and their seats; a seat's usage (its unrefunded spends) in a period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from inmail.domain.teams import Seat, Team
from inmail.store.tables import members, spends, team_seats, teams


def insert_team(conn: Connection, team: Team) -> None:
    conn.execute(
        insert(teams).values(
            id=team.id,
            name=team.name,
            plan_code=team.plan_code,
            seats=team.seats,
            pool_cap=team.pool_cap,
            seat_overage=team.seat_overage,
            created_at=team.created_at,
        )
    )


def get_team(conn: Connection, team_id: str) -> Team | None:
    row = conn.execute(select(teams).where(teams.c.id == team_id)).first()
    return None if row is None else _team(row)


def list_teams(conn: Connection, *, after: str | None, limit: int) -> list[Team]:
    """Teams by id, after the team ``after``."""
    query = select(teams).order_by(teams.c.id).limit(limit)
    if after is not None:
        query = query.where(teams.c.id > after)
    return [_team(r) for r in conn.execute(query)]


def _team(r: Row[Any]) -> Team:
    return Team(r.id, r.name, r.plan_code, r.seats, r.pool_cap, r.seat_overage, r.created_at)


def update_terms(conn: Connection, team_id: str, seats: int, pool_cap: int | None) -> None:
    conn.execute(update(teams).where(teams.c.id == team_id).values(seats=seats, pool_cap=pool_cap))


def set_seat_overage(conn: Connection, team_id: str, allowed: bool) -> None:
    conn.execute(update(teams).where(teams.c.id == team_id).values(seat_overage=allowed))


def seat_of(conn: Connection, member_id: str) -> Seat | None:
    """The member's seat, if they hold one (a member holds at most one)."""
    row = conn.execute(select(team_seats).where(team_seats.c.member_id == member_id)).first()
    return None if row is None else _seat(row)


def seats_of(conn: Connection, team_id: str) -> list[Seat]:
    """The team's seats, in the order they were assigned."""
    rows = conn.execute(
        select(team_seats)
        .where(team_seats.c.team_id == team_id)
        .order_by(team_seats.c.assigned_at, team_seats.c.member_id)
    )
    return [_seat(r) for r in rows]


def seats_of_teams(conn: Connection, team_ids: list[str]) -> dict[str, list[Seat]]:
    """The seats of each of ``team_ids`` (one query), each team's in assignment order."""
    found: dict[str, list[Seat]] = {t: [] for t in team_ids}
    if not team_ids:
        return found
    rows = conn.execute(
        select(team_seats)
        .where(team_seats.c.team_id.in_(team_ids))
        .order_by(team_seats.c.assigned_at, team_seats.c.member_id)
    )
    for r in rows:
        found[r.team_id].append(_seat(r))
    return found


def _seat(r: Row[Any]) -> Seat:
    return Seat(r.member_id, r.team_id, r.admin, r.monthly_cap, r.assigned_at)


def insert_seat(conn: Connection, seat: Seat) -> None:
    conn.execute(
        insert(team_seats).values(
            member_id=seat.member_id,
            team_id=seat.team_id,
            admin=seat.admin,
            monthly_cap=seat.monthly_cap,
            assigned_at=seat.assigned_at,
        )
    )


def delete_seat(conn: Connection, team_id: str, member_id: str) -> bool:
    result = conn.execute(
        delete(team_seats).where(
            team_seats.c.team_id == team_id, team_seats.c.member_id == member_id
        )
    )
    return result.rowcount == 1


def update_seat(conn: Connection, seat: Seat) -> None:
    conn.execute(
        update(team_seats)
        .where(team_seats.c.member_id == seat.member_id, team_seats.c.team_id == seat.team_id)
        .values(admin=seat.admin, monthly_cap=seat.monthly_cap)
    )


def admin_names(conn: Connection, team_id: str) -> list[str]:
    """The names of the team's admins, by name."""
    rows = conn.execute(
        select(members.c.name)
        .join(team_seats, team_seats.c.member_id == members.c.id)
        .where(team_seats.c.team_id == team_id, team_seats.c.admin.is_(True))
        .order_by(members.c.name)
    )
    return list(rows.scalars())


def seat_usage(conn: Connection, pool_id: str, member_id: str, since: datetime) -> int:
    """Credits the seat spent from the pool since ``since`` and not credited back."""
    total = conn.execute(
        select(func.coalesce(func.sum(spends.c.cost), 0)).where(
            spends.c.seat_member_id == member_id,
            spends.c.member_id == pool_id,
            spends.c.at >= since,
            spends.c.refunded_at.is_(None),
        )
    ).scalar_one()
    return int(total)


def usage_by_seat(conn: Connection, pool_id: str, since: datetime) -> dict[str, tuple[int, int]]:
    """Per seat member: (sends, credits) paid by the pool since ``since``, credit-backs excluded."""
    rows = conn.execute(
        select(spends.c.seat_member_id, func.count(), func.coalesce(func.sum(spends.c.cost), 0))
        .where(
            spends.c.member_id == pool_id,
            spends.c.seat_member_id.is_not(None),
            spends.c.at >= since,
            spends.c.refunded_at.is_(None),
        )
        .group_by(spends.c.seat_member_id)
    )
    return {member: (int(n), int(credits)) for member, n, credits in rows}
