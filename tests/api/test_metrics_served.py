"""Metrics and logs of the real ``inmail serve --workers 2``: a scrape adds up both processes.

The server runs as operators run it: its settings in the environment, metrics on a
port of their own (``INMAIL_METRICS_PORT``, no token), JSON log lines on stderr.
Every request goes on a new connection, so the kernel hands them to either worker.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
from prometheus_client.parser import text_string_to_metric_families

from inmail.store.db import make_engine
from tests.api import served

REQUESTS = 30


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_two_worker_processes_are_scraped_as_one_on_the_metrics_port(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inmail.db'}"
    metrics_port = served.free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left by an earlier run")  # emptied at start
    env = served.server_env(url) | {
        "INMAIL_METRICS_PORT": str(metrics_port),
        "INMAIL_METRICS_DIR": str(metrics_dir),
        "INMAIL_LOG_FORMAT": "json",
    }
    served.migrate(env)
    ids: list[str] = []
    with served.serving(env, tmp_path, workers=2) as server:
        for _ in range(REQUESTS):
            with httpx2.Client(base_url=server.base_url, trust_env=False) as client:
                answer = client.get("/readyz")
            assert answer.status_code == 200, answer.text
            ids.append(answer.headers["x-request-id"])
        with httpx2.Client(trust_env=False) as client:
            on_app_port = client.get(f"{server.base_url}/metrics")
            scraped = client.get(f"http://127.0.0.1:{metrics_port}/metrics")
        pids = {p.stem.rsplit("_", 1)[1] for p in metrics_dir.glob("gauge_livesum_*.db")}
        log = server.log.read_text()
    assert on_app_port.status_code == 404  # only on the metrics port, in this mode
    assert scraped.status_code == 200, scraped.text
    samples = _samples(scraped.text)
    readyz = (("method", "GET"), ("route", "/readyz"), ("status", "200"))
    assert samples[("inmail_http_requests_total", readyz)] == REQUESTS
    assert samples[("inmail_http_request_duration_seconds_count", readyz)] == REQUESTS
    # Each worker process adds its own pool to the size: both are in the one scrape.
    assert len(pids) == 2
    pool = make_engine(url).pool.size()  # type: ignore[attr-defined]
    assert samples[("inmail_db_pool_size", ())] == 2 * pool
    assert samples[("inmail_database_up", ())] == 1
    # One JSON access line a request, with the id its response carried.
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "inmail.access"]
    probes = [line for line in access if line["route"] == "/readyz"]
    assert sorted(line["request_id"] for line in probes) == sorted(ids)
    assert all(line["status"] == 200 and line["duration_ms"] >= 0 for line in probes)
    assert {(line["route"], line["status"]) for line in access if line not in probes} <= {
        ("/healthz", 200),  # the test waiting for the server to start
        ("unmatched", 404),  # /metrics, on the app's port
    }
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # uvicorn's too


def test_by_default_any_worker_answers_the_scrape_for_both_behind_the_token(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'inmail.db'}"
    env = served.server_env(url)  # no metrics port, no directory: a temporary one
    served.migrate(env)
    with served.serving(env, tmp_path, workers=2) as server:
        with httpx2.Client(base_url=server.base_url, trust_env=False) as client:
            refused = client.get("/metrics")
        for _ in range(REQUESTS):
            with httpx2.Client(base_url=server.base_url, trust_env=False) as client:
                assert client.get("/readyz").status_code == 200
        scrapes = []
        for _ in range(4):  # on new connections: either worker may answer each
            with httpx2.Client(base_url=server.base_url, trust_env=False) as client:
                scrapes.append(client.get("/metrics", headers=server_admin()))
    assert (refused.status_code, refused.json()["code"]) == (401, "unauthorized")
    readyz = (("method", "GET"), ("route", "/readyz"), ("status", "200"))
    pool = make_engine(url).pool.size()  # type: ignore[attr-defined]
    for scraped in scrapes:
        assert scraped.status_code == 200, scraped.text
        samples = _samples(scraped.text)
        assert samples[("inmail_http_requests_total", readyz)] == REQUESTS
        assert samples[("inmail_db_pool_size", ())] == 2 * pool


def server_admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {served.ADMIN_TOKEN}"}
