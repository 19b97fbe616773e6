"""Concurrent spam reports on a real SQLite file and a real PostgreSQL (the ``deps``
fixture): many recipients report one sender at once, and exactly one ban is written, with
one notification and one event; one recipient reporting twice at once stores one report."""

from __future__ import annotations

from sqlalchemy import func, select

from inmail.domain.reputation import ReportReason
from inmail.services.context import Deps
from inmail.services.inmail import send_inmail
from inmail.services.reputation import Reported, report_thread
from inmail.store.tables import notifications, outbox_events, spam_reports, suspensions
from tests.conftest import T0
from tests.helpers import days, new_member
from tests.integration.test_send_concurrency import together

NOW = T0 + days(1)
REPORTERS = 8


def _count(deps: Deps, query: object) -> int:
    with deps.db.read() as conn:
        return int(conn.execute(query).scalar_one())  # type: ignore[call-overload]


def test_concurrent_reports_bring_exactly_one_ban(deps: Deps) -> None:
    sender = new_member(deps, "premium_business", T0)
    threads = []
    for _ in range(REPORTERS):
        to = new_member(deps, "basic", T0)
        sent = send_inmail(deps, sender_id=sender, to=to, subject="Hi", body="A role?", now=T0)
        threads.append((to, sent.thread_id))

    def report(i: int) -> Reported:
        to, thread = threads[i]
        return report_thread(
            deps, reporter_id=to, thread_id=thread, reason=ReportReason.SPAM, now=NOW
        )

    results = together(REPORTERS, report)
    assert all(isinstance(r, Reported) and r.created for r in results), results
    assert _count(deps, select(func.count()).select_from(spam_reports)) == REPORTERS
    bans = select(func.count()).select_from(suspensions).where(suspensions.c.member_id == sender)
    assert _count(deps, bans) == 1
    told = select(func.count()).where(
        notifications.c.member_id == sender, notifications.c.kind == "sending_suspended"
    )
    assert _count(deps, told) == 1
    events = select(func.count()).where(outbox_events.c.type == "member.suspended")
    assert _count(deps, events) == 1


def test_one_recipient_reporting_twice_at_once_stores_one_report(deps: Deps) -> None:
    sender, to = new_member(deps, "premium_business", T0), new_member(deps, "basic", T0)
    sent = send_inmail(deps, sender_id=sender, to=to, subject="Hi", body="A role?", now=T0)

    def report(i: int) -> Reported:
        reason = ReportReason.SPAM if i % 2 else ReportReason.NOT_RELEVANT
        return report_thread(deps, reporter_id=to, thread_id=sent.thread_id, reason=reason, now=NOW)

    results = together(4, report)
    made = [r for r in results if isinstance(r, Reported)]
    assert len(made) == 4, results
    assert sum(r.created for r in made) == 1
    assert len({r.report.id for r in made}) == 1  # every answer is the one stored report
    assert _count(deps, select(func.count()).select_from(spam_reports)) == 1
    reported = select(func.count()).where(outbox_events.c.type == "inmail.reported")
    assert _count(deps, reported) == 1
