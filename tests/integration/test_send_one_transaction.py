"""Issue 13: a send is one write transaction, with few statements (docs/rules.md, "A send in
one transaction"). Counted with SQLite's trace callback, which sees every statement the
driver runs (SQLAlchemy's and the fast path's raw ones, BEGIN and COMMIT included)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import psycopg
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.pool import ConnectionPoolEntry

from inmail.domain.errors import IdempotencyKeyReused, RecipientNotAcceptingInmail
from inmail.services.context import Deps, PlanVersionCache
from inmail.services.inmail import send_inmail
from inmail.services.settings import update_settings
from inmail.store.db import Database, make_engine
from inmail.store.tables import idempotency_keys, messages, outbox_events, threads
from tests.conftest import T0
from tests.helpers import balance, days, new_member

NOW = T0 + days(1)
MAX_STATEMENTS = 10  # BEGIN and COMMIT included; a key adds its INSERT


class Trace:
    """Every statement SQLite runs on the engine's connections while ``on``."""

    def __init__(self) -> None:
        self.on = False
        self.seen: list[str] = []

    def __call__(self, sql: str) -> None:
        if self.on:
            self.seen.append(sql)

    @property
    def transactions(self) -> int:
        return sum(1 for s in self.seen if s.strip().upper().startswith("BEGIN"))


@pytest.fixture
def traced(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[Deps, Trace]]:
    path = tmp_path / "inmail.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    trace = Trace()

    @event.listens_for(engine, "connect")
    def _trace(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.set_trace_callback(trace)

    db = Database(engine)
    yield Deps(db, PlanVersionCache()), trace
    db.dispose()


def _send(deps: Deps, sender: str, to: str, key: str | None = None, body: str = "Hello") -> Any:
    return send_inmail(
        deps, sender_id=sender, to=to, subject="Hi", body=body, now=NOW, idempotency_key=key
    )


def _counted(trace: Trace, run: Any) -> Any:
    trace.seen.clear()
    trace.on = True
    try:
        return run()
    finally:
        trace.on = False


def _count(deps: Deps, table: Any) -> int:
    with deps.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_send_is_one_transaction_of_at_most_ten_statements(traced: tuple[Deps, Trace]) -> None:
    deps, trace = traced
    sender = new_member(deps, "premium_business", T0)
    first, second = new_member(deps, "basic", T0), new_member(deps, "basic", T0)
    _send(deps, sender, first)  # warm: plan versions cached, statements built
    before = balance(deps, sender, NOW)

    sent = _counted(trace, lambda: _send(deps, sender, second))

    assert trace.transactions == 1, trace.seen
    assert len(trace.seen) <= MAX_STATEMENTS, trace.seen
    assert sent.cost_credits == 1
    assert sent.balance_after == before - 1 == balance(deps, sender, NOW)
    assert _count(deps, threads) == 2
    assert _count(deps, messages) == 2


def test_a_keyed_send_is_one_transaction_and_its_replay_writes_nothing(
    traced: tuple[Deps, Trace],
) -> None:
    deps, trace = traced
    sender = new_member(deps, "premium_business", T0)
    first, second = new_member(deps, "basic", T0), new_member(deps, "basic", T0)
    _send(deps, sender, first, key="warm")

    sent = _counted(trace, lambda: _send(deps, sender, second, key="k1"))
    assert trace.transactions == 1, trace.seen
    assert len(trace.seen) <= MAX_STATEMENTS + 1, trace.seen  # the key's INSERT
    events = _count(deps, outbox_events)

    again = _counted(trace, lambda: _send(deps, sender, second, key="k1"))
    # The stored answer is found under the lock (rolled back), then its message is read.
    assert trace.transactions == 2, trace.seen
    assert not [s for s in trace.seen if s.startswith("INSERT")], trace.seen
    assert again.id == sent.id
    assert again.balance_after == sent.balance_after == balance(deps, sender, NOW)
    assert _count(deps, threads) == 2
    assert _count(deps, outbox_events) == events
    assert _count(deps, idempotency_keys) == 2

    with pytest.raises(IdempotencyKeyReused):
        _send(deps, sender, second, key="k1", body="Something else")


def test_a_refusal_decided_under_the_lock_writes_nothing(traced: tuple[Deps, Trace]) -> None:
    deps, _ = traced
    sender = new_member(deps, "premium_business", T0)
    closed = new_member(deps, "basic", T0)
    update_settings(deps, member_id=closed, changes={"inmail_open": False}, now=T0)
    before = balance(deps, sender, NOW)
    events = _count(deps, outbox_events)

    with pytest.raises(RecipientNotAcceptingInmail):
        _send(deps, sender, closed, key="refused")

    assert balance(deps, sender, NOW) == before
    assert _count(deps, threads) == 0
    assert _count(deps, idempotency_keys) == 0
    assert _count(deps, outbox_events) == events


class Counted(psycopg.Cursor[Any]):
    """A psycopg cursor that counts the statements it sends (one round trip each)."""

    sent: ClassVar[list[str]] = []

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        Counted.sent.append(str(query))
        return super().execute(query, params, **kwargs)


class CountedRaw(psycopg.RawCursor[Any]):
    """The same for the raw cursor the one-lot statement goes through ($n placeholders)."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        Counted.sent.append(str(query))
        return super().execute(query, params, **kwargs)


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_send_on_postgres_is_two_statements_and_a_commit(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(db_url)
    monkeypatch.setattr(psycopg, "RawCursor", CountedRaw)

    @event.listens_for(engine, "connect")
    def _counting(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.cursor_factory = Counted

    db = Database(engine)
    try:
        deps = Deps(db, PlanVersionCache())
        sender = new_member(deps, "premium_business", T0)
        first, second = new_member(deps, "basic", T0), new_member(deps, "basic", T0)
        _send(deps, sender, first, key="warm")
        Counted.sent.clear()
        sent = _send(deps, sender, second, key="k2")
        # The lock with every read, then the charge with the rows and the key; then COMMIT.
        assert len(Counted.sent) == 2, Counted.sent
        assert sent.balance_after == balance(deps, sender, NOW)
        assert _count(deps, threads) == 2
        assert _count(deps, idempotency_keys) == 2
    finally:
        db.dispose()
