"""A column among many ids, as one bound parameter whatever their number.

``column.in_(ids)`` binds one parameter per id: for 200 ids, SQLAlchemy renders 200
placeholders and the driver parses them all, on every call, which costs more than
running the query. :func:`among` binds the whole list once, as one string the database
reads as a list, in a subquery the database runs once: an array literal unnested on
PostgreSQL (``IN (SELECT unnest(CAST(:ids AS VARCHAR[])))``; a string, because the
driver's own array dumping costs as much again, and a subquery, because a cast inside
``= ANY(...)`` is parsed again for every row it filters), a JSON array read by
``json_each`` on SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Connection, String, bindparam, cast, func, select


def among(conn: Connection, column: ColumnElement[Any], ids: Sequence[str]) -> ColumnElement[bool]:
    """``column IN ids`` for ``conn``'s engine, with ``ids`` bound as one value."""
    if conn.dialect.name == "postgresql":
        listed = bindparam(None, array_literal(ids), type_=String, unique=True)
        return column.in_(select(func.unnest(cast(listed, ARRAY(String)))))
    listed = bindparam(None, json.dumps(list(ids)), type_=String, unique=True)
    each = func.json_each(listed).table_valued("value")
    return column.in_(select(each.c.value))


def array_literal(values: Sequence[str]) -> str:
    """PostgreSQL's text form of a one-dimensional text array, every element quoted."""
    quoted = (v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return "{" + ",".join(f'"{v}"' for v in quoted) + "}"
