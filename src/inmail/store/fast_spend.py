"""The spend hot path: a handful of explicit statements on the driver connection.

A spend is the most frequent write. Going through SQLAlchemy's statement
building costs several times what the database work does, so the common case
(account exists, nothing due, enough credits) runs these statements on the DBAPI
connection directly (on SQLite one kept across spends: ``FastSpend._checkout``):

1. ``UPDATE accounts SET balance = balance - cost WHERE ... balance >= cost AND
   nothing is due RETURNING ...`` is the lock and the check at once; the same statement
   returns the idempotency key's stored answer, the account's live lots and any facts
   the caller asks for (:class:`Facts`: a send's recipient), so what the spend decides
   is read under the lock, in the write transaction, in one round trip;
2. the domain picks which lots pay (and the caller's ``decide`` the rows written with it);
3. take from those lots (conditionally), record the spend, write the ledger and
   the events of the ledger lines and of the rows written with the spend (the outbox:
   on PostgreSQL in the same statement, on SQLite one multi-row INSERT more).

On a direct PostgreSQL connection a plain spend (nothing written beside it but the key's
answer) does all three in ONE statement run in autocommit (``_PG_SPEND_AT_ONCE``): one round
trip, no BEGIN or COMMIT, the lot chosen by the statement in the domain's spending order; what
it cannot make whole it does not write, and the steps above take over.

Where nothing is prepared (behind pgbouncer: docs/rules.md) steps 1 and 3 call migration
0023's PL/pgSQL functions, whose plans the server process caches, with BEGIN and COMMIT
in the same messages (:meth:`FastSpend._spend_by_calls`); step 2 stays here.

Anything else (an unknown member, a team seat, a renewal due, too few credits, a repeated
reference, any driver error) rolls the attempt back and answers ``None``; the
caller then takes the general path, which knows every rule and error.
"""

from __future__ import annotations

import enum
import functools
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Engine, Table, Update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler

from inmail.domain.credits import Book, EntryKind, Lot, LotSource, draw, new_id
from inmail.domain.events import (
    ENTRY_ID_PLACEHOLDER,
    EVENT_ID_PREFIX,
    LEDGER_ENTRY_CREATED,
    Event,
    ledger_entry_created,
    payload_text,
)
from inmail.domain.plans import Plan
from inmail.store.tables import from_sqlite_text, sqlite_text
from inmail.store.writers import WriterQueue

_SQL = {
    "take_from_lot": "UPDATE lots SET remaining = remaining - %s WHERE id = %s AND remaining >= %s",
    "insert_spend": (
        "INSERT INTO spends (id, member_id, reference, cost, at, refunded_at) "
        "VALUES (%s, %s, %s, %s, %s, NULL)"
    ),
    "insert_entry": (
        "INSERT INTO ledger_entries "
        "(member_id, lot_id, kind, amount, balance_after, at, reference) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id"
    ),
    "insert_key": (
        "INSERT INTO idempotency_keys (scope, key, fingerprint, response, created_at) "
        "VALUES (%s, %s, %s, %s, %s)"
    ),
}


# The lock and every read the spend decides on, in one statement (named parameters).
# ``{cost}`` is a bound cost, or the plan's own InMail cost (a send, whose cost the sender's
# plan decides: it is read under the lock, never before it). ``{facts}``: the caller's.
_COST_BOUND = "%(cost)s"
_COST_OF_PLAN = (
    "(SELECT plans.inmail_cost FROM plans WHERE plans.code = accounts.plan_code "
    "AND plans.version = accounts.plan_version)"
)
_TAKE = (
    "UPDATE accounts SET balance = balance - {cost} WHERE member_id = %(member)s "
    "AND balance >= {cost} AND (next_due_at IS NULL OR next_due_at > %(now)s) "
    # A team seat's send pays from the team's pool: the general path (services/seats.py).
    "AND NOT EXISTS (SELECT 1 FROM team_seats WHERE team_seats.member_id = %(member)s) "
    "RETURNING balance, plan_code, plan_version, {cost} AS taken"
)
_KEY_FINGERPRINT = (
    "(SELECT fingerprint FROM idempotency_keys WHERE scope = %(scope)s AND key = %(key)s)"
)
_KEY_RESPONSE = "(SELECT response FROM idempotency_keys WHERE scope = %(scope)s AND key = %(key)s)"
# SQLite: one UPDATE whose RETURNING carries the key, the lots (as JSON) and the facts.
_SQLITE_LOCK = (
    _TAKE + ", " + _KEY_FINGERPRINT + ", " + _KEY_RESPONSE + ", "
    "(SELECT json_group_array(json_array(id, source, granted, remaining, created_at, "
    "expires_at)) FROM lots WHERE member_id = %(member)s AND remaining > 0){facts}"
)
# PostgreSQL: the UPDATE in a CTE, one row per live lot with the key and facts beside it.
_PG_LOCK = (
    "WITH account AS (" + _TAKE + ") "
    "SELECT account.balance, account.plan_code, account.plan_version, account.taken, "
    + _KEY_FINGERPRINT
    + ", "
    + _KEY_RESPONSE
    + ", "
    "lots.id, lots.source, lots.granted, lots.remaining, lots.created_at, lots.expires_at"
    "{facts} FROM account LEFT JOIN lots ON lots.member_id = %(member)s AND lots.remaining > 0"
)
_PG_LOT_COLUMNS = slice(6, 12)
_NAMED = re.compile(r"%\((\w+)\)s")
_PG_SPEND_ONE_LOT = (
    "WITH taken AS ("
    "UPDATE lots SET remaining = remaining - %(n)s WHERE id = %(lot)s AND remaining >= %(n)s "
    "RETURNING id), "
    "spend AS (INSERT INTO spends (id, member_id, reference, cost, at, refunded_at) "
    "SELECT %(spend)s, %(member)s, %(ref)s, %(n)s, %(at)s, NULL FROM taken RETURNING id), "
    "entry AS (INSERT INTO ledger_entries "
    "(member_id, lot_id, kind, amount, balance_after, at, reference) "
    "SELECT %(member)s, taken.id, 'spend', -%(n)s, %(after)s, %(at)s, %(ref)s "
    "FROM taken, spend RETURNING id) "
    # The events, in the order given; the ledger line's gets the id its row was given.
    # Rows of plain parameters: adapting them costs the client far less than arrays would.
    "INSERT INTO outbox_events (id, type, member_id, at, payload) "
    "SELECT e.id, e.type, e.member_id, e.at, CASE WHEN e.type = %(entry_type)s "
    "THEN replace(e.payload, %(placeholder)s, %(with_id)s || entry.id) ELSE e.payload END "
    "FROM entry, (VALUES {rows}) AS e(n, id, type, member_id, at, payload) "
    "ORDER BY e.n RETURNING seq"
)
_PG_KEY_CTE = (
    "stored_key AS (INSERT INTO idempotency_keys (scope, key, fingerprint, response, created_at) "
    "VALUES (%(k_scope)s, %(k_key)s, %(k_print)s, %(k_answer)s, %(k_at)s))"
)
_PG_EVENT_ROW = (
    "({n}, %(id{n})s, %(type{n})s, %(member{n})s, %(at{n})s::timestamptz, %(payload{n})s)"
)
# Where nothing is prepared (behind pgbouncer) the same lock and one-lot spend run as
# PL/pgSQL functions (migration 0023), whose plans the server backend caches: only these
# short calls are parsed and planned each time. The lot is still chosen here (draw).
_PG_LOCK_CALL = (
    "SELECT l.*{facts} FROM inmail_spend_lock(%(member)s, {cost}, %(now)s, %(scope)s, %(key)s) AS l"
)
_PG_SPEND_ONE_LOT_CALL = (
    "SELECT inmail_spend_one_lot(%(lot)s, %(n)s, %(spend)s, %(member)s, %(ref)s, %(at)s, "
    "%(after)s, %(event_id)s, %(event_type)s, %(event_at)s, %(payload)s, %(placeholder)s, "
    "%(with_id)s, %(k_scope)s, %(k_key)s, %(k_print)s, %(k_answer)s)"
)
_PG_SPEND_ONE_LOT_COMMIT = _PG_SPEND_ONE_LOT_CALL + "; COMMIT"
# PostgreSQL, a plain spend (a bound cost, nothing decided under the lock, nothing written
# beside it but the key's answer): the lock, the first lot in spending order, the spend, its
# ledger line, the line's event and the key, as ONE statement run in autocommit, so that it
# is its own transaction: one round trip instead of four (BEGIN, lock, write, COMMIT), which
# on the client cost more CPU than everything else a spend does (benchmarks/README.md).
# - Nothing matches the account (too few credits, something due, a team seat, a stored key,
#   no InMail on the plan): no row comes back, nothing is written, the two-statement path
#   takes over.
# - The account matched but the first lot cannot pay it all (a spend across lots; or a lot
#   emptied by a spend this one waited for, since the lot is read from the statement's
#   snapshot): the ledger line's lot is NULL, which its NOT NULL constraint refuses, and the
#   whole statement is undone (the general path takes over).
# The order is domain.credits.spending_order's: plan lots oldest first, then the others by
# expiry (never last), then age; the payload is payload_text(ledger_entry_created(...))'s
# (sorted keys, compact), tested against it.
_PG_SPEND_AT_ONCE = (
    "WITH account AS ("
    "UPDATE accounts SET balance = balance - %(n)s WHERE member_id = %(member)s "
    "AND balance >= %(n)s AND (next_due_at IS NULL OR next_due_at > %(at)s) "
    "AND NOT EXISTS (SELECT 1 FROM team_seats WHERE team_seats.member_id = %(member)s) "
    "AND EXISTS (SELECT 1 FROM plans WHERE plans.code = accounts.plan_code "
    "AND plans.version = accounts.plan_version AND plans.inmail){key_free} "
    "RETURNING balance), "
    "lot AS (SELECT id, source FROM lots WHERE member_id = %(member)s AND remaining > 0 "
    "AND (expires_at IS NULL OR expires_at > %(at)s) "
    "ORDER BY source <> 'allotment', "
    "CASE WHEN source = 'allotment' THEN false ELSE expires_at IS NULL END, "
    "CASE WHEN source = 'allotment' THEN created_at ELSE coalesce(expires_at, created_at) END, "
    "created_at, id LIMIT 1), "
    "taken AS (UPDATE lots SET remaining = remaining - %(n)s FROM lot, account "
    "WHERE lots.id = lot.id AND lots.remaining >= %(n)s RETURNING lots.id, lot.source), "
    "entry AS (INSERT INTO ledger_entries "
    "(member_id, lot_id, kind, amount, balance_after, at, reference) "
    "SELECT %(member)s, taken.id, 'spend', -%(n)s, account.balance, %(at)s, %(ref)s "
    "FROM account LEFT JOIN taken ON true RETURNING id, lot_id, balance_after), "
    "spend AS (INSERT INTO spends (id, member_id, reference, cost, at, refunded_at) "
    "SELECT %(spend)s, %(member)s, %(ref)s, %(n)s, %(at)s, NULL FROM taken), "
    "told AS (INSERT INTO outbox_events (id, type, member_id, at, payload) "
    "SELECT %(event_id)s, %(entry_type)s, %(member)s, %(at)s, "
    "'{\"amount\":' || (-%(n)s)::text || ',\"balance_after\":' || entry.balance_after::text "
    '|| \',"entry_id":\' || entry.id::text || \',"kind":"spend","lot_id":\' '
    "|| entry.lot_id::text || ',\"lot_source\":' || to_json(taken.source)::text "
    "|| ',\"reference\":' || %(ref_json)s::text || '}' FROM entry, taken){key_row} "
    "SELECT entry.balance_after FROM entry"
)
_PG_AT_ONCE_KEY_FREE = (
    " AND NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE scope = %(k_scope)s AND key = %(k_key)s)"
)
_PG_AT_ONCE_KEY_ROW = (
    ", stored_key AS (INSERT INTO idempotency_keys (scope, key, fingerprint, response, "
    "created_at) SELECT %(k_scope)s, %(k_key)s, %(k_print)s, "
    "replace(%(k_answer)s::text, %(k_sentinel)s::text, "
    "%(k_with)s::text || entry.balance_after::text), %(at)s FROM entry)"
)
_BALANCE_SENTINEL = '"balance_after": 0'  # in encode(0): json.dumps's default separators


class _Unmatched(enum.Enum):
    """What _spend_at_once answers when nothing matched the account: nothing was written."""

    TRY_IN_TWO = enum.auto()


# After a driver error: the transaction is still open, so nothing was committed.
_STILL_OPEN = (psycopg.pq.TransactionStatus.INTRANS, psycopg.pq.TransactionStatus.INERROR)
_OUTBOX_ROW = "(%s, %s, %s, %s, %s)"
_OUTBOX_INSERT = "INSERT INTO outbox_events (id, type, member_id, at, payload) VALUES "


@functools.lru_cache(maxsize=64)
def _sqlite_time(moment: datetime) -> str:
    """``moment`` as SQLite stores it (store.tables.sqlite_text). Cached: a send writes the
    same ``now`` into about ten columns."""
    return sqlite_text(moment)


def _numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql``'s named placeholders as PostgreSQL's own ``$1``, ``$2`` … (a name used twice
    gets one number), and the names in number order.

    Done once per statement shape: psycopg parses a statement's placeholders again at every
    execution once it has more than 50 parameters, and a send's one-lot statement has about
    60 (a third of a send's client CPU in process, measured); a raw cursor passes ``$n``
    through."""
    numbers: dict[str, int] = {}

    def number(found: re.Match[str]) -> str:
        return f"${numbers.setdefault(found.group(1), len(numbers) + 1)}"

    numbered = _NAMED.sub(number, sql)
    assert "%" not in numbered, "a placeholder or an escaped % was left for psycopg to read"
    return numbered, tuple(numbers)


class Abandon(Exception):
    """This spend needs the general path."""


@dataclass(frozen=True, slots=True)
class Guard:
    """A conditional UPDATE that must change exactly one row, and its parameters.

    Build ``statement`` once (a module constant with bind parameters): the hot path
    compiles each statement once and keeps it. Parameters are plain values (text,
    numbers, None, UTC datetimes).
    """

    statement: Update
    params: dict[str, Any]


_COMPILED_GUARDS_MAX = 64


@dataclass(frozen=True, slots=True)
class Facts:
    """Scalar SQL expressions read with the lock, in the same statement (named parameters
    ``%(name)s`` from ``params``; datetimes are bound as the engine stores them).

    Each expression must return one value: a row's column, ``EXISTS (...)``, a count.
    """

    expressions: tuple[str, ...]
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Decided:
    """What a spend decided under its lock writes with it: rows and their events."""

    also_insert: tuple[tuple[Table, dict[str, Any]], ...]
    events: tuple[Event, ...]


Decide = Callable[[Plan, int, tuple[Any, ...]], Decided]
"""(the payer's plan, the cost taken, the facts' values) -> the rows; raises Abandon to
leave the decision to the general path (a refusal, a case this path does not take)."""


@dataclass(frozen=True, slots=True)
class FastSpendRequest:
    member_id: str
    cost: int | None
    """None: the plan's InMail cost, read under the lock (needs ``decide``)."""
    reference: str
    spend_id: str
    now: datetime
    key: tuple[str, str, str] | None  # (scope, key, fingerprint)
    also_insert: tuple[tuple[Table, dict[str, Any]], ...] = ()
    """Rows written in the same transaction as the spend (the InMail it pays for)."""
    events: tuple[Event, ...] = ()
    """Their events (docs/events.md), written after the spend's ledger line's."""
    then: Callable[[int], tuple[Guard, ...]] | None = None
    """Conditional UPDATEs built from the balance after, run last: each must change
    exactly one row, or the attempt is abandoned (a bulk send's running total)."""
    facts: Facts | None = None
    """Read with the lock, handed to ``decide``."""
    decide: Decide | None = None
    """Given the plan, cost and facts, the rows and events to write (instead of
    ``also_insert`` and ``events``); raises Abandon for the general path."""


@dataclass(frozen=True, slots=True)
class Replay:
    fingerprint: str
    response: str


def _ended(raw: Any, result: int | Replay) -> int | Replay:
    """Commit the spend, or roll back a replay's attempt: its balance update is undone and
    the first answer stands. (A commit with nothing open sends nothing.)"""
    if isinstance(result, Replay):
        raw.rollback()
    else:
        raw.commit()
    return result


class FastSpend:
    """Runs the hot path on one engine; build once per engine."""

    def __init__(self, engine: Engine, writers: WriterQueue | None = None) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._writers = writers  # SQLite: this process's writers take turns (store/writers.py)
        self._sql = {name: self._paramstyle(sql) for name, sql in _SQL.items()}
        dbapi = engine.dialect.dbapi
        assert dbapi is not None
        self._driver_error: type[Exception] = dbapi.Error
        self._inserts: dict[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...]]] = {}
        # Keyed by the statement itself (held here, so its identity cannot be reused).
        self._guards: dict[Update, SQLCompiler] = {}
        self._outbox_sql: dict[int, str] = {}  # the multi-row INSERT, by its number of rows
        # PostgreSQL's one-lot spend, by (events, rows written with it, whether a key).
        self._one_lot_sql: dict[
            tuple[int, tuple[tuple[str, tuple[str, ...]], ...], bool], tuple[str, tuple[str, ...]]
        ] = {}
        # The lock statement by (the plan's cost, a key, the facts).
        self._lock_sql: dict[tuple[bool, bool, tuple[str, ...]], str] = {}
        # Whether this engine's connections prepare nothing (pgbouncer mode, or a prepare
        # threshold of None): then the spend calls migration 0023's functions. Read from
        # the first connection: an engine's connections all have the same settings.
        self._calls: bool | None = None
        self._at_once_sql: dict[bool, str] = {}  # _PG_SPEND_AT_ONCE, with a key or without
        # SQLite: the one driver connection this path keeps (_checkout), and the process that
        # opened it (a forked child opens its own).
        self._kept: Any = None
        self._kept_pid = 0
        # Connections a parent process kept, held here and never used or closed: dropped,
        # the pool would take one back on collection and hand it out in this process.
        self._inherited: list[Any] = []

    def _paramstyle(self, sql: str) -> str:
        return sql.replace("%s", "?") if self._sqlite else sql

    def _time(self, moment: datetime | None) -> Any:
        # SQLite stores UTC wall time in SQLAlchemy's text format; comparisons stay textual.
        if moment is None or not self._sqlite:
            return moment
        return _sqlite_time(moment)

    def _read_time(self, value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return from_sqlite_text(value)

    def spend(
        self,
        request: FastSpendRequest,
        plan_of: Callable[[str, int], Plan | None],
        encode: Callable[[int], str],
    ) -> int | Replay | None:
        """The balance after, a stored answer to replay, or None (take the general path)."""
        with nullcontext() if self._writers is None else self._writers.turn():
            return self._spend(request, plan_of, encode)

    def _spend(
        self,
        request: FastSpendRequest,
        plan_of: Callable[[str, int], Plan | None],
        encode: Callable[[int], str],
    ) -> int | Replay | None:
        raw = self._checkout()
        try:
            if self._calls is None:
                threshold = getattr(raw.driver_connection, "prepare_threshold", 0)
                self._calls = not self._sqlite and threshold is None
            if self._calls:
                return self._spend_by_calls(raw, request, plan_of, encode)
            if self._at_once(request):
                spent = self._spend_at_once(raw, request, encode)
                if not isinstance(spent, _Unmatched):
                    return spent
            cur = raw.cursor()
            if self._sqlite:
                cur.execute("BEGIN IMMEDIATE")
            try:
                result = self._run(cur, request, plan_of, encode)
            except (Abandon, self._driver_error):
                raw.rollback()
                return None
            return _ended(raw, result)
        finally:
            self._checkin(raw)

    def _checkout(self) -> Any:
        """The driver connection for one spend: the pool's on PostgreSQL. On SQLite, one kept
        for this path across spends: every spend runs in its turn among the process's writers
        (``spend``), so one at a time uses it, and a pool checkout and its reset on return
        cost about 30 µs of a 600 µs spend (benchmarks/README.md)."""
        if not self._sqlite:
            return self._engine.raw_connection()
        if self._kept_pid != os.getpid():  # a forked child: the parent's is not ours to use
            self._let_go()
        if self._kept is None:
            self._kept = self._engine.raw_connection()
            self._kept_pid = os.getpid()
        return self._kept

    def _checkin(self, raw: Any) -> None:
        """Hand back what :meth:`_checkout` gave. A kept connection left inside a transaction
        (an error escaped the spend, or its COMMIT failed) is closed, which rolls the
        transaction back, and the next spend opens another."""
        if not self._sqlite:
            raw.close()
        elif raw.driver_connection.in_transaction:
            self._kept = None
            raw.invalidate()

    def close(self) -> None:
        """Return the kept connection to the pool (before the engine is disposed), after
        the spend using it, if one is, has ended (it takes the writers' turn)."""
        with nullcontext() if self._writers is None else self._writers.turn():
            self._let_go()

    def _let_go(self) -> None:
        """Keep no connection: the one this process opened goes back to the pool; one a
        forked child inherited is held, unused (``_inherited``)."""
        kept, self._kept = self._kept, None
        if kept is None:
            return
        if self._kept_pid == os.getpid():
            kept.close()
        else:
            self._inherited.append(kept)

    def _at_once(self, req: FastSpendRequest) -> bool:
        """Whether ``req`` is a plain spend that one autocommit statement can make whole."""
        return (
            not self._sqlite
            and req.cost is not None
            and req.cost > 0
            and not req.also_insert
            and not req.events
            and req.then is None
            and req.facts is None
            and req.decide is None
        )

    def _spend_at_once(
        self, raw: Any, req: FastSpendRequest, encode: Callable[[int], str]
    ) -> int | _Unmatched | None:
        """PostgreSQL, a plain spend as one statement in autocommit (_PG_SPEND_AT_ONCE): the
        balance after (committed), ``TRY_IN_TWO`` (nothing matched the account: nothing was
        written, try the two-statement path), or None after a driver error (nothing was
        written: the general path decides)."""
        assert req.cost is not None
        conn = raw.driver_connection
        keyed = req.key is not None
        sql = self._at_once_sql.get(keyed)
        if sql is None:
            sql = _PG_SPEND_AT_ONCE.replace("{key_free}", _PG_AT_ONCE_KEY_FREE if keyed else "")
            sql = self._at_once_sql[keyed] = sql.replace(
                "{key_row}", _PG_AT_ONCE_KEY_ROW if keyed else ""
            )
        params: dict[str, Any] = {
            "n": req.cost,
            "member": req.member_id,
            "at": req.now,
            "spend": req.spend_id,
            "ref": req.reference,
            "ref_json": json.dumps(req.reference),  # as payload_text writes it
            "event_id": new_id(EVENT_ID_PREFIX),
            "entry_type": LEDGER_ENTRY_CREATED,
        }
        if req.key is not None:
            scope, key, fingerprint = req.key
            answer = encode(0)
            assert answer.count(_BALANCE_SENTINEL) == 1, "encode(0) names the balance once"
            params |= {
                "k_scope": scope,
                "k_key": key,
                "k_print": fingerprint,
                "k_answer": answer,
                "k_sentinel": _BALANCE_SENTINEL,
                "k_with": _BALANCE_SENTINEL.removesuffix("0"),
            }
        with self._autocommit(raw):  # the statement is its own transaction
            try:
                row = conn.execute(sql, params).fetchone()
            except self._driver_error as error:
                if conn.broken:
                    # The connection was lost: whether the statement committed is unknown,
                    # as for a failed commit() on the other paths, so it is not retried here.
                    # Wrapped as SQLAlchemy wraps it (an OperationalError: the API's 503,
                    # retry with the same key).
                    raise DBAPIError.instance(sql, None, error, self._driver_error) from error
                return None  # the server refused it whole (autocommit): nothing was written
        return _Unmatched.TRY_IN_TWO if row is None else int(row[0])

    @contextmanager
    def _autocommit(self, raw: Any) -> Iterator[None]:
        """``raw``'s driver connection in autocommit while inside, then back in transactions
        (what the pool's other users expect). A connection that cannot go back (lost, or in
        a transaction it cannot end) is invalidated: never handed out again."""
        conn = raw.driver_connection
        conn.autocommit = True
        try:
            yield
        finally:
            try:
                conn.autocommit = False
            except self._driver_error:
                raw.invalidate()

    def _spend_by_calls(
        self,
        raw: Any,
        request: FastSpendRequest,
        plan_of: Callable[[str, int], Plan | None],
        encode: Callable[[int], str],
    ) -> int | Replay | None:
        """Where nothing is prepared (behind pgbouncer): BEGIN travels with the lock's call
        and, unless guards follow, COMMIT with the spend's, each pair in one simple-protocol
        message (values bound client-side by psycopg): two round trips instead of four, each
        of them a hop through pgbouncer and a wake-up of both processes.

        A failed statement aborts the transaction and the rest of its message is not run (a
        COMMIT after a failed spend never runs): with the transaction still open, nothing was
        committed and the general path may take over. Any other driver error (the COMMIT's
        own, a lost connection) propagates: whether the spend committed is then unknown, as
        for a failed ``commit()`` on the other path."""
        conn = raw.driver_connection
        with self._autocommit(raw):  # BEGIN and COMMIT are sent in our own messages
            cur = psycopg.ClientCursor(conn)
            try:
                result = self._run(cur, request, plan_of, encode)
            except Abandon:
                raw.rollback()
                return None
            except self._driver_error:
                if conn.info.transaction_status not in _STILL_OPEN:
                    raise
                raw.rollback()
                return None
            return _ended(raw, result)  # the COMMIT may have gone with the spend already

    def _run(
        self,
        cur: Any,
        req: FastSpendRequest,
        plan_of: Callable[[str, int], Plan | None],
        encode: Callable[[int], str],
    ) -> int | Replay:
        now = self._time(req.now)
        locked = self._lock_and_read(cur, req, now)
        if locked is None:
            raise Abandon
        balance_after, (plan_code, plan_version), cost, stored, lots, facts = locked
        plan = plan_of(plan_code, plan_version)
        if plan is None or (cost > 0 and not plan.inmail):
            raise Abandon
        if stored is not None:
            return stored
        if req.decide is not None:
            decided = req.decide(plan, cost, facts)
            req = replace(req, cost=cost, also_insert=decided.also_insert, events=decided.events)
        assert req.cost == cost, "a spend of the plan's cost decides its rows (decide)"
        book = Book(balance_after + cost, lots)
        draw(book, EntryKind.SPEND, cost, req.now, req.reference)
        key_row = None
        if req.key is not None:
            scope, key, fingerprint = req.key
            key_row = (scope, key, fingerprint, encode(balance_after), now)
        if self._calls and len(book.entries) == 1 and not req.also_insert and not req.events:
            self._call_one_lot(cur, req, book, now, key_row, commit=req.then is None)
        elif self._sqlite or len(book.entries) != 1:
            entry_ids = self._write(cur, req, book, now)
            told = [
                ledger_entry_created(req.member_id, e, i)
                for e, i in zip(book.entries, entry_ids, strict=True)
            ]
            self._append(cur, [*told, *req.events])
            for table, values in req.also_insert:
                self._insert(cur, table, values)
            if key_row is not None:
                cur.execute(self._sql["insert_key"], key_row)
        else:  # PostgreSQL: the rows and the key go in the spend's own statement
            self._write_one_lot(cur, req, book, now, key_row)
        for statement in () if req.then is None else req.then(balance_after):
            self._guard(cur, statement)
        return balance_after

    def _insert(self, cur: Any, table: Table, values: dict[str, Any]) -> None:
        sql, order = self._insert_sql(table, tuple(sorted(values)))
        if self._sqlite:
            row = [values[k] for k in order]
            cur.execute(sql, [_sqlite_time(v) if isinstance(v, datetime) else v for v in row])
        else:
            cur.execute(sql, values)

    def _guard(self, cur: Any, guard: Guard) -> None:
        """Run a conditional UPDATE; Abandon unless it changed exactly one row."""
        compiled = self._guards.get(guard.statement)
        if compiled is None:
            if len(self._guards) >= _COMPILED_GUARDS_MAX:
                self._guards.clear()
            built = guard.statement.compile(dialect=self._engine.dialect)
            assert isinstance(built, SQLCompiler)
            compiled = self._guards[guard.statement] = built
        params = compiled.construct_params(guard.params)
        assert params is not None
        if self._sqlite:
            names = compiled.positiontup or ()
            cur.execute(compiled.string, tuple(self._bind(params[name]) for name in names))
        else:
            cur.execute(compiled.string, params)
        if cur.rowcount != 1:
            raise Abandon

    def _bind(self, value: Any) -> Any:
        return self._time(value) if isinstance(value, datetime) else value

    def _insert_sql(self, table: Table, keys: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
        cache_key = (table.name, keys)
        found = self._inserts.get(cache_key)
        if found is None:
            compiled = table.insert().compile(dialect=self._engine.dialect, column_keys=list(keys))
            order = tuple(compiled.positiontup or ()) if self._sqlite else keys
            found = self._inserts[cache_key] = (str(compiled), order)
        return found

    def _lock_sql_for(self, req: FastSpendRequest) -> str:
        """The lock statement for this request's shape, built once per shape."""
        facts = () if req.facts is None else req.facts.expressions
        shape = (req.cost is None, req.key is not None, facts)
        sql = self._lock_sql.get(shape)
        if sql is None:
            extra = "".join(", " + f for f in facts)
            if self._calls:  # the function reads the key only when one is given
                cost = "NULL" if req.cost is None else _COST_BOUND
                call = _PG_LOCK_CALL.replace("{cost}", cost).replace("{facts}", extra)
                sql = "BEGIN; " + call  # one message (_spend_by_calls)
                self._lock_sql[shape] = sql
                return sql
            cost = _COST_OF_PLAN if req.cost is None else _COST_BOUND
            template = _SQLITE_LOCK if self._sqlite else _PG_LOCK
            if req.key is None:  # nothing to look up: no index probes
                template = template.replace(_KEY_FINGERPRINT, "NULL").replace(_KEY_RESPONSE, "NULL")
            sql = template.replace("{cost}", cost).replace("{facts}", extra)
            if self._sqlite:
                sql = _NAMED.sub(r":\1", sql)
            sql = self._lock_sql[shape] = sql
        return sql

    def _lock_and_read(
        self, cur: Any, req: FastSpendRequest, now: Any
    ) -> tuple[int, tuple[str, int], int, Replay | None, list[Lot], tuple[Any, ...]] | None:
        """Take the cost off the balance (the lock and the check) and, in the same statement,
        read the key's stored answer, the live lots and the facts; None: no row was taken.

        On PostgreSQL the reads use the statement's snapshot, which can predate a concurrent
        spend we waited for: the conditional lot update then abandons safely, and a key or a
        thread committed meanwhile fails its unique index (the general path answers)."""
        # No key: the function looks nothing up for NULL; the statement has no lookup at all.
        scope, key = ((None, None) if self._calls else ("", "")) if req.key is None else req.key[:2]
        params: dict[str, Any] = {
            "member": req.member_id,
            "now": now,
            "cost": req.cost,
            "scope": scope,
            "key": key,
        }
        if req.facts is not None:
            params |= {k: self._bind(v) for k, v in req.facts.params.items()}
        cur.execute(self._lock_sql_for(req), params)
        if self._calls:
            cur.nextset()  # past BEGIN's result
        rows = cur.fetchall()
        if not rows:
            return None
        first = rows[0]
        balance, plan_code, plan_version, taken, fingerprint, response = first[:6]
        stored = None if fingerprint is None else Replay(fingerprint, response)
        if self._sqlite:
            lots, facts = json.loads(first[6]), tuple(first[7:])
        else:
            lots = [r[_PG_LOT_COLUMNS] for r in rows if r[6] is not None]
            facts = tuple(first[12:])
        taken = 0 if taken is None else int(taken)  # NULL: a plan version that is missing
        return int(balance), (plan_code, plan_version), taken, stored, self._lots(lots), facts

    def _append(self, cur: Any, events: list[Event]) -> None:
        """Write ``events`` to the outbox in one statement (the column ``tx`` fills itself)."""
        if not events:
            return
        sql = self._outbox_sql.get(len(events))
        if sql is None:
            sql = _OUTBOX_INSERT + ", ".join([_OUTBOX_ROW] * len(events))
            sql = self._outbox_sql[len(events)] = self._paramstyle(sql)
        values = [
            v
            for e in events
            for v in (e.id, e.type, e.member_id, self._time(e.at), payload_text(e))
        ]
        cur.execute(sql, values)

    def _write_one_lot(
        self, cur: Any, req: FastSpendRequest, book: Book, now: Any, key_row: tuple[Any, ...] | None
    ) -> None:
        """PostgreSQL, a spend from one lot: the lot, the spend, its ledger line, the events,
        the rows written with it and the key's answer, in one statement (one round trip)."""
        (entry,) = book.entries
        events = [ledger_entry_created(req.member_id, entry, 0), *req.events]
        shapes = tuple((table, tuple(sorted(values))) for table, values in req.also_insert)
        shape = (len(events), tuple((t.name, keys) for t, keys in shapes), key_row is not None)
        built = self._one_lot_sql.get(shape)
        if built is None:
            rows = ", ".join(_PG_EVENT_ROW.format(n=n) for n in range(len(events)))
            ctes = [self._row_cte(i, table, keys) for i, (table, keys) in enumerate(shapes)]
            if key_row is not None:
                ctes.append(_PG_KEY_CTE)
            head = "WITH " + "".join(cte + ", " for cte in ctes)
            sql = _PG_SPEND_ONE_LOT.replace("{rows}", rows).replace("WITH ", head, 1)
            built = self._one_lot_sql[shape] = _numbered(sql)
        sql, order = built
        also: dict[str, Any] = {}
        for i, (_, values) in enumerate(req.also_insert):
            also |= {f"r{i}_{k}": v for k, v in values.items()}
        if key_row is not None:
            names = ("k_scope", "k_key", "k_print", "k_answer", "k_at")
            also |= dict(zip(names, key_row, strict=True))
        told: dict[str, Any] = {}
        for n, e in enumerate(events):
            told |= {
                f"id{n}": e.id,
                f"type{n}": e.type,
                f"member{n}": e.member_id,
                f"at{n}": e.at,
                f"payload{n}": payload_text(e),
            }
        params = {
            "n": -entry.amount,
            "lot": entry.lot.id,
            "spend": req.spend_id,
            "member": req.member_id,
            "ref": req.reference,
            "at": now,
            "after": entry.balance_after,
            "entry_type": LEDGER_ENTRY_CREATED,
            "placeholder": ENTRY_ID_PLACEHOLDER,
            "with_id": ENTRY_ID_PLACEHOLDER.removesuffix("0"),
            **told,
            **also,
        }
        # A raw cursor: the statement already has PostgreSQL's own $n placeholders (_numbered).
        raw = psycopg.RawCursor(cur.connection)
        raw.execute(sql, [params[name] for name in order])
        if raw.fetchone() is None:
            raise Abandon

    def _call_one_lot(
        self,
        cur: Any,
        req: FastSpendRequest,
        book: Book,
        now: Any,
        key_row: tuple[Any, ...] | None,
        *,
        commit: bool,
    ) -> None:
        """A spend from one lot with nothing written beside it, through inmail_spend_one_lot
        (migration 0023): the lot, the spend, its ledger line, the line's event and the key's
        answer, in one call whose statements' plans the server backend keeps; ``commit``:
        COMMIT in the same message (the function raises rather than commit a spend from a
        lot that no longer held it)."""
        (entry,) = book.entries
        told = ledger_entry_created(req.member_id, entry, 0)
        scope, key, fingerprint, answer, _ = (None,) * 5 if key_row is None else key_row
        cur.execute(
            _PG_SPEND_ONE_LOT_COMMIT if commit else _PG_SPEND_ONE_LOT_CALL,
            {
                "lot": entry.lot.id,
                "n": -entry.amount,
                "spend": req.spend_id,
                "member": req.member_id,
                "ref": req.reference,
                "at": now,
                "after": entry.balance_after,
                "event_id": told.id,
                "event_type": told.type,
                "event_at": told.at,
                "payload": payload_text(told),
                "placeholder": ENTRY_ID_PLACEHOLDER,
                "with_id": ENTRY_ID_PLACEHOLDER.removesuffix("0"),
                "k_scope": scope,
                "k_key": key,
                "k_print": fingerprint,
                "k_answer": answer,
            },
        )
        row = cur.fetchone()
        if row is None or row[0] is None:
            # Not Abandon: with ``commit`` the spend may be committed, and the general path
            # would charge again. The function raises instead of answering no line.
            raise RuntimeError("inmail_spend_one_lot answered no ledger line")

    def _row_cte(self, i: int, table: Table, keys: tuple[str, ...]) -> str:
        """Row ``i`` written with the spend, as a CTE of the one-lot statement (its
        parameters renamed ``r<i>_<column>``)."""
        insert, _ = self._insert_sql(table, keys)
        return f"row{i} AS (" + _NAMED.sub(lambda m: f"%(r{i}_{m.group(1)})s", insert) + ")"

    def _lots(self, rows: Any) -> list[Lot]:
        lots = []
        for lot_id, source, granted, remaining, created_at, expires_at in rows:
            created = self._read_time(created_at)
            assert created is not None
            lots.append(
                Lot(
                    lot_id,
                    LotSource(source),
                    granted,
                    remaining,
                    created,
                    self._read_time(expires_at),
                )
            )
        return lots

    def _write(self, cur: Any, req: FastSpendRequest, book: Book, now: Any) -> list[int]:
        """Take from the lots, record the spend and its ledger lines; the lines' ids."""
        for entry in book.entries:
            amount = -entry.amount
            cur.execute(self._sql["take_from_lot"], (amount, entry.lot.id, amount))
            if cur.rowcount != 1:
                raise Abandon
        cur.execute(
            self._sql["insert_spend"], (req.spend_id, req.member_id, req.reference, req.cost, now)
        )
        entry_ids = []
        for e in book.entries:  # one line per lot, almost always one
            values = (
                req.member_id,
                e.lot.id,
                e.kind.value,
                e.amount,
                e.balance_after,
                now,
                e.reference,
            )
            cur.execute(self._sql["insert_entry"], values)
            entry_ids.append(int(cur.fetchone()[0]))
        return entry_ids
