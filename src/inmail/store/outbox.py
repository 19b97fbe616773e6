"""The transactional outbox: append events with the change, read them in commit order.

Writers call :func:`append` inside the write transaction of the change. Readers
(the events API, the webhook dispatcher) call :func:`read_after`, which returns
only events whose transactions have ended, ordered so that a reader moving its
cursor forward never skips an event that commits later:

* On PostgreSQL, ``seq`` order is not commit order (two transactions take
  sequence numbers, the later one commits first). Each event records its
  transaction id (``tx``); readers order by ``(tx, seq)`` and return only events
  with ``tx`` below the oldest transaction still running
  (``pg_snapshot_xmin``). Every transaction that starts later gets a larger id,
  so nothing can appear behind a cursor.
* On SQLite, writers hold the database's single write lock in turn, so
  ``seq`` order is commit order; ``tx`` is 0, and readers order by ``seq`` alone (the
  table's own rowid order: SQLite keeps no ``(tx, seq)`` index, migration 0024).

:func:`commit_order` and :func:`past` say this once for every reader.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    Row,
    Select,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    tuple_,
    union_all,
)

from inmail.domain.events import Event, payload_text
from inmail.store.tables import outbox_events

# xid8 has no cast to bigint; through text it fits (transaction ids stay far below 2**63).
# The column's default writes pg_current_xact_id() the same way (migration 0017).
_PG_HORIZON: ColumnElement[int] = literal_column(
    "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a reader stands in the outbox: after the event at (tx, seq)."""

    tx: int
    seq: int


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as stored: its position, identity, type, member, time (UTC) and data."""

    position: Position
    id: str
    type: str
    member_id: str | None
    at: datetime
    data: dict[str, Any]


def commit_order(conn: Connection) -> tuple[ColumnElement[int], ...]:
    """The outbox's columns in commit order on ``conn``'s engine (see the module): order by
    them, ascending or descending, to read the outbox as it committed."""
    if conn.dialect.name == "sqlite":
        return (outbox_events.c.seq,)
    return (outbox_events.c.tx, outbox_events.c.seq)


def past(conn: Connection, tx: int, seq: int) -> ColumnElement[bool]:
    """Events committed after the one at (``tx``, ``seq``)."""
    if conn.dialect.name == "sqlite":  # tx is always 0 there
        return outbox_events.c.seq > seq
    return tuple_(outbox_events.c.tx, outbox_events.c.seq) > tuple_(literal(tx), literal(seq))


def append(conn: Connection, events: Sequence[Event]) -> None:
    """Write ``events`` in the caller's write transaction (one statement for all of them)."""
    if not events:
        return
    rows = [
        {
            "id": e.id,
            "type": e.type,
            "member_id": e.member_id,
            "at": e.at,
            "payload": payload_text(e),
        }
        for e in events
    ]
    conn.execute(outbox_events.insert(), rows)


FILTERED_SCAN = 5_000
"""Events a filtered read (by member or type) examines past its place, at most. No index
serves the filters (an index by member was one more b-tree page written with every event of
every write, migration 0028), so a read for a member with few events would otherwise scan
the whole outbox; bounded, each page costs about the same however large the outbox grows."""


@dataclass(frozen=True, slots=True)
class Scanned:
    """What a read found, and the last event it examined (None: none past its place)."""

    events: list[StoredEvent]
    reached: Position | None


def read_after(conn: Connection, after: Position | None, limit: int) -> list[StoredEvent]:
    """Up to ``limit`` committed events after ``after`` (from the start when None), oldest
    first."""
    query = _visible_after(conn, after).order_by(*commit_order(conn)).limit(limit)
    return [_stored(r) for r in conn.execute(query)]


def read_filtered(
    conn: Connection,
    after: Position | None,
    limit: int,
    *,
    member_id: str | None = None,
    event_type: str | None = None,
    scan: int = FILTERED_SCAN,
) -> Scanned:
    """Up to ``limit`` committed events after ``after``, oldest first, only ``member_id``'s
    and only of ``event_type`` when given, found among the next ``scan`` events: fewer than
    ``limit`` (even none) while more may match further on. ``reached`` is the last event
    examined, where the next read goes on from.

    One statement, so the matches and the window's end come from one snapshot: on
    PostgreSQL a second statement could see a transaction that committed in between and
    put the window's end past a matching event the first did not return."""
    statement = _filtered(conn, after, limit, member_id, event_type, scan)
    rows = conn.execute(statement).all()
    found = sorted(
        (_stored(r) for r in rows if not r.window_end),
        key=lambda e: (e.position.tx, e.position.seq),
    )
    if len(found) == limit:
        return Scanned(found, found[-1].position)
    last = next((Position(r.tx, r.seq) for r in rows if r.window_end), None)
    return Scanned(found, last)


def _filtered(
    conn: Connection,
    after: Position | None,
    limit: int,
    member_id: str | None,
    event_type: str | None,
    scan: int,
) -> CompoundSelect[Any]:
    """:func:`read_filtered`'s statement: the window's first ``limit`` matches, each with
    ``window_end`` false, then one row for the window's last event (``window_end`` true,
    only its position filled)."""
    window = _visible_after(conn, after).order_by(*commit_order(conn)).limit(scan).cte("window")
    order = [window.c[c.name] for c in commit_order(conn)]
    matches = select(window, literal(False).label("window_end"))
    if member_id is not None:
        matches = matches.where(window.c.member_id == member_id)
    if event_type is not None:
        matches = matches.where(window.c.type == event_type)
    matches = matches.order_by(*order).limit(limit)
    # Typed empty columns: a PostgreSQL union matches types.
    end = select(
        *(
            window.c[c.name] if c.name in ("tx", "seq") else cast(null(), c.type).label(c.name)
            for c in outbox_events.c
        ),
        literal(True).label("window_end"),
    )
    end = end.order_by(*(c.desc() for c in order)).limit(1)
    return union_all(select(matches.subquery()), select(end.subquery()))


def _visible_after(conn: Connection, after: Position | None) -> Select[Any]:
    """Every column of the events committed after ``after`` that readers may see (unordered)."""
    query = select(outbox_events)
    if conn.dialect.name != "sqlite":
        query = query.where(outbox_events.c.tx < _PG_HORIZON)
    if after is not None:
        query = query.where(past(conn, after.tx, after.seq))
    return query


def _stored(r: Row[Any]) -> StoredEvent:
    return StoredEvent(
        position=Position(r.tx, r.seq),
        id=r.id,
        type=r.type,
        member_id=r.member_id,
        at=r.at,
        data=json.loads(r.payload),
    )


def by_id(conn: Connection, event_id: str) -> StoredEvent | None:
    """One event by its id, committed or not yet visible to readers (None when unknown)."""
    r = conn.execute(select(outbox_events).where(outbox_events.c.id == event_id)).first()
    return None if r is None else _stored(r)


def payload_field(conn: Connection, key: str) -> ColumnElement[Any]:
    """A top-level value of the stored payload, as SQL (SQLite's JSON functions, PostgreSQL's
    jsonb): for checks across the whole outbox, such as the audit's. ``key`` is a fixed
    name from docs/events.md, never a client's text."""
    if not key.replace("_", "").isalnum():
        raise ValueError(f"not a payload key: {key!r}")
    if conn.dialect.name == "sqlite":
        return func.json_extract(outbox_events.c.payload, f"$.{key}")
    return literal_column(f"(outbox_events.payload::jsonb ->> '{key}')")
