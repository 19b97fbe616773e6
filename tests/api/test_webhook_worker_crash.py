"""`kill -9` of `inmail worker` mid-batch of webhooks: no event lost, order per member kept.

Per engine: an endpoint at a real receiver (slow enough that the worker is
always mid-batch), 200 events of 8 members in the outbox, and a real
``inmail worker`` process on the system clock with a 2-second lease. Twice,
when a share of the events has been accepted, the worker's process group is
SIGKILLed (it holds claimed deliveries it sent but did not record). A new
worker then takes over once the lease runs out. In the end every event was
accepted, each request's signature verifies and its webhook-id is its event's
id (so a duplicate carries the same id), every member's events were first
accepted in order, and every delivery is recorded as delivered.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from inmail.bootstrap import build
from inmail.config import Settings
from inmail.domain.events import Event
from inmail.services import webhooks
from inmail.store import outbox
from tests import processes
from tests.api.served import inmail_script, migrate, own_postgres_database, server_env
from tests.conftest import T0
from tests.webhook_receiver import Receiver, serving

MEMBERS = 8
PER_MEMBER = 25  # 200 events
KILL_AT = (0.25, 0.6)  # shares of the events accepted when the worker is killed
WAIT_S = 120.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'worker.db'}"
        return
    with own_postgres_database(request.getfixturevalue("postgres_url")) as url:
        yield url


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [inmail_script(), "worker", "--interval", "0.05"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the kill reaches all of it
        )


def _wait_for(
    condition: Callable[[], bool], worker: subprocess.Popen[bytes], log: Path, what: str
) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert worker.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{what}:\n{log.read_text()}"
        time.sleep(0.01)


def test_kill_9_of_the_worker_mid_batch_loses_no_webhook_and_keeps_member_order(
    database_url: str, tmp_path: Path
) -> None:
    env = server_env(database_url) | {
        "INMAIL_WEBHOOK_LEASE_SECONDS": "2",
        "INMAIL_WEBHOOK_BATCH_SIZE": "10",
        "INMAIL_WEBHOOK_BACKOFF_BASE_SECONDS": "0.1",
        "INMAIL_WEBHOOK_BACKOFF_CAP_SECONDS": "1",
    }
    migrate(env)
    rt = build(Settings(database_url=database_url))
    log = tmp_path / "worker.log"
    receiver = Receiver()
    receiver.delay_s = 0.01
    try:
        with serving(receiver):
            endpoint = webhooks.create_endpoint(
                rt.deps, url=receiver.url, events=["*"], secret=None, now=rt.clock.now()
            )
            receiver.secret = endpoint.secret
            events = [
                Event("charge.created", f"m_{m}", T0, {"n": n})
                for n in range(PER_MEMBER)
                for m in range(MEMBERS)
            ]
            with rt.deps.db.write() as conn:
                outbox.append(conn, events)
            total = len(events)

            def accepted_ids() -> set[str]:
                return {r.headers["webhook-id"] for r in receiver.accepted()}

            for share in KILL_AT:
                worker = _start_worker(env, log)

                def enough(s: float = share) -> bool:
                    return len(accepted_ids()) >= total * s

                _wait_for(
                    enough,
                    worker,
                    log,
                    f"fewer than {share:.0%} accepted",
                )
                processes.kill_group(worker)
                assert len(accepted_ids()) < total, "the worker was done before the kill"

            worker = _start_worker(env, log)
            _wait_for(
                lambda: (
                    webhooks.get_endpoint(rt.deps, endpoint.id).pending == 0
                    and len(webhooks.list_deliveries(rt.deps, endpoint.id, limit=total)) == total
                ),
                worker,
                log,
                "not every delivery was made",
            )
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 0, log.read_text()
        got = receiver.accepted()
    finally:
        rt.close()

    assert accepted_ids() == {e.id for e in events}  # nothing lost
    assert all(r.verified for r in got)
    assert all(r.headers["webhook-id"] == r.event["id"] for r in got)  # duplicates: same id
    first: dict[str, list[int]] = {}
    seen: set[str] = set()
    for r in got:
        if r.event["id"] not in seen:
            seen.add(r.event["id"])
            first.setdefault(r.event["member_id"], []).append(r.event["data"]["n"])
    assert first == {f"m_{m}": list(range(PER_MEMBER)) for m in range(MEMBERS)}
    duplicates = sum(c - 1 for c in Counter(r.event["id"] for r in got).values())
    assert duplicates <= 2 * 10, "only what the killed workers had claimed is sent again"
