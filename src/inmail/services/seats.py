"""Who pays for a send, and may this seat spend: the one team step of the send path.

A member who holds a team seat sends on the team's plan and pays from the team's
pool (SPEC §10); everyone else pays from their own account. The step runs inside the
spend's transaction, so the seat's monthly cap is checked under the pool's lock:
concurrent sends by any of the team's seats are serialized on that one row.

Previews (the quote, search, targeting, the coach) read the same rule without a lock:
:class:`Payer`, through :func:`payer_as_of` or, inside a read, :func:`read_payer`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection

from inmail.domain.credits import Book
from inmail.domain.errors import UnknownMember
from inmail.domain.teams import Seat, SeatAllowance, month_start
from inmail.services.context import (
    Deps,
    OpenAccount,
    current_account,
    holder_account,
    holder_terms,
    is_due,
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


@dataclass(frozen=True, slots=True)
class Payer:
    """Whose terms and whose credits a member's next send follows (SPEC §10), for previews.

    ``sender``: the member's own account, on the plan they send on (their team's while
    they hold a seat: its InMail, cost and follow-ups); ``pays``: the account the send
    would draw from (the team's pool while seated, else ``sender``); ``seat``: their
    seat (None: none), whose monthly cap a paid send must fit; ``book``: ``pays``'s live
    lots if read with it (None: read when priced). The send resolves the same rule under
    the pool's lock (:func:`open_payer`); every preview (the quote, search, targeting, the
    coach) resolves it here, so they all price from the account that will pay.
    """

    sender: account_store.Account
    pays: account_store.Account
    seat: Seat | None = None
    book: Book | None = None

    def due(self, now: datetime) -> bool:
        """Whether a renewal of the sender or of the pool is due at ``now`` (the read is
        stale: catch up with :func:`payer_as_of`)."""
        return is_due(self.sender.next_due_at, now) or is_due(self.pays.next_due_at, now)


def read_payer(
    deps: Deps,
    conn: Connection,
    own: account_store.Account,
    now: datetime,
    *,
    book: Book | None = None,
) -> Payer:
    """The :class:`Payer` of ``own``'s holder as read in ``conn``, nothing caught up: one
    statement (the seat) without a seat, three with one (the team and its pool).

    ``book``: ``own``'s live lots, if read with it. Check :meth:`Payer.due` before
    pricing from it: a renewal due at ``now`` (own, or the pool's) has not been applied.
    """
    seat = team_store.seat_of(conn, own.member_id)
    if seat is None:
        return Payer(own, own, None, book)
    versions, _ = holder_terms(deps, conn, seat.team_id)  # a pool's terms are scaled
    pool = account_store.read_account(conn, seat.team_id, versions)
    if pool is None:  # as holder_account: a team always holds its pool
        raise UnknownMember(f"there is no member {seat.team_id!r}")
    return _seated(own, pool, seat)


def payer_as_of(deps: Deps, member_id: str, now: datetime) -> Payer:
    """The :class:`Payer` of ``member_id`` with every renewal due by ``now`` applied (theirs,
    and their team pool's): a transaction for each, as :func:`current_account`. Raises
    UnknownMember (also for a team's id)."""
    own = current_account(deps, member_id, now)
    with deps.db.read() as conn:
        seat = team_store.seat_of(conn, member_id)
    if seat is None:
        return Payer(own, own)
    return _seated(own, holder_account(deps, seat.team_id, now), seat)


def _seated(own: account_store.Account, pool: account_store.Account, seat: Seat) -> Payer:
    """A seat holder sends on the pool's plan (InMail, credit-back days, follow-ups: the
    pool's terms; its allotment and cap play no part in a send) and pays from the pool."""
    plan = pool.subscription.plan
    return Payer(replace(own, subscription=replace(own.subscription, plan=plan)), pool, seat)


def sending_account(deps: Deps, member_id: str, now: datetime) -> account_store.Account:
    """The account whose plan terms a member's send follows, caught up to ``now``: their
    own, on their team's plan while they hold a seat (:class:`Payer`). Raises UnknownMember.
    """
    return payer_as_of(deps, member_id, now).sender
