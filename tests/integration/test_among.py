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
