"""A limit on request bodies, as pure ASGI middleware in front of every route.

Bodies over the limit (setting ``INMAIL_MAX_BODY_BYTES``) are refused with 413
``payload-too-large`` before any route reads them: at once when ``Content-Length`` says
so, and, for a chunked body (no length announced), as soon as the bytes received pass it.

FastAPI's own ``max_body_size`` (Starlette's RequestBodyLimitMiddleware) answers a plain
text 413 that bypasses the app's error handlers; the contract's errors are problem+json.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inmail.api.errors import problem


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes (413) before the app reads them."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(scope, receive, send)
            return
        # Read the body here, counting, so a chunked body cannot grow past the limit either;
        # the app then reads it from memory (FastAPI reads whole bodies anyway).
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([whole], receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body is over the limit of {self.limit} bytes"
        response = problem(413, "payload-too-large", "Payload too large", detail)
        # The rest of the body is never read: the server closes the connection after this.
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before we are called
    return None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replayed() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return replayed
