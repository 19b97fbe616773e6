"""The JSON shapes of webhook endpoints and deliveries (API.md "Additions":
``/v1/admin/webhooks``), and how the services' answers become them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from inmail.api.event_schemas import EventType
from inmail.api.fields import OMITTABLE
from inmail.api.schemas import In
from inmail.domain.webhooks import (
    EVENTS_MAX,
    SECRET_PATTERN,
    URL_MAX,
    URL_PATTERN,
)
from inmail.services.webhooks import CreatedEndpoint, Endpoint
from inmail.store.webhooks import DeliveryRecord

# A type of docs/events.md, or "*" for every type (domain.webhooks.check_events).
EventFilter = Literal["*", EventType]
DeliveryState = Literal["pending", "delivered", "dead"]


class WebhookIn(In):
    """An endpoint to register: where to POST, which event types (``["*"]``: all), and
    optionally the signing secret (``whsec_`` + base64 of 24-64 bytes); without one a secret
    is generated and answered once."""

    url: str = Field(
        min_length=1,
        max_length=URL_MAX,
        pattern=URL_PATTERN,
        description="http:// or https://, no user or password in it",
    )
    events: Annotated[list[EventFilter], Field(min_length=1, max_length=EVENTS_MAX)] = Field(
        description='event types of docs/events.md such as "charge.created", or ["*"] for every'
        " type"
    )
    secret: Annotated[str | None, OMITTABLE] = Field(
        None,
        max_length=200,
        pattern=SECRET_PATTERN,
        description="whsec_ followed by the base64 of 24 to 64 bytes",
    )


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    created_at: datetime
    pending: int = Field(description="deliveries waiting to be sent or retried")
    dead: int = Field(description="dead letters: deliveries that used up their attempts")


class WebhookCreatedOut(BaseModel):
    id: str
    url: str
    events: list[str]
    created_at: datetime
    secret: str = Field(description="the signing secret: shown in this answer only")


class DeliveryOut(BaseModel):
    id: str
    endpoint_id: str
    event_id: str = Field(description="the event's id, sent as webhook-id on every try")
    event_type: str
    member_id: str | None
    status: DeliveryState
    attempts: int = Field(description="tries since it was made or last retried by hand")
    next_attempt_at: datetime | None = Field(description="when pending: its next try (UTC)")
    last_attempt_at: datetime | None
    last_status_code: int | None = Field(description="the receiver's last answer, if any")
    last_error: str | None = Field(description="why the last try failed")
    delivered_at: datetime | None
    created_at: datetime


def endpoint(e: Endpoint) -> WebhookOut:
    return WebhookOut(
        id=e.id, url=e.url, events=e.events, created_at=e.created_at, pending=e.pending, dead=e.dead
    )


def created(e: CreatedEndpoint) -> WebhookCreatedOut:
    return WebhookCreatedOut(
        id=e.id, url=e.url, events=e.events, created_at=e.created_at, secret=e.secret
    )


def delivery(d: DeliveryRecord) -> DeliveryOut:
    pending = d.status.value == "pending"
    return DeliveryOut(
        id=d.id,
        endpoint_id=d.endpoint_id,
        event_id=d.event_id,
        event_type=d.event_type,
        member_id=d.member_id,
        status=d.status.value,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at if pending else None,
        last_attempt_at=d.last_attempt_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        delivered_at=d.delivered_at,
        created_at=d.created_at,
    )
