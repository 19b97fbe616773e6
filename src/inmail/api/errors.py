"""RFC 9457 problem+json: the one table from error code to HTTP status."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from inmail.api.methods import allowed_methods
from inmail.domain.errors import (
    BulkSendingOff,
    DomainError,
    InmailAlreadyAwaitingResponse,
    InmailNotOnPlanWithRoutes,
    NotReady,
    SendingSuspended,
    TemplatePlaceholderMissing,
    TemplateSyntaxError,
    TooManyAttempts,
    ValidationError,
)
from inmail.domain.messaging import utc_text
from inmail.observe.logs import request_id
from inmail.observe.metrics import record_refusal

STATUS_BY_CODE: dict[str, int] = {
    "unauthorized": 401,
    "forbidden": 403,
    "not-found": 404,
    "validation-error": 422,
    "idempotency-key-reused": 422,
    "unknown-plan": 422,
    "unknown-pack": 422,
    "insufficient-credits": 402,
    "overage-limit-reached": 402,
    "seat-cap-reached": 402,
    "inmail-not-on-plan": 403,
    "packs-not-on-plan": 403,
    "conflict": 409,
    "cost-changed": 409,
    "catalog-changed": 409,
    "scheduled-follow-up-not-pending": 409,
    "handle-taken": 409,
    "already-spent": 409,
    "recipient-is-connection": 409,
    "recipient-not-accepting-inmail": 403,
    "cannot-cancel-sent-inmail": 409,
    "follow-up-too-early": 409,
    "follow-up-limit-reached": 409,
    "inmail-already-awaiting-response": 409,
    "not-a-connection": 403,
    "thread-closed": 409,
    "not-group-peers": 403,
    "group-messages-closed": 403,
    "group-message-limit-reached": 429,
    "not-a-mutual-connection": 403,
    "template-placeholder-missing": 422,
    "recipient-blocked": 403,
    "invitation-link-used": 410,
    "invitation-link-expired": 410,
    "too-many-attempts": 429,
    "stale-form": 403,
    "webhook-delivery-delivered": 409,
    "charge-not-refundable": 409,
    "charge-already-refunded": 409,
    "not-ready": 503,
    "sending-suspended": 403,
    "bulk-sending-off": 403,
}
PROBLEM = "application/problem+json"


class Problem(BaseModel):
    """What every error answers (RFC 9457 problem details plus the stable ``code``)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None
    errors: list[dict[str, str | int]] | None = None
    free_routes: list[str] | None = None
    # template-placeholder-missing: each {placeholder, field} without a value, and for whom
    missing: list[dict[str, str]] | None = None
    recipient: str | None = None
    thread_id: str | None = Field(
        None, description="inmail-already-awaiting-response: the thread awaiting a response"
    )
    follow_up_at: datetime | None = Field(
        None,
        description=(
            "inmail-already-awaiting-response: when a follow-up in that thread becomes "
            "possible (UTC); null when no further follow-up is possible"
        ),
    )
    check: str | None = Field(
        None, description="not-ready: the readiness check that failed (database, migrations)"
    )
    request_id: str | None = Field(
        None, description="The request's id, as in the X-Request-Id response header"
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries declaring these error statuses; api/openapi.py gives each the
    one ``Problem`` schema as application/problem+json."""
    return {status: {"description": HTTPStatus(status).phrase} for status in statuses}


logger = logging.getLogger("inmail.api")


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, object] | None = None,
) -> JSONResponse:
    """A problem+json response; every one is counted by ``code`` and carries the request's
    id (``request_id``, api/observe.py) when there is one."""
    body = {
        "type": f"https://inmail.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **(extra or {}),
    }
    rid = request_id.get()
    if rid is not None:
        body["request_id"] = rid
    record_refusal(code)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _title(code: str) -> str:
    return code.replace("-", " ").capitalize()


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = STATUS_BY_CODE.get(exc.code, 422)
    extra: dict[str, object] = {}
    if isinstance(exc, ValidationError) and exc.field:
        extra["field"] = exc.field
    if isinstance(exc, InmailNotOnPlanWithRoutes):
        extra["free_routes"] = exc.free_routes
    if isinstance(exc, TemplateSyntaxError):
        extra["errors"] = [asdict(p) for p in exc.problems]  # field, offset, line, column
    if isinstance(exc, TemplatePlaceholderMissing):
        extra["missing"] = [asdict(m) for m in exc.missing]
        extra["recipient"] = exc.recipient
    if isinstance(exc, InmailAlreadyAwaitingResponse):
        at = None if exc.follow_up_at is None else utc_text(exc.follow_up_at)
        extra |= {"thread_id": exc.thread_id, "follow_up_at": at}
    if isinstance(exc, NotReady):
        extra["check"] = exc.check
    if isinstance(exc, SendingSuspended | BulkSendingOff):
        extra |= {"until": utc_text(exc.until), "reason": exc.reason}
    headers = None
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after)}
    return problem(status, exc.code, _title(exc.code), exc.message, headers=headers, extra=extra)


async def _request_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_validation_error(e) for e in exc.errors()]
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    detail = f"{first['field'] or 'request'}: {first['message']}"
    extra: dict[str, object] = {"errors": errors}
    if first["field"]:
        extra["field"] = first["field"]  # docs/rules.md: validation errors name the field
    return problem(422, "validation-error", "Validation error", detail, extra=extra)


def _validation_error(error: Mapping[str, Any]) -> dict[str, str]:
    if error["type"] == "json_invalid":  # its loc holds a character position, not a field
        return {"field": "", "message": "the request body is not valid JSON"}
    # loc starts with where the value was ("body", "query", "path", "header"), then the field.
    return {"field": ".".join(str(p) for p in error["loc"][1:]), "message": error["msg"]}


HTTP_CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
}


def _wants_page(request: Request) -> bool:
    """Browsers on the web app's pages get an HTML page; API clients get problem+json."""
    path = request.url.path
    api = path.startswith(("/v1/", "/healthz", "/readyz", "/metrics", "/openapi", "/docs"))
    return not api and "text/html" in request.headers.get("accept", "text/html")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if _wants_page(request):
        from inmail.web.common import page  # the web app renders its own error page

        return page(request, "error.html", status_code=exc.status_code, message=str(exc.detail))
    if exc.status_code == 400:
        # Starlette's "error parsing the body": malformed JSON or bytes that are not UTF-8.
        return problem(
            422, "validation-error", "Validation error", "the request body is not valid JSON"
        )
    code = HTTP_CODES.get(exc.status_code, "error")
    headers = exc.headers
    if exc.status_code == 405:
        # Starlette names only the first route's methods; the path may have more.
        allowed = ", ".join(allowed_methods(request.scope))
        headers = {**(headers or {}), "Allow": allowed}
    return problem(exc.status_code, code, _title(code), str(exc.detail), headers=headers)


async def _unstorable(_: Request, exc: Exception) -> JSONResponse:
    # e.g. a NUL character, which PostgreSQL text cannot hold
    return problem(
        422, "validation-error", "Validation error", "a value in the request cannot be stored"
    )


async def _busy(_: Request, exc: Exception) -> JSONResponse:
    logger.warning("database busy: %s", exc)
    return problem(
        503, "busy", "Busy", "the database is busy; retry the request (with the same key)"
    )


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    logger.exception("unexpected error", exc_info=exc)
    return problem(500, "internal-error", "Internal error", "something went wrong on our side")


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(OperationalError, _busy)
    app.add_exception_handler(Exception, _unexpected)
