"""The OpenAPI document as published in docs/openapi.json (`make openapi`, `inmail openapi`).

Built from the app's routes alone: an in-memory SQLite stands in for the database, which
the document does not depend on. tests/api/test_openapi_published.py keeps the file current.
"""

from __future__ import annotations

import json
from typing import Any

from inmail.api.app import create_app
from inmail.bootstrap import build
from inmail.config import Settings

# Settings that only let the app be built: nothing is served, read or written with them.
_BUILD_ONLY = Settings(database_url="sqlite://", session_secret="openapi-" * 5)


def openapi_document() -> dict[str, Any]:
    """The document ``GET /openapi.json`` answers, as a JSON object."""
    runtime = build(_BUILD_ONLY)
    try:
        return create_app(runtime=runtime).openapi()
    finally:
        runtime.close()


def openapi_text() -> str:
    """The document as written to docs/openapi.json: indented, one trailing newline."""
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"
