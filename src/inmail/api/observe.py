"""Every request's id, metrics and access-log line, as one pure ASGI middleware outside all.

The id is the client's ``X-Request-Id`` when it is sane (1-128 of ``A-Z a-z 0-9 . _ : -``),
else a new one (32 hex digits). It is answered in the ``X-Request-Id`` header, set in a
context variable for the request's log lines (observe.logs) and its problem+json body
(api/errors.py), and it names the request in the access log. The request is counted
and timed under its route's path template (``/v1/threads/{thread_id}``, never the raw
path: one series per route, whatever ids clients send) once its last byte is sent.

Pure ASGI (no BaseHTTPMiddleware): a streamed body passes through chunk by chunk,
and the cost is a header lookup, a context variable and two metric updates.
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inmail.observe import metrics
from inmail.observe.logs import request_id

HEADER = b"x-request-id"
SANE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")

access = logging.getLogger("inmail.access")


class Observe:
    """Request id, request metrics and the access log around ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        token = request_id.set(rid)
        header = (HEADER, rid.encode())
        started = time.perf_counter()
        status = 500  # what the server answers when the app fails before starting a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = _route(scope)
            metrics.record_request(scope["method"], route, status, seconds)
            if access.isEnabledFor(logging.INFO):
                _log(scope["method"], route, scope["path"], status, seconds)
            request_id.reset(token)


def _request_id(scope: Scope) -> str:
    value: bytes
    for name, value in scope["headers"]:
        if name == HEADER:
            if SANE_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return secrets.token_hex(16)


def _route(scope: Scope) -> str:
    """The matched route's path template (the router leaves it in the scope)."""
    path: object = getattr(scope.get("route"), "path", None)
    if isinstance(path, str) and path:
        return path
    return metrics.UNMATCHED_ROUTE


def _log(method: str, route: str, path: str, status: int, seconds: float) -> None:
    duration_ms = round(seconds * 1000, 3)
    fields = {"method": method, "route": route, "path": path, "status": status}
    access.info(
        "%s %s %d %.1f ms",
        method,
        route,
        status,
        duration_ms,
        extra=fields | {"duration_ms": duration_ms},
    )
