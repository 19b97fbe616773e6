"""The web app in a real browser: ``inmail serve`` in a subprocess, driven by Debian's Chromium.

The members are seeded through the service layer on a fresh SQLite file
before the server starts on that same file (``inmail db upgrade`` then
``inmail serve`` on a free port of 127.0.0.1, with the test clock). One
server and one Chromium serve the whole session; every test gets its own
browser context (its own cookies) and its own members, so the tests do not
depend on each other's order.

Chromium is Debian's (``apt-get install chromium``, which ``make test`` does
when it is missing), never a browser downloaded by Playwright. Without it the
tests are skipped outside CI, with the reason printed; under CI=true they fail.

Every page a test visits is checked for server errors (a 5xx answer fails the
test with the server's log) and for requests that leave the server (there
must be none: no CDN, no fonts, nothing from outside). Screenshots of the main
pages go to ``test-output/screenshots/`` for review, and one of the page a
failed test was on goes there too.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Dialog,
    Page,
    Playwright,
    Request,
    Response,
    expect,
    sync_playwright,
)

from inmail.bootstrap import build, migrate
from inmail.config import Settings
from inmail.domain.templates import Letter, TemplateText
from inmail.services import passwords
from inmail.services.credits import adjust_credits, spend_credits
from inmail.services.members import create_member
from inmail.services.network import connect
from inmail.services.templates import create_template
from tests import processes
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN_TOKEN = "browser-test-operator"
TEST_CLOCK = "2026-01-31T09:00:00Z"
T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
TIMEOUT_MS = 10_000  # each auto-waiting action and assertion
PAID = "premium_business"  # 25 credits a month, InMail, packs and overage
# Kim's password has the production argon2 parameters (the sign-in tests use her); the
# others' cheap ones (the hash records its parameters, so the server verifies either).
REAL_HASH = {"kim"}
QUICK_HASHER = PasswordHasher(time_cost=1, memory_cost=1024)


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    handle: str
    name: str


# handle -> (name, plan); names are unique so a search by name finds exactly one member.
MEMBERS: dict[str, tuple[str, str]] = {
    "ava": ("Ava Sender", PAID),
    "beatrice": ("Beatrice Quill", "basic"),
    "nora": ("Nora Broke", PAID),
    "omar": ("Omar Target", "basic"),
    "mia": ("Mia Middle", "basic"),
    "pia": ("Pia Buyer", PAID),
    "pip": ("Pip Packs", PAID),
    "rex": ("Rex Writer", PAID),
    "rita": ("Rita Responder", "basic"),
    "sam": ("Sam Scripter", PAID),
    "sue": ("Sue Safe", "basic"),
    "cara": ("Cara Chart", PAID),
    "kim": ("Kim Keyboard", "basic"),
    "gil": ("Gil Groupfounder", PAID),
    "gwen": ("Gwen Groupjoiner", "basic"),
    "pat": ("Pat Poster", "basic"),
    "max": ("Max Mentioned", "basic"),
    "tia": ("Tia Twice", PAID),
    "wes": ("Wes Writtento", "basic"),
    "uma": ("Uma Upgrader", PAID),
    "val": ("Val Basic", "basic"),
    "dov": ("Dov Downgrader", PAID),
    "coco": ("Coco Coached", PAID),  # the message coach's tests
    "dana": ("Dana Drafted", "basic"),
    "eli": ("Eli Unscripted", PAID),
    # A bulk send: Bo writes one template to five people (tests/web/test_bulk_pages.py).
    "bo": ("Bo Bulksender", PAID),
    "kai": ("Kai Listone", "basic"),
    "lea": ("Lea Listtwo", "basic"),
    "moe": ("Moe Listthree", "basic"),
    "nia": ("Nia Listfour", "basic"),
    "ola": ("Ola Listfive", "basic"),
    "tess": ("Tess Templater", PAID),
    "wyn": ("Wyn Recipient", "basic"),
    "ode": ("Ode", "basic"),
    "zed": ("Zed Zephyr", "basic"),
    "aria": ("Aria Awaiting", PAID),
    "otto": ("Otto Unanswered", "basic"),
    "sol": ("Sol Scheduler", PAID),
    "ned": ("Ned Noreply", "basic"),
    # The tour (tests/web/test_tour.py): every page, looked at and checked, with a long name.
    "ada": ("Ada Lovelace", PAID),
    "grace": ("Grace Hopper", "basic"),
    "hubert": ("Hubert Wolfeschlegelsteinhausenbergerdorff-Brightwater", "basic"),
    # Issue 10's journey (tests/web/test_journey.py): Jude finds five at Wombat Dynamics.
    "jude": ("Jude Journey", PAID),
    "jwes": ("Wes Walker", "basic"),
    "wil": ("Wil Warren", "basic"),
    "win": ("Win Waters", "basic"),
    "wyatt": ("Wyatt Wilde", "basic"),
    "wren": ("Wren Woods", "basic"),
    # Nobody writes to, mentions or invites Una: her pages stay empty (tests/web/test_look.py).
    "una": ("Una Untouched", "basic"),
    # The inbox (tests/web/test_inbox_browser.py): Ida writes; Hal, Huw and Hana read; Ivy is
    # Ida's and Hal's mutual connection; Ike fills pages of sent InMail.
    "ida": ("Ida Inboxer", PAID),
    "hal": ("Hal Hearer", "basic"),
    "huw": ("Huw Archiver", "basic"),
    "hana": ("Hana Notified", "basic"),
    "ivy": ("Ivy Mutual", "basic"),
    "ike": ("Ike Pager", PAID),
    "fay": ("Fay Followup", PAID),
    "fin": ("Fin Silent", "basic"),
    # test_team_browser seats these two on a team it makes (no other test uses them).
    "tamsin": ("Tamsin Teamlead", "basic"),
    "saul": ("Saul Seatholder", "basic"),
    # Sender reputation (tests/web/test_reputation_browser.py): three members report Rhea.
    "rhea": ("Rhea Reported", PAID),
    "rob": ("Rob Reporter", "basic"),
    "ria": ("Ria Reporter", "basic"),
    "ron": ("Ron Reporter", "basic"),
}
# Profile texts besides the name, for the members whose tests need them (templates fill them in).
PROFILES: dict[str, dict[str, str]] = {
    "wyn": {"company": "Northwind", "headline": "Data engineer"},
    **{h: {"company": "Wombat Dynamics"} for h in ("jwes", "wil", "win", "wyatt", "wren")},
    "grace": {"company": "Remington Rand", "headline": "Compiler engineer"},
    "ida": {"company": "Analytical Engines", "headline": "Talent partner for engineers"},
}
BULK_TEMPLATE = TemplateText(
    Letter("A role for you, {first_name}", "Hi {first_name}, would you have 15 minutes to talk?"),
    Letter("Quick question, {first_name}", "Hello {first_name}, is {company|your team} hiring?"),
)


def _seed(database_url: str) -> dict[str, Member]:
    """Migrate the empty file and create the members, each with PASSWORD, via the services."""
    rt = build(Settings(database_url=database_url, test_clock=T0, admin_token=ADMIN_TOKEN))
    try:
        migrate(rt)
        deps = rt.deps
        made: dict[str, Member] = {}
        for handle, (name, plan) in MEMBERS.items():
            # Cara has two months of history, so her chart has cycles with bars in them.
            since = T0 - timedelta(days=70) if handle == "cara" else T0
            profile = PROFILES.get(handle, {})
            record = create_member(deps, handle=handle, name=name, plan=plan, now=since, **profile)
            with pytest.MonkeyPatch.context() as patch:
                if handle not in REAL_HASH:  # argon2's defaults take a second a sign-in here
                    patch.setattr(passwords, "_hasher", QUICK_HASHER)
                passwords.set_password(deps, member_id=record.id, password=PASSWORD, now=since)
            made[handle] = Member(record.id, handle, name)
        for days_ago, cost in ((60, 3), (35, 4), (5, 2)):
            spend_credits(
                deps,
                member_id=made["cara"].id,
                cost=cost,
                reference=f"seed:cara:{days_ago}",
                now=T0 - timedelta(days=days_ago),
            )
        # Nora has no credits left; Mia, connected to Nora and Omar, could introduce them.
        adjust_credits(deps, member_id=made["nora"].id, amount=-25, reason="seed: used up", now=T0)
        connect(deps, a=made["nora"].id, b=made["mia"].id, now=T0)
        connect(deps, a=made["mia"].id, b=made["omar"].id, now=T0)
        connect(deps, a=made["ada"].id, b=made["grace"].id, now=T0)
        connect(deps, a=made["ida"].id, b=made["ivy"].id, now=T0)
        connect(deps, a=made["ivy"].id, b=made["hal"].id, now=T0)
        for owner in ("bo", "jude"):
            create_template(
                deps, owner_id=made[owner].id, name="Hiring hello", text=BULK_TEMPLATE, now=T0
            )
        return made
    finally:
        rt.close()


def _inmail() -> str:
    """The console script of the interpreter running the tests (the project's venv)."""
    script = Path(sys.executable).with_name("inmail")
    if not script.exists():
        pytest.fail(f"no inmail console script next to {sys.executable}")
    return str(script)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class Server:
    base_url: str
    log: Path
    members: dict[str, Member]

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def _wait_healthy(proc: subprocess.Popen[bytes], base_url: str, log: Path) -> bool:
    """True once /healthz answers 200; False if the server exited first (e.g. port taken)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx2.Client(base_url=base_url, timeout=1.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            with suppress(httpx2.TransportError):
                if client.get("/healthz").status_code == 200:
                    return True
            time.sleep(0.05)
    pytest.fail(f"inmail serve not healthy after {START_TIMEOUT_S:g} s:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM; SIGKILL the server's own process group if it does not stop in time."""
    processes.stop(proc, STOP_TIMEOUT_S)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium: skipped without it outside CI, a failure under CI=true."""
    if not os.access(CHROMIUM, os.X_OK):
        problem = f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"CI=true needs the browser tests: {problem}")
        pytest.skip(f"browser tests skipped: {problem}")
    return CHROMIUM


@pytest.fixture(scope="session")
def server(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Seeded members, then ``inmail db upgrade`` and ``inmail serve`` on the same SQLite file."""
    workdir = tmp_path_factory.mktemp("web")
    url = f"sqlite:///{workdir / 'web.db'}"
    members = _seed(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INMAIL_")}
    env |= {
        "INMAIL_DATABASE_URL": url,
        "INMAIL_ADMIN_TOKEN": ADMIN_TOKEN,
        "INMAIL_TEST_CLOCK": TEST_CLOCK,
    }
    migrated = subprocess.run(
        [_inmail(), "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60
    )
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    log = workdir / "serve.log"
    for _attempt in range(3):
        port = _free_port()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [_inmail(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                start_new_session=True,
            )
        try:
            base_url = f"http://127.0.0.1:{port}"
            if _wait_healthy(proc, base_url, log):
                yield Server(base_url, log, members)
                return
        finally:
            _stop(proc)
        if "address already in use" not in log.read_text().lower():
            break  # not a lost race for the port: report it
    pytest.fail(f"inmail serve did not start:\n{log.read_text()}")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    runner = sync_playwright().start()
    try:
        yield runner
    finally:
        runner.stop()


@pytest.fixture(scope="session")
def browser(chromium: Path, playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
    expect.set_options(timeout=TIMEOUT_MS)
    for stale in SCREENSHOTS.glob("failed-*.png"):  # a failure's picture is of this run only
        stale.unlink()
    try:
        yield launched
    finally:
        launched.close()


@dataclass(slots=True)
class Watch:
    """What a page did that no page may do: server errors and requests leaving the server."""

    server_errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember whether the test itself failed, for the page fixture's screenshot."""
    report = yield
    if report.when == "call" and "new_page" in getattr(item, "fixturenames", ()):
        item.stash[_FAILED] = report.failed
    return report


@pytest.fixture
def new_page(
    request: pytest.FixtureRequest, browser: Browser, server: Server
) -> Iterator[Callable[[], Page]]:
    """Pages in fresh browser contexts (no shared cookies), checked and closed after the test."""
    contexts: list[BrowserContext] = []
    watch = Watch()

    def make() -> Page:
        context = browser.new_context(base_url=server.base_url)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()

        def on_response(response: Response) -> None:
            if response.status >= 500:
                watch.server_errors.append(f"{response.status} {response.url}")

        def on_request(sent: Request) -> None:
            if not sent.url.startswith((server.base_url, "data:", "about:")):
                watch.outside.append(sent.url)

        def on_dialog(dialog: Dialog) -> None:
            watch.dialogs.append(dialog.message)
            dialog.accept()  # the member confirms (e.g. "Send this InMail for 1 credit?")

        page.on("response", on_response)
        page.on("request", on_request)
        page.on("dialog", on_dialog)
        return page

    try:
        yield make
        if request.node.stash.get(_FAILED, False):
            for n, context in enumerate(contexts):
                for page in context.pages:
                    name = f"failed-{request.node.name}-{n}.png"
                    with suppress(Exception):
                        screenshot(page, name.removesuffix(".png"))
    finally:
        for context in contexts:
            context.close()
    if watch.server_errors:
        pytest.fail(
            f"the server answered {watch.server_errors}; its log ends:\n{server.log_tail()}"
        )
    if watch.outside:
        pytest.fail(f"pages loaded from outside the server: {watch.outside}")


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    """One page in a fresh browser context."""
    return new_page()


def sign_in(page: Page, member: Member) -> None:
    """Sign in through the real /login form, by its labels, and land on the inbox."""
    page.goto("/login")
    page.get_by_label("Handle", exact=True).fill(member.handle)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/inbox$"))
    expect(page.get_by_role("button", name=f"Sign out @{member.handle}")).to_be_visible()


def screenshot(page: Page, name: str) -> Path:
    """The whole page, saved as test-output/screenshots/<name>.png for review."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
