"""A column among many ids, as one bound parameter whatever their number.

``column.in_(ids)`` binds one parameter per id: for 200 ids, SQLAlchemy renders 200
placeholders and the driver parses them all, on every call, which costs more than
running the query (an ``expanding`` bind parameter is no better: it is rendered again
for each call's count). Here the whole list is bound once, as one string the database
reads as a list, in a subquery the database runs once: an array literal unnested on
PostgreSQL (``IN (SELECT unnest(:ids::VARCHAR[]))``: a string, because the driver's own
array dumping costs as much again, typed as the array it is, so the server reads it once
when it binds it), a JSON array read by ``json_each`` on SQLite.

Two forms: :func:`among` for a statement built per call, and :func:`id_list` with
:func:`bound_ids` for a statement built once per engine and bound by name.

A statement of many parts (a union of facts) also writes its constants into its text
(:func:`constant`, :func:`nothing`) rather than binding each: psycopg converts a
statement's placeholders once and caches that only for a statement of at most 4,096
bytes and 50 parameters; past either, it parses the whole text again on every run
(0.2 to 0.4 ms of client CPU for each of issue 10's fact statements).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Select,
    String,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
)
from sqlalchemy.types import TypeEngine, UserDefinedType


def among(conn: Connection, column: ColumnElement[Any], ids: Sequence[str]) -> ColumnElement[bool]:
    """``column IN ids`` for ``conn``'s engine, with ``ids`` bound as one value."""
    dialect = conn.dialect.name
    listed = bindparam(None, bound_ids(dialect, ids), type_=_listed_type(dialect), unique=True)
    return column.in_(_unpacked(dialect, listed))


def id_list(dialect: str, name: str) -> Select[Any]:
    """The ids bound by ``name`` (a value from :func:`bound_ids`), as a one-column SELECT
    for ``column.in_(...)`` in a statement built once for the engine ``dialect``."""
    return _unpacked(dialect, bindparam(name, type_=_listed_type(dialect)))


def bound_ids(dialect: str, ids: Sequence[str]) -> str:
    """``ids`` as the one value :func:`id_list` unpacks on the engine ``dialect``."""
    return array_literal(ids) if dialect == "postgresql" else json.dumps(list(ids))


def _unpacked(dialect: str, listed: BindParameter[str]) -> Select[Any]:
    if dialect == "postgresql":
        return select(func.unnest(listed))
    return select(func.json_each(listed).table_valued("value").c.value)


def _listed_type(dialect: str) -> TypeEngine[str]:
    return _TextArray() if dialect == "postgresql" else String()


class _TextArray(UserDefinedType[str]):
    """PostgreSQL's ``VARCHAR[]``, bound as its text (:func:`array_literal`) and read by the
    server at bind time: ``:ids::VARCHAR[]`` (psycopg sends a str as of unknown type)."""

    cache_ok = True
    render_bind_cast = True

    def get_col_spec(self, **_: Any) -> str:
        return "VARCHAR[]"


def array_literal(values: Sequence[str]) -> str:
    """PostgreSQL's text form of a one-dimensional text array, every element quoted."""
    quoted = (v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return "{" + ",".join(f'"{v}"' for v in quoted) + "}"


def constant(value: str) -> ColumnElement[str]:
    """The string ``value`` written into the statement, not bound (a row's kind of fact)."""
    return literal_column("'" + value.replace("'", "''") + "'", String)


def nothing(type_: type[TypeEngine[Any]] | TypeEngine[Any] | None = None) -> ColumnElement[Any]:
    """A NULL written into the statement, not bound: of ``type_``, or untyped (``None``) in a
    union's later parts, which take the types of its first."""
    return null() if type_ is None else cast(null(), type_)
