"""Events for the outbox: what changed, told to operators' systems (docs/events.md).

An event is written in the same transaction as the change it tells of
(store/outbox.py), so it exists if and only if the change committed. Its ``id``
is fixed when it is made and never changes: a webhook delivered twice carries
the same id, and receivers deduplicate on it.

Pure: no I/O, no clock (``at`` is the change's own time, UTC).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from inmail.domain.credits import new_id

EVENT_ID_PREFIX = "evt"


@dataclass(frozen=True, slots=True)
class Event:
    """One event: ``type`` (``"charge.created"``…), whose change (``member_id``; None for the
    operator's own changes), when (``at``, UTC) and its ``data`` (JSON-ready values; datetimes
    are written as ISO 8601 UTC texts)."""

    type: str
    member_id: str | None
    at: datetime
    data: Mapping[str, Any]
    id: str = field(default_factory=lambda: new_id(EVENT_ID_PREFIX))


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return utc_text(value)
    raise TypeError(f"an event's data holds a {type(value).__name__}, not JSON")


def utc_text(moment: datetime) -> str:
    """``2026-11-30T00:40:00Z``: the API's way of writing a UTC moment."""
    if moment.tzinfo is None:
        raise ValueError("an event's time must be aware (UTC)")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def payload_text(event: Event) -> str:
    """The stored payload: ``data`` as compact JSON with sorted keys (raises TypeError when a
    value is not JSON, so a bad event fails its transaction instead of being stored)."""
    return json.dumps(dict(event.data), default=_json_value, sort_keys=True, separators=(",", ":"))


def envelope(
    event_id: str, event_type: str, member_id: str | None, at: datetime, data: object
) -> dict[str, Any]:
    """The JSON object a receiver gets (webhook body, ``GET /v1/admin/events`` item):
    ``{id, type, member_id, at, data}``."""
    return {
        "id": event_id,
        "type": event_type,
        "member_id": member_id,
        "at": utc_text(at),
        "data": data,
    }
