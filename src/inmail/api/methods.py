"""HTTP methods, as pure ASGI middleware: ``OPTIONS`` and ``HEAD`` on every path, and ``Allow``.

``Methods`` answers ``OPTIONS`` on every path with 204 and the ``Allow`` header (no token
needed: it tells only what the OpenAPI document publishes), and serves ``HEAD`` wherever
``GET`` is served, without the body. A 405's ``Allow`` lists every method of the path
(api/errors.py asks :func:`allowed_methods`), not only the first route's methods, which
is all Starlette's router knows when it refuses.
"""

from __future__ import annotations

import re
from typing import Any
from weakref import WeakKeyDictionary

from fastapi.routing import iter_route_contexts
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_TABLES: WeakKeyDictionary[Any, list[tuple[re.Pattern[str], frozenset[str]]]] = WeakKeyDictionary()


def _routes(app: Any) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """(path regex, methods) of every route of the app, its included routers' too."""
    if app not in _TABLES:
        _TABLES[app] = [
            (compile_path(route.path)[0], frozenset(route.methods))
            for route in iter_route_contexts(app.routes)
            if route.path and route.methods  # mounts (static files) answer for themselves
        ]
    return _TABLES[app]


def allowed_methods(scope: Scope) -> list[str]:
    """Every method served at the request's path, sorted; empty when no route has the path."""
    methods: set[str] = set()
    for regex, served in _routes(scope["app"]):
        if regex.match(scope["path"]):
            methods |= served
    if methods:
        methods.add("OPTIONS")
        if "GET" in methods:
            methods.add("HEAD")
    return sorted(methods)


class Methods:
    """``OPTIONS`` on every path (204 and ``Allow``), and ``HEAD`` wherever ``GET`` is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("OPTIONS", "HEAD"):
            await self.app(scope, receive, send)
            return
        allowed = allowed_methods(scope)
        if scope["method"] == "OPTIONS" and allowed:
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [(b"allow", ", ".join(allowed).encode())],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["method"] == "HEAD" and "GET" in allowed:
            await self.app({**scope, "method": "GET"}, receive, _without_body(send))
            return
        await self.app(scope, receive, send)


def _without_body(send: Send) -> Send:
    async def head(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return head
