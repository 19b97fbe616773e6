"""The outbox as operators read it: events after a place, filtered (docs/events.md)."""

from __future__ import annotations

from inmail.services.context import Deps
from inmail.store import outbox
from inmail.store.outbox import Position, StoredEvent


def list_events(
    deps: Deps,
    *,
    after: Position | None,
    limit: int,
    event_type: str | None = None,
    member_id: str | None = None,
) -> list[StoredEvent]:
    """Up to ``limit`` committed events after ``after`` (None: from the oldest kept), in the
    order readers get them (store.outbox: no later commit ever lands behind a reader's place);
    only of ``event_type`` and only ``member_id``'s when given. Read-only; raises nothing of
    its own."""
    with deps.db.read() as conn:
        return outbox.read_after(conn, after, limit, member_id=member_id, event_type=event_type)
