"""The outbox as operators read it: events after a place, filtered (docs/events.md)."""

from __future__ import annotations

from dataclasses import dataclass

from inmail.services.context import Deps
from inmail.store import outbox
from inmail.store.outbox import Position, StoredEvent


@dataclass(frozen=True, slots=True)
class EventsPage:
    """A page of events and the place to read on from (None: nothing read, no place given)."""

    events: list[StoredEvent]
    place: Position | None


def list_events(
    deps: Deps,
    *,
    after: Position | None,
    limit: int,
    event_type: str | None = None,
    member_id: str | None = None,
) -> EventsPage:
    """Up to ``limit`` committed events after ``after`` (None: from the oldest kept), in the
    order readers get them (store.outbox: no later commit ever lands behind a reader's place),
    and the place after them; only of ``event_type`` and only ``member_id``'s when given.

    A filtered page looks at the next ``outbox.FILTERED_SCAN`` events only: it may hold fewer
    than ``limit`` matches, even none, while more lie further on, and its place is then the
    last event it looked at, so the next page goes on from there (docs/events.md). Read-only;
    raises nothing of its own."""
    with deps.db.read() as conn:
        if member_id is None and event_type is None:
            found = outbox.read_after(conn, after, limit)
            return EventsPage(found, found[-1].position if found else after)
        scanned = outbox.read_filtered(
            conn, after, limit, member_id=member_id, event_type=event_type
        )
        return EventsPage(scanned.events, scanned.reached or after)
