"""The notifications nobody's action writes, written once whoever computes them first.

Follow-up due (SPEC §5) and the credit warnings, forfeit soon, expiring soon and
low balance (SPEC §9), are decided by domain.notices from the member's threads
and credits at ``now``. Two paths write them, through :func:`write_due_notices`:
a member opening their notifications (or :func:`write_followup_notices`, their
follow-ups), so nobody waits for a job; and ``inmail worker``'s
:func:`sweep`, so a member who never looks is warned too. Each notice has a
``once_key`` (a unique column): however many readers and workers compute it at
once, it is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from inmail.domain.cycles import require_utc
from inmail.domain.notices import (
    LOW_BALANCE,
    WARN_BEFORE,
    CreditFacts,
    DueNotice,
    FollowUpDue,
    credit_warnings,
    followup_notice,
    followups_due,
)
from inmail.domain.plans import Plan
from inmail.domain.timeline import LATEST, later
from inmail.services.context import Deps
from inmail.services.seats import sending_account
from inmail.services.statements import get_credits
from inmail.store import messaging as message_store
from inmail.store import notices as notice_store
from inmail.store import teams as team_store
from inmail.store.messaging import ThreadRecord

SWEEP_CHUNK = 200
"""Members whose candidacy one query decides; each is then computed on its own."""


def due_followups(
    deps: Deps, member_id: str, plan: Plan, now: datetime
) -> list[FollowUpDue[ThreadRecord]]:
    """The member's InMail threads due for a follow-up at ``now`` under ``plan`` (their
    current cycle's terms), longest-due first."""
    with deps.db.read() as conn:
        waiting = message_store.awaiting_threads(conn, member_id)
    return followups_due(waiting, plan, now)


def write_notices(deps: Deps, member_id: str, notices: Sequence[DueNotice]) -> int:
    """Write each notice unless one with its ``once_key`` exists: how many this call wrote."""
    if not notices:
        return 0
    written = 0
    with deps.db.write() as conn:
        for n in notices:
            written += message_store.notify_once(
                conn,
                member_id=member_id,
                at=n.at,
                kind=n.kind,
                text=n.text,
                reference=n.reference,
                once_key=n.once_key,
            )
    return written


def write_followup_notices(
    deps: Deps, member_id: str, due: Sequence[FollowUpDue[ThreadRecord]]
) -> int:
    """The "follow-up due" notice of each thread in ``due``, once each."""
    return write_notices(deps, member_id, [followup_notice(d.thread, d.due_at) for d in due])


def write_due_notices(deps: Deps, member_id: str, now: datetime) -> int:
    """Every notice due to the member at ``now`` (UTC), written once: how many this call wrote.

    Applies any renewal due first (services.statements.get_credits). Raises UnknownMember.
    """
    require_utc(now)
    credits = get_credits(deps, member_id=member_id, now=now)  # renewals and expiries applied
    with deps.db.read() as conn:
        seated = team_store.seat_of(conn, member_id) is not None
        waiting = message_store.awaiting_threads(conn, member_id)
        expiring = notice_store.lots_expiring_by(conn, member_id, later(now, WARN_BEFORE) or LATEST)
    # Follow-ups go by the plan the member sends on: a seat's is its team's. Everyone else's
    # is the cycle's terms just read: the worker's sweep reads no account twice for them.
    plan = sending_account(deps, member_id, now).subscription.plan if seated else credits.terms
    notices = [followup_notice(d.thread, d.due_at) for d in followups_due(waiting, plan, now)]
    facts = CreditFacts(
        balance=credits.balance,
        monthly_allotment=credits.monthly_allotment,
        cycle_start=credits.cycle_start,
        next_renewal_at=credits.next_renewal_at,
        forfeit_at_next_renewal=credits.forfeit_at_next_renewal,
        lots=expiring,
    )
    notices += credit_warnings(member_id, facts, now)
    return write_notices(deps, member_id, notices)


@dataclass(frozen=True, slots=True)
class SweepReport:
    """``checked``: members computed; ``written``: notices written (0 when readers or
    another worker had written them all)."""

    checked: int = 0
    written: int = 0


def sweep(
    deps: Deps,
    *,
    now: datetime,
    should_stop: Callable[[], bool] = lambda: False,
    chunk: int = SWEEP_CHUNK,
) -> SweepReport:
    """Write every member's due notices at ``now`` (UTC), ``chunk`` candidate members at a
    time (store.notices.members_to_check, by indexes), each computed by
    :func:`write_due_notices` in its own transactions. Stops between members once
    ``should_stop()``; what it wrote stays, and the next sweep does the rest.
    """
    require_utc(now)
    with deps.db.read() as conn:
        shortest = notice_store.shortest_followup_wait_days(conn)
    # A thread last sent to after this cannot be due under any plan; None: none can be.
    followups_from = None if shortest is None else _earlier(now, timedelta(days=shortest))
    warn_until = later(now, WARN_BEFORE)
    checked = written = 0
    after: str | None = None
    while not should_stop():
        with deps.db.read() as conn:
            members = notice_store.members_to_check(
                conn,
                after=after,
                limit=chunk,
                warn_until=LATEST if warn_until is None else warn_until,
                low_balance=LOW_BALANCE,
                followups_from=followups_from,
            )
        for member_id in members:
            if should_stop():
                break
            written += write_due_notices(deps, member_id, now)
            checked += 1
        if len(members) < chunk:
            break
        after = members[-1]
    return SweepReport(checked, written)


def _earlier(moment: datetime, span: timedelta) -> datetime | None:
    try:
        return moment - span
    except OverflowError:  # before year 1: nothing was sent that long ago
        return None
