"""Request ids, /metrics and /readyz through HTTP, on both engines (docs/operations.md).

Counters are the process's own and other tests move them too, so each test reads a
scrape before and after what it does and checks the difference: exactly what it did.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from inmail.api.app import create_app
from inmail.bootstrap import build
from inmail.config import Settings
from inmail.domain.events import Event
from inmail.observe.logs import JsonFormatter, RequestIdFilter
from inmail.services.context import Deps, PlanVersionCache
from inmail.services.webhooks import deliver_due
from inmail.store import outbox
from inmail.store.db import Database, make_engine
from inmail.store.tables import accounts
from tests.api.conftest import ADMIN_TOKEN, Api, Member
from tests.api.served import own_postgres_database
from tests.conftest import T0

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def scrape(client: TestClient) -> Samples:
    """Every sample of a /metrics scrape, parsed as Prometheus parses it."""
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def _send(api: Api, sender: Member, to: Member, **headers: str) -> Any:
    body = {"to": to.id, "subject": "Hello", "body": "Would you talk about the role?"}
    return api.client.post("/v1/inmails", json=body, headers={**sender.auth, **headers})


def _connect(api: Api, a: Member, b: Member) -> None:
    made = api.client.post("/v1/admin/connections", json={"a": a.id, "b": b.id}, headers=api.admin)
    assert made.status_code == 201


# --- request ids ---------------------------------------------------------------------------


def test_every_response_carries_a_new_request_id_and_a_problem_names_it(api: Api) -> None:
    ok = api.client.get("/healthz")
    refused = api.client.get("/v1/me")
    assert GENERATED_ID.fullmatch(ok.headers["x-request-id"])
    assert GENERATED_ID.fullmatch(refused.headers["x-request-id"])
    assert ok.headers["x-request-id"] != refused.headers["x-request-id"]
    body = refused.json()
    assert (refused.status_code, body["code"]) == (401, "unauthorized")
    assert body["request_id"] == refused.headers["x-request-id"]
    # The rest of API.md's error shape is as it was.
    assert {"type", "title", "status", "detail", "code"} <= body.keys()


def test_a_sane_client_request_id_is_kept_and_any_other_replaced(api: Api) -> None:
    kept = api.client.get("/v1/me", headers={"X-Request-Id": "edge-7f3a:01.b_c"})
    assert kept.headers["x-request-id"] == "edge-7f3a:01.b_c"
    assert kept.json()["request_id"] == "edge-7f3a:01.b_c"
    for insane in ("has spaces", "x" * 129, 'quote"d', "semi;colon", ""):
        answer = api.client.get("/healthz", headers={"X-Request-Id": insane})
        assert GENERATED_ID.fullmatch(answer.headers["x-request-id"]), insane


def test_a_too_large_body_is_refused_with_the_request_id_too(api: Api) -> None:
    member = api.member()
    answer = api.client.post(
        "/v1/messages",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={**member.auth, "Content-Type": "application/json", "X-Request-Id": "big-1"},
    )
    assert answer.status_code == 413
    assert (answer.headers["x-request-id"], answer.json()["request_id"]) == ("big-1", "big-1")


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """inmail's log lines of the test, as the JSON log configuration writes them."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("inmail")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def test_the_access_log_line_names_the_request_id_route_status_and_duration(
    api: Api, json_lines: io.StringIO
) -> None:
    api.client.get("/v1/threads/th_missing", headers={"X-Request-Id": "trace-42"})
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    (access,) = [line for line in lines if line["logger"] == "inmail.access"]
    assert access["request_id"] == "trace-42"
    assert (access["level"], access["method"], access["route"], access["status"]) == (
        "INFO",
        "GET",
        "/v1/threads/{thread_id}",
        401,
    )
    assert access["path"] == "/v1/threads/th_missing"
    assert access["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", access["time"])
    assert access["message"].startswith("GET /v1/threads/{thread_id} 401 ")


# --- /metrics ------------------------------------------------------------------------------


def test_metrics_need_the_operator_token(api: Api) -> None:
    member = api.member()
    anonymous = api.client.get("/metrics")
    as_member = api.client.get("/metrics", headers=member.auth)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    assert (as_member.status_code, as_member.json()["code"]) == (403, "forbidden")
    assert "inmail_http_requests_total" not in anonymous.text


def test_requests_are_counted_and_timed_by_route_template_never_the_raw_path(api: Api) -> None:
    member = api.member()
    before = scrape(api.client)
    for thread_id in ("th_a", "th_b", "th_c"):
        api.client.get(f"/v1/threads/{thread_id}", headers=member.auth)
    api.client.get("/no/such/path/1")
    api.client.get("/no/such/path/2")
    after = scrape(api.client)
    route = {"method": "GET", "route": "/v1/threads/{thread_id}", "status": "404"}
    assert moved(before, after, "inmail_http_requests_total", **route) == 3
    assert moved(before, after, "inmail_http_request_duration_seconds_count", **route) == 3
    assert moved(before, after, "inmail_http_request_duration_seconds_sum", **route) > 0
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert moved(before, after, "inmail_http_requests_total", **unmatched) == 2
    assert not [name for name, labels in after if "th_a" in str(labels)]
    assert moved(before, after, "inmail_refusals_total", code="not-found") == 5


def test_sends_and_spends_count_once_committed_and_never_for_a_replay_or_a_refusal(
    api: Api,
) -> None:
    sender, recipient, friend = api.member(), api.member("basic"), api.member()
    _connect(api, sender, friend)
    before = scrape(api.client)
    first = _send(api, sender, recipient, **{"Idempotency-Key": "send-1"})
    replay = _send(api, sender, recipient, **{"Idempotency-Key": "send-1"})
    assert first.status_code == replay.status_code == 201
    refused = _send(api, sender, friend)  # a connection: a free message is the way
    assert refused.json()["code"] == "recipient-is-connection"
    message = api.client.post(
        "/v1/messages", json={"to": friend.id, "body": "hi"}, headers=sender.auth
    )
    reply = api.client.post(
        f"/v1/threads/{first.json()['thread_id']}/messages",
        json={"body": "Sure"},
        headers=recipient.auth,
    )
    more = api.client.post(
        f"/v1/threads/{first.json()['thread_id']}/messages",
        json={"body": "Great"},
        headers=sender.auth,
    )
    assert message.status_code == reply.status_code == more.status_code == 201
    after = scrape(api.client)
    assert moved(before, after, "inmail_sends_total", channel="inmail") == 1
    assert moved(before, after, "inmail_credits_spent_total", channel="inmail") == 1
    assert moved(before, after, "inmail_sends_total", channel="message") == 1
    assert moved(before, after, "inmail_sends_total", channel="reply") == 1
    assert moved(before, after, "inmail_sends_total", channel="conversation") == 1
    assert moved(before, after, "inmail_credits_spent_total", channel="message") == 0
    assert moved(before, after, "inmail_refusals_total", code="recipient-is-connection") == 1


def test_an_overage_charge_is_counted_with_what_it_billed(api: Api) -> None:
    sender = api.member("sales_navigator_professional")  # 15 credits, overage on demand
    recipients = [api.member() for _ in range(17)]
    for recipient in recipients[:15]:
        assert _send(api, sender, recipient).status_code == 201
    api.client.put(
        "/v1/me/settings",
        json={"auto_overage": True, "overage_limit_minor": 1000},
        headers=sender.auth,
    )
    before = scrape(api.client)
    billed = _send(api, sender, recipients[15])
    assert billed.json()["overage_charge"] == {"amount_minor": 1000, "currency": "USD"}
    refused = _send(api, sender, recipients[16])
    assert refused.json()["code"] == "overage-limit-reached"
    after = scrape(api.client)
    assert moved(before, after, "inmail_overage_charges_total", currency="USD") == 1
    assert moved(before, after, "inmail_overage_charged_minor_total", currency="USD") == 1000
    assert moved(before, after, "inmail_sends_total", channel="inmail") == 1
    assert moved(before, after, "inmail_refusals_total", code="overage-limit-reached") == 1


def test_renewal_lag_is_how_long_the_oldest_due_account_has_waited(api: Api, db_url: str) -> None:
    member = api.member()
    assert value(scrape(api.client), "inmail_renewal_lag_seconds") == 0
    db = Database(make_engine(db_url))
    with db.read() as conn:
        due = conn.execute(select(accounts.c.next_due_at)).scalar_one()
    db.dispose()
    api.advance(days=40)
    now = T0 + timedelta(days=40)
    assert value(scrape(api.client), "inmail_renewal_lag_seconds") == (now - due).total_seconds()
    api.client.get("/v1/me/credits", headers=member.auth)  # the member's request renews them
    assert value(scrape(api.client), "inmail_renewal_lag_seconds") == 0


def test_the_outbox_depth_counts_what_webhook_endpoints_have_not_had(api: Api, db_url: str) -> None:
    """With no endpoint nothing waits (pullers keep their own place). An endpoint created
    before three events: they wait undispatched, then as pending deliveries whose first try
    fails (a receiver that refuses connections), the failure counted once."""
    db = Database(make_engine(db_url))
    with db.write() as conn:
        outbox.append(conn, [Event("test.happened", None, T0, {"n": n}) for n in range(3)])
    assert value(scrape(api.client), "inmail_outbox_depth") == 0  # no endpoint: none waits
    refusing = {"url": "http://127.0.0.1:9/hooks", "events": ["*"]}
    made = api.client.post("/v1/admin/webhooks", json=refusing, headers=api.admin)
    assert made.status_code == 201, made.text
    with db.write() as conn:  # after the endpoint: these it is to get
        outbox.append(conn, [Event("test.happened", None, T0, {"n": n}) for n in range(3)])
    api.advance(seconds=90)
    samples = scrape(api.client)
    assert value(samples, "inmail_outbox_depth") == 3  # not yet made deliveries
    assert value(samples, "inmail_outbox_oldest_age_seconds") == 90  # everything is from T0
    assert value(samples, "inmail_database_up") == 1

    deps = Deps(db, PlanVersionCache())
    later = T0 + timedelta(seconds=90)
    report = deliver_due(deps, clock=lambda: later, policy=Settings().webhook_policy())
    # One member's (here: the operator's) events go in order: the first is tried and fails,
    # the two behind it wait for it.
    assert (report.dispatched, report.delivered, report.retrying) == (3, 0, 1)
    after = scrape(api.client)
    assert value(after, "inmail_outbox_depth") == 3  # pending deliveries now
    assert moved(samples, after, "inmail_webhook_failures_total", outcome="retrying") == 1
    db.dispose()


def test_the_pool_gauges_show_the_pool_size_and_what_is_checked_out(api: Api) -> None:
    samples = scrape(api.client)
    assert value(samples, "inmail_db_pool_size") >= 5
    # The scrape itself holds one connection while it reads the database's gauges, at most.
    assert 0 <= value(samples, "inmail_db_pool_checked_out") <= 1


def test_webhook_failures_are_counted_by_outcome(api: Api) -> None:
    from inmail.observe.metrics import record_webhook_failure

    before = scrape(api.client)
    record_webhook_failure(dead_lettered=False)
    record_webhook_failure(dead_lettered=False)
    record_webhook_failure(dead_lettered=True)
    after = scrape(api.client)
    assert moved(before, after, "inmail_webhook_failures_total", outcome="retrying") == 2
    assert moved(before, after, "inmail_webhook_failures_total", outcome="dead_lettered") == 1


def test_with_a_metrics_port_the_app_has_no_metrics_endpoint(db_url: str) -> None:
    settings = Settings(database_url=db_url, admin_token=ADMIN_TOKEN, metrics_port=9109)
    with TestClient(create_app(settings)) as client:
        answer = client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert answer.status_code == 404


# --- /readyz -------------------------------------------------------------------------------


def test_ready_when_the_database_answers_at_the_newest_migration(api: Api) -> None:
    answer = api.client.get("/readyz")
    assert (answer.status_code, answer.json()) == (200, {"status": "ready"})


def _readyz(database_url: str) -> Any:
    settings = Settings(database_url=database_url, session_secret="s" * 32)
    with TestClient(create_app(runtime=build(settings))) as client:
        return client.get("/readyz")


def _not_ready(answer: Any, check: str) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert (body["code"], body["check"]) == ("not-ready", check)
    assert body["request_id"] == answer.headers["x-request-id"]


def test_not_ready_on_an_unmigrated_sqlite_database(tmp_path: Path) -> None:
    answer = _readyz(f"sqlite:///{tmp_path / 'empty.db'}")
    _not_ready(answer, "migrations")
    assert "inmail db upgrade" in answer.json()["detail"]


@pytest.mark.postgres
def test_not_ready_on_an_unmigrated_postgres_database(postgres_url: str) -> None:
    with own_postgres_database(postgres_url) as empty:
        _not_ready(_readyz(empty), "migrations")


@pytest.mark.parametrize(
    "unreachable",
    [
        "sqlite:////nonexistent-dir/inmail.db",
        "postgresql+psycopg://postgres@127.0.0.1:1/inmail?connect_timeout=2",
    ],
    ids=["sqlite", "postgres"],
)
def test_not_ready_when_the_database_does_not_answer(unreachable: str) -> None:
    _not_ready(_readyz(unreachable), "database")


def test_a_scrape_answers_while_the_database_is_down() -> None:
    settings = Settings(
        database_url="sqlite:////nonexistent-dir/inmail.db",
        admin_token=ADMIN_TOKEN,
        session_secret="s" * 32,
    )
    with TestClient(create_app(runtime=build(settings))) as client:
        samples = scrape(client)
    assert value(samples, "inmail_database_up") == 0
    assert ("inmail_renewal_lag_seconds", ()) not in samples


# --- the middleware itself -----------------------------------------------------------------


def test_a_streamed_body_passes_through_chunk_by_chunk_with_the_id_on_its_head() -> None:
    import anyio
    from starlette.responses import StreamingResponse

    from inmail.api.observe import Observe

    async def chunks() -> Any:
        for n in range(3):
            yield f"row {n}\n".encode()

    async def run() -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/export.csv",
            "headers": [(b"x-request-id", b"export-1")],
        }

        async def receive() -> dict[str, Any]:
            await anyio.sleep_forever()  # the client stays: the response listens for it
            raise AssertionError("unreachable")

        async def send(message: Any) -> None:
            sent.append(message)

        await Observe(StreamingResponse(chunks(), media_type="text/csv"))(scope, receive, send)
        return sent

    sent = anyio.run(run)
    assert sent[0]["type"] == "http.response.start"
    assert (b"x-request-id", b"export-1") in sent[0]["headers"]
    bodies = [m["body"] for m in sent[1:] if m.get("body")]
    assert bodies == [b"row 0\n", b"row 1\n", b"row 2\n"]  # three messages: not buffered
