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
    str | None,
    Query(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]+={0,2}$",
        description="next_cursor from the previous page",
    ),
]
DEFAULT_LIMIT = 50
MAX_POSITION = 2**63 - 1


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, position = text.split(":", 1)
        if version != "v1" or not position.isdigit():
            raise ValueError(version)
        number = int(position)
        if number > MAX_POSITION:  # a row id: the databases' 64-bit integers end here
            raise ValueError(position)
        return number
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError("cursor is not one this server handed out", field="cursor") from None


def next_cursor(positions: list[int], limit: int) -> str | None:
    """A cursor after the last item, when the page was full (there may be more)."""
    return encode_cursor(positions[-1]) if len(positions) == limit and positions else None


def encode_keys(*keys: str) -> str:
    """A cursor after the item whose sort keys are ``keys`` (none of them holds ``|``)."""
    return base64.urlsafe_b64encode("|".join(("k1", *keys)).encode()).decode().rstrip("=")


def decode_keys(cursor: str | None, count: int) -> tuple[str, ...] | None:
    """The ``count`` sort keys of an :func:`encode_keys` cursor (ValidationError if it is not)."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, *keys = text.split("|")
        if version != "k1" or len(keys) != count or not all(keys):
            raise ValueError(version)
        return tuple(keys)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError("cursor is not one this server handed out", field="cursor") from None


def decode_time_key(cursor: str | None) -> tuple[datetime, str] | None:
    """A (time, id) cursor of :func:`encode_keys`, for lists ordered by time then id."""
    keys = decode_keys(cursor, 2)
    if keys is None:
        return None
    try:
        moment = datetime.fromisoformat(keys[0])
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValidationError("cursor is not one this server handed out", field="cursor")
    return moment, keys[1]


def page_in_memory(keys: list[str], cursor: str | None, limit: int) -> tuple[slice, str | None]:
    """The page after ``cursor`` of a short list held in memory in a stable order (the plan
    catalog), each item named by its unique key: (the slice to show, the next cursor)."""
    after = decode_keys(cursor, 1)
    start = 0
    if after is not None:
        if after[0] not in keys:
            raise ValidationError("cursor is not one this server handed out", field="cursor")
        start = keys.index(after[0]) + 1
    shown = keys[start : start + limit]
    more = len(shown) == limit and start + limit < len(keys)
    return slice(start, start + limit), encode_keys(shown[-1]) if more else None


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


def encode_event_position(tx: int, seq: int) -> str:
    """The ``after`` cursor of ``GET /v1/admin/events``: a place in the outbox (store.outbox)."""
    return base64.urlsafe_b64encode(f"e1:{tx}:{seq}".encode()).decode().rstrip("=")


def decode_event_position(cursor: str | None) -> tuple[int, int] | None:
    """(tx, seq) of an :func:`encode_event_position` cursor; ValidationError naming ``after``."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, tx, seq = text.split(":")
        if version != "e1" or not (tx.isdigit() and seq.isdigit()):
            raise ValueError(version)
        if max(int(tx), int(seq)) > MAX_POSITION:
            raise ValueError(text)
        return int(tx), int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError(
            "after is not a cursor this server handed out", field="after"
        ) from None
