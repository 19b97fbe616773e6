"""store.batch.among: a column among many ids, bound as one value, on both engines."""

from __future__ import annotations

from sqlalchemy import String, literal, select

from inmail.services.context import Deps
from inmail.store.batch import among
from inmail.store.tables import plans

ODD = ['a"b', "c\\d", "x,y", "{z}", "NULL", "", " sp ", "é", "'; --"]


def test_the_rows_among_many_ids_and_none_among_none(deps: Deps) -> None:
    with deps.db.read() as conn:
        codes = sorted(set(conn.execute(select(plans.c.code)).scalars()))
        wanted = [codes[0], *ODD, *(f"m_{i:032x}" for i in range(300)), codes[-1]]
        found = select(plans.c.code).distinct().where(among(conn, plans.c.code, wanted))
        assert sorted(conn.execute(found).scalars()) == [codes[0], codes[-1]]
        nothing = select(plans.c.code).where(among(conn, plans.c.code, []))
        assert list(conn.execute(nothing).scalars()) == []


def test_each_odd_text_is_itself_not_a_piece_of_the_lists_syntax(deps: Deps) -> None:
    with deps.db.read() as conn:
        for value in ODD:
            assert conn.execute(select(among(conn, literal(value, String), ODD))).scalar()
            others = [v for v in ODD if v != value]
            assert not conn.execute(select(among(conn, literal(value, String), others))).scalar()


def test_the_fact_statements_stay_within_what_psycopg_caches() -> None:
    """psycopg converts a statement's placeholders once, and caches that only up to 4,096
    bytes and 50 parameters; past either it parses the text again on every run (issue 10:
    0.2 to 0.4 ms a page of search or a ranking). The statements run on every page."""
    from psycopg import _queries
    from sqlalchemy import create_engine

    from inmail.store import reach, targeting

    psycopg = create_engine("postgresql+psycopg://").dialect  # never connects
    for build in (reach._facts, targeting._facts):
        compiled = build("postgresql").compile(dialect=psycopg)
        assert len(str(compiled).encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH
        assert len(compiled.params) <= _queries.MAX_CACHED_STATEMENT_PARAMS
