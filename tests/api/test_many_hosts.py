"""Three app hosts in network namespaces, one PostgreSQL behind pgbouncer, one host killed mid-load.

Issue 12 §4 and docs/deploy.md ("The topology"). The test builds, on this
machine and with Debian's iproute2, a private network like a small production
one:

- a bridge on the host side with ``10.231.N.1/24`` (N picked free at random),
  where a private pgbouncer listens and forwards to PostgreSQL on 127.0.0.1;
- ``HOSTS`` network namespaces, each joined to the bridge by a veth pair with
  its own address, each running ``inmail serve --workers WORKERS`` (the
  production command) on its own address, reaching the database only through
  pgbouncer.

The test process plays the load balancer: ``THREADS`` threads send InMails
with ``Idempotency-Key`` from a few senders on a small plan to many recipients,
spread over every host, so the same accounts are charged from all hosts at
once and run out of credits while doing so. When a share of the sends is
acknowledged, one host's whole process group is SIGKILLed; a request that gets
no answer is sent again, with its key, to the next host still up (as a reverse
proxy retrying an idempotent request would). Then:

- no balance is below zero and a sender refused for credits really had none
  left (SPEC §3);
- every acknowledged (201) InMail is stored with exactly one spend, and every
  key was charged exactly once: a sender's spends are exactly their keys that
  finally answered 201 (SPEC §4);
- an acknowledged key sent again to another host answers its first body;
- ``inmail audit`` is clean.

It needs root (namespaces, links) plus ``ip`` and ``pgbouncer`` (``make
netns-tools``). Without them it is skipped with the reason outside CI, and
fails under CI=true. Everything it makes has a unique name and is removed by
fixture finalizers, whatever the outcome: processes, namespaces, links.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests import processes
from tests.api.served import (
    ADMIN_TOKEN,
    START_TIMEOUT_S,
    STOP_TIMEOUT_S,
    inmail_script,
    migrate,
    own_postgres_database,
    server_env,
)
from tests.conftest import IN_CI, PG_ADMIN_URL

pytestmark = pytest.mark.postgres

HOSTS = 3
WORKERS = 2  # per host: `inmail serve --workers 2`, as docs/deploy.md's unit runs it
POOL_SIZE = 3  # INMAIL_POOL_SIZE per process: 3 hosts x 2 workers x (3 + 3 overflow) <= 36
APP_PORT = 8000  # every host its own address, so each can use the same port
BOUNCER_PORT = 6432
# Transaction pooling, as production runs it: the hosts set INMAIL_PGBOUNCER=true, so
# nothing relies on session state (docs/rules.md, "PostgreSQL behind pgbouncer").
POOL_MODE = "transaction"
SENDERS = 4
RECIPIENTS = 32  # SENDERS x RECIPIENTS sends; more than a sender's credits, so they run out
SENDER_PLAN = "premium_business"  # 25 credits a cycle; automatic overage turned off
THREADS = 12
KILL_AFTER_SHARE = 0.3  # of the sends acknowledged before the killed host goes down
KILLED = 0  # which host is killed
ATTEMPTS = 2 * HOSTS  # per send: a reset or a 503 `busy` moves it on to the next host
REQUEST_TIMEOUT_S = 15.0
LOAD_TIMEOUT_S = 60.0
COMMAND_TIMEOUT_S = 10.0
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SUBNET_PREFIX = "10.231"
PGBOUNCER = "/usr/sbin/pgbouncer"


def _missing_tools() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "no `ip` (Debian's iproute2; `make netns-tools` installs it)"
    if not Path(PGBOUNCER).exists():
        return f"no {PGBOUNCER} (Debian's pgbouncer; `make netns-tools` installs it)"
    return None


@pytest.fixture(scope="module", autouse=True)
def _tools() -> None:
    problem = _missing_tools()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"CI=true needs the many-hosts test to run: {problem}")
        pytest.skip(f"many-hosts test skipped: {problem}")


def _run(*command: str) -> None:
    done = subprocess.run(
        list(command), capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
    )
    assert done.returncode == 0, f"{' '.join(command)}: {done.stderr}"


def _quiet(*command: str) -> None:
    """A cleanup step: it may find its object already gone."""
    with suppress(subprocess.TimeoutExpired):
        subprocess.run(list(command), capture_output=True, timeout=COMMAND_TIMEOUT_S, check=False)


def _free_subnet() -> str:
    """``10.231.N`` with N in use by no address of this machine's root namespace."""
    shown = subprocess.run(
        ["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=True
    ).stdout
    free = [n for n in range(1, 255) if f" {SUBNET_PREFIX}.{n}." not in shown]
    assert free, f"no free {SUBNET_PREFIX}.N.0/24 subnet"
    return f"{SUBNET_PREFIX}.{random.choice(free)}"


@dataclass(frozen=True)
class Network:
    """The bridge's address (where pgbouncer listens) and each namespace's name and address."""

    gateway: str
    namespaces: list[tuple[str, str]]


@pytest.fixture
def network() -> Iterator[Network]:
    """A bridge and ``HOSTS`` namespaces on it; removed, with anything running in them, after."""
    tag = uuid.uuid4().hex[:6]
    subnet = _free_subnet()
    bridge = f"imb{tag}"
    names = [f"inmail-{tag}-{i}" for i in range(HOSTS)]
    try:
        _run("ip", "link", "add", bridge, "type", "bridge")
        _run("ip", "addr", "add", f"{subnet}.1/24", "dev", bridge)
        _run("ip", "link", "set", bridge, "up")
        hosts = []
        for i, ns in enumerate(names):
            outside, inside, address = f"imh{tag}{i}", f"imn{tag}{i}", f"{subnet}.{10 + i}"
            _run("ip", "netns", "add", ns)
            _run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside, "netns", ns)
            _run("ip", "link", "set", outside, "master", bridge)
            _run("ip", "link", "set", outside, "up")
            _run("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", inside)
            _run("ip", "-n", ns, "link", "set", inside, "up")
            _run("ip", "-n", ns, "link", "set", "lo", "up")
            hosts.append((ns, address))
        yield Network(f"{subnet}.1", hosts)
    finally:
        for ns in names:
            _kill_everything_in(ns)
            _quiet("ip", "netns", "del", ns)  # takes its veth pair with it
        _quiet("ip", "link", "del", bridge)


def _kill_everything_in(ns: str) -> None:
    """SIGKILL what still runs in a namespace of ours (only this test starts anything there)."""
    with suppress(subprocess.TimeoutExpired):
        pids = subprocess.run(
            ["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S
        ).stdout.split()
        for pid in pids:
            with suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)


def _wait_for_port(host: str, port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"exited with {proc.returncode}:\n{log.read_text()}")
        with suppress(OSError), socket.create_connection((host, port), timeout=1.0):
            return
        time.sleep(0.05)
    pytest.fail(f"nothing listens on {host}:{port} after {START_TIMEOUT_S:g} s:\n{log.read_text()}")


@pytest.fixture
def bouncer(network: Network) -> Iterator[tuple[str, int]]:
    """A private pgbouncer on the bridge's address, forwarding every database to the test server.

    The server is the one of ``INMAIL_TEST_PG_ADMIN_URL`` (127.0.0.1:5432 by default).

    Its files live in a directory of its own that the ``postgres`` user (which
    pgbouncer switches to: it will not run as root) can read.
    """
    server = make_url(PG_ADMIN_URL)
    home = Path(tempfile.mkdtemp(prefix="inmail-pgbouncer-"))
    home.chmod(0o755)
    (home / "users.txt").write_text(f'"{server.username or "postgres"}" ""\n')  # trust
    config = home / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={server.host} port={server.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = {network.gateway}\n"
        f"listen_port = {BOUNCER_PORT}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {home / 'users.txt'}\n"
        f"pool_mode = {POOL_MODE}\n"
        "max_client_conn = 200\n"
        "default_pool_size = 40\n"
        "ignore_startup_parameters = extra_float_digits\n"
        "user = postgres\n"
    )
    for path in home.iterdir():
        path.chmod(0o644)
    log = home / "pgbouncer.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [PGBOUNCER, str(config)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_port(network.gateway, BOUNCER_PORT, proc, log)
        yield network.gateway, BOUNCER_PORT
    finally:
        processes.stop(proc, STOP_TIMEOUT_S)
        shutil.rmtree(home, ignore_errors=True)


@dataclass
class Host:
    """``inmail serve`` in one namespace; ``kill`` SIGKILLs its whole process group."""

    name: str
    base_url: str
    log: Path
    proc: subprocess.Popen[bytes]

    def kill(self) -> None:
        processes.kill_group(self.proc, STOP_TIMEOUT_S)

    def client(self) -> httpx2.Client:
        return httpx2.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT_S, trust_env=False)


@dataclass(frozen=True)
class Cluster:
    hosts: list[Host]
    direct_url: str  # the database on 127.0.0.1, for the checks (not through pgbouncer)


@pytest.fixture
def cluster(
    network: Network, bouncer: tuple[str, int], postgres_url: str, tmp_path: Path
) -> Iterator[Cluster]:
    """A throwaway database, migrated, served by every namespace through pgbouncer."""
    with own_postgres_database(postgres_url) as direct_url:
        migrate(server_env(direct_url))
        address, port = bouncer
        via_bouncer = make_url(direct_url).set(host=address, port=port)
        env = server_env(via_bouncer.render_as_string(hide_password=False))
        env["INMAIL_POOL_SIZE"] = str(POOL_SIZE)
        env["INMAIL_PGBOUNCER"] = "true"
        hosts = [_start_host(ns, ip, env, tmp_path) for ns, ip in network.namespaces]
        try:
            for host in hosts:
                _wait_healthy(host)
            yield Cluster(hosts, direct_url)
        finally:
            for host in hosts:  # nothing to finish gracefully: the checks have read the database
                host.kill()


def _start_host(ns: str, address: str, env: dict[str, str], log_dir: Path) -> Host:
    log = log_dir / f"{ns}.log"
    serve = [inmail_script(), "serve", "--host", address, "--port", str(APP_PORT)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *serve, "--workers", str(WORKERS)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # `ip netns exec` execs the server: one group to kill
        )
    return Host(ns, f"http://{address}:{APP_PORT}", log, proc)


def _wait_healthy(host: Host) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx2.Client(base_url=host.base_url, timeout=1.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if host.proc.poll() is not None:
                pytest.fail(f"{host.name} exited:\n{host.log.read_text()}")
            with suppress(httpx2.TransportError):
                if client.get("/healthz").status_code == 200:
                    return
            time.sleep(0.1)
    pytest.fail(f"{host.name} not healthy after {START_TIMEOUT_S:g} s:\n{host.log.read_text()}")


@dataclass(frozen=True)
class Member:
    id: str
    auth: dict[str, str]


@dataclass(frozen=True)
class Send:
    sender: Member
    to: str
    key: str
    home: int  # the host it goes to first

    @property
    def body(self) -> dict[str, str]:
        return {"to": self.to, "subject": f"Hello ({self.key})", "body": "Across hosts?"}

    @property
    def headers(self) -> dict[str, str]:
        return {**self.sender.auth, "Idempotency-Key": self.key}


@dataclass
class Load:
    """What the clients saw: each key's final answer, and the sends that met a dead host."""

    answers: dict[str, tuple[Send, int, Any]] = field(default_factory=dict)
    moved: list[Send] = field(default_factory=list)  # reset or refused, sent on to another host
    lock: threading.Condition = field(default_factory=threading.Condition)

    def acknowledged(self) -> int:
        return sum(1 for _, status, _ in self.answers.values() if status == 201)


def test_sends_across_hosts_survive_a_host_killed_mid_load(cluster: Cluster) -> None:
    hosts = cluster.hosts
    with hosts[1].client() as client:
        senders = [_member(client, f"s{i}", SENDER_PLAN) for i in range(SENDERS)]
        recipients = [_member(client, f"r{i}", "basic") for i in range(RECIPIENTS)]
        grants = {s.id: _credits(client, s)["balance"] for s in senders}
    sends = [
        Send(sender, to.id, f"{sender.id}-{to.id}", home=n % HOSTS)
        for n, (to, sender) in enumerate((to, s) for to in recipients for s in senders)
    ]
    load = _load_with_a_kill(hosts, sends, kill_after=int(len(sends) * KILL_AFTER_SHARE))

    assert load.moved, "no request was in flight on the killed host"
    statuses = Counter(status for _, status, _ in load.answers.values())
    assert set(statuses) <= {201, 402}, load.answers
    assert statuses[402] > 0, "the senders never ran out: the test proves no overspend"
    survivor = hosts[(KILLED + 1) % HOSTS]
    with survivor.client() as client:
        for sender in senders:
            _check_sender(client, sender, grants[sender.id], load)
        _check_acknowledged_answer_again(client, load)
    _check_stored(cluster.direct_url, load)
    _assert_audit_clean(cluster.direct_url)


def _member(client: httpx2.Client, handle: str, plan: str) -> Member:
    body = {"handle": f"{handle}-{uuid.uuid4().hex[:6]}", "name": "Host Tester", "plan": plan}
    created = client.post("/v1/admin/members", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    member_id = created.json()["id"]
    token = client.post(f"/v1/admin/members/{member_id}/tokens", headers=ADMIN)
    assert token.status_code == 201, token.text
    member = Member(member_id, {"Authorization": f"Bearer {token.json()['token']}"})
    if plan != "basic":  # no overage packs: a sender's credits really run out (402)
        settings = client.put("/v1/me/settings", json={"auto_overage": False}, headers=member.auth)
        assert settings.status_code == 200, settings.text
    return member


def _credits(client: httpx2.Client, member: Member) -> Any:
    credits = client.get("/v1/me/credits", headers=member.auth)
    assert credits.status_code == 200, credits.text
    return credits.json()


def _load_with_a_kill(hosts: list[Host], sends: list[Send], kill_after: int) -> Load:
    """Every send answered (201 or a refusal) by some host; host ``KILLED`` dies on the way."""
    load = Load()
    pending = iter(sends)
    alive = [True] * len(hosts)

    def worker() -> None:
        clients = [host.client() for host in hosts]
        try:
            while True:
                with load.lock:
                    send = next(pending, None)
                if send is None:
                    return
                status, body = _send(clients, alive, send, load)
                with load.lock:
                    load.answers[send.key] = (send, status, body)
                    load.lock.notify_all()
        finally:
            for client in clients:
                client.close()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        threads = [pool.submit(worker) for _ in range(THREADS)]
        with load.lock:
            reached = load.lock.wait_for(
                lambda: load.acknowledged() >= kill_after, timeout=LOAD_TIMEOUT_S
            )
        hosts[KILLED].kill()
        alive[KILLED] = False
        for thread in threads:
            thread.result(timeout=LOAD_TIMEOUT_S)
    assert reached, f"only {load.acknowledged()} sends acknowledged in {LOAD_TIMEOUT_S:g} s"
    assert len(load.answers) == len(sends)
    return load


def _send(
    clients: list[httpx2.Client], alive: list[bool], send: Send, load: Load
) -> tuple[int, Any]:
    """POST the send to its home host, then on to the next one up while it gets no answer."""
    order = [(send.home + i) % len(clients) for i in range(len(clients))]
    for attempt in range(ATTEMPTS):
        up = [i for i in order if alive[i]] or order
        client = clients[up[attempt % len(up)]]
        try:
            answer = client.post("/v1/inmails", json=send.body, headers=send.headers)
        except httpx2.TransportError:
            with load.lock:
                load.moved.append(send)
            continue
        if answer.status_code != 503:  # 503 `busy`: retry with the key (docs/rules.md)
            return answer.status_code, answer.json()
    pytest.fail(f"{send.key}: no host answered in {ATTEMPTS} attempts")


def _check_sender(client: httpx2.Client, sender: Member, grant: int, load: Load) -> None:
    """Balance = grant - spends >= 0; spends = the sender's 201s; a refusal means none left."""
    mine = [(status, body) for send, status, body in load.answers.values() if send.sender == sender]
    sent = Counter(f"inmail:{body['id']}" for status, body in mine if status == 201)
    refused = [body for status, body in mine if status == 402]
    spends = [e for e in _ledger(client, sender) if e["kind"] == "spend"]
    assert Counter(e["reference"] for e in spends) == sent, "a key charged other than once"
    credits = _credits(client, sender)
    assert credits["balance"] >= 0
    assert credits["balance"] == grant + sum(e["amount"] for e in spends)
    assert all(body["code"] == "insufficient-credits" for body in refused), refused
    if refused:
        assert credits["balance"] < -spends[0]["amount"], "refused while credits were left"


def _ledger(client: httpx2.Client, member: Member) -> list[Any]:
    items: list[Any] = []
    params = {"limit": "200"}
    while True:
        page = client.get("/v1/me/credits/ledger", params=params, headers=member.auth)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        if page.json()["next_cursor"] is None:
            return items
        params["cursor"] = page.json()["next_cursor"]


def _check_acknowledged_answer_again(client: httpx2.Client, load: Load) -> None:
    """A retried key answers its first body on another host (the key is shared by every host)."""
    moved = {send.key for send in load.moved}
    for send, status, body in load.answers.values():
        if status == 201 and (send.key in moved or send.home == KILLED):
            again = client.post("/v1/inmails", json=send.body, headers=send.headers)
            assert (again.status_code, again.json()) == (201, body), send.key


def _check_stored(direct_url: str, load: Load) -> None:
    """Every acknowledged InMail is in the database with one spend, nothing else was spent."""
    acknowledged = {body["id"] for _, status, body in load.answers.values() if status == 201}
    engine = create_engine(direct_url)
    try:
        with engine.connect() as conn:
            stored = set(
                conn.execute(text("SELECT id FROM messages WHERE kind = 'inmail'")).scalars()
            )
            spent = Counter(conn.execute(text("SELECT reference FROM spends")).scalars())
    finally:
        engine.dispose()
    assert stored == acknowledged
    assert spent == Counter(f"inmail:{m}" for m in acknowledged)


def _assert_audit_clean(direct_url: str) -> None:
    done = subprocess.run(
        [inmail_script(), "audit"],
        env=server_env(direct_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
