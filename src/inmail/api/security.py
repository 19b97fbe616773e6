"""Security headers on every response, pages and API alike: no framing, no sniffing, own assets.

A pure ASGI middleware, so it also covers error responses, redirects and static
files. A response that sets its own ``Content-Security-Policy`` keeps it (the
API docs page needs Swagger UI's inline styles); every other header is fixed.

HTML pages are also ``Cache-Control: no-store`` unless they say otherwise: a
signed-in page holds a member's messages and money, and its forms carry one-time
keys. Neither a shared cache nor the browser's Back button may show an old copy:
going back to a compose page whose InMail went out asks the server again, which
says it is sent (SPEC §4) instead of offering the spent form.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Only the app's own scripts, styles, images and forms; never inside a frame (clickjacking).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "X-Frame-Options": "DENY",  # for browsers that predate frame-ancestors
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
                for name, value in HEADERS.items():
                    headers[name] = value
                is_page = headers.get("content-type", "").startswith("text/html")
                if is_page and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
