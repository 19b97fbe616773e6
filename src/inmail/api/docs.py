"""``/docs``: Swagger UI served from the installed fastapi-offline package, never from a CDN.

FastAPI's own docs page loads Swagger UI from a CDN and starts it with an
inline script; this one serves the same files from the package and starts
them from ``/docs/init.js``, so the page works offline and under a CSP that
allows only the app's own scripts.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from inmail.api.security import CONTENT_SECURITY_POLICY

ASSETS = Path(fastapi_offline.__file__).parent / "static"
# Swagger UI sets inline styles as it renders: allowed on this page only.
DOCS_CSP = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} - API docs</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" href="/docs/assets/favicon.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""

INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


def install(app: FastAPI) -> None:
    """Serve ``/docs``; the app must be created with ``docs_url=None, redoc_url=None``."""
    app.mount("/docs/assets", StaticFiles(directory=ASSETS), name="docs-assets")

    # The title from the request's app, not from ``app`` in a closure: FastAPI keeps every
    # endpoint it has seen in a process-wide cache (4,096 of them), so an endpoint that
    # closed over its app kept the app, its runtime and its engine alive after shutdown.
    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        page = PAGE.format(title=request.app.title)
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP})

    @app.get("/docs/init.js", include_in_schema=False)
    def docs_init() -> Response:
        return Response(INIT, media_type="text/javascript")
