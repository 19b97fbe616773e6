"""Where a send's CPU goes, layer by layer (issue 13): ``python -m benchmarks.profile_send``.

Not a ratio benchmark: CPU time (``time.process_time``) per operation of nested layers,
each measured on its own in one process on a SQLite file (WAL, ``synchronous=FULL``):

- ``asgi_send``: ``POST /v1/inmails`` through the whole app in process (no sockets), as
  ``inmail serve`` runs it: middleware, routing, auth, validation, the thread-pool hop,
  the service, the response;
- ``asgi_healthz``: ``GET /healthz`` the same way (the floor of any request);
- ``service_send``: ``send_inmail`` called directly (rules, SQL, commit);
- ``validation``: ``InmailIn`` from the JSON body and ``InmailSentOut`` to JSON;
- ``sql_wall_ms`` and ``commit_wall_ms``: inside ``service_send``, the wall time of the
  driver's ``execute`` and ``commit`` (fsync included)
  (cProfile, this thread only); ``statements_per_send`` and ``transactions_per_send``
  from SQLite's trace callback.

So HTTP = asgi_send - service_send - validation; service = service_send - sql - commit.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import pstats
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from benchmarks.fixtures import many_plain_members, open_deps, prepare
from inmail.api.schemas import InmailIn, InmailSentOut
from inmail.services.auth import issue_token
from inmail.services.inmail import send_inmail

SENDS = 400
BODY = {"subject": "A role you might like", "body": "Hello! Are you open to a chat?"}


def _cpu_ms(op: Callable[[], object], n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        op()
    return (time.process_time() - start) * 1000 / n


async def _asgi(app: Any, method: str, path: str, token: str, body: bytes) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def main() -> None:
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "profile.db"
        url = f"sqlite:///{path}"
        senders = prepare(url, 3, now=now)
        recipients = iter(many_plain_members(path, 4 * SENDS + 10, now=now))
        deps = open_deps(url)
        token = issue_token(deps, member_id=senders[2], now=now)
        out: dict[str, Any] = {}

        def service() -> object:
            to = next(recipients)
            return send_inmail(
                deps,
                sender_id=senders[0],
                to=to,
                subject=BODY["subject"],
                body=BODY["body"],
                now=now,
            )

        service()
        out["service_send_cpu_ms"] = _cpu_ms(service, SENDS)
        seen: list[str] = []

        @event.listens_for(deps.db.engine, "connect")
        def _trace(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.set_trace_callback(seen.append)

        deps.db.dispose()  # every connection anew, the fast path's kept one too
        service()
        seen.clear()
        service()
        out["statements_per_send"] = len(seen)
        out["transactions_per_send"] = sum(1 for s in seen if s.startswith("BEGIN"))
        event.remove(deps.db.engine, "connect", _trace)
        deps.db.dispose()  # every connection anew, the fast path's kept one too
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(SENDS // 2):
            service()
        profile.disable()
        stats = pstats.Stats(profile)
        per = 1000 / (SENDS // 2)
        for (_, _, name), (_, _, _, cum, _) in stats.stats.items():  # type: ignore[attr-defined]
            if "sqlite3.Cursor" in name and "execute" in name:
                out["sql_wall_ms"] = out.get("sql_wall_ms", 0) + cum * per
            if "sqlite3.Connection" in name and "commit" in name:
                out["commit_wall_ms"] = out.get("commit_wall_ms", 0) + cum * per

        raw = json.dumps({"to": "x", **BODY})
        answer = InmailSentOut(
            id="msg", thread_id="th", cost_credits=1, overage_charge=None, balance_after=3
        )
        out["validation_cpu_ms"] = _cpu_ms(
            lambda: (InmailIn.model_validate_json(raw), answer.model_dump_json()), 2000
        )

        os.environ.update(INMAIL_DATABASE_URL=url, INMAIL_ADMIN_TOKEN="x" * 32)
        from inmail.api.app import create_app_from_env

        app = create_app_from_env()
        loop = asyncio.new_event_loop()

        def post() -> None:
            body = json.dumps({"to": next(recipients), **BODY}).encode()
            assert loop.run_until_complete(_asgi(app, "POST", "/v1/inmails", token, body)) == 201

        def healthz() -> None:
            assert loop.run_until_complete(_asgi(app, "GET", "/healthz", token, b"")) == 200

        post()
        healthz()
        out["asgi_send_cpu_ms"] = _cpu_ms(post, SENDS)
        out["asgi_healthz_cpu_ms"] = _cpu_ms(healthz, SENDS * 4)
        loop.close()
        deps.db.dispose()
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}))


if __name__ == "__main__":
    main()
