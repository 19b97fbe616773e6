"""docs/openapi.json is the document the server publishes: regenerate it with `make openapi`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from inmail.api.published import openapi_document
from inmail.cli import app

PUBLISHED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_the_published_openapi_document_is_current() -> None:
    published = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    assert published == openapi_document(), "docs/openapi.json is stale: run `make openapi`"


def test_inmail_openapi_writes_the_document_the_docs_publish(tmp_path: Path) -> None:
    written = tmp_path / "openapi.json"
    result = CliRunner().invoke(app, ["openapi", "--output", str(written)])
    assert result.exit_code == 0, result.output
    assert written.read_text(encoding="utf-8") == PUBLISHED.read_text(encoding="utf-8")
    document = json.loads(written.read_text(encoding="utf-8"))
    assert "/v1/admin/packs/{code}" in document["paths"]
