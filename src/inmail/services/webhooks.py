"""Webhooks: operators' endpoints, and the worker's signed, at-least-once deliveries.

Issue 12 §1; docs/webhooks.md (the receiver's view) and docs/rules.md "Webhooks".
Every event of the outbox (store/outbox.py) that an endpoint subscribed to is
POSTed to it as the JSON envelope of domain/events.envelope, signed per the
Standard Webhooks specification with the endpoint's secret (``webhook-id`` is
the event's id, the same on every retry and replay). The worker calls
:func:`deliver_due` each pass: dispatch (new events become deliveries), then
rounds of claim, send, record until nothing more may go now.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from math import floor
from typing import Any

import httpx2
from sqlalchemy import Connection
from standardwebhooks import Webhook

from inmail.clock import SystemClock
from inmail.domain.credits import new_id
from inmail.domain.cycles import require_utc
from inmail.domain.errors import NotFound
from inmail.domain.events import envelope
from inmail.domain.webhooks import (
    DELIVERY_ID_PREFIX,
    ENDPOINT_ID_PREFIX,
    DeliveryPolicy,
    DeliveryStatus,
    after_attempt,
    check_events,
    check_retry,
    check_secret,
    check_url,
    new_secret,
    wants,
)
from inmail.observe.metrics import record_webhook_failure
from inmail.services.context import Deps
from inmail.services.idempotency import keyed, keyed_write
from inmail.store import outbox
from inmail.store import webhooks as store
from inmail.store.webhooks import Attempt, Claimed, DeliveryRecord

logger = logging.getLogger("inmail.webhooks")

DISPATCH_PAGE = 500
"""Outbox events read per dispatch transaction of one endpoint."""

USER_AGENT = "inmail-webhooks/1"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An endpoint as the operator sees it: never its secret; ``pending`` and ``dead``
    count its deliveries in those states."""

    id: str
    url: str
    events: list[str]
    created_at: datetime
    pending: int = 0
    dead: int = 0


@dataclass(frozen=True, slots=True)
class CreatedEndpoint:
    """A new endpoint with its signing secret: the only answer that shows it."""

    id: str
    url: str
    events: list[str]
    created_at: datetime
    secret: str


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What :func:`deliver_due` did: deliveries created from new events, tries that were
    accepted, tries that failed and wait for a retry, deliveries that went dead."""

    dispatched: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(
            self.dispatched + other.dispatched,
            self.delivered + other.delivered,
            self.retrying + other.retrying,
            self.dead + other.dead,
        )

    @property
    def total(self) -> int:
        return self.dispatched + self.delivered + self.retrying + self.dead

    def __str__(self) -> str:
        return (
            f"webhooks: {self.dispatched} dispatched, {self.delivered} delivered, "
            f"{self.retrying} to retry, {self.dead} dead"
        )


# --- the operator's endpoints ---------------------------------------------------------------


def create_endpoint(
    deps: Deps,
    *,
    url: str,
    events: Sequence[str],
    secret: str | None,
    now: datetime,
    idempotency_key: str | None = None,
) -> CreatedEndpoint:
    """Register an endpoint for the events committed from now on (``events``: types, or
    ``["*"]``); without ``secret`` one is generated. Raises ValidationError naming ``url``,
    ``events`` or ``secret`` (domain/webhooks.py). A retry with the same
    ``idempotency_key`` answers the first creation."""
    require_utc(now)
    request = {"url": url, "events": list(events), "secret": secret}

    def effect(conn: Connection) -> CreatedEndpoint:
        record = store.EndpointRecord(
            new_id(ENDPOINT_ID_PREFIX),
            check_url(url),
            check_events(events),
            new_secret() if secret is None else check_secret(secret),
            now,
            store.outbox_head(conn),
        )
        store.insert_endpoint(conn, record)
        return CreatedEndpoint(
            record.id, record.url, list(record.events), record.created_at, record.secret
        )

    write = keyed(CreatedEndpoint, "operator:webhooks", idempotency_key, request)
    return keyed_write(deps, write, now=now, effect=effect)


def list_endpoints(deps: Deps) -> list[Endpoint]:
    """Every endpoint, oldest first, with its pending and dead deliveries counted."""
    with deps.db.read() as conn:
        found = store.list_endpoints(conn)
        counted = store.counts(conn)
    return [_endpoint(e, counted) for e in found]


def get_endpoint(deps: Deps, endpoint_id: str) -> Endpoint:
    """One endpoint (NotFound when there is none)."""
    with deps.db.read() as conn:
        found = store.get_endpoint(conn, endpoint_id)
        counted = store.counts(conn) if found is not None else {}
    if found is None:
        raise NotFound(f"there is no webhook endpoint {endpoint_id!r}")
    return _endpoint(found, counted)


def _endpoint(e: store.EndpointRecord, counted: dict[tuple[str, str], int]) -> Endpoint:
    pending = counted.get((e.id, DeliveryStatus.PENDING.value), 0)
    dead = counted.get((e.id, DeliveryStatus.DEAD.value), 0)
    return Endpoint(e.id, e.url, list(e.events), e.created_at, pending, dead)


def delete_endpoint(deps: Deps, endpoint_id: str) -> None:
    """Remove an endpoint and its deliveries: nothing more is sent to it (a try already on
    the wire may still arrive). Raises NotFound."""
    with deps.db.write() as conn:
        if not store.delete_endpoint(conn, endpoint_id):
            raise NotFound(f"there is no webhook endpoint {endpoint_id!r}")


def list_deliveries(
    deps: Deps,
    endpoint_id: str,
    *,
    status: DeliveryStatus | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[DeliveryRecord]:
    """An endpoint's deliveries, newest first (dead letters with ``status=dead``), before
    the delivery with seq ``before`` when given. Raises NotFound for no such endpoint."""
    with deps.db.read() as conn:
        if store.get_endpoint(conn, endpoint_id) is None:
            raise NotFound(f"there is no webhook endpoint {endpoint_id!r}")
        return store.list_deliveries(conn, endpoint_id, status=status, before=before, limit=limit)


def retry_delivery(
    deps: Deps, endpoint_id: str, delivery_id: str, *, now: datetime
) -> DeliveryRecord:
    """The operator's replay: a dead delivery, or a pending one waiting for its next try,
    becomes due at ``now`` with its attempts counted from zero. Raises NotFound, and
    WebhookDeliveryDelivered for one already delivered."""
    require_utc(now)
    with deps.db.write() as conn:
        found = store.get_delivery(conn, endpoint_id, delivery_id)
        if found is None:
            raise NotFound(f"there is no delivery {delivery_id!r} of endpoint {endpoint_id!r}")
        check_retry(found.status)
        store.retry_now(conn, found.seq, now)
        again = store.get_delivery(conn, endpoint_id, delivery_id)
    assert again is not None
    return again


# --- the worker's step ----------------------------------------------------------------------


def deliver_due(
    deps: Deps,
    *,
    clock: Callable[[], datetime],
    policy: DeliveryPolicy,
    should_stop: Callable[[], bool] = lambda: False,
    signed_at: Callable[[], datetime] | None = None,
    draw: Callable[[], float] = random.random,
) -> DeliveryReport:
    """Dispatch new events into deliveries, then send what may go, round after round, until
    a round finds nothing (or ``should_stop``). Each round reads ``clock`` once.

    ``signed_at`` gives the ``webhook-timestamp`` (the system clock by default, even under
    a test clock: receivers check it against their own clock); ``draw`` the backoff's
    jitter in [0, 1). Never raises for a receiver's failure: that is a failed try.
    """
    report = DeliveryReport(dispatched=dispatch(deps, now=clock()))
    stamp = signed_at or SystemClock().now
    timeout = httpx2.Timeout(
        policy.read_timeout_s, connect=policy.connect_timeout_s, pool=policy.connect_timeout_s
    )
    limits = httpx2.Limits(max_connections=policy.concurrency)
    with httpx2.Client(
        timeout=timeout, limits=limits, trust_env=False, follow_redirects=False
    ) as client:
        while not should_stop():
            now = clock()
            with deps.db.write() as conn:
                claimed = store.claim_due(conn, now, now + policy.lease, policy.batch)
            if not claimed:
                break
            report += _send_all(deps, client, claimed, policy, clock, stamp, draw, should_stop)
    return report


def dispatch(deps: Deps, *, now: datetime) -> int:
    """Turn the outbox's new events into pending deliveries, endpoint by endpoint; how many
    were created. An endpoint another worker is dispatching is skipped (PostgreSQL)."""
    with deps.db.read() as conn:
        ids = [e.id for e in store.list_endpoints(conn)]
    return sum(_dispatch_one(deps, endpoint_id, now) for endpoint_id in ids)


def _dispatch_one(deps: Deps, endpoint_id: str, now: datetime) -> int:
    # A look first, in a read transaction: an endpoint with nothing new costs SQLite's
    # write lock nothing (most passes find nothing new).
    with deps.db.read() as conn:
        endpoint = store.get_endpoint(conn, endpoint_id)
        if endpoint is None or not outbox.read_after(conn, endpoint.cursor, 1):
            return 0
    created = 0
    while True:
        with deps.db.write() as conn:
            endpoint = store.lock_endpoint(conn, endpoint_id)
            if endpoint is None:
                return created
            events = outbox.read_after(conn, endpoint.cursor, DISPATCH_PAGE)
            if not events:
                return created
            rows = [
                {
                    "id": new_id(DELIVERY_ID_PREFIX),
                    "endpoint_id": endpoint_id,
                    "event_id": e.id,
                    "event_type": e.type,
                    "member_key": e.member_id or "",
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for e in events
                if wants(endpoint.events, e.type)
            ]
            store.insert_deliveries(conn, rows)
            store.set_cursor(conn, endpoint_id, events[-1].position)
        created += len(rows)
        if len(events) < DISPATCH_PAGE:
            return created


def _send_all(
    deps: Deps,
    client: httpx2.Client,
    claimed: list[Claimed],
    policy: DeliveryPolicy,
    clock: Callable[[], datetime],
    stamp: Callable[[], datetime],
    draw: Callable[[], float],
    should_stop: Callable[[], bool],
) -> DeliveryReport:
    """Send the claimed deliveries, ``policy.concurrency`` at a time (a claim holds at most
    one per endpoint and member, so they may go in any order), then record every result in
    one transaction. A worker killed before that leaves them leased: they are sent again,
    with the same ids, once the lease runs out."""

    def attempt(delivery: Claimed) -> Attempt | None:
        if should_stop():
            return None  # given back below, not counted as a try
        code, error = _send(client, delivery, stamp())
        at = clock()
        outcome = after_attempt(
            attempts=delivery.attempts,
            status_code=code,
            error=error,
            now=at,
            policy=policy.retry,
            draw=draw(),
        )
        return Attempt(delivery.seq, at, code, outcome)

    with ThreadPoolExecutor(max_workers=policy.concurrency) as pool:
        results = list(pool.map(attempt, claimed))
    done = [a for a in results if a is not None]
    untried = [d.seq for d, a in zip(claimed, results, strict=True) if a is None]
    with deps.db.write() as conn:
        store.record(conn, done)
        store.release(conn, untried)
    statuses = [a.outcome.status for a in done]
    for status in statuses:  # after the commit: each failed try counted once
        if status is not DeliveryStatus.DELIVERED:
            record_webhook_failure(dead_lettered=status is DeliveryStatus.DEAD)
    return DeliveryReport(
        delivered=statuses.count(DeliveryStatus.DELIVERED),
        retrying=statuses.count(DeliveryStatus.PENDING),
        dead=statuses.count(DeliveryStatus.DEAD),
    )


def _send(
    client: httpx2.Client, delivery: Claimed, signed_at: datetime
) -> tuple[int | None, str | None]:
    """POST one delivery: (the answer's status code, None), or (None, what went wrong)."""
    if delivery.payload is None or delivery.event_at is None:
        return None, "the event is no longer in the outbox"
    body = signed_body(delivery)
    try:
        answer = client.post(delivery.url, content=body, headers=headers(delivery, body, signed_at))
    except httpx2.HTTPError as failed:
        logger.info("webhook %s to %s failed: %r", delivery.id, delivery.url, failed)
        return None, f"{type(failed).__name__}: {failed}" if str(failed) else type(failed).__name__
    return answer.status_code, None


def signed_body(delivery: Claimed) -> str:
    """The JSON text that is sent and signed: the event's envelope, compact."""
    assert delivery.payload is not None
    assert delivery.event_at is not None
    data: Any = json.loads(delivery.payload)
    item = envelope(
        delivery.event_id, delivery.event_type, delivery.member_id, delivery.event_at, data
    )
    return json.dumps(item, separators=(",", ":"), sort_keys=True)


def headers(delivery: Claimed, body: str, signed_at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for ``body`` signed at ``signed_at`` (whole seconds)."""
    moment = signed_at.replace(microsecond=0)
    signature = Webhook(delivery.secret).sign(delivery.event_id, moment, body)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(floor(moment.timestamp())),
        "webhook-signature": signature,
    }
