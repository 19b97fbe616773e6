"""Opaque cursors for ``?limit=&cursor=`` lists."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query

from inmail.domain.errors import ValidationError

Limit = Annotated[int, Query(ge=1, le=200, description="How many items (1-200)")]
Cursor = Annotated[
    str | None, Query(max_length=100, description="next_cursor from the previous page")
]
DEFAULT_LIMIT = 50


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, position = text.split(":", 1)
        if version != "v1":
            raise ValueError(version)
        return int(position)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError("cursor is not one this server handed out", field="cursor") from None


def next_cursor(positions: list[int], limit: int) -> str | None:
    """A cursor after the last item, when the page was full (there may be more)."""
    return encode_cursor(positions[-1]) if len(positions) == limit and positions else None


def encode_thread_cursor(at: datetime, thread_id: str) -> str:
    return base64.urlsafe_b64encode(f"t1|{at.isoformat()}|{thread_id}".encode()).decode()


def decode_thread_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """Threads page by (last activity, id), newest first."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, at, thread_id = text.split("|", 2)
        moment = datetime.fromisoformat(at)
        if version != "t1" or moment.tzinfo is None:
            raise ValueError(version)
        # In UTC here: an offset that moves it off the calendar is refused, not a 500 later.
        return moment.astimezone(UTC), thread_id
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise ValidationError("cursor is not one this server handed out", field="cursor") from None
