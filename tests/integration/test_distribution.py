"""The schema against docs/deploy.md's plan for distributing by member on Citus (issue 12 §4).

docs/deploy.md ("Every table, and what must change first") lists every table
between ``<!-- citus-tables -->`` markers with its placement (``reference``,
``member`` or ``group``), its distribution column, and whether its keys are
``ready`` or need a documented ``change``. Citus needs, of a distributed table:

- its distribution column in its primary key and in every unique constraint
  and unique index;
- a foreign key to another distributed table only within its colocation group
  and along the distribution column (``member_id`` -> ``members.id``);

and of a reference table, no foreign key to a distributed one. This module
checks the schema (``store/tables.py``) against that list both ways: a
``ready`` table meets every rule, and a ``change`` table still breaks one (so
the list is updated when the schema changes), and every table is listed once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

from inmail.store.tables import metadata

DEPLOY_MD = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
PLACEMENTS = {"reference", "member", "group"}
TO_ADD = " (to add)"  # a distribution column the table does not have yet


@dataclass(frozen=True)
class Placement:
    table: str
    kind: str  # reference | member | group
    column: str | None  # None for a reference table
    ready: bool
    change: str

    @property
    def column_to_add(self) -> bool:
        return self.column is not None and self.column.endswith(TO_ADD)


def _cell(text: str) -> str:
    return text.strip().strip("`").strip()


def documented() -> dict[str, Placement]:
    """The table between the markers of docs/deploy.md, by table name."""
    text = DEPLOY_MD.read_text(encoding="utf-8")
    found = re.search(r"<!-- citus-tables -->\n(.*?)<!-- /citus-tables -->", text, re.S)
    assert found, "docs/deploy.md has no <!-- citus-tables --> section"
    rows = [line for line in found.group(1).splitlines() if line.startswith("|")][2:]
    placements: dict[str, Placement] = {}
    for row in rows:
        table, kind, column, keys, change = (_cell(c) for c in row.strip("|").split("|"))
        assert table not in placements, f"{table} is listed twice"
        assert kind in PLACEMENTS, f"{table}: unknown placement {kind!r}"
        assert keys in {"ready", "change"}, f"{table}: keys is {keys!r}"
        column = column.replace("`", "")
        placements[table] = Placement(
            table, kind, None if column == "—" else column, keys == "ready", change
        )
    return placements


def problems(schema: MetaData, plan: dict[str, Placement]) -> dict[str, list[str]]:
    """What keeps each table from being distributed as planned (empty: nothing)."""
    return {name: list(_problems(table, plan)) for name, table in schema.tables.items()}


def _problems(table: Table, plan: dict[str, Placement]) -> list[str]:
    placed = plan[table.name]
    found: list[str] = []
    if placed.kind == "reference":
        for fk in table.foreign_key_constraints:
            if plan[fk.referred_table.name].kind != "reference":
                found.append(f"foreign key to the distributed {fk.referred_table.name}")
        return found
    column = placed.column
    if column is None or column not in table.c:
        return [f"no distribution column {column}"]
    if column not in table.primary_key.columns:
        found.append(f"primary key {[c.name for c in table.primary_key.columns]}")
    uniques = [
        [c.name for c in constraint.columns]
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint)
    ] + [[c.name for c in index.columns] for index in table.indexes if index.unique]
    found += [f"unique {names}" for names in uniques if column not in names]
    for fk in table.foreign_key_constraints:
        target = plan[fk.referred_table.name]
        if target.kind == "reference":
            continue
        pairs = {(element.parent.name, element.column.name) for element in fk.elements}
        if target.kind != placed.kind or (column, target.column) not in pairs:
            found.append(f"foreign key {sorted(p for p, _ in pairs)} to {fk.referred_table.name}")
    return found


def test_every_table_is_placed_exactly_once() -> None:
    assert sorted(documented()) == sorted(metadata.tables)


def test_distributed_tables_name_a_column_and_reference_tables_none() -> None:
    for placed in documented().values():
        if placed.kind == "reference":
            assert placed.column is None, placed
            assert placed.ready, f"{placed.table}: a reference table needs no change"
        else:
            assert placed.column, f"{placed.table}: a distributed table needs its column"
            table = metadata.tables[placed.table]
            if placed.column_to_add:
                assert placed.column.removesuffix(TO_ADD) not in table.c, (
                    f"{placed.table} has {placed.column.removesuffix(TO_ADD)} now: drop '(to add)'"
                )
            else:
                assert placed.column in table.c, f"{placed.table} has no column {placed.column}"


def test_ready_tables_meet_every_rule() -> None:
    plan = documented()
    found = problems(metadata, plan)
    broken = {t: found[t] for t, p in plan.items() if p.ready and found[t]}
    assert broken == {}, "listed as ready in docs/deploy.md but not distributable"


def test_each_table_listed_for_a_change_still_needs_it_and_says_which() -> None:
    plan = documented()
    found = problems(metadata, plan)
    for name, placed in plan.items():
        if placed.ready:
            continue
        assert placed.change not in {"", "—"}, f"{name}: the change is not described"
        assert found[name], f"{name} is distributable now: mark it ready in docs/deploy.md"


def test_the_member_owned_core_of_a_send_is_colocated_by_member() -> None:
    """The charged part of a send (SPEC §4) stays on the sender's node: docs/deploy.md's plan."""
    plan = documented()
    for name in ("accounts", "lots", "ledger_entries", "spends", "idempotency_keys", "threads"):
        assert plan[name].kind == "member", name
    assert plan["threads"].column == "initiator_id"
    for name in ("plans", "packs", "pack_versions"):
        assert plan[name].kind == "reference", name


# The checker itself, on small schemas whose faults are known.


def _plan(**placements: tuple[str, str | None]) -> dict[str, Placement]:
    return {t: Placement(t, kind, column, True, "—") for t, (kind, column) in placements.items()}


def test_the_checker_finds_a_key_without_the_column() -> None:
    schema = MetaData()
    Table("members", schema, Column("id", String, primary_key=True))
    Table(
        "things",
        schema,
        Column("id", Integer, primary_key=True),
        Column("member_id", String, ForeignKey("members.id")),
        Column("code", String),
        UniqueConstraint("code"),
    )
    found = problems(schema, _plan(members=("member", "id"), things=("member", "member_id")))
    assert found == {"members": [], "things": ["primary key ['id']", "unique ['code']"]}


def test_the_checker_passes_a_table_keyed_by_its_member() -> None:
    schema = MetaData()
    Table("plans", schema, Column("code", String, primary_key=True))
    Table("members", schema, Column("id", String, primary_key=True))
    things = Table(
        "things",
        schema,
        Column("member_id", String, ForeignKey("members.id"), primary_key=True),
        Column("id", Integer, primary_key=True),
        Column("plan", String, ForeignKey("plans.code")),
    )
    Index("uq_things_member_plan", things.c.member_id, things.c.plan, unique=True)
    plan = _plan(
        plans=("reference", None), members=("member", "id"), things=("member", "member_id")
    )
    assert problems(schema, plan) == {"plans": [], "members": [], "things": []}


def test_the_checker_finds_a_foreign_key_across_colocation_groups() -> None:
    schema = MetaData()
    Table("members", schema, Column("id", String, primary_key=True))
    Table("groups", schema, Column("id", String, primary_key=True))
    Table(
        "group_members",
        schema,
        Column("group_id", String, ForeignKey("groups.id"), primary_key=True),
        Column("member_id", String, ForeignKey("members.id"), primary_key=True),
    )
    plan = _plan(
        members=("member", "id"), groups=("group", "id"), group_members=("group", "group_id")
    )
    assert problems(schema, plan)["group_members"] == ["foreign key ['member_id'] to members"]


def test_the_checker_finds_a_missing_column_and_a_reference_table_pointing_at_members() -> None:
    schema = MetaData()
    Table("members", schema, Column("id", String, primary_key=True))
    Table("keys", schema, Column("scope", String, primary_key=True))
    Table("settings", schema, Column("owner", String, ForeignKey("members.id"), primary_key=True))
    plan = _plan(
        members=("member", "id"), keys=("member", "member_id"), settings=("reference", None)
    )
    assert problems(schema, plan) == {
        "members": [],
        "keys": ["no distribution column member_id"],
        "settings": ["foreign key to the distributed members"],
    }
