"""Webhook endpoints and deliveries: what is accepted, when to try again, what a result means.

Pure: no I/O, no clock (``now`` is passed in), no randomness of its own (the
jitter's draw is passed in). The service (services/webhooks.py) stores and sends;
docs/rules.md "Webhooks" and docs/webhooks.md say the same rules in words.

A delivery is one event for one endpoint. Its life::

    pending --2xx--> delivered
    pending --other answer, timeout, refused--> pending (next try after a backoff)
                                           \\--> dead  (the attempt cap reached)
    dead|pending --operator's retry--> pending (due now, attempts from zero)
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from inmail.domain.errors import ValidationError, WebhookDeliveryDelivered
from inmail.domain.events import EVENT_TYPES

ENDPOINT_ID_PREFIX = "whk"
DELIVERY_ID_PREFIX = "dlv"

URL_MAX = 2000
URL_PATTERN = r"^https?://\S+$"  # what the API publishes; check_url says the rest
ALL_EVENTS = "*"
EVENTS_MAX = 50

SECRET_PREFIX = "whsec_"
SECRET_MIN_BYTES = 24  # the Standard Webhooks specification: 24 to 64 random bytes
SECRET_MAX_BYTES = 64
SECRET_PATTERN = r"^whsec_[A-Za-z0-9+/]+={0,2}$"
_SECRET = re.compile(SECRET_PATTERN)

ERROR_MAX = 500  # the characters of a failure kept on the delivery


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long a delivery is tried (settings ``INMAIL_WEBHOOK_*``).

    ``max_attempts`` tries in all; before try n+1 a wait drawn uniformly from
    ``[0, min(cap, base * 2**(n-1))]`` ("full jitter"), so receivers coming back
    after an outage are not hit by every sender at the same moment.
    """

    max_attempts: int = 10
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_cap: timedelta = timedelta(hours=6)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("a webhook delivery needs at least one attempt")
        if self.backoff_base <= timedelta(0) or self.backoff_cap < self.backoff_base:
            raise ValueError("the backoff base must be positive and at most the cap")

    def window(self, attempts: int) -> timedelta:
        """The longest wait after the ``attempts``-th failed try (the jitter's range)."""
        doublings = min(attempts - 1, 40)  # 2**40 bases exceed any cap: no overflow
        doubled: timedelta = self.backoff_base * (1 << doublings)
        return min(self.backoff_cap, doubled)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How the worker sends (settings ``INMAIL_WEBHOOK_*``): the retry policy, the HTTP
    timeouts in seconds, how many deliveries one claim takes, how long a claim holds them
    (a worker killed mid-batch gives them back when it runs out), and how many of a batch
    are on the wire at once (each is the only one of its member and endpoint in flight)."""

    retry: RetryPolicy = RetryPolicy()
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 10.0
    batch: int = 50
    lease: timedelta = timedelta(minutes=2)
    concurrency: int = 8


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an attempt's result makes of a delivery: its status and, if pending, its next try
    (UTC); ``error`` is the failure kept for the operator (None on success)."""

    status: DeliveryStatus
    next_attempt_at: datetime | None
    error: str | None


def after_attempt(
    *,
    attempts: int,
    status_code: int | None,
    error: str | None,
    now: datetime,
    policy: RetryPolicy,
    draw: float,
) -> Outcome:
    """The delivery after its ``attempts``-th try ended at ``now``.

    A 2xx answer delivers it. Any other answer (``status_code``), or no answer
    (``error``: refused, timed out), fails the try: the delivery waits
    ``draw`` (in [0, 1)) of the backoff window, or is dead once ``attempts``
    reaches the policy's cap.
    """
    if status_code is not None and 200 <= status_code < 300:
        return Outcome(DeliveryStatus.DELIVERED, None, None)
    failure = error if error is not None else f"the receiver answered {status_code}"
    failure = failure[:ERROR_MAX]
    if attempts >= policy.max_attempts:
        return Outcome(DeliveryStatus.DEAD, None, failure)
    wait = policy.window(attempts) * min(max(draw, 0.0), 1.0)
    return Outcome(DeliveryStatus.PENDING, now + wait, failure)


def check_retry(status: DeliveryStatus) -> None:
    """A delivery the operator may send again now: dead or pending (WebhookDeliveryDelivered
    for one the receiver already accepted)."""
    if status is DeliveryStatus.DELIVERED:
        raise WebhookDeliveryDelivered("this delivery was delivered; there is nothing to retry")


def first_of_each_group(
    pending: Sequence[tuple[str, str | None, int]],
) -> list[int]:
    """The ordering rule, on (endpoint id, member id, delivery seq) triples of pending
    deliveries: only the oldest of each (endpoint, member) may be sent, so a member's later
    event never reaches an endpoint before an earlier one. Returns the seqs that may go.
    (The store applies the same rule in SQL; this is its statement and its test.)"""
    first: dict[tuple[str, str | None], int] = {}
    for endpoint_id, member_id, seq in pending:
        key = (endpoint_id, member_id)
        if key not in first or seq < first[key]:
            first[key] = seq
    return sorted(first.values())


def check_url(url: str) -> str:
    """An endpoint's address: http or https, a host, no user or password, at most
    :data:`URL_MAX` characters (ValidationError on ``url`` otherwise)."""
    if len(url) > URL_MAX:
        raise ValidationError(f"url: at most {URL_MAX} characters", field="url")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        raise ValidationError("url: no spaces or control characters", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a port out of range or not a number
    except ValueError:
        raise ValidationError("url: not a valid address", field="url") from None
    if parts.scheme not in ("http", "https"):
        raise ValidationError("url: must start with http:// or https://", field="url")
    if not parts.hostname:
        raise ValidationError("url: names no host", field="url")
    if parts.username is not None or parts.password is not None:
        raise ValidationError("url: must not carry a user or password", field="url")
    if parts.fragment:
        raise ValidationError("url: must not have a #fragment", field="url")
    del port
    return url


def check_events(events: Sequence[str]) -> tuple[str, ...]:
    """The event types an endpoint gets: ``["*"]`` for all, or up to :data:`EVENTS_MAX`
    of the types in docs/events.md (:data:`inmail.domain.events.EVENT_TYPES`), duplicates
    dropped, order kept. ValidationError on ``events`` for an empty list, ``*`` beside
    types, or a type that no event has: an endpoint subscribed to a misspelt type would
    wait for events that never come, with nothing to say why."""
    if not events:
        raise ValidationError('events: list at least one type, or "*" for all', field="events")
    if ALL_EVENTS in events:
        if len(set(events)) > 1:
            raise ValidationError('events: "*" already means every type', field="events")
        return (ALL_EVENTS,)
    if len(events) > EVENTS_MAX:
        raise ValidationError(f"events: at most {EVENTS_MAX} types", field="events")
    for event_type in events:
        if event_type not in EVENT_TYPES:
            raise ValidationError(
                f"events: {event_type[:80]!r} is not an event type; the types are "
                + ", ".join(EVENT_TYPES),
                field="events",
            )
    return tuple(dict.fromkeys(events))


def wants(events: Sequence[str], event_type: str) -> bool:
    """Whether an endpoint subscribed to ``events`` gets an event of ``event_type``."""
    return ALL_EVENTS in events or event_type in events


def check_secret(secret: str) -> str:
    """A signing secret the operator chose: ``whsec_`` and the base64 of 24 to 64 bytes
    (ValidationError on ``secret`` otherwise)."""
    if len(secret) > 200 or not _SECRET.match(secret):
        raise ValidationError("secret: must be whsec_ followed by base64", field="secret")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("secret: must be whsec_ followed by base64", field="secret") from None
    if not SECRET_MIN_BYTES <= len(key) <= SECRET_MAX_BYTES:
        raise ValidationError(
            f"secret: must encode {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} bytes", field="secret"
        )
    return secret


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
