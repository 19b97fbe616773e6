"""The spend behind pgbouncer (nothing prepared): migration 0023's functions, BEGIN with the
lock's call and COMMIT with the spend's (store/fast_spend.py, docs/rules.md "PostgreSQL
behind pgbouncer"). What it writes must be what the statements write on a direct
connection: the same balance, lot, spend, ledger line and event, the key's answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import psycopg
import pytest
from sqlalchemy import select

from inmail.services.context import Deps, PlanVersionCache
from inmail.services.credits import spend_credits
from inmail.store.db import Database, make_engine
from inmail.store.tables import idempotency_keys, ledger_entries, outbox_events, spends
from tests.conftest import T0, _fresh_postgres
from tests.helpers import assert_audit_clean, balance, days, new_member

pytestmark = pytest.mark.postgres

NOW = T0 + days(1)


class Sent(psycopg.ClientCursor[Any]):
    """The cursor the spend makes behind pgbouncer, counting the messages it sends."""

    sent: ClassVar[list[str]] = []

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        Sent.sent.append(str(query))
        return super().execute(query, params, **kwargs)


@pytest.fixture
def unprepared(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deps]:
    """Deps whose engine prepares nothing, as behind pgbouncer (``?pgbouncer=true``)."""
    _fresh_postgres(postgres_url).dispose()
    monkeypatch.setattr(psycopg, "ClientCursor", Sent)
    db = Database(make_engine(postgres_url + "?pgbouncer=true", pool_size=1))
    yield Deps(db, PlanVersionCache())
    db.dispose()


def _spend(deps: Deps, member: str, ref: str, key: str | None = None) -> Any:
    return spend_credits(
        deps, member_id=member, cost=1, reference=ref, now=NOW, idempotency_key=key
    )


def test_a_spend_is_two_messages_calling_the_functions(unprepared: Deps) -> None:
    member = new_member(unprepared, "premium_business", T0)
    before = balance(unprepared, member, NOW)
    Sent.sent.clear()
    spent = _spend(unprepared, member, "r1")
    assert len(Sent.sent) == 2, Sent.sent
    assert Sent.sent[0].startswith("BEGIN; SELECT l.* FROM inmail_spend_lock(")
    assert "inmail_spend_one_lot(" in Sent.sent[1]
    assert Sent.sent[1].endswith("; COMMIT")
    assert spent.balance_after == before - 1 == balance(unprepared, member, NOW)
    with unprepared.db.read() as conn:
        (spend_row,) = conn.execute(select(spends).where(spends.c.reference == "r1")).all()
        (line,) = conn.execute(
            select(ledger_entries).where(ledger_entries.c.reference == "r1")
        ).all()
        (event,) = conn.execute(
            select(outbox_events).where(outbox_events.c.payload.contains('"reference":"r1"'))
        ).all()
    assert spend_row.id == spent.spend_id
    assert spend_row.cost == 1
    assert (line.kind, line.amount, line.balance_after) == ("spend", -1, before - 1)
    payload = json.loads(event.payload)
    assert event.type == "ledger.entry_created"
    assert payload["entry_id"] == line.id
    assert payload["balance_after"] == before - 1
    assert event.member_id == member
    # The pool's next user gets a connection that opens transactions itself again.
    raw = unprepared.db.engine.raw_connection()
    try:
        assert raw.driver_connection.autocommit is False  # type: ignore[union-attr]
    finally:
        raw.close()
    assert_audit_clean(unprepared)


def test_a_keyed_spend_stores_its_answer_and_its_replay_writes_nothing(
    unprepared: Deps,
) -> None:
    member = new_member(unprepared, "premium_business", T0)
    first = _spend(unprepared, member, "r1", key="k1")
    Sent.sent.clear()
    again = _spend(unprepared, member, "r1", key="k1")
    assert again == first
    assert len(Sent.sent) == 1, Sent.sent  # the lock read the stored answer; rolled back
    assert balance(unprepared, member, NOW) == first.balance_after
    with unprepared.db.read() as conn:
        assert len(conn.execute(select(idempotency_keys)).all()) == 1
        assert len(conn.execute(select(spends)).all()) == 1


def test_a_lot_that_no_longer_holds_the_credits_commits_nothing(unprepared: Deps) -> None:
    member = new_member(unprepared, "premium_business", T0)
    before = balance(unprepared, member, NOW)
    raw = unprepared.db.engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert isinstance(conn, psycopg.Connection)
        found = conn.execute(
            "SELECT id FROM lots WHERE member_id = %s AND remaining > 0", (member,)
        ).fetchone()
        assert found is not None
        (lot,) = found
        conn.rollback()
        conn.autocommit = True
        with pytest.raises(psycopg.errors.SerializationFailure):
            # The message the spend sends: had the function answered instead of raising,
            # the COMMIT would have run.
            Sent(conn).execute(  # client-side values: one simple-protocol message
                "BEGIN; SELECT inmail_spend_one_lot(%s, 1000000, 'sp_x', %s, 'rx', now(), 0, "
                "'evt_x', 'ledger.entry_created', now(), '{}', '0', '', NULL, NULL, NULL, "
                "NULL); COMMIT",
                (lot, member),
            )
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        conn.rollback()
        conn.autocommit = False
    finally:
        raw.close()
    assert balance(unprepared, member, NOW) == before
    assert _spend(unprepared, member, "r2").balance_after == before - 1
