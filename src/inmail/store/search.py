"""The search index (tables ``member_search``, ``group_search``): writing documents and finding
pages of them (what a document and a match are: :mod:`inmail.domain.search`).

Each engine looks words up its own way, and both give the same results in
the same order (by ``seq``, the document's place in the index):

- SQLite: an FTS5 table over ``document`` (migration 0010), which walks its
  matches in ``seq`` order, so a page stops after ``limit`` matches however
  many there are.
- PostgreSQL: a GIN index on ``document`` (a tsvector). A GIN index cannot
  walk in order, so a page first walks the next :data:`WALK` rows in order
  (a common word fills the page there) and asks the index only for what is
  left (a rare word: few matches to sort).

A small set of candidates (a member's connections) is looked at one by one
instead, with the same match written as a condition on each row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
    cast,
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

Hit = tuple[int, str]  # (seq, owner id)


def _is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


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
    among: Select[Any] | None = None,
    excluding: Select[Any] | None = None,
) -> list[Hit]:
    """Up to ``limit`` documents that ``match`` holds, with ``seq`` above ``after``, by ``seq``.

    ``among``: a select of the only owner ids that may be found (a small set,
    looked at one by one); ``excluding``: a select of owner ids never found.
    """
    if among is not None:
        return _among(conn, index, match, after, limit, among, excluding)
    if not match.required:
        return _walk(conn, index, true(), after, limit, excluding)
    if _is_sqlite(conn):
        return _fts5(conn, index, match, after, limit, excluding)
    return _gin(conn, index, match, after, limit, excluding)


def _kept(index: Index, excluding: Select[Any] | None) -> ColumnElement[bool]:
    return true() if excluding is None else index.owner.not_in(excluding)


def _walk(
    conn: Connection,
    index: Index,
    condition: ColumnElement[bool],
    after: int,
    limit: int,
    excluding: Select[Any] | None,
) -> list[Hit]:
    """The index in ``seq`` order, each row checked: for every document, or a common word."""
    seq = index.table.c.seq
    query = (
        select(seq, index.owner)
        .where(seq > after, condition, _kept(index, excluding))
        .order_by(seq)
        .limit(limit)
    )
    return [(s, o) for s, o in conn.execute(query)]


def _among(
    conn: Connection,
    index: Index,
    match: Match,
    after: int,
    limit: int,
    among: Select[Any],
    excluding: Select[Any] | None,
) -> list[Hit]:
    seq = index.table.c.seq
    query = (
        select(seq, index.owner)
        .where(index.owner.in_(among), seq > after, _kept(index, excluding))
        .where(_row_match(conn, index, match))
        # seq + 0: sorted after the lookups, never by walking the whole index in seq order
        .order_by(seq + 0)
        .limit(limit)
    )
    return [(s, o) for s, o in conn.execute(query)]


def _row_match(conn: Connection, index: Index, match: Match) -> ColumnElement[bool]:
    """``match`` as a condition on one row, which no word index answers."""
    if not match.required:
        return true()
    document = index.table.c.document
    if not _is_sqlite(conn):
        return func.coalesce(document.op("@@")(_tsquery(match)), false())
    # The words are separated by single spaces: " jo" starts a word where it occurs.
    text = literal(" ") + document

    def holds(words: tuple[str, ...]) -> ColumnElement[bool]:
        return and_(*(func.instr(text, literal(" " + word)) > 0 for word in words))

    held = holds(match.required)
    return and_(held, not_(holds(match.unless))) if match.unless else held


def _fts5(
    conn: Connection,
    index: Index,
    match: Match,
    after: int,
    limit: int,
    excluding: Select[Any] | None,
) -> list[Hit]:
    fts = table(index.fts, column("rowid", Integer))
    rowid = fts.c.rowid
    query = (
        select(rowid)
        .where(literal_column(index.fts).op("MATCH")(_fts5_query(match)), rowid > after)
        .order_by(rowid)
        .limit(limit)
    )
    if excluding is not None:
        # NOT IN, never IN: SQLite would run the whole MATCH again for each value of an IN.
        query = query.where(
            rowid.not_in(select(index.table.c.seq).where(index.owner.in_(excluding)))
        )
    seqs = list(conn.execute(query).scalars())
    return _owners(conn, index, seqs)


def _owners(conn: Connection, index: Index, seqs: list[int]) -> list[Hit]:
    if not seqs:
        return []
    seq = index.table.c.seq
    rows = conn.execute(select(seq, index.owner).where(seq.in_(seqs))).all()
    owners: dict[int, str] = dict(rows)
    return [(s, owners[s]) for s in seqs]


def _fts5_query(match: Match) -> str:
    """``("ada"* AND "c:acme"*) NOT ("n:ada"*)``: each word, quoted, as a prefix."""

    def every(words: tuple[str, ...]) -> str:
        return "(" + " AND ".join('"' + w.replace('"', '""') + '"*' for w in words) + ")"

    query = every(match.required)
    return f"{query} NOT {every(match.unless)}" if match.unless else query


def _tsquery(match: Match) -> ColumnElement[Any]:
    """``'ada':* & 'c:acme':* & !('n:ada':*)``: each word, quoted, as a prefix."""

    def every(words: tuple[str, ...]) -> str:
        quoted = ("'" + w.replace("\\", "\\\\").replace("'", "''") + "':*" for w in words)
        return " & ".join(quoted)

    query = every(match.required)
    if match.unless:
        query += f" & !({every(match.unless)})"
    return cast(bindparam("tsquery", query), TSQUERY)


def _gin(
    conn: Connection,
    index: Index,
    match: Match,
    after: int,
    limit: int,
    excluding: Select[Any] | None,
) -> list[Hit]:
    seq, owner, document = index.table.c.seq, index.owner, index.table.c.document
    query = _tsquery(match)
    # A fence (LIMIT) keeps the match out of the walk: the next rows in order, then checked.
    window = (
        select(seq, owner, document).where(seq > after).order_by(seq).limit(WALK * limit)
    ).subquery()
    walked = (
        select(window.c.seq, window.c[owner.name])
        .where(window.c.document.op("@@")(query))
        .where(true() if excluding is None else window.c[owner.name].not_in(excluding))
        .order_by(window.c.seq)
        .limit(limit)
    )
    found = [(s, o) for s, o in conn.execute(walked)]
    if len(found) == limit:
        return found
    matches = (
        select(seq, owner)
        .where(document.op("@@")(query), seq > after, _kept(index, excluding))
        .order_by(seq + 0)  # the index's matches, sorted: never a walk of the whole table
        .limit(limit)
    )
    return [(s, o) for s, o in conn.execute(matches)]
