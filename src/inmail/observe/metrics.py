"""The process's metrics (prometheus-client) and the one function that records each.

Counters and histograms live in :data:`REGISTRY`, this module's own (the library's
global one stays empty, so tests that build many apps share one set of series).
Under ``inmail serve --workers N`` each worker process writes its values to files in
the multiprocess directory (``PROMETHEUS_MULTIPROC_DIR``, which the library reads
when it is first imported) and a scrape adds up every process's files
(observe/scrape.py). docs/operations.md lists every metric: name, type, labels, meaning.

Business counters are recorded after their transaction committed, never inside it:
a send that rolled back counts nowhere.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from sqlalchemy import Engine, event

from inmail.domain.money import Money

REGISTRY = CollectorRegistry(auto_describe=True)

# Read where the library reads it, at import: the values are files exactly when this is set.
# Not a Setting: ``inmail serve`` sets it for its worker processes before they start.
MULTIPROCESS_DIR: str | None = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None

UNMATCHED_ROUTE = "unmatched"
"""The route label of a request no route matched (any unknown path: one series for all)."""

# From a cached read (~1 ms) to a slow bulk send (~10 s).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "inmail_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ("method", "route", "status"),
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "inmail_http_request_duration_seconds",
    "Time from a request's arrival to its response's last byte, in seconds.",
    ("method", "route", "status"),
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
SENDS = Counter(
    "inmail_sends",
    "Messages sent (committed), by channel: inmail, open_profile, message, conversation, "
    "group_message, reply.",
    ("channel",),
    registry=REGISTRY,
)
CREDITS_SPENT = Counter(
    "inmail_credits_spent",
    "Credits spent on sends (committed), by channel.",
    ("channel",),
    registry=REGISTRY,
)
OVERAGE_CHARGES = Counter(
    "inmail_overage_charges",
    "Overage packs billed because a send ran out of credits (committed), by currency.",
    ("currency",),
    registry=REGISTRY,
)
OVERAGE_MINOR = Counter(
    "inmail_overage_charged_minor",
    "What those overage packs billed, in minor units of the currency (cents), by currency.",
    ("currency",),
    registry=REGISTRY,
)
REFUSALS = Counter(
    "inmail_refusals",
    "problem+json answers, by their problem code (insufficient-credits, validation-error, ...).",
    ("code",),
    registry=REGISTRY,
)
WEBHOOK_FAILURES = Counter(
    "inmail_webhook_failures",
    "Webhook delivery attempts that failed, by outcome: retrying (another attempt is "
    "scheduled) or dead_lettered (no attempt is left).",
    ("outcome",),
    registry=REGISTRY,
)
# livesum: the processes alive now, added up (a stopped worker's files are removed).
POOL_CHECKED_OUT = Gauge(
    "inmail_db_pool_checked_out",
    "Database connections checked out of the app processes' pools now.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "inmail_db_pool_size",
    "Connections the app processes' pools keep open (pool_size), added up over processes.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)


def record_request(method: str, route: str, status: int, seconds: float) -> None:
    """One answered HTTP request: ``route`` is its path template, ``seconds`` its duration."""
    labels = (method, route, str(status))
    HTTP_REQUESTS.labels(*labels).inc()
    HTTP_LATENCY.labels(*labels).observe(seconds)


def record_send(channel: str, credits: int = 0) -> None:
    """A committed send on ``channel`` (domain.messaging.Channel's values, or ``reply``)
    that cost ``credits`` (0 for a free one)."""
    SENDS.labels(channel).inc()
    if credits:
        CREDITS_SPENT.labels(channel).inc(credits)


def record_overage(charge: Money) -> None:
    """A committed overage purchase (SPEC §3), billed ``charge``."""
    OVERAGE_CHARGES.labels(charge.currency).inc()
    OVERAGE_MINOR.labels(charge.currency).inc(charge.amount_minor)


def record_refusal(code: str) -> None:
    """A problem+json answer with ``code`` (api/errors.py calls this for every one)."""
    REFUSALS.labels(code).inc()


def record_webhook_failure(*, dead_lettered: bool) -> None:
    """A failed webhook delivery attempt; ``dead_lettered`` when it was the last one allowed.

    For the webhook dispatcher to call after it recorded the failed attempt.
    """
    WEBHOOK_FAILURES.labels("dead_lettered" if dead_lettered else "retrying").inc()


def watch_pool(engine: Engine) -> None:
    """Keep the pool gauges current from ``engine``'s checkouts and checkins (an app's)."""
    size = getattr(engine.pool, "size", None)
    if callable(size):
        POOL_SIZE.inc(size())

    @event.listens_for(engine, "checkout")
    def _out(*_: object) -> None:
        POOL_CHECKED_OUT.inc()

    @event.listens_for(engine, "checkin")
    def _in(*_: object) -> None:
        POOL_CHECKED_OUT.dec()


def unwatch_pool(engine: Engine) -> None:
    """The app closes: its pool no longer counts (a worker process's gauge files go)."""
    size = getattr(engine.pool, "size", None)
    if callable(size):
        POOL_SIZE.dec(size())
    if MULTIPROCESS_DIR is not None:
        multiprocess.mark_process_dead(os.getpid(), MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
