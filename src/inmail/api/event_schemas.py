"""Shapes of ``GET /v1/admin/events``: the outbox's envelopes (docs/events.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, Field

from inmail.api.schemas import ID_MAX, ID_PATTERN

# The types of domain.events.EVENT_TYPES, spelled out for the OpenAPI document (a test keeps
# the two lists equal).
EventType = Literal[
    "charge.created",
    "ledger.entry_created",
    "credits.renewed",
    "notification.created",
    "inmail.sent",
    "inmail.responded",
    "inmail.reported",
    "member.warned",
    "member.bulk_sending_off",
    "member.suspended",
    "member.appeal_decided",
    "team.created",
    "team.changed",
    "seat.assigned",
    "seat.removed",
    "seat.cap_changed",
]

EventTypeQuery = Annotated[
    EventType | None, Query(alias="type", description="Only events of this type")
]
EventMemberQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=ID_MAX,
        pattern=ID_PATTERN,
        description="Only this member's events (an unknown member has none)",
    ),
]


class EventOut(BaseModel):
    """One event as webhook receivers get it: its stable ``id`` (deduplicate on it), ``type``,
    whose change (``member_id``), when (``at``, UTC) and ``data`` (the type's schema)."""

    id: str
    type: str
    member_id: str | None
    at: datetime
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None = Field(
        description="pass as ``after`` to read on: the place after the last item (the "
        "``after`` sent when the page is empty), so polling with it never skips an event; "
        "null only when the outbox had nothing to read yet and no ``after`` was given"
    )
