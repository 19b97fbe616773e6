"""teams, their seats, and accounts held by a team (the pool)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 04:30:00

A team's credit pool is an account whose holder id is the team's id (``tm_…``), so
the credit tables' ``member_id`` (the holder) no longer references ``members``
only: those foreign keys are dropped (docs/rules.md, "Teams"). The ledger line and
the spend of a seat's send name the seat (``seat_member_id``); a renewal records the
cap it applied (a pool's is the plan's cap x seats).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

HELD = ("accounts", "charges", "renewals", "spends", "ledger_entries", "lots")


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("plan_code", sa.String(length=64), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("pool_cap", sa.Integer(), nullable=True),
        sa.Column("seat_overage", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
    )
    op.create_table(
        "team_seats",
        sa.Column("member_id", sa.String(length=40), nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("monthly_cap", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_team_seats_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_seats_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_team_seats")),
    )
    op.create_index("ix_team_seats_team_id", "team_seats", ["team_id"], unique=False)
    held = _holder_keys()
    if op.get_bind().dialect.name == "sqlite":
        _drop_holder_keys_on_sqlite(held)
    else:
        for table in held:
            op.drop_constraint(_holder_key(table), table, type_="foreignkey")
    op.add_column("ledger_entries", sa.Column("seat_member_id", sa.String(40), nullable=True))
    op.add_column("spends", sa.Column("seat_member_id", sa.String(40), nullable=True))
    op.create_index("ix_spends_seat_member_id_at", "spends", ["seat_member_id", "at"])
    # Null for renewals written before: their cap is their plan version's.
    op.add_column("renewals", sa.Column("rollover_cap", sa.Integer(), nullable=True))


def _holder_key(table: str) -> str:
    return f"fk_{table}_member_id_members"


def _holder_keys() -> list[str]:
    """The tables that still have their holder key (a downgrade leaves them dropped)."""
    inspector = sa.inspect(op.get_bind())
    return [
        table
        for table in HELD
        if any(key["name"] == _holder_key(table) for key in inspector.get_foreign_keys(table))
    ]


def _drop_holder_keys_on_sqlite(held: list[str]) -> None:
    # SQLite rebuilds a table to drop a key. Rebuilding `lots` drops the old table, which
    # ledger lines reference (foreign keys are on): let go of that key first, rebuild
    # `lots`, then give it back.
    if "lots" in held:
        with op.batch_alter_table("ledger_entries") as batch:
            batch.drop_constraint("fk_ledger_entries_lot_id_lots", type_="foreignkey")
    for table in held:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(_holder_key(table), type_="foreignkey")
    if "lots" in held:
        with op.batch_alter_table("ledger_entries") as batch:
            batch.create_foreign_key("fk_ledger_entries_lot_id_lots", "lots", ["lot_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("renewals") as batch:
        batch.drop_column("rollover_cap")
    op.drop_index("ix_spends_seat_member_id_at", table_name="spends")
    with op.batch_alter_table("spends") as batch:
        batch.drop_column("seat_member_id")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_column("seat_member_id")
    op.drop_index("ix_team_seats_team_id", table_name="team_seats")
    op.drop_table("team_seats")
    op.drop_table("teams")
    # The holder keys stay dropped: pool accounts' rows would violate them (an upgrade
    # again drops only the keys still there).
