"""A column among many ids, as one bound parameter whatever their number.

``column.in_(ids)`` binds one parameter per id: for 200 ids, SQLAlchemy renders 200
placeholders and the driver parses them all, on every call, which costs more than
running the query (an ``expanding`` bind parameter is no better: it is rendered again
for each call's count). Here the whole list is bound once, as one string the database
reads as a list, in a subquery the database runs once: an array literal unnested on
PostgreSQL (``IN (SELECT unnest(CAST(:ids AS VARCHAR[])))``; a string, because the
driver's own array dumping costs as much again, and a subquery, because a cast inside
``= ANY(...)`` is parsed again for every row it filters), a JSON array read by
``json_each`` on SQLite.

Two forms: :func:`among` for a statement built per call, and :func:`id_list` with
:func:`bound_ids` for a statement built once per engine and bound by name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    BindParameter,
    ColumnElement,
    Connection,
    Select,
    String,
    bindparam,
    cast,
    func,
    select,
)


def among(conn: Connection, column: ColumnElement[Any], ids: Sequence[str]) -> ColumnElement[bool]:
    """``column IN ids`` for ``conn``'s engine, with ``ids`` bound as one value."""
    listed = bindparam(None, bound_ids(conn.dialect.name, ids), type_=String, unique=True)
    return column.in_(_unpacked(conn.dialect.name, listed))


def id_list(dialect: str, name: str) -> Select[Any]:
    """The ids bound by ``name`` (a value from :func:`bound_ids`), as a one-column SELECT
    for ``column.in_(...)`` in a statement built once for the engine ``dialect``."""
    return _unpacked(dialect, bindparam(name, type_=String))


def bound_ids(dialect: str, ids: Sequence[str]) -> str:
    """``ids`` as the one value :func:`id_list` unpacks on the engine ``dialect``."""
    return array_literal(ids) if dialect == "postgresql" else json.dumps(list(ids))


def _unpacked(dialect: str, listed: BindParameter[str]) -> Select[Any]:
    if dialect == "postgresql":
        return select(func.unnest(cast(listed, ARRAY(String))))
    return select(func.json_each(listed).table_valued("value").c.value)


def array_literal(values: Sequence[str]) -> str:
    """PostgreSQL's text form of a one-dimensional text array, every element quoted."""
    quoted = (v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return "{" + ",".join(f'"{v}"' for v in quoted) + "}"
