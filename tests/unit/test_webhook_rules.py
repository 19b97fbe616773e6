"""The webhook rules (domain/webhooks.py): backoff with full jitter, the attempt cap, the
ordering rule, replays, and what an endpoint may be registered with."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError as PydanticValidationError
from standardwebhooks import Webhook

from inmail.config import Settings
from inmail.domain.errors import ValidationError, WebhookDeliveryDelivered
from inmail.domain.events import EVENT_TYPES
from inmail.domain.webhooks import (
    DeliveryStatus,
    Outcome,
    RetryPolicy,
    after_attempt,
    check_events,
    check_retry,
    check_secret,
    check_url,
    first_of_each_group,
    new_secret,
    wants,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(
    max_attempts=5, backoff_base=timedelta(seconds=30), backoff_cap=timedelta(minutes=2)
)


def _after(attempts: int, code: int | None = 500, draw: float = 0.5) -> Outcome:
    return after_attempt(
        attempts=attempts, status_code=code, error=None, now=NOW, policy=POLICY, draw=draw
    )


@pytest.mark.parametrize("code", [200, 201, 204, 299])
def test_any_2xx_answer_delivers(code: int) -> None:
    outcome = after_attempt(
        attempts=1, status_code=code, error=None, now=NOW, policy=POLICY, draw=0.5
    )
    assert (outcome.status, outcome.next_attempt_at, outcome.error) == (
        DeliveryStatus.DELIVERED,
        None,
        None,
    )


@pytest.mark.parametrize("code", [301, 400, 404, 410, 500, 503])
def test_any_other_answer_is_a_failed_try_named_for_the_operator(code: int) -> None:
    outcome = after_attempt(
        attempts=1, status_code=code, error=None, now=NOW, policy=POLICY, draw=0.5
    )
    assert outcome.status is DeliveryStatus.PENDING
    assert outcome.error == f"the receiver answered {code}"


def test_no_answer_keeps_the_transport_error() -> None:
    outcome = after_attempt(
        attempts=1,
        status_code=None,
        error="ConnectError: refused",
        now=NOW,
        policy=POLICY,
        draw=0.0,
    )
    assert (outcome.status, outcome.error, outcome.next_attempt_at) == (
        DeliveryStatus.PENDING,
        "ConnectError: refused",
        NOW,
    )


def test_the_backoff_window_doubles_from_the_base_up_to_the_cap() -> None:
    assert [POLICY.window(n) for n in range(1, 6)] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(seconds=120),
        timedelta(seconds=120),
    ]
    assert RetryPolicy(100, timedelta(seconds=1), timedelta(days=1)).window(100) == timedelta(
        days=1
    )


@given(attempts=st.integers(1, POLICY.max_attempts - 1), draw=st.floats(0, 0.9999999))
def test_the_wait_is_drawn_within_the_window_full_jitter(attempts: int, draw: float) -> None:
    outcome = after_attempt(
        attempts=attempts, status_code=503, error=None, now=NOW, policy=POLICY, draw=draw
    )
    assert outcome.next_attempt_at is not None
    wait = outcome.next_attempt_at - NOW
    assert timedelta(0) <= wait <= POLICY.window(attempts)
    assert wait == POLICY.window(attempts) * draw


def test_the_try_that_reaches_the_cap_makes_the_delivery_dead() -> None:
    last = after_attempt(attempts=5, status_code=500, error=None, now=NOW, policy=POLICY, draw=0.5)
    assert (last.status, last.next_attempt_at) == (DeliveryStatus.DEAD, None)
    assert last.error == "the receiver answered 500"
    # and success at the last try still delivers
    assert _after(5, code=200).status is DeliveryStatus.DELIVERED


def test_a_policy_needs_an_attempt_and_a_base_within_the_cap() -> None:
    with pytest.raises(ValueError, match="at least one attempt"):
        RetryPolicy(0)
    with pytest.raises(ValueError, match="at most the cap"):
        RetryPolicy(3, timedelta(hours=2), timedelta(hours=1))


def test_only_the_oldest_pending_delivery_of_each_endpoint_and_member_may_go() -> None:
    pending = [
        ("whk_a", "m_1", 7),
        ("whk_a", "m_1", 3),
        ("whk_a", "m_2", 5),
        ("whk_b", "m_1", 4),
        ("whk_a", None, 9),
        ("whk_a", None, 8),
    ]
    assert first_of_each_group(pending) == [3, 4, 5, 8]


def test_dead_and_pending_deliveries_may_be_retried_but_not_a_delivered_one() -> None:
    check_retry(DeliveryStatus.DEAD)
    check_retry(DeliveryStatus.PENDING)
    with pytest.raises(WebhookDeliveryDelivered):
        check_retry(DeliveryStatus.DELIVERED)


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/inmail", "http://127.0.0.1:8080/h?x=1", "https://[::1]/a"],
)
def test_http_and_https_addresses_are_accepted(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/", "http:// or https://"),
        ("example.com/hook", "http:// or https://"),
        ("https:///path", "names no host"),
        ("https://user:pw@example.com/", "user or password"),
        ("https://user@example.com/", "user or password"),
        ("https://example.com:99999/", "not a valid address"),
        ("https://example.com/a b", "no spaces"),
        ("https://example.com/#top", "fragment"),
        ("https://example.com/" + "a" * 2000, "at most 2000"),
    ],
)
def test_other_addresses_are_refused_naming_the_url(url: str, why: str) -> None:
    with pytest.raises(ValidationError, match=why) as refused:
        check_url(url)
    assert refused.value.field == "url"


def test_events_are_types_or_the_star_alone() -> None:
    assert check_events(["*"]) == ("*",)
    assert check_events(["charge.created", "ledger.entry_created", "charge.created"]) == (
        "charge.created",
        "ledger.entry_created",
    )
    assert check_events(list(EVENT_TYPES)) == EVENT_TYPES
    assert wants(("*",), "anything.happened")
    assert wants(("charge.created",), "charge.created")
    assert not wants(("charge.created",), "charge.refunded")


@pytest.mark.parametrize(
    ("events", "why"),
    [
        ([], "at least one"),
        (["*", "charge.created"], "already means every type"),
        (["Charge.Created"], "not an event type"),
        (["charge"], "not an event type"),
        (["charge.created.now"], "not an event type"),
        (["ledger_entry.created"], "'ledger_entry.created' is not an event type; the types are "),
        (["charge.created", "charge.paid"], "'charge.paid' is not an event type"),
        ([f"t.e{'x' * n}" for n in range(51)], "not an event type|at most 50"),
    ],
)
def test_other_event_lists_are_refused_naming_the_events(events: list[str], why: str) -> None:
    with pytest.raises(ValidationError, match=why) as refused:
        check_events(events)
    assert refused.value.field == "events"


def test_a_generated_secret_is_one_the_standard_library_signs_with() -> None:
    secret = new_secret()
    assert check_secret(secret) == secret
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    signature = Webhook(secret).sign("evt_1", NOW, "{}")
    assert signature.startswith("v1,")
    assert new_secret() != secret


@pytest.mark.parametrize(
    "secret",
    [
        "not-a-secret",
        "whsec_",
        "whsec_!!!!",
        "whsec_" + base64.b64encode(b"x" * 23).decode(),  # too short
        "whsec_" + base64.b64encode(b"x" * 65).decode(),  # too long
    ],
)
def test_a_secret_must_be_whsec_and_24_to_64_bytes_of_base64(secret: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_secret(secret)
    assert refused.value.field == "secret"


def test_the_settings_make_the_workers_policy_and_refuse_a_cap_below_the_base() -> None:
    settings = Settings(
        webhook_max_attempts=3,
        webhook_backoff_base_seconds=2,
        webhook_backoff_cap_seconds=8,
        webhook_concurrency=4,
    )
    policy = settings.webhook_policy()
    assert policy.retry == RetryPolicy(3, timedelta(seconds=2), timedelta(seconds=8))
    assert (policy.concurrency, policy.batch, policy.lease) == (4, 50, timedelta(minutes=2))
    with pytest.raises(PydanticValidationError, match="INMAIL_WEBHOOK_BACKOFF_CAP_SECONDS"):
        Settings(webhook_backoff_base_seconds=100, webhook_backoff_cap_seconds=10)
