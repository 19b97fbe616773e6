"""Operations endpoints beside ``/healthz``: ``/readyz`` and ``/metrics`` (docs/operations.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from inmail.api.deps import Operator, ServicesDep
from inmail.api.errors import problem_responses
from inmail.observe.scrape import CONTENT_TYPE, exposition
from inmail.services.operations import check_ready

router = APIRouter(tags=["ops"])


@router.get("/readyz", responses=problem_responses(503))
def readyz(deps: ServicesDep) -> dict[str, str]:
    """200 when the database answers and is at the newest migration; otherwise 503
    ``not-ready`` whose ``check`` names what failed (``database`` or ``migrations``)."""
    check_ready(deps)
    return {"status": "ready"}


metrics_router = APIRouter(tags=["ops"])


@metrics_router.get(
    "/metrics",
    dependencies=[Operator],
    responses={
        200: {"content": {"text/plain": {}}, "description": "The Prometheus text format"},
        **problem_responses(401, 403),
    },
    response_class=Response,
)
def metrics(request: Request) -> Response:
    """Every metric in the Prometheus text format (operator token; absent when
    ``INMAIL_METRICS_PORT`` serves them on a port of their own)."""
    body = exposition(request.app.state.scrape_registry)
    return Response(body, media_type=CONTENT_TYPE)
