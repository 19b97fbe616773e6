"""Shapes of the inbox's API: views of threads, archiving, read notifications, decline reasons."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, TypeVar

from fastapi import Body, Query
from pydantic import BaseModel, Field

from inmail.api.fields import OMITTABLE
from inmail.api.schemas import In

BoxQuery = Annotated[
    Literal["inbox", "sent", "awaiting", "archived"] | None,
    Query(
        description=(
            "inbox: threads with a message from the other member; sent: with one of yours; "
            "awaiting: your InMails awaiting a response; archived: those you archived. "
            "Every view but archived leaves archived threads out; none: every thread."
        )
    ),
]
Reason = Literal["not_interested", "not_now", "wrong_person"]


class DeclineIn(In):
    reason: Annotated[
        Reason | None, OMITTABLE, Field(description="why: counted in their stats")
    ] = None


B = TypeVar("B", bound=In)
NoBody = Annotated[B, Body()]
"""A request body that may be left out (then the route's default instance stands for it)."""
NO_REASON = DeclineIn()


class ArchivedOut(BaseModel):
    thread_id: str
    archived: bool


class NotificationReadOut(BaseModel):
    id: str
    read_at: datetime


class MarkedOut(BaseModel):
    marked: int = Field(description="how many notifications were unread until now")


class UnreadOut(BaseModel):
    threads: int = Field(description="threads (archived ones aside) with a message not yet seen")
    notifications: int
