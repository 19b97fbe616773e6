"""The spend hot path: a handful of explicit statements on the driver connection.

A spend is the most frequent write. Going through SQLAlchemy's statement
building costs several times what the database work does, so the common case
(account exists, nothing due, enough credits) runs these statements on the
pooled DBAPI connection directly:

1. ``UPDATE accounts SET balance = balance - cost WHERE ... balance >= cost AND
   nothing is due RETURNING ...`` is the lock and the check at once;
2. read the account's live lots; the domain picks which lots pay;
3. take from those lots (conditionally), record the spend, write the ledger.

Anything else (an unknown member, a renewal due, too few credits, a repeated
reference, any driver error) rolls the attempt back and answers ``None``; the
caller then takes the general path, which knows every rule and error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from inmail.domain.credits import Book, EntryKind, Lot, LotSource, draw
from inmail.domain.plans import Plan

_SQL = {
    "lock_and_take": (
        "UPDATE accounts SET balance = balance - %s WHERE member_id = %s AND balance >= %s "
        "AND (next_due_at IS NULL OR next_due_at > %s) RETURNING balance, plan_code, plan_version"
    ),
    "find_key": "SELECT fingerprint, response FROM idempotency_keys WHERE scope = %s AND key = %s",
    "live_lots": (
        "SELECT id, source, granted, remaining, created_at, expires_at FROM lots "
        "WHERE member_id = %s AND remaining > 0"
    ),
    "take_from_lot": "UPDATE lots SET remaining = remaining - %s WHERE id = %s AND remaining >= %s",
    "insert_spend": (
        "INSERT INTO spends (id, member_id, reference, cost, at, refunded_at) "
        "VALUES (%s, %s, %s, %s, %s, NULL)"
    ),
    "insert_entry": (
        "INSERT INTO ledger_entries "
        "(member_id, lot_id, kind, amount, balance_after, at, reference) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s)"
    ),
    "insert_key": (
        "INSERT INTO idempotency_keys (scope, key, fingerprint, response, created_at) "
        "VALUES (%s, %s, %s, %s, %s)"
    ),
}


class Abandon(Exception):
    """This spend needs the general path."""


@dataclass(frozen=True, slots=True)
class FastSpendRequest:
    member_id: str
    cost: int
    reference: str
    spend_id: str
    now: datetime
    key: tuple[str, str, str] | None  # (scope, key, fingerprint)


@dataclass(frozen=True, slots=True)
class Replay:
    fingerprint: str
    response: str


class FastSpend:
    """Runs the hot path on one engine; build once per engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._sql = {name: self._paramstyle(sql) for name, sql in _SQL.items()}
        dbapi = engine.dialect.dbapi
        assert dbapi is not None
        self._driver_error: type[Exception] = dbapi.Error

    def _paramstyle(self, sql: str) -> str:
        return sql.replace("%s", "?") if self._sqlite else sql

    def _time(self, moment: datetime | None) -> Any:
        # SQLite stores UTC wall time in SQLAlchemy's text format; comparisons stay textual.
        if moment is None or not self._sqlite:
            return moment
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def _read_time(self, value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    def spend(
        self,
        request: FastSpendRequest,
        plan_of: Callable[[str, int], Plan | None],
        encode: Callable[[int], str],
    ) -> int | Replay | None:
        """The balance after, a stored answer to replay, or None (take the general path)."""
        raw = self._engine.raw_connection()
        try:
            cur = raw.cursor()
            if self._sqlite:
                cur.execute("BEGIN IMMEDIATE")
            try:
                result = self._run(cur, request, plan_of, encode)
            except (Abandon, self._driver_error):
                raw.rollback()
                return None
            if isinstance(result, Replay):
                raw.rollback()  # the balance update above is undone: the first answer stands
            else:
                raw.commit()
            return result
        finally:
            raw.close()

    def _run(
        self,
        cur: Any,
        req: FastSpendRequest,
        plan_of: Callable[[str, int], Plan | None],
        encode: Callable[[int], str],
    ) -> int | Replay:
        now = self._time(req.now)
        cur.execute(self._sql["lock_and_take"], (req.cost, req.member_id, req.cost, now))
        row = cur.fetchone()
        if row is None:
            raise Abandon
        balance_after, plan_code, plan_version = int(row[0]), row[1], row[2]
        plan = plan_of(plan_code, plan_version)
        if plan is None or (req.cost > 0 and not plan.inmail):
            raise Abandon
        if req.key is not None:
            cur.execute(self._sql["find_key"], req.key[:2])
            stored = cur.fetchone()
            if stored is not None:
                return Replay(stored[0], stored[1])
        book = Book(balance_after + req.cost, self._live_lots(cur, req.member_id))
        draw(book, EntryKind.SPEND, req.cost, req.now, req.reference)
        self._write(cur, req, book, now)
        if req.key is not None:
            scope, key, fingerprint = req.key
            cur.execute(
                self._sql["insert_key"], (scope, key, fingerprint, encode(balance_after), now)
            )
        return balance_after

    def _live_lots(self, cur: Any, member_id: str) -> list[Lot]:
        cur.execute(self._sql["live_lots"], (member_id,))
        lots = []
        for lot_id, source, granted, remaining, created_at, expires_at in cur.fetchall():
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

    def _write(self, cur: Any, req: FastSpendRequest, book: Book, now: Any) -> None:
        for entry in book.entries:
            amount = -entry.amount
            cur.execute(self._sql["take_from_lot"], (amount, entry.lot.id, amount))
            if cur.rowcount != 1:
                raise Abandon
        cur.execute(
            self._sql["insert_spend"], (req.spend_id, req.member_id, req.reference, req.cost, now)
        )
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
