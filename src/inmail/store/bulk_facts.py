"""What a bulk send's rules need about one sender and many members: a query per fact,
whatever the number of members (services.bulk_facts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, or_, select

from inmail.store.idempotency import StoredResponse
from inmail.store.members import MessagingSettings
from inmail.store.tables import (
    AWAITING_INMAIL,
    accounts,
    blocks,
    connections,
    idempotency_keys,
    members,
    threads,
)


@dataclass(frozen=True, slots=True)
class PlanRef:
    """A member's plan as their account row has it, and when it next renews or expires."""

    code: str
    version: int
    next_due_at: datetime | None


def plans_of(conn: Connection, ids: Sequence[str]) -> dict[str, PlanRef]:
    query = select(
        accounts.c.member_id, accounts.c.plan_code, accounts.c.plan_version, accounts.c.next_due_at
    ).where(accounts.c.member_id.in_(list(ids)))
    return {m: PlanRef(code, version, due) for m, code, version, due in conn.execute(query)}


def settings_of(conn: Connection, ids: Sequence[str]) -> dict[str, MessagingSettings]:
    """Each existing member's messaging settings (an id that names nobody is left out)."""
    query = select(
        members.c.id, members.c.inmail_open, members.c.open_profile, members.c.group_messages_open
    ).where(members.c.id.in_(list(ids)))
    return {row[0]: MessagingSettings(*row[1:]) for row in conn.execute(query)}


def connected_to(conn: Connection, member_id: str, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` who are 1st-degree connections of ``member_id``."""
    a, b, listed = connections.c.a, connections.c.b, list(ids)
    query = select(a, b).where(
        or_(and_(a == member_id, b.in_(listed)), and_(b == member_id, a.in_(listed)))
    )
    return {y if x == member_id else x for x, y in conn.execute(query)}


def blocks_with(conn: Connection, member_id: str, ids: Sequence[str]) -> tuple[set[str], set[str]]:
    """(those of ``ids`` that ``member_id`` blocked, those who blocked ``member_id``)."""
    listed = list(ids)
    query = select(blocks.c.blocker_id, blocks.c.blocked_id).where(
        or_(
            and_(blocks.c.blocker_id == member_id, blocks.c.blocked_id.in_(listed)),
            and_(blocks.c.blocked_id == member_id, blocks.c.blocker_id.in_(listed)),
        )
    )
    mine: set[str] = set()
    theirs: set[str] = set()
    for blocker, blocked in conn.execute(query):
        if blocker == member_id:
            mine.add(blocked)
        else:
            theirs.add(blocker)
    return mine, theirs


@dataclass(frozen=True, slots=True)
class AwaitingRow:
    thread_id: str
    last_inmail_at: datetime
    followups_sent: int


def awaiting_from(conn: Connection, sender_id: str, ids: Sequence[str]) -> dict[str, AwaitingRow]:
    """For each of ``ids``, the sender's newest InMail thread to them awaiting a response."""
    t = threads
    query = (
        select(t.c.recipient_id, t.c.id, t.c.last_inmail_at, t.c.created_at, t.c.followups_sent)
        .where(
            t.c.initiator_id == sender_id,
            t.c.recipient_id.in_(list(ids)),
            AWAITING_INMAIL,  # literals, as the one-awaiting index has them (store.tables)
        )
        .order_by(t.c.created_at, t.c.id)
    )
    found: dict[str, AwaitingRow] = {}
    for recipient, thread_id, last, created, followups in conn.execute(query):
        found[recipient] = AwaitingRow(thread_id, last or created, followups)  # newest wins
    return found


def stored_keys(conn: Connection, scope: str, keys: Sequence[str]) -> dict[str, StoredResponse]:
    """The stored answers of those ``keys`` in ``scope`` that have one."""
    k = idempotency_keys
    query = select(k.c.key, k.c.fingerprint, k.c.response).where(
        k.c.scope == scope, k.c.key.in_(list(keys))
    )
    return {key: StoredResponse(fp, response) for key, fp, response in conn.execute(query)}


def ids_by_handle(conn: Connection, handles: Sequence[str]) -> dict[str, str]:
    """Member ids by handle, for the handles that name a member."""
    query = select(members.c.handle, members.c.id).where(members.c.handle.in_(list(handles)))
    return {str(row.handle): str(row.id) for row in conn.execute(query)}
