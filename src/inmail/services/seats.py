"""Who pays for a send, and may this seat spend: the one team step of the send path.

A member who holds a team seat sends on the team's plan and pays from the team's
pool (SPEC §10); everyone else pays from their own account. The step runs inside the
spend's transaction, so the seat's monthly cap is checked under the pool's lock:
concurrent sends by any of the team's seats are serialized on that one row.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection

from inmail.domain.credits import Book
from inmail.domain.teams import Seat, SeatAllowance, month_start
from inmail.services.context import (
    Deps,
    OpenAccount,
    current_account,
    holder_account,
    lock_and_catch_up,
)
from inmail.store import accounts as account_store
from inmail.store import teams as team_store


def open_payer(
    deps: Deps, conn: Connection, member_id: str, now: datetime, cost: int
) -> tuple[OpenAccount, str | None]:
    """Lock and catch up the account that pays ``member_id``'s send of ``cost`` credits.

    Returns it with the seat member's id when a team pool pays (None: their own
    account). Raises SeatCapReached when the seat's sends this month would pass its
    cap. Call inside the spend's write transaction.
    """
    seat = team_store.seat_of(conn, member_id)
    if seat is None:
        return lock_and_catch_up(deps, conn, member_id, now), None
    opened = lock_and_catch_up(deps, conn, seat.team_id, now)
    # Read again under the pool's lock: an admin changes a cap holding that lock too.
    seat = team_store.seat_of(conn, member_id)
    if seat is None or seat.team_id != opened.account.member_id:  # left the team meanwhile
        opened.save()  # keep what the catch-up applied; the member pays for themselves
        return lock_and_catch_up(deps, conn, member_id, now), None
    seat_allowance(conn, seat, now).allow(cost)
    return opened, member_id


def seat_allowance(conn: Connection, seat: Seat, now: datetime) -> SeatAllowance:
    """What the seat's monthly cap check needs at ``now``: its usage this calendar month
    and its team's admins. The send checks it under the pool's lock; previews (the quote,
    a bulk dry run) read it to say before writing what the send would refuse."""
    used = team_store.seat_usage(conn, seat.team_id, seat.member_id, month_start(now))
    return SeatAllowance(seat, used, tuple(team_store.admin_names(conn, seat.team_id)))


def name_the_seat(book: Book, first: int, seat: str | None) -> None:
    """Mark the book's ledger lines from index ``first`` on as paid for ``seat``'s send."""
    if seat is None:
        return
    book.entries[first:] = [replace(e, seat=seat) for e in book.entries[first:]]


def sending_account(deps: Deps, member_id: str, now: datetime) -> account_store.Account:
    """The account whose plan terms a member's send follows, caught up to ``now``.

    A seated member sends on the team's plan (InMail, credit-back days, follow-ups: the
    pool's terms; allotment and cap are the pool's and play no part in a send); anyone
    else on their own. Raises UnknownMember.
    """
    own = current_account(deps, member_id, now)
    with deps.db.read() as conn:
        seat = team_store.seat_of(conn, member_id)
    if seat is None:
        return own
    pool = holder_account(deps, seat.team_id, now)
    return replace(own, subscription=replace(own.subscription, plan=pool.subscription.plan))


def paying_account(deps: Deps, member_id: str, now: datetime) -> account_store.Account:
    """The account a member's next send would pay from (their team's pool while seated),
    caught up to ``now``: for previews (the quote). Raises UnknownMember."""
    with deps.db.read() as conn:
        seat = team_store.seat_of(conn, member_id)
    return holder_account(deps, member_id if seat is None else seat.team_id, now)
