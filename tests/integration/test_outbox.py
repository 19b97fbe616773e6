"""The outbox holds an event exactly when its transaction committed, and readers see events in
an order that never puts a late commit behind a cursor (store/outbox.py), on both engines."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from inmail.domain.events import Event
from inmail.services.context import Deps, PlanVersionCache
from inmail.store import outbox
from inmail.store.outbox import Position, StoredEvent
from tests.conftest import T0, _fresh_postgres


def _event(n: int) -> Event:
    return Event("test.happened", "m_1", T0, {"n": n, "when": T0})


def _visible(
    deps: Deps, count: int, after: Position | None = None, member_id: str | None = None
) -> list[StoredEvent]:
    """The committed events, once ``count`` of them can be read. On PostgreSQL a write
    transaction still open anywhere on the server (another test run sharing it) holds reading
    back until it ends: events wait, never vanish. Gives up after 30 s."""
    deadline = time.monotonic() + 30
    while True:
        with deps.db.read() as conn:
            if member_id is None:
                found = outbox.read_after(conn, after, 100)
            else:
                found = outbox.read_filtered(conn, after, 100, member_id=member_id).events
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_an_event_is_stored_with_its_change_and_read_back_with_its_data(deps: Deps) -> None:
    event = _event(1)
    with deps.db.write() as conn:
        outbox.append(conn, [event])
    (stored,) = _visible(deps, 1)
    assert (stored.id, stored.type, stored.member_id, stored.at) == (
        event.id,
        "test.happened",
        "m_1",
        T0,
    )
    assert stored.data == {"n": 1, "when": "2026-01-31T09:00:00Z"}
    assert stored.id.startswith("evt_")


def test_an_event_of_a_transaction_that_rolled_back_does_not_exist(deps: Deps) -> None:
    def change_that_fails() -> None:
        with deps.db.write() as conn:
            outbox.append(conn, [_event(1)])
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    with deps.db.read() as conn:
        assert outbox.read_after(conn, None, 10) == []


def test_readers_page_forward_without_repeats_or_gaps(deps: Deps) -> None:
    with deps.db.write() as conn:
        outbox.append(conn, [_event(n) for n in range(5)])
    assert len(_visible(deps, 5)) == 5
    seen: list[int] = []
    after = None
    with deps.db.read() as conn:
        while page := outbox.read_after(conn, after, 2):
            seen += [e.data["n"] for e in page]
            after = page[-1].position
    assert seen == [0, 1, 2, 3, 4]


def test_a_member_filter_reads_only_that_members_events(deps: Deps) -> None:
    with deps.db.write() as conn:
        outbox.append(conn, [_event(1), Event("test.happened", "m_2", T0, {"n": 2})])
    assert [e.data["n"] for e in _visible(deps, 1, member_id="m_2")] == [2]


def test_a_filtered_read_looks_at_a_bounded_window_and_says_where_it_stopped(deps: Deps) -> None:
    members = ["m_1", "m_2", "m_2", "m_2", "m_1", "m_2", "m_1"]
    with deps.db.write() as conn:
        outbox.append(
            conn, [Event("test.happened", m, T0, {"n": n}) for n, m in enumerate(members)]
        )
    everything = _visible(deps, 7)
    with deps.db.read() as conn:
        # m_1's events are 0, 4 and 6: a window of 3 holds only the first.
        first = outbox.read_filtered(conn, None, 10, member_id="m_1", scan=3)
        assert [e.data["n"] for e in first.events] == [0]
        assert first.reached == everything[2].position  # the window's last event, not m_1's
        # Next window: events 3, 4, 5.
        second = outbox.read_filtered(conn, first.reached, 10, member_id="m_1", scan=3)
        assert [e.data["n"] for e in second.events] == [4]
        assert second.reached == everything[5].position
        # A full page stops at its last item, before the window's end.
        full = outbox.read_filtered(conn, None, 2, member_id="m_2", scan=7)
        assert [e.data["n"] for e in full.events] == [1, 2]
        assert full.reached == everything[2].position
        # Both filters at once; then the end: nothing past the last event.
        both = outbox.read_filtered(conn, None, 10, member_id="m_1", event_type="test.happened")
        assert [e.data["n"] for e in both.events] == [0, 4, 6]
        none = outbox.read_filtered(conn, None, 10, event_type="test.other")
        assert (none.events, none.reached) == ([], everything[6].position)
        end = outbox.read_filtered(conn, everything[6].position, 10, member_id="m_1")
        assert (end.events, end.reached) == ([], None)


@pytest.fixture
def pg_deps(postgres_url: str) -> Iterator[Deps]:
    db = _fresh_postgres(postgres_url)
    yield Deps(db, PlanVersionCache())
    db.dispose()


@contextmanager
def _held_open(deps: Deps, first: Event, second: Event) -> Iterator[None]:
    """Inside: transaction A has written ``first`` and is still open, and B, begun after it,
    has written ``second`` and committed. On leaving, A commits."""
    a_wrote, b_done = threading.Event(), threading.Event()

    def transaction_a() -> None:
        with deps.db.write() as conn:
            outbox.append(conn, [first])
            a_wrote.set()
            b_done.wait(10)

    thread = threading.Thread(target=transaction_a)
    thread.start()
    try:
        assert a_wrote.wait(10)
        with deps.db.write() as conn:
            outbox.append(conn, [second])
        yield
    finally:
        b_done.set()
        thread.join()


@pytest.mark.postgres
def test_an_event_committed_later_is_never_left_behind_a_readers_cursor(pg_deps: Deps) -> None:
    """Transaction A writes an event first and commits last; B commits in between. A reader
    that pages while A is open must not move past A's place: once A commits, its event is read.
    (Only PostgreSQL has concurrent writers; SQLite's commit order is insertion order.)"""
    deps = pg_deps
    with _held_open(deps, _event(1), _event(2)), deps.db.read() as conn:
        while_a_is_open = outbox.read_after(conn, None, 10)
    after = while_a_is_open[-1].position if while_a_is_open else None
    later = _visible(deps, 2, after)
    assert while_a_is_open == []  # B's event waits behind A's open transaction
    assert sorted(e.data["n"] for e in later) == [1, 2]


@pytest.mark.postgres
def test_a_filtered_read_never_moves_its_place_past_an_event_still_committing(
    pg_deps: Deps,
) -> None:
    """The same for a filtered read, whose place can move past events it does not return:
    while A is open, the window ends before A's event, so the place it gives leads to it."""
    deps = pg_deps
    a_event = Event("test.happened", "m_a", T0, {"n": 1})
    b_event = Event("test.happened", "m_b", T0, {"n": 2})
    with _held_open(deps, a_event, b_event), deps.db.read() as conn:
        while_a_is_open = outbox.read_filtered(conn, None, 10, member_id="m_a")
    assert while_a_is_open == outbox.Scanned([], None)  # nothing examined: B waits behind A
    _visible(deps, 2)
    with deps.db.read() as conn:
        later = outbox.read_filtered(conn, while_a_is_open.reached, 10, member_id="m_a")
    assert [e.data["n"] for e in later.events] == [1]
