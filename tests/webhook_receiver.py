"""A real webhook receiver for the tests: an HTTP server on 127.0.0.1 in a thread.

It records every request it gets (headers, body, whether the Standard Webhooks
signature verified with the endpoint's secret), and answers as told: once it has the
secret, a request that does not verify gets 401; ``fail_next`` requests get 500 first,
then every one gets ``status`` (200).
``delay_s`` slows each answer, so a worker can be caught mid-batch.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from inmail.domain.events import Event
from inmail.services import webhooks
from inmail.services.context import Deps
from inmail.store import outbox

DISPATCH_TRIES = 600  # 30 s at most


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: str
    verified: bool
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class Receiver:
    """What the server got and how it answers; thread-safe."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.status = 200
        self.fail_next = 0
        self.delay_s = 0.0
        self.port = 0
        self._lock = threading.Lock()
        self._got: list[Received] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    @property
    def got(self) -> list[Received]:
        with self._lock:
            return list(self._got)

    def accepted(self) -> list[Received]:
        """The requests answered with a 2xx, in the order they arrived."""
        return [r for r in self.got if 200 <= r.answered < 300]

    def _answer(self, headers: dict[str, str], body: str) -> int:
        verified = False
        if self.secret is not None:
            try:
                Webhook(self.secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
        with self._lock:
            if self.secret is not None and not verified:
                # As a real receiver does (docs/webhooks.md): a request that does not verify
                # (a body cut short by a sender killed mid-request) is refused, not accepted.
                answered = 401
            elif self.fail_next > 0:
                self.fail_next -= 1
                answered = 500
            else:
                answered = self.status
            self._got.append(Received(headers, body, verified, answered))
        return answered


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length).decode()
            if receiver.delay_s:
                time.sleep(receiver.delay_s)
            status = receiver._answer({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the tests assert on what was received

    return Handler


@contextmanager
def serving(receiver: Receiver, port: int = 0) -> Iterator[Receiver]:
    """The receiver listening (on ``port``, or a free one) until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(receiver))
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def append_and_dispatch(deps: Deps, events: list[Event], *, now: datetime) -> list[Event]:
    """Write the events, then dispatch until every endpoint has its deliveries of them.

    On PostgreSQL the outbox shows an event only once every transaction older than it has
    ended, anywhere on the server (store/outbox.py); other test runs may hold one open for
    a moment, so dispatching is repeated (a worker does it every pass) until they are in.
    """
    with deps.db.write() as conn:
        outbox.append(conn, events)
    ids = {e.id for e in events}
    for _ in range(DISPATCH_TRIES):
        webhooks.dispatch(deps, now=now)
        with deps.db.read() as conn:
            if ids <= {e.id for e in outbox.read_after(conn, None, 100_000)}:
                webhooks.dispatch(deps, now=now)
                return events
        time.sleep(0.05)
    pytest.fail("the events never became visible in the outbox")
