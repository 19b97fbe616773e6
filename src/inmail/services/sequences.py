"""Scheduled follow-ups: running the due ones, and the sender's view and cancel (issue 10 §7).

A schedule is made with its InMail (services.inmail.send_inmail's ``follow_up``).
When it is due, a run sends it or ends it:

- ``inmail worker`` runs every due one (:func:`run_due`), and when no worker runs,
  each sender's next request runs theirs (:func:`run_due_for`, one indexed read
  when nothing is due);
- a run first **claims** schedules (store.sequences.claim_due: a lease, taken
  atomically, so two runs never work on one at once), then sends each through
  the follow-up path (services.inmail.send_scheduled_follow_up) whose
  transaction also moves it to ``sent``; its idempotency key is the schedule's
  id, so a run retried after a crash (the lease ran out) never charges twice;
- a refusal (no credits, InMail turned off, the plan's limit) ends it as
  ``failed`` with the reason, and tells the sender; nothing is charged;
- a reply or decline cancels it in the transaction that records the response
  (services.inmail._respond); a run that meets an answered thread cancels it too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import DBAPIError

from inmail.domain.cycles import require_utc
from inmail.domain.errors import (
    Conflict,
    DomainError,
    NotFound,
    ScheduledFollowUpNotPending,
    ThreadClosed,
)
from inmail.domain.messaging import ThreadStatus
from inmail.domain.sequences import (
    CANCEL_TEXT,
    MAX_ATTEMPTS,
    CancelReason,
    ScheduleStatus,
    ScheduleTerms,
    failure_text,
    gave_up,
    lease_until,
    schedule_terms,
    verdict,
)
from inmail.services.context import Deps
from inmail.services.inmail import send_scheduled_follow_up
from inmail.services.seats import sending_account
from inmail.store import messaging as message_store
from inmail.store import sequences as schedule_store
from inmail.store.sequences import ScheduledRecord

logger = logging.getLogger("inmail.sequences")

BATCH = 20
"""Schedules one claim takes: small, so a stopping worker gives few back."""

ON_REQUEST = 5
"""Due schedules a sender's request runs at most (the rest: the next request, or a worker)."""


@dataclass(frozen=True, slots=True)
class RunReport:
    """What a run did with the schedules it claimed."""

    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    retried: int = 0  # ended without a decision (busy database, lost race): tried again later
    skipped: int = 0  # decided meanwhile by someone else (a reply, the sender, another run)

    def __add__(self, other: RunReport) -> RunReport:
        return RunReport(
            self.sent + other.sent,
            self.failed + other.failed,
            self.cancelled + other.cancelled,
            self.retried + other.retried,
            self.skipped + other.skipped,
        )

    @property
    def total(self) -> int:
        """How many claimed schedules the run went through."""
        return self.sent + self.failed + self.cancelled + self.retried + self.skipped


NOTHING = RunReport()
SENT = RunReport(sent=1)
FAILED = RunReport(failed=1)
CANCELLED = RunReport(cancelled=1)
RETRIED = RunReport(retried=1)
SKIPPED = RunReport(skipped=1)


def run_due(
    deps: Deps,
    *,
    now: datetime,
    sender_id: str | None = None,
    limit: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> RunReport:
    """Send or end every schedule due by ``now`` (a sender's only, with ``sender_id``).

    Claims :data:`BATCH` at a time until none is left, ``limit`` have been
    claimed, or ``should_stop()`` says so (the claimed ones not yet run are given
    back). Never raises for one schedule: each ends sent, failed or cancelled, or
    is left for a later run (``retried``) when the database could not answer.
    """
    require_utc(now)
    report = NOTHING
    claimed_so_far = 0
    while not should_stop() and (limit is None or claimed_so_far < limit):
        take = BATCH if limit is None else min(BATCH, limit - claimed_so_far)
        with deps.db.write() as conn:
            until = lease_until(now, deps.job_lease)
            claimed = schedule_store.claim_due(conn, now, until, limit=take, sender_id=sender_id)
        if not claimed:
            break
        claimed_so_far += len(claimed)
        report += _run_claimed(deps, claimed, now, should_stop)
    return report


def _run_claimed(
    deps: Deps, claimed: list[ScheduledRecord], now: datetime, should_stop: Callable[[], bool]
) -> RunReport:
    report = NOTHING
    for done, schedule in enumerate(claimed):
        if should_stop():
            with deps.db.write() as conn:
                schedule_store.release(conn, [s.id for s in claimed[done:]], now)
            break
        report += run_one(deps, schedule, now)
    return report


def run_due_for(deps: Deps, *, member_id: str, now: datetime) -> RunReport:
    """A sender's own due schedules, on their request.

    Usually no I/O at all: the process remembers until when nothing of theirs can
    be due (services.due_check); otherwise one indexed read. Runs at most
    :data:`ON_REQUEST`; a worker, or the next request, runs the rest.
    """
    if deps.due_check.nothing_due(member_id, now):
        return NOTHING
    with deps.db.read() as conn:
        earliest = schedule_store.earliest_pending(conn, member_id)
    deps.due_check.remember(member_id, now, earliest)
    if earliest is None or earliest > now:
        return NOTHING
    return run_due(deps, now=now, sender_id=member_id, limit=ON_REQUEST)


def run_due_on_request(deps: Deps, member_id: str, now: datetime) -> RunReport:
    """:func:`run_due_for` as a hook before a member's request: its failure (a busy
    database) is logged, never the request's; the schedules wait for the next run."""
    try:
        return run_due_for(deps, member_id=member_id, now=now)
    except Exception:
        logger.exception("scheduled follow-ups of %s not run on their request", member_id)
        return NOTHING


def run_one(deps: Deps, schedule: ScheduledRecord, now: datetime) -> RunReport:
    """Send one claimed schedule, or end it; never raises for the schedule itself."""
    if gave_up(schedule.attempts):
        last = schedule.reason or "no answer"
        why = f"it could not be sent in {MAX_ATTEMPTS} attempts (last: {last})"
        return _fail(deps, schedule, now, "gave-up", why)
    if schedule.body is None:  # never stored so (a template is rendered when scheduled)
        return _fail(deps, schedule, now, "template-not-available", "its template cannot be used")
    try:
        return _decide_and_send(deps, schedule, now)
    except (Conflict, ThreadClosed):
        return _decide_again(deps, schedule, now)
    except DomainError as refused:
        return _fail(deps, schedule, now, refused.code, refused.message)
    except DBAPIError as error:  # busy or gone for a moment: the lease runs out, a run retries
        logger.warning("scheduled follow-up %s not run now: %s", schedule.id, error)
        with deps.db.write() as conn:
            schedule_store.note_retry(conn, schedule.id, "the database was busy", now)
        return RETRIED


def _decide_and_send(deps: Deps, schedule: ScheduledRecord, now: datetime) -> RunReport:
    with deps.db.read() as conn:
        thread = message_store.get_thread(conn, schedule.thread_id)
    assert thread is not None  # a schedule's thread is never deleted
    judged = verdict(ThreadStatus(thread.status), thread.followups_sent)
    if judged.reason is not None:
        return _cancel(deps, schedule, now, judged.reason)
    send_scheduled_follow_up(deps, schedule=schedule, now=now)
    return SENT


def _decide_again(deps: Deps, schedule: ScheduledRecord, now: datetime) -> RunReport:
    """After a lost race: whoever won decided (a reply, the sender, another run), or the
    thread changed under the send and is judged again."""
    with deps.db.read() as conn:
        current = schedule_store.get(conn, schedule.id)
    if current is None or current.status != ScheduleStatus.PENDING:
        return SKIPPED  # decided elsewhere, counted there
    try:
        return _decide_and_send(deps, current, now)
    except DomainError as refused:
        if isinstance(refused, Conflict | ThreadClosed):
            return RETRIED  # raced twice: the next run decides
        return _fail(deps, current, now, refused.code, refused.message)


def _cancel(
    deps: Deps, schedule: ScheduledRecord, now: datetime, reason: CancelReason
) -> RunReport:
    with deps.db.write() as conn:
        ended = schedule_store.finish(
            conn,
            schedule.id,
            ScheduleStatus.CANCELLED,
            now,
            reason_code=reason.value,
            reason=CANCEL_TEXT[reason],
        )
    return CANCELLED if ended else SKIPPED


def _fail(
    deps: Deps, schedule: ScheduledRecord, now: datetime, code: str, reason: str
) -> RunReport:
    """Failed for good, the sender told why; nothing was charged (the send rolled back)."""
    with deps.db.write() as conn:
        ended = schedule_store.finish(
            conn, schedule.id, ScheduleStatus.FAILED, now, reason_code=code, reason=reason
        )
        if ended:
            message_store.notify(
                conn,
                member_id=schedule.sender_id,
                at=now,
                kind="scheduled_follow_up_failed",
                text=failure_text(reason),
                reference=f"thread:{schedule.thread_id}",
            )
    return FAILED if ended else SKIPPED


def follow_up_terms(deps: Deps, *, member_id: str, now: datetime) -> ScheduleTerms:
    """The ``after_days`` the member may schedule a follow-up for now (the terms of the plan
    they send on: their team's while they hold a seat, as the send checks them)."""
    plan = sending_account(deps, member_id, now).subscription.plan
    return schedule_terms(plan, deps.followup_max_days)


def get_schedule(deps: Deps, *, member_id: str, schedule_id: str) -> ScheduledRecord:
    """One of the member's own schedules; anyone else's is NotFound (never revealed)."""
    with deps.db.read() as conn:
        found = schedule_store.get(conn, schedule_id)
    if found is None or found.sender_id != member_id:
        raise NotFound(f"there is no scheduled follow-up {schedule_id!r}")
    return found


def schedule_of_thread(deps: Deps, *, member_id: str, thread_id: str) -> ScheduledRecord | None:
    """The thread's schedule if the member is its sender (the recipient never sees it)."""
    with deps.db.read() as conn:
        found = schedule_store.for_thread(conn, thread_id)
    return found if found is not None and found.sender_id == member_id else None


def list_schedules(
    deps: Deps,
    *,
    member_id: str,
    status: ScheduleStatus | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> list[ScheduledRecord]:
    """The member's schedules, soonest due first; those after ``after`` (due at, id)."""
    with deps.db.read() as conn:
        return schedule_store.list_for_sender(
            conn,
            member_id,
            status=None if status is None else status.value,
            after=after,
            limit=limit,
        )


def cancel_schedule(
    deps: Deps, *, member_id: str, schedule_id: str, now: datetime
) -> ScheduledRecord:
    """The sender cancels their pending schedule; cancelling a cancelled one changes nothing.

    Raises NotFound (not the member's), ScheduledFollowUpNotPending (sent or failed
    already: a sent follow-up is an InMail, and cannot be cancelled).
    """
    require_utc(now)
    get_schedule(deps, member_id=member_id, schedule_id=schedule_id)
    reason = CancelReason.BY_SENDER
    with deps.db.write() as conn:
        schedule_store.finish(
            conn,
            schedule_id,
            ScheduleStatus.CANCELLED,
            now,
            reason_code=reason.value,
            reason=CANCEL_TEXT[reason],
        )
        current = schedule_store.get(conn, schedule_id)
    assert current is not None
    if current.status == ScheduleStatus.CANCELLED:
        return current
    raise ScheduledFollowUpNotPending(_not_pending(current))


def _not_pending(schedule: ScheduledRecord) -> str:
    when = schedule.updated_at.isoformat().replace("+00:00", "Z")
    if schedule.status == ScheduleStatus.SENT:
        return (
            f"this follow-up was sent at {when}: a sent InMail cannot be cancelled, "
            "edited or deleted"
        )
    return f"this follow-up was not sent ({schedule.reason}): there is nothing to cancel"
