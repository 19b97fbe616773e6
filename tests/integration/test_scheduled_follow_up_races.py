"""Scheduled follow-ups are sent and charged exactly once under concurrency (issue 10 §7).

On a real SQLite file and a real PostgreSQL (the ``deps`` fixture runs each test on
both). Threads share one ``Deps`` (each gets its own pooled connection) and start at
a barrier so the runs really overlap: two workers, a worker and the sender's own
request, two runs of one schedule (a lease that ran out while the first still
worked), a worker that died after claiming, a reply or the sender's cancel racing
the send. After each: every schedule ended once, every follow-up has exactly one
spend, balances add up and the audit is clean.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select

from inmail.domain.errors import ScheduledFollowUpNotPending
from inmail.domain.sequences import FollowUpRequest, ScheduleStatus
from inmail.services.context import Deps
from inmail.services.inmail import post_in_thread, send_inmail
from inmail.services.sequences import (
    RunReport,
    cancel_schedule,
    get_schedule,
    run_due,
    run_due_for,
    run_one,
)
from inmail.store import sequences as schedule_store
from inmail.store.tables import messages
from tests.conftest import T0
from tests.helpers import assert_audit_clean, balance, days, new_member
from tests.integration.test_send_concurrency import spend_references, together

PLAN = "recruiter_corporate"  # 75 credits: room for every InMail and follow-up here
CREDITS = 75
SENT_AT = T0 + days(1)
DUE = SENT_AT + days(7)
LATER = DUE + days(1)  # before the Feb 28 renewal


@dataclass(frozen=True)
class Scheduled:
    sender: str
    recipient: str
    thread_id: str
    inmail_id: str
    schedule_id: str


def schedule_many(deps: Deps, senders: int, recipients: int) -> list[Scheduled]:
    """Every sender sends every recipient an InMail with a follow-up due at DUE."""
    made = []
    sender_ids = [new_member(deps, PLAN, T0) for _ in range(senders)]
    recipient_ids = [new_member(deps, "basic", T0) for _ in range(recipients)]
    for sender in sender_ids:
        for recipient in recipient_ids:
            made.append(schedule_one(deps, sender, recipient))
    return made


def schedule_one(deps: Deps, sender: str, recipient: str) -> Scheduled:
    sent = send_inmail(
        deps,
        sender_id=sender,
        to=recipient,
        subject="Hello",
        body="About the role?",
        now=SENT_AT,
        follow_up=FollowUpRequest(7, "Any news?"),
    )
    with deps.db.read() as conn:
        found = schedule_store.for_thread(conn, sent.thread_id)
    assert found is not None
    return Scheduled(sender, recipient, sent.thread_id, sent.id, found.id)


def followups_of(deps: Deps, thread_id: str) -> list[str]:
    query = select(messages.c.id).where(
        messages.c.thread_id == thread_id, messages.c.kind == "followup"
    )
    with deps.db.read() as conn:
        return list(conn.execute(query).scalars())


def status_of(deps: Deps, s: Scheduled) -> str:
    return get_schedule(deps, member_id=s.sender, schedule_id=s.schedule_id).status


def assert_sent_once(deps: Deps, made: list[Scheduled]) -> None:
    """Each schedule sent, with one follow-up that has one spend; balances add up."""
    spends: Counter[str] = Counter()
    for sender in {s.sender for s in made}:
        spends += spend_references(deps, sender)
    for s in made:
        record = get_schedule(deps, member_id=s.sender, schedule_id=s.schedule_id)
        assert record.status == ScheduleStatus.SENT
        assert followups_of(deps, s.thread_id) == [record.message_id]
        assert spends[f"inmail:{record.message_id}"] == 1
        assert spends[f"inmail:{s.inmail_id}"] == 1
    for sender in {s.sender for s in made}:
        mine = sum(1 for s in made if s.sender == sender)
        assert balance(deps, sender, LATER) == CREDITS - 2 * mine
    assert_audit_clean(deps)


def total(results: list[RunReport | BaseException]) -> RunReport:
    report = RunReport()
    for result in results:
        assert isinstance(result, RunReport), result
        report += result
    return report


def test_two_workers_send_each_due_follow_up_once(deps: Deps) -> None:
    made = schedule_many(deps, senders=3, recipients=8)
    reports = together(2, lambda _: run_due(deps, now=LATER))
    assert total(reports) == RunReport(sent=len(made))  # disjoint claims: none run twice
    assert_sent_once(deps, made)
    assert run_due(deps, now=LATER + days(1)) == RunReport()


def test_a_senders_request_racing_the_worker_sends_once(deps: Deps) -> None:
    made = schedule_many(deps, senders=1, recipients=12)
    sender = made[0].sender

    def run(i: int) -> RunReport:
        if i == 0:
            return run_due(deps, now=LATER)
        return run_due_for(deps, member_id=sender, now=LATER)

    reports = together(3, run)
    assert total(reports).sent == len(made)
    assert_sent_once(deps, made)


def test_two_runs_of_one_schedule_charge_once(deps: Deps) -> None:
    """A lease ran out while the first run still worked: both hold the schedule at once."""
    made = schedule_many(deps, senders=2, recipients=5)
    for s in made:
        with deps.db.write() as conn:
            (claimed,) = schedule_store.claim_due(
                conn, LATER, LATER + days(1), limit=1, sender_id=s.sender
            )

        def run(_: int, c: schedule_store.ScheduledRecord = claimed) -> RunReport:
            return run_one(deps, c, LATER)

        reports = together(2, run)
        assert total(reports).sent >= 1
    assert_sent_once(deps, made)


def test_a_worker_killed_after_claiming_leaves_the_follow_up_to_a_later_run(deps: Deps) -> None:
    made = schedule_many(deps, senders=1, recipients=3)
    with deps.db.write() as conn:  # a worker claims them all, and dies before sending any
        claimed = schedule_store.claim_due(conn, LATER, LATER + deps.job_lease, limit=10)
    assert len(claimed) == 3
    assert run_due(deps, now=LATER) == RunReport()  # still held: nobody else takes them
    assert all(status_of(deps, s) == "pending" for s in made)
    after_lease = LATER + deps.job_lease
    assert run_due(deps, now=after_lease) == RunReport(sent=3)
    for s in made:
        record = get_schedule(deps, member_id=s.sender, schedule_id=s.schedule_id)
        assert record.attempts == 2
        assert record.updated_at == after_lease
    assert_sent_once(deps, made)


# The reply starts this much after the run, round by round: a run reads before it writes,
# so a reply at once nearly always wins; later ones meet the send at each of its steps.
REPLY_DELAYS_S = (0.0, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16)


def test_a_reply_racing_the_scheduled_send_leaves_one_consistent_outcome(deps: Deps) -> None:
    sender = new_member(deps, PLAN, T0)
    outcomes: Counter[str] = Counter()
    for delay in REPLY_DELAYS_S:
        s = schedule_one(deps, sender, new_member(deps, "basic", T0))

        def race(i: int, s: Scheduled = s, delay: float = delay) -> object:
            if i == 0:
                return run_due_for(deps, member_id=sender, now=LATER)
            time.sleep(delay)
            return post_in_thread(
                deps, member_id=s.recipient, thread_id=s.thread_id, body="Yes!", now=LATER
            )

        results = together(2, race)
        assert not any(isinstance(r, BaseException) for r in results), results
        status = status_of(deps, s)
        outcomes[status] += 1
        followups = followups_of(deps, s.thread_id)
        spends = spend_references(deps, sender)
        if status == ScheduleStatus.SENT:
            assert len(followups) == 1
            assert spends[f"inmail:{followups[0]}"] == 1
        else:
            record = get_schedule(deps, member_id=sender, schedule_id=s.schedule_id)
            assert (record.status, record.reason_code) == ("cancelled", "answered")
            assert followups == []
    charged = sum(spend_references(deps, sender).values())
    assert charged == len(REPLY_DELAYS_S) + outcomes["sent"]
    assert balance(deps, sender, LATER) == CREDITS - charged
    assert_audit_clean(deps)


def test_the_senders_cancel_racing_the_worker_either_cancels_or_is_told_it_was_sent(
    deps: Deps,
) -> None:
    sender = new_member(deps, PLAN, T0)
    for delay in REPLY_DELAYS_S:
        s = schedule_one(deps, sender, new_member(deps, "basic", T0))

        def race(i: int, s: Scheduled = s, delay: float = delay) -> object:
            if i == 0:
                return run_due(deps, now=LATER)
            time.sleep(delay)
            return cancel_schedule(deps, member_id=sender, schedule_id=s.schedule_id, now=LATER)

        worker, cancel = together(2, race)
        assert isinstance(worker, RunReport), worker
        status = status_of(deps, s)
        if status == ScheduleStatus.SENT:
            assert isinstance(cancel, ScheduledFollowUpNotPending), cancel
            assert len(followups_of(deps, s.thread_id)) == 1
        else:
            assert status == ScheduleStatus.CANCELLED
            assert not isinstance(cancel, BaseException), cancel
            assert followups_of(deps, s.thread_id) == []
    charged = sum(spend_references(deps, sender).values())
    assert balance(deps, sender, LATER) == CREDITS - charged
    assert_audit_clean(deps)
