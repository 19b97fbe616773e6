"""A plain spend on PostgreSQL is one statement in autocommit (store/fast_spend.py,
``_PG_SPEND_AT_ONCE``; docs/rules.md "A plain spend in one statement"): one round trip, no
BEGIN or COMMIT. It must write what the two-statement path writes (the balance, the lot, the
spend, the ledger line, its event, the key's answer), draw from the lot the domain's
spending order names, and write nothing at all when it cannot finish the spend alone."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import OperationalError

from inmail.domain.credits import Entry, EntryKind, Lot, LotSource, spending_order
from inmail.domain.errors import InmailNotOnPlan
from inmail.domain.events import ledger_entry_created, payload_text
from inmail.domain.plans import BASIC
from inmail.services.context import Deps, PlanVersionCache
from inmail.services.credits import SpendResult, encode_spend, spend_credits
from inmail.store.db import Database, make_engine
from inmail.store.tables import (
    accounts,
    idempotency_keys,
    ledger_entries,
    lots,
    outbox_events,
    spends,
)
from tests.conftest import T0, _fresh_postgres
from tests.helpers import assert_audit_clean, balance, days, new_member

pytestmark = pytest.mark.postgres

NOW = T0 + days(1)


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Deps]:
    """A direct, prepared connection (one in the pool, so a trace sees every message)."""
    _fresh_postgres(postgres_url).dispose()
    db = Database(make_engine(postgres_url, pool_size=1))
    yield Deps(db, PlanVersionCache())
    db.dispose()


class Messages:
    """The protocol messages the client sends while inside (libpq's trace of the pool's one
    connection): ``statements`` counts the statements run (Execute and simple Query messages;
    a statement's first preparation adds a Parse of its own, which is not one),
    ``transaction_commands`` the BEGINs and COMMITs sent."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self.lines: list[str] = []

    def __enter__(self) -> Messages:
        self._raw = self._deps.db.engine.raw_connection()
        self._pgconn = self._raw.driver_connection.pgconn  # type: ignore[union-attr]
        self._file = tempfile.TemporaryFile("w+")
        self._pgconn.trace(self._file.fileno())
        self._pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        self._raw.close()  # back to the pool: the spend takes this connection
        return self

    def __exit__(self, *exc: object) -> None:
        self._pgconn.untrace()
        self._file.seek(0)
        self.lines = [line for line in self._file.read().splitlines() if line.startswith("F")]
        self._file.close()

    @property
    def statements(self) -> int:
        return sum(1 for line in self.lines if "\tExecute\t" in line or "\tQuery\t" in line)

    @property
    def transaction_commands(self) -> list[str]:
        return [line for line in self.lines if "BEGIN" in line or "COMMIT" in line]


def _spend(deps: Deps, member: str, ref: str, cost: int = 1, key: str | None = None) -> Any:
    return spend_credits(
        deps, member_id=member, cost=cost, reference=ref, now=NOW, idempotency_key=key
    )


def _event_of(deps: Deps, entry_id: int) -> Any:
    with deps.db.read() as conn:
        return conn.execute(
            select(outbox_events).where(outbox_events.c.payload.contains(f'"entry_id":{entry_id},'))
        ).one()


def _line(deps: Deps, ref: str) -> Any:
    with deps.db.read() as conn:
        return conn.execute(select(ledger_entries).where(ledger_entries.c.reference == ref)).one()


def test_a_plain_spend_is_one_statement_with_no_begin_or_commit(pg: Deps) -> None:
    member = new_member(pg, "premium_business", T0)
    before = balance(pg, member, NOW)
    with Messages(pg) as sent:
        spent = _spend(pg, member, "r1")
    assert sent.statements == 1, sent.lines
    assert sent.transaction_commands == [], sent.lines
    assert spent.balance_after == before - 1 == balance(pg, member, NOW)
    with Messages(pg) as sent:
        _spend(pg, member, "r2", key="k2")
    assert sent.statements == 1, sent.lines  # a key's answer is stored by the same statement
    # The pool's next user gets a connection that opens transactions itself again.
    raw = pg.db.engine.raw_connection()
    try:
        assert raw.driver_connection.autocommit is False  # type: ignore[union-attr]
    finally:
        raw.close()


@pytest.mark.parametrize("reference", ["inmail:msg_1", 'a "quoted" réf\\ with ünïcode ✓'])
def test_it_writes_what_the_domain_would(pg: Deps, reference: str) -> None:
    member = new_member(pg, "premium_business", T0)
    before = balance(pg, member, NOW)
    with Messages(pg) as sent:
        spent = _spend(pg, member, reference, key="k1")
    assert sent.statements == 1, sent.lines
    line = _line(pg, reference)
    assert (line.member_id, line.kind, line.amount, line.balance_after, line.at) == (
        member,
        "spend",
        -1,
        before - 1,
        NOW,
    )
    with pg.db.read() as conn:
        (record,) = conn.execute(select(spends).where(spends.c.reference == reference)).all()
        lot = conn.execute(select(lots).where(lots.c.id == line.lot_id)).one()
        stored = conn.execute(select(idempotency_keys.c.response)).scalar_one()
    assert (record.id, record.member_id, record.cost, record.at, record.refunded_at) == (
        spent.spend_id,
        member,
        1,
        NOW,
        None,
    )
    # The event is byte for byte what payload_text writes for this line.
    drawn = Lot(
        lot.id,
        LotSource(lot.source),
        lot.granted,
        lot.remaining,
        lot.created_at,
        lot.expires_at,
    )
    entry = Entry(EntryKind.SPEND, drawn, -1, before - 1, NOW, reference)
    event = _event_of(pg, line.id)
    assert event.type == "ledger.entry_created"
    assert (event.member_id, event.at) == (member, NOW)
    assert event.payload == payload_text(ledger_entry_created(member, entry, line.id))
    # The key's answer is what encode_spend stores on the other paths.
    assert stored == encode_spend(SpendResult(spent.spend_id, reference, 1, before - 1, None))
    assert_audit_clean(pg)


def test_a_replay_answers_the_first_spend_and_writes_nothing(pg: Deps) -> None:
    member = new_member(pg, "premium_business", T0)
    first = _spend(pg, member, "r1", key="k1")
    again = _spend(pg, member, "r1", key="k1")
    assert again == first
    assert balance(pg, member, NOW) == first.balance_after
    with pg.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(spends)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(idempotency_keys)).scalar_one() == 1


Wanted = tuple[str, int, datetime, datetime | None]


def _set_lots(deps: Deps, member: str, wanted: list[Wanted]) -> None:
    """Replace ``member``'s lots by ``wanted`` (source, remaining, created_at, expires_at),
    inserted in that order (ids ascending), and set the balance to their sum."""
    with deps.db.write() as conn:
        conn.execute(text("DELETE FROM ledger_entries WHERE member_id = :m"), {"m": member})
        conn.execute(lots.delete().where(lots.c.member_id == member))
        for source, remaining, created, expires in wanted:
            conn.execute(
                lots.insert().values(
                    member_id=member,
                    source=source,
                    granted=remaining,
                    remaining=remaining,
                    created_at=created,
                    expires_at=expires,
                )
            )
        total = sum(w[1] for w in wanted)
        conn.execute(
            update(accounts)
            .where(accounts.c.member_id == member)
            .values(balance=total, next_due_at=None)
        )


def _live_lots(deps: Deps, member: str) -> list[Lot]:
    with deps.db.read() as conn:
        rows = conn.execute(select(lots).where(lots.c.member_id == member)).all()
    return [
        Lot(r.id, LotSource(r.source), r.granted, r.remaining, r.created_at, r.expires_at)
        for r in rows
    ]


def test_lots_are_drawn_in_the_domains_spending_order(pg: Deps) -> None:
    member = new_member(pg, "premium_business", T0)
    old, mid, new = T0 - days(60), T0 - days(30), T0
    _set_lots(
        pg,
        member,
        [
            ("purchase", 2, old, NOW + days(90)),
            ("adjustment", 1, old, None),  # never expires: last
            ("allotment", 1, new, NOW + days(400)),
            ("purchase", 1, new, NOW + days(10)),  # soonest expiry among the others
            ("allotment", 2, mid, None),  # plan credits, oldest first
            ("overage", 1, mid, NOW + days(90)),  # same expiry as the first: older wins
            ("refund", 1, mid, NOW + days(90)),  # same expiry and age: lower id wins
            ("allotment", 1, mid, NOW + days(5)),  # same age as the other mid allotment
            ("purchase", 3, old, NOW - days(1)),  # expired: never drawn
        ],
    )
    drawn = []
    for n in range(10):
        expected = spending_order(_live_lots(pg, member), NOW)[0]
        with Messages(pg) as sent:
            _spend(pg, member, f"order{n}")
        assert sent.statements == 1, (n, sent.lines)  # the one statement chose the lot
        drawn.append(_line(pg, f"order{n}").lot_id)
        assert drawn[-1] == expected.id, (n, drawn)
    assert balance(pg, member, NOW) == 3  # the expired lot's 3, which no spend may take


def test_a_spend_across_lots_is_undone_whole_and_made_by_the_general_path(pg: Deps) -> None:
    member = new_member(pg, "premium_business", T0)
    _set_lots(pg, member, [("allotment", 1, T0, None), ("purchase", 5, T0, NOW + days(9))])
    with Messages(pg) as sent:
        spent = _spend(pg, member, "two-lots", cost=2)
    assert spent.balance_after == 4
    assert sent.statements > 1  # the one statement was refused; another path made it
    with pg.db.read() as conn:
        lines = conn.execute(
            select(ledger_entries.c.amount).where(ledger_entries.c.reference == "two-lots")
        ).all()
        remaining = conn.execute(
            select(lots.c.source, lots.c.remaining).where(lots.c.member_id == member)
        ).all()
        assert conn.execute(select(func.count()).select_from(spends)).scalar_one() == 1
    assert sorted(a for (a,) in lines) == [-1, -1]
    assert sorted(remaining) == [("allotment", 0), ("purchase", 4)]


def test_a_lot_emptied_while_the_spend_waited_refuses_the_statement_whole(
    pg: Deps, postgres_url: str
) -> None:
    """The statement reads the lot from its snapshot, taken before the account's lock was
    free: when the spend it waited for emptied that lot, the one statement writes nothing
    (not a balance without its line), and the general path pays from the next lot."""
    member = new_member(pg, "premium_business", T0)
    _set_lots(pg, member, [("allotment", 1, T0, None), ("purchase", 5, T0, NOW + days(9))])
    (first,) = [lot.id for lot in _live_lots(pg, member) if lot.source is LotSource.ALLOTMENT]
    other = psycopg.connect(postgres_url.replace("postgresql+psycopg", "postgresql"))
    other.execute("UPDATE accounts SET balance = balance - 1 WHERE member_id = %s", (member,))
    other.execute("UPDATE lots SET remaining = 0 WHERE id = %s", (first,))
    results: list[Any] = []
    spender = threading.Thread(target=lambda: results.append(_spend(pg, member, "waited")))
    spender.start()
    try:
        _wait_until_blocked(other)
    finally:
        other.commit()  # the other spend's lock is released: the waiting statement goes on
        spender.join(timeout=30)
        other.close()
    (spent,) = results
    assert spent.balance_after == 4
    line = _line(pg, "waited")
    assert line.lot_id != first
    with pg.db.read() as conn:
        by_source = dict(
            conn.execute(
                select(lots.c.source, lots.c.remaining).where(lots.c.member_id == member)
            ).all()
        )
        taken = conn.execute(select(accounts.c.balance).where(accounts.c.member_id == member))
        assert taken.scalar_one() == 4
    assert by_source == {"allotment": 0, "purchase": 4}


def _wait_until_blocked(conn: psycopg.Connection[Any]) -> int:
    """Until another backend waits for a lock this transaction holds; that backend's pid."""
    deadline = time.monotonic() + 20
    with psycopg.connect(conn.info.dsn, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                (conn.info.backend_pid,),
            ).fetchone()
            if waiting is not None:
                return int(waiting[0])
            time.sleep(0.01)
    raise AssertionError("the spend never waited for the account's lock")


def test_what_the_statement_cannot_decide_goes_to_the_other_paths(pg: Deps) -> None:
    """Too few credits (overage), a plan without InMail: the statement matches nothing,
    writes nothing, and the paths that know those rules answer."""
    free = new_member(pg, BASIC, T0)
    with pytest.raises(InmailNotOnPlan):
        _spend(pg, free, "free-1")
    member = new_member(pg, "premium_business", T0)
    _set_lots(pg, member, [("allotment", 1, T0, None)])
    _spend(pg, member, "last-one")
    with pg.db.write() as conn:
        conn.execute(
            update(accounts).where(accounts.c.member_id == member).values(auto_overage=True)
        )
    spent = _spend(pg, member, "overage-1")
    assert spent.overage_charge is not None
    with pg.db.read() as conn:
        refs = conn.execute(select(spends.c.reference)).scalars().all()
    assert sorted(refs) == ["last-one", "overage-1"]


def test_a_connection_lost_mid_statement_is_an_error_not_a_retry(
    pg: Deps, postgres_url: str
) -> None:
    """Whether a statement whose connection died committed is unknown: the spend raises
    SQLAlchemy's OperationalError (the API's 503 ``busy``: retry with the same key) rather
    than spend again on another path, and the dead connection is not handed out again."""
    member = new_member(pg, "premium_business", T0)
    before = balance(pg, member, NOW)
    other = psycopg.connect(postgres_url.replace("postgresql+psycopg", "postgresql"))
    other.execute("SELECT 1 FROM accounts WHERE member_id = %s FOR UPDATE", (member,))
    raised: list[BaseException] = []

    def spend() -> None:
        try:
            _spend(pg, member, "lost")
        except BaseException as error:
            raised.append(error)

    spender = threading.Thread(target=spend)
    spender.start()
    try:
        blocked = _wait_until_blocked(other)
        other.execute("SELECT pg_terminate_backend(%s)", (blocked,))
    finally:
        other.rollback()
        spender.join(timeout=30)
        other.close()
    (error,) = raised
    assert isinstance(error, OperationalError)
    assert balance(pg, member, NOW) == before
    assert _spend(pg, member, "after").balance_after == before - 1  # a live connection
