"""The worker's notice sweep and key pruning, on both engines, with the test clock.

A notice due (follow-up due, forfeit soon, expiring soon, low balance) is written
exactly once, whether the worker computes it, the member's read does, or both in
turn; a notice not yet due is not written. Idempotency keys older than their
retention are deleted in bounded batches; a retry with a deleted key is a new request.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from inmail.bootstrap import Runtime, build
from inmail.config import Settings
from inmail.services.credits import buy_pack
from inmail.services.idempotency import prune_expired_keys
from inmail.services.inbox import list_notifications
from inmail.services.inmail import send_inmail
from inmail.services.members import create_member
from inmail.services.notices import sweep
from inmail.store import idempotency as key_store
from inmail.store.tables import idempotency_keys, notifications
from inmail.worker import PassReport, Worker
from tests.helpers import balance

START = "2026-01-31T09:00:00Z"
START_AT = datetime.fromisoformat(START)  # the same moment, typed for Settings


@pytest.fixture
def rt(db_url: str) -> Iterator[Runtime]:
    runtime = build(Settings(database_url=db_url, test_clock=START_AT, worker_notice_seconds=0))
    yield runtime
    runtime.close()


def _advance(rt: Runtime, **span: float) -> None:
    assert rt.test_clock is not None
    rt.test_clock.advance(timedelta(**span))


def _kinds(rt: Runtime, member_id: str) -> list[str]:
    """The kinds of the member's stored notifications, oldest first (renewals left out)."""
    query = (
        select(notifications.c.kind)
        .where(notifications.c.member_id == member_id, notifications.c.kind != "credits_renewed")
        .order_by(notifications.c.id)
    )
    with rt.deps.db.read() as conn:
        return list(conn.execute(query).scalars())


def _written(report: PassReport) -> int:
    assert report.notices is not None  # the pass swept
    return report.notices.written


def _member(rt: Runtime, handle: str, plan: str) -> str:
    return create_member(
        rt.deps, handle=handle, name=handle.title(), plan=plan, now=rt.clock.now()
    ).id


def _send(rt: Runtime, sender: str, recipient: str) -> None:
    send_inmail(
        rt.deps,
        sender_id=sender,
        to=recipient,
        subject="Hello",
        body="A question?",
        now=rt.clock.now(),
    )


def test_a_follow_up_due_is_notified_once_by_the_worker_and_the_members_read(rt: Runtime) -> None:
    worker = Worker(rt, poll_seconds=1)
    sender = _member(rt, "ada", "premium_business")  # a follow-up after 7 days
    recipient = _member(rt, "bob", "basic")
    _send(rt, sender, recipient)
    _advance(rt, days=6, hours=23)
    report = worker.run_pass()
    assert _written(report) == 0
    assert _kinds(rt, sender) == []  # not due yet
    _advance(rt, hours=1)
    assert _written(worker.run_pass()) == 1
    assert _kinds(rt, sender) == ["follow_up_due"]
    read = list_notifications(rt.deps, member_id=sender, now=rt.clock.now())
    assert [n.kind for n in read if n.kind == "follow_up_due"] == ["follow_up_due"]
    again = worker.run_pass()
    assert _written(again) == 0
    assert _kinds(rt, sender) == ["follow_up_due"]
    assert "follow_up_due" not in _kinds(rt, recipient)


def test_a_members_read_first_then_the_worker_writes_nothing_more(rt: Runtime) -> None:
    sender = _member(rt, "ada", "premium_business")
    _send(rt, sender, _member(rt, "bob", "basic"))
    _advance(rt, days=8)
    list_notifications(rt.deps, member_id=sender, now=rt.clock.now())
    report = Worker(rt, poll_seconds=1).run_pass()
    assert _written(report) == 0
    assert _kinds(rt, sender) == ["follow_up_due"]


def test_forfeit_and_expiry_warnings_are_written_once_when_due_and_not_before(
    rt: Runtime,
) -> None:
    worker = Worker(rt, poll_seconds=1)
    member = _member(rt, "cy", "sales_navigator_professional")  # 15 a month, cap 45
    buy_pack(rt.deps, member_id=member, pack="pack_1", now=rt.clock.now())  # lasts 365 days
    _advance(rt, days=28 + 31 + 20)  # ten days before the fourth cycle: nothing due
    worker.run_pass()
    assert _kinds(rt, member) == []
    _advance(rt, days=7)  # three days before it: 45 plan credits + 15 > the cap of 45
    first = worker.run_pass()
    assert _written(first) == 1
    assert _kinds(rt, member) == ["forfeit_soon"]
    list_notifications(rt.deps, member_id=member, now=rt.clock.now())
    worker.run_pass()
    assert _kinds(rt, member) == ["forfeit_soon"]
    _advance(rt, days=365 - 86 - 2)  # two days before the pack's credit expires
    worker.run_pass()
    worker.run_pass()
    list_notifications(rt.deps, member_id=member, now=rt.clock.now())
    assert _kinds(rt, member).count("expiring_soon") == 1
    with rt.deps.db.read() as conn:
        text = conn.execute(
            select(notifications.c.text).where(notifications.c.kind == "expiring_soon")
        ).scalar_one()
    assert text == "1 credits expire on 31 Jan 2027"


def test_a_low_balance_is_notified_once_by_the_worker(rt: Runtime) -> None:
    worker = Worker(rt, poll_seconds=1)
    sender = _member(rt, "dee", "sales_navigator_professional")  # 15 credits
    for i in range(12):
        _send(rt, sender, _member(rt, f"r{i}", "basic"))
    worker.run_pass()
    assert "low_balance" not in _kinds(rt, sender)  # 3 left: not low
    _send(rt, sender, _member(rt, "r12", "basic"))
    worker.run_pass()
    list_notifications(rt.deps, member_id=sender, now=rt.clock.now())
    worker.run_pass()
    assert _kinds(rt, sender).count("low_balance") == 1
    assert balance(rt.deps, sender, rt.clock.now()) == 2


def test_the_worker_sweeps_at_most_every_notice_interval(db_url: str) -> None:
    runtime = build(Settings(database_url=db_url, test_clock=START_AT, worker_notice_seconds=600))
    try:
        worker = Worker(runtime, poll_seconds=1)
        assert worker.run_pass().notices is not None  # the first pass sweeps
        assert worker.run_pass().notices is None
        assert "notices: not swept this pass" in str(worker.last_report)
        _advance(runtime, minutes=10)
        assert worker.run_pass().notices is not None
    finally:
        runtime.close()


def _keys(rt: Runtime) -> list[str]:
    with rt.deps.db.read() as conn:
        return sorted(conn.execute(select(idempotency_keys.c.key)).scalars())


def test_keys_older_than_the_retention_are_pruned_in_batches(rt: Runtime) -> None:
    old = rt.clock.now()
    with rt.deps.db.write() as conn:
        for i in range(5):
            key_store.insert_key(conn, "test", f"old{i}", "f", "{}", old + timedelta(minutes=i))
    _advance(rt, days=30)
    with rt.deps.db.write() as conn:
        key_store.insert_key(conn, "test", "new", "f", "{}", rt.clock.now())
    _advance(rt, minutes=2, seconds=30)  # old0..old2 are over 30 days old, old3 and old4 not
    now = rt.clock.now()
    stops = iter([False, True])  # one batch, then stop
    pruned = prune_expired_keys(
        rt.deps, now=now, retention=timedelta(days=30), batch=2, should_stop=lambda: next(stops)
    )
    assert pruned == 2
    assert _keys(rt) == ["new", "old2", "old3", "old4"]  # the oldest go first
    assert prune_expired_keys(rt.deps, now=now, retention=timedelta(days=30), batch=2) == 1
    assert _keys(rt) == ["new", "old3", "old4"]


def test_a_retry_after_its_key_was_pruned_is_a_new_request(rt: Runtime) -> None:
    worker = Worker(rt, poll_seconds=1)
    member = _member(rt, "eve", "premium_business")
    first = buy_pack(
        rt.deps, member_id=member, pack="pack_1", now=rt.clock.now(), idempotency_key="k1"
    )
    again = buy_pack(
        rt.deps, member_id=member, pack="pack_1", now=rt.clock.now(), idempotency_key="k1"
    )
    assert again == first  # within the retention: the first answer
    _advance(rt, days=30, seconds=1)
    assert worker.run_pass().pruned == 1
    with rt.deps.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(idempotency_keys)).scalar_one() == 0
    later = buy_pack(
        rt.deps, member_id=member, pack="pack_1", now=rt.clock.now(), idempotency_key="k1"
    )
    assert later != first  # carried out (and charged) again
    assert "idempotency keys pruned: 0" in str(worker.run_pass())


def test_two_sweeps_and_a_read_at_once_write_each_notice_once(rt: Runtime) -> None:
    sender = _member(rt, "fay", "sales_navigator_professional")  # 15 credits
    for i in range(13):  # 2 left: low
        _send(rt, sender, _member(rt, f"q{i}", "basic"))
    _advance(rt, days=8)  # and 13 threads due for a follow-up
    now = rt.clock.now()
    start = threading.Barrier(3)

    def sweeping() -> None:
        start.wait()
        sweep(rt.deps, now=now)

    def reading() -> None:
        start.wait()
        list_notifications(rt.deps, member_id=sender, now=now)

    with ThreadPoolExecutor(3) as pool:
        for done in [pool.submit(sweeping), pool.submit(sweeping), pool.submit(reading)]:
            done.result()
    kinds = Counter(_kinds(rt, sender))
    assert kinds == Counter({"follow_up_due": 13, "low_balance": 1})


def test_every_expiring_lot_is_warned_of_however_many_the_member_holds(rt: Runtime) -> None:
    member = _member(rt, "gus", "premium_business")
    for _ in range(22):  # more than the credits overview lists
        buy_pack(rt.deps, member_id=member, pack="pack_1", now=rt.clock.now())
    _advance(rt, days=363)  # two days before the packs' credits expire
    Worker(rt, poll_seconds=1).run_pass()
    assert _kinds(rt, member).count("expiring_soon") == 22
