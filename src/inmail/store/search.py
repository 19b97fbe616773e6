"""The search index (tables ``member_search``, ``group_search``): writing documents and finding
pages of them (what a document and a match are: :mod:`inmail.domain.search`).

Each engine looks words up its own way, and both give the same results in
the same order (by ``seq``, the document's place in the index):

- SQLite: an FTS5 table over ``document`` (migration 0010), which walks its
  matches in ``seq`` order, so a page stops after ``limit`` matches however
  many there are.
- PostgreSQL: a GIN index on ``document`` (a tsvector). A GIN index cannot
  walk in order, so a page first walks the next ``WALK x limit`` rows in order
  (a common word fills the page there) and asks the index only when that is
  not enough (a rare word: few matches to sort). Words a caller knows to be
  rare (a name's: ``find(rare=True)``) go to the index at once.

A small set of candidates (a member's connections) is looked at one by one
instead, with the same match written as a condition on each row.

A search runs on a hot path, and building a statement costs more than running
it: each shape of statement is built once (``_statement``) and run with bound
values. Which owners a search may find is a :class:`Scope` of such sets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    Column,
    ColumnElement,
    Connection,
    Integer,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    column,
    false,
    func,
    insert,
    literal,
    literal_column,
    not_,
    select,
    table,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import TSQUERY

from inmail.domain.search import Match
from inmail.store.tables import group_search, member_search

WALK = 40  # PostgreSQL: rows walked in order per result asked for, before asking the index


@dataclass(frozen=True, slots=True)
class Index:
    table: Table
    owner: Column[str]  # the member's (group's) id
    fts: str  # the SQLite FTS5 table over ``document``


MEMBERS = Index(member_search, member_search.c.member_id, "member_search_fts")
GROUPS = Index(group_search, group_search.c.group_id, "group_search_fts")


@dataclass(frozen=True, slots=True)
class Scope:
    """Which owners a search may find: those in every set of ``among`` (a few: each is
    looked at one by one) and of ``within`` (many: checked on each row the word index
    finds), and in no set of ``excluding``. The sets are selects of ids over bound values
    (``store.reach``'s, over ``viewer``; :data:`SKIPPED`), built once: a statement is
    built once per scope."""

    among: tuple[Select[Any], ...] = ()
    within: tuple[Select[Any], ...] = ()
    excluding: tuple[Select[Any], ...] = ()


SKIPPED = select(bindparam("skip", type_=Text))  # one id, bound as ``skip``
EVERYONE = Scope()
Hit = tuple[int, str]  # (seq, owner id)


def write_document(conn: Connection, index: Index, owner_id: str, document: Sequence[str]) -> None:
    """Index ``owner_id`` with ``document`` (its words); indexed again, it keeps its place."""
    if _is_sqlite(conn):
        value: Any = " ".join(document)
    else:
        value = func.array_to_tsvector(literal(list(document), ARRAY(Text)))
    changed = conn.execute(
        update(index.table).where(index.owner == owner_id).values(document=value)
    )
    if changed.rowcount == 0:
        conn.execute(insert(index.table).values({index.owner.name: owner_id, "document": value}))


def find(
    conn: Connection,
    index: Index,
    match: Match,
    *,
    after: int,
    limit: int,
    scope: Scope = EVERYONE,
    values: Mapping[str, Any] | None = None,
    rare: bool = False,
) -> list[Hit]:
    """Up to ``limit`` documents that ``match`` holds, with ``seq`` above ``after``, by ``seq``,
    among the owners ``scope`` allows (its sets read ``values``: ``viewer``, ``skip``).

    ``rare``: the caller expects few documents to match (a name's words): PostgreSQL
    asks its word index at once, rather than first walking rows that would mostly fail.
    """
    sqlite = _is_sqlite(conn)
    bound = {**(values or {}), "after": after, "limit": limit}
    if scope.among or not match.required:
        way = "among" if scope.among else "walk"
        shape = (len(match.required), len(match.unless))
        if not sqlite:  # one tsquery holds the words
            shape = (1, 0) if match.required else (0, 0)
        bound |= _words(match, sqlite) | {"window": WALK * limit}
        if way == "walk" and scope.within:  # a set of many: the next rows first, as for words
            walked = _hits(conn.execute(_statement(index, "fenced_walk", sqlite, scope), bound))
            if len(walked) == limit:
                return walked
        return _hits(conn.execute(_statement(index, way, sqlite, scope, shape), bound))
    if sqlite:
        statement = _statement(index, "fts5", True, scope)
        return _hits(conn.execute(statement, bound | {"match": _fts5_query(match)}))
    bound |= {"tsquery": _tsquery(match), "window": WALK * limit}
    if not rare:
        walked = _hits(conn.execute(_statement(index, "gin_walk", False, scope), bound))
        if len(walked) == limit:
            return walked
    return _hits(conn.execute(_statement(index, "gin", False, scope), bound))


def _is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def _hits(rows: Any) -> list[Hit]:
    return [(seq, owner) for seq, owner in rows]


def _words(match: Match, sqlite: bool) -> dict[str, Any]:
    """The bound values of a match written as a condition on a row."""
    if not match.required:
        return {}
    if not sqlite:
        return {"tsquery": _tsquery(match)}
    # " jo" starts a word where it occurs: the words are separated by single spaces.
    required = {f"w{i}": " " + w for i, w in enumerate(match.required)}
    return required | {f"u{i}": " " + w for i, w in enumerate(match.unless)}


@lru_cache(maxsize=256)
def _statement(
    index: Index, way: str, sqlite: bool, scope: Scope, shape: tuple[int, int] = (0, 0)
) -> Select[Any]:
    """The statement of one way to find (see :func:`find`), built once per shape."""
    seq, owner = index.table.c.seq, index.owner
    if way == "fts5":
        return _fts5(index, scope)
    if way in ("gin_walk", "fenced_walk"):
        return _fenced_walk(index, scope, words=way == "gin_walk")
    kept = _kept(owner, scope)
    query = select(seq, owner).where(seq > bindparam("after"), kept).limit(bindparam("limit"))
    if way == "walk":
        return query.order_by(seq)
    if way == "gin":
        document = index.table.c.document
        # The index's matches, sorted: never a walk of the whole table in seq order. And
        # never the seq index at all: a prepared statement's generic plan (psycopg prepares
        # it on its 5th run) guesses a third of the rows past ``after`` and ANDs the word
        # index's matches with a bitmap of all 100,000 (3 to 5 ms, issue 10): ``seq + 0``
        # keeps ``after`` a filter on the few rows the words match.
        words = document.op("@@")(_tsquery_param())
        found = select(seq, owner).where(seq + 0 > bindparam("after"), kept, words)
        return found.order_by(seq + 0).limit(bindparam("limit"))
    among = and_(*(owner.in_(ids) for ids in scope.among))
    # seq + 0: sorted after the lookups, never by walking the whole index in seq order.
    return query.where(among, _row_match(index, sqlite, shape)).order_by(seq + 0)


def _kept(owner: ColumnElement[str], scope: Scope) -> ColumnElement[bool]:
    """The owner is in every set of ``within`` and in none of ``excluding``."""
    # An IN inside an expression stays a set, which PostgreSQL hashes once; a bare IN it may
    # turn into a join that loops over the whole set for every row.
    inside = (func.coalesce(owner.in_(ids), false()) for ids in scope.within)
    return and_(true(), *inside, *(owner.not_in(ids) for ids in scope.excluding))


def _row_match(index: Index, sqlite: bool, shape: tuple[int, int]) -> ColumnElement[bool]:
    """A match as a condition on one row, which no word index answers (values: :func:`_words`)."""
    required, unless = shape
    document = index.table.c.document
    if not required:
        return true()
    if not sqlite:
        return func.coalesce(document.op("@@")(_tsquery_param()), false())
    text = literal(" ") + document

    def holds(prefix: str, count: int) -> ColumnElement[bool]:
        return and_(*(func.instr(text, bindparam(f"{prefix}{i}")) > 0 for i in range(count)))

    held = holds("w", required)
    return and_(held, not_(holds("u", unless))) if unless else held


def _fts5(index: Index, scope: Scope) -> Select[Any]:
    fts = table(index.fts, column("rowid", Integer))
    rowid = fts.c.rowid
    # The owner of each hit, looked up per row found, and the scope checked on it: the FTS5
    # walk stays the only loop. (A condition on rowid itself, an IN above all, would make
    # SQLite run the whole MATCH again for each value.)
    owner = select(index.owner).where(index.table.c.seq == rowid).scalar_subquery()
    return (
        select(rowid, owner)
        .where(literal_column(index.fts).op("MATCH")(bindparam("match")))
        .where(rowid > bindparam("after"), _kept(owner, scope))
        .order_by(rowid)
        .limit(bindparam("limit"))
    )


def _fenced_walk(index: Index, scope: Scope, *, words: bool) -> Select[Any]:
    """The next ``window`` rows in order, then checked (the words, if ``words``, and the
    scope): a fence (LIMIT) keeps the checks out of the walk, so no plan reads them all."""
    seq, owner, document = index.table.c.seq, index.owner, index.table.c.document
    window = (
        select(seq, owner, document)
        .where(seq > bindparam("after"))
        .order_by(seq)
        .limit(bindparam("window"))
        .subquery()
    )
    walked_owner = window.c[owner.name]
    held = window.c.document.op("@@")(_tsquery_param()) if words else true()
    return (
        select(window.c.seq, walked_owner)
        .where(held, _kept(walked_owner, scope))
        .order_by(window.c.seq)
        .limit(bindparam("limit"))
    )


class _BoundTsQuery(TSQUERY):
    """A tsquery bound as one: ``:tsquery::TSQUERY``, parsed once per run of a statement.

    ``CAST(:tsquery::VARCHAR AS TSQUERY)`` is a cast of a text: in the generic plan of a
    prepared statement (psycopg prepares on the 5th run) it is parsed again for every row
    it is matched against, 2,000 times in a walk (three times the walk's cost, issue 10).
    """

    render_bind_cast = True


def _tsquery_param() -> ColumnElement[Any]:
    return bindparam("tsquery", type_=_BoundTsQuery)


def _fts5_query(match: Match) -> str:
    """``("ada"* AND "c:acme"*) NOT ("n:ada"*)``: each word, quoted, as a prefix."""

    def every(words: tuple[str, ...]) -> str:
        return "(" + " AND ".join('"' + w.replace('"', '""') + '"*' for w in words) + ")"

    query = every(match.required)
    return f"{query} NOT {every(match.unless)}" if match.unless else query


def _tsquery(match: Match) -> str:
    """``'ada':* & 'c:acme':* & !('n:ada':*)``: each word, quoted, as a prefix."""

    def every(words: tuple[str, ...]) -> str:
        quoted = ("'" + w.replace("\\", "\\\\").replace("'", "''") + "':*" for w in words)
        return " & ".join(quoted)

    query = every(match.required)
    return f"{query} & !({every(match.unless)})" if match.unless else query
