"""``INMAIL_SERVE_WORKER_HEALTHCHECK_SECONDS``: how long ``inmail serve --workers N`` waits.

uvicorn's supervisor replaces a worker that does not answer its health check in
time; its own 5 s replaced workers still importing the app on a busy host, over
and over (docs/deploy.md, "The production command"). The setting defaults to 30 s.
"""

from __future__ import annotations

import pydantic
import pytest

from inmail.config import Settings


def test_the_health_check_waits_30_seconds_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INMAIL_SERVE_WORKER_HEALTHCHECK_SECONDS", raising=False)
    assert Settings().serve_worker_healthcheck_seconds == 30


def test_the_health_check_wait_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INMAIL_SERVE_WORKER_HEALTHCHECK_SECONDS", "120")
    assert Settings().serve_worker_healthcheck_seconds == 120


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_a_wait_that_is_not_a_positive_whole_number_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("INMAIL_SERVE_WORKER_HEALTHCHECK_SECONDS", value)
    with pytest.raises(pydantic.ValidationError, match="serve_worker_healthcheck_seconds"):
        Settings()
