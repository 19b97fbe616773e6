"""The operator's webhook endpoints (API.md "Additions"; docs/webhooks.md): register, list,
delete, see deliveries (dead letters with ``?status=dead``) and retry one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from inmail.api import webhook_schemas as shapes
from inmail.api.deps import IdempotencyKey, IdPath, Now, Operator, ServicesDep
from inmail.api.errors import problem_responses
from inmail.api.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    decode_cursor,
    next_cursor,
    page_in_memory,
)
from inmail.api.schemas import Page
from inmail.domain.webhooks import DeliveryStatus
from inmail.services import webhooks

router = APIRouter(
    prefix="/v1/admin/webhooks",
    tags=["operator"],
    dependencies=[Operator],
    responses=problem_responses(401, 403, 422),
)

StatusQuery = Annotated[
    shapes.DeliveryState | None, Query(description="only deliveries in this state")
]


@router.post("", status_code=201)
def create_webhook(
    body: shapes.WebhookIn, deps: ServicesDep, now: Now, key: IdempotencyKey = None
) -> shapes.WebhookCreatedOut:
    """Register an endpoint: it gets the events committed from now on, signed per Standard
    Webhooks with its secret (answered here only)."""
    made = webhooks.create_endpoint(
        deps, url=body.url, events=body.events, secret=body.secret, now=now, idempotency_key=key
    )
    return shapes.created(made)


@router.get("")
def list_webhooks(
    deps: ServicesDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[shapes.WebhookOut]:
    """Every endpoint, oldest first, with its pending and dead deliveries counted."""
    found = webhooks.list_endpoints(deps)
    shown, after = page_in_memory([e.id for e in found], cursor, limit)
    return Page(items=[shapes.endpoint(e) for e in found[shown]], next_cursor=after)


@router.get("/{endpoint_id}", responses=problem_responses(404))
def get_webhook(endpoint_id: IdPath, deps: ServicesDep) -> shapes.WebhookOut:
    return shapes.endpoint(webhooks.get_endpoint(deps, endpoint_id))


@router.delete("/{endpoint_id}", status_code=204, responses=problem_responses(404))
def delete_webhook(endpoint_id: IdPath, deps: ServicesDep) -> None:
    """Remove the endpoint and its deliveries: nothing more is sent to it."""
    webhooks.delete_endpoint(deps, endpoint_id)


@router.get("/{endpoint_id}/deliveries", responses=problem_responses(404))
def list_deliveries(
    endpoint_id: IdPath,
    deps: ServicesDep,
    status: StatusQuery = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[shapes.DeliveryOut]:
    """The endpoint's deliveries, newest first; ``status=dead`` lists its dead letters."""
    found = webhooks.list_deliveries(
        deps,
        endpoint_id,
        status=None if status is None else DeliveryStatus(status),
        before=decode_cursor(cursor),
        limit=limit,
    )
    after = next_cursor([d.seq for d in found], limit)
    return Page(items=[shapes.delivery(d) for d in found], next_cursor=after)


@router.post("/{endpoint_id}/deliveries/{delivery_id}/retry", responses=problem_responses(404, 409))
def retry_delivery(
    endpoint_id: IdPath, delivery_id: IdPath, deps: ServicesDep, now: Now
) -> shapes.DeliveryOut:
    """Send a dead (or waiting) delivery again now, with a fresh count of attempts; the
    worker's next pass sends it, with the same webhook-id. A delivered one is 409."""
    again = webhooks.retry_delivery(deps, endpoint_id, delivery_id, now=now)
    return shapes.delivery(again)
