"""Templates, the facts their placeholders are filled with, and the InMails sent from them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, select, union_all, update

from inmail.store.tables import connections, group_members, groups, members, messages, templates
from inmail.store.tables import threads as thread_table


@dataclass(frozen=True, slots=True)
class TemplateRecord:
    id: str
    owner_id: str
    name: str
    subject: str
    body: str
    b_subject: str | None
    b_body: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


_COLUMNS = TemplateRecord.__slots__


def _record(row: Row[Any]) -> TemplateRecord:
    return TemplateRecord(**{name: row._mapping[name] for name in _COLUMNS})


def insert_template(conn: Connection, record: TemplateRecord) -> None:
    conn.execute(insert(templates).values({name: getattr(record, name) for name in _COLUMNS}))


def get_template(conn: Connection, template_id: str) -> TemplateRecord | None:
    """The template with that id, deleted or not (the caller checks owner and deletion)."""
    row = conn.execute(select(templates).where(templates.c.id == template_id)).first()
    return None if row is None else _record(row)


def templates_by_id(conn: Connection, ids: Sequence[str]) -> dict[str, TemplateRecord]:
    rows = conn.execute(select(templates).where(templates.c.id.in_(list(ids))))
    return {row.id: _record(row) for row in rows}


def list_templates(
    conn: Connection, owner_id: str, *, before: int | None, limit: int | None
) -> list[tuple[int, TemplateRecord]]:
    """(seq, template) of the owner's live templates, newest first, those before ``before``."""
    query = (
        select(templates)
        .where(templates.c.owner_id == owner_id, templates.c.deleted_at.is_(None))
        .order_by(templates.c.seq.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(templates.c.seq < before)
    return [(row.seq, _record(row)) for row in conn.execute(query)]


def replace_template(conn: Connection, record: TemplateRecord) -> bool:
    """Write ``record``'s texts over the live template with its id; False if there is none."""
    changed = conn.execute(
        update(templates)
        .where(templates.c.id == record.id, templates.c.deleted_at.is_(None))
        .values(
            name=record.name,
            subject=record.subject,
            body=record.body,
            b_subject=record.b_subject,
            b_body=record.b_body,
            updated_at=record.updated_at,
        )
    )
    return changed.rowcount == 1


def delete_template(conn: Connection, template_id: str, at: datetime) -> bool:
    """Mark the template deleted (the row stays for its InMails); False if it was already."""
    changed = conn.execute(
        update(templates)
        .where(templates.c.id == template_id, templates.c.deleted_at.is_(None))
        .values(deleted_at=at)
    )
    return changed.rowcount == 1


# ---- what placeholders are filled with ----------------------------------------------------


# Built once: a bulk send and every send from a template run them, and building these
# statements costs more than running them. Lists of recipients are expanding parameters.
_MINE_G, _THEIRS_G = group_members.alias("mine"), group_members.alias("theirs")
_SHARED_GROUPS = (
    select(_THEIRS_G.c.member_id, groups.c.name)
    .join(_MINE_G, _MINE_G.c.group_id == _THEIRS_G.c.group_id)
    .join(groups, groups.c.id == _THEIRS_G.c.group_id)
    .where(
        _MINE_G.c.member_id == bindparam("sender"),
        _MINE_G.c.status == "member",
        _THEIRS_G.c.status == "member",
        _THEIRS_G.c.member_id.in_(bindparam("ids", expanding=True)),
    )
    .order_by(_THEIRS_G.c.member_id, groups.c.name, groups.c.id)
)


def first_shared_groups(conn: Connection, sender: str, recipients: Sequence[str]) -> dict[str, str]:
    """For each recipient sharing a group with ``sender`` (both members, not pending), the
    name of the first such group by name (then id): one query for any number of them."""
    first: dict[str, str] = {}
    for member_id, name in conn.execute(
        _SHARED_GROUPS, {"sender": sender, "ids": list(recipients)}
    ):
        first.setdefault(member_id, name)
    return first


def _mutuals_ranked() -> Any:
    # The sender's neighbours (since when) joined to each recipient's, ranked per recipient.
    mine = union_all(
        select(connections.c.b.label("id"), connections.c.created_at.label("since")).where(
            connections.c.a == bindparam("sender")
        ),
        select(connections.c.a.label("id"), connections.c.created_at.label("since")).where(
            connections.c.b == bindparam("sender")
        ),
    ).subquery()
    theirs = union_all(
        select(connections.c.a.label("recipient"), connections.c.b.label("id")).where(
            connections.c.a.in_(bindparam("ids_a", expanding=True))
        ),
        select(connections.c.b.label("recipient"), connections.c.a.label("id")).where(
            connections.c.b.in_(bindparam("ids_b", expanding=True))
        ),
    ).subquery()
    rank = func.row_number().over(
        partition_by=theirs.c.recipient, order_by=(mine.c.since, mine.c.id)
    )
    ranked = (
        select(theirs.c.recipient, mine.c.id, rank.label("rank"))
        .join(mine, mine.c.id == theirs.c.id)
        .subquery()
    )
    return (
        select(ranked.c.recipient, members.c.name)
        .join(members, members.c.id == ranked.c.id)
        .where(ranked.c.rank == 1)
    )


_FIRST_MUTUALS = _mutuals_ranked()


def first_mutual_connections(
    conn: Connection, sender: str, recipients: Sequence[str]
) -> dict[str, str]:
    """For each recipient with a connection in common with ``sender``, the name of the
    mutual connection the sender has been connected to longest (then the lowest id): one
    query for any number of recipients."""
    ids = list(recipients)
    values = {"sender": sender, "ids_a": ids, "ids_b": ids}
    return {row.recipient: row.name for row in conn.execute(_FIRST_MUTUALS, values)}


# ---- what became of the InMails sent from templates ----------------------------------------


@dataclass(frozen=True, slots=True)
class SentFromTemplate:
    template_id: str
    variant: str
    sent_at: datetime
    status: str  # of the thread: awaiting_response | answered | declined
    responded_at: datetime | None


def sent_from_templates(conn: Connection, owner_id: str) -> list[SentFromTemplate]:
    """Every InMail (follow-ups included) the owner sent from one of their templates."""
    owned = select(templates.c.id).where(templates.c.owner_id == owner_id)
    query = (
        select(
            messages.c.template_id,
            messages.c.variant,
            messages.c.created_at,
            thread_table.c.status,
            thread_table.c.responded_at,
        )
        .join(thread_table, thread_table.c.id == messages.c.thread_id)
        .where(
            messages.c.template_id.in_(owned),
            messages.c.sender_id == owner_id,
            messages.c.kind.in_(("inmail", "followup")),
        )
    )
    return [SentFromTemplate(*row) for row in conn.execute(query)]
