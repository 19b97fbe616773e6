"""The operator's webhooks page: every endpoint with its pending and dead deliveries, each
dead letter with why it failed and a button that sends it again (docs/webhooks.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from inmail.domain.webhooks import DeliveryStatus
from inmail.services import webhooks
from inmail.web.common import back, page, runtime_of
from inmail.web.session import CsrfChecked, WebOperator

router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[WebOperator])
DEAD_SHOWN = 20  # dead letters listed per endpoint; the API pages through all of them


@router.get("/webhooks", response_class=HTMLResponse)
def webhooks_page(request: Request) -> HTMLResponse:
    deps = runtime_of(request).deps
    endpoints = webhooks.list_endpoints(deps)
    dead = {
        e.id: webhooks.list_deliveries(deps, e.id, status=DeliveryStatus.DEAD, limit=DEAD_SHOWN)
        for e in endpoints
        if e.dead
    }
    return page(request, "admin_webhooks.html", endpoints=endpoints, dead=dead)


@router.post("/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry", dependencies=[CsrfChecked])
def retry_delivery(request: Request, endpoint_id: str, delivery_id: str) -> Response:
    """Send a dead letter again: due now, its attempts counted from zero."""
    rt = runtime_of(request)
    again = webhooks.retry_delivery(rt.deps, endpoint_id, delivery_id, now=rt.clock.now())
    text = f"{again.event_type} ({again.event_id}) will be sent again on the worker's next pass."
    return back(request, "/admin/webhooks", text)
