"""Schemathesis against the app's own OpenAPI document, in-process (ASGI), on SQLite.

``test_operation_answers_as_documented`` fuzzes every operation the app publishes with
generated requests, valid and invalid (Schemathesis' examples, coverage and fuzzing phases);
``test_linked_operations_answer_as_documented`` runs its stateful phase, sequences of
operations joined by the document's links (create a member, then issue its token; send an
InMail, then post in its thread). Requests go as the right caller: ``/v1/admin/...`` with
the operator token, every other secured operation with a member token (and none when a case
was generated without its Authorization header). Every Schemathesis check runs
(``--checks all``); among them every answer must

- not be a 5xx (API.md: "never a bare 500 for bad input"),
- have a status code, content type, headers and body the operation documents,
- accept schema-valid requests (no 400/422) and refuse schema-invalid ones (4xx),
- refuse the request without a valid token, and answer 405 with ``Allow`` to a method the
  path does not serve,
- keep a resource it just created reachable through the links.

The one exception is written in ``CONFIG``: a time in the past is schema-valid for the test
clock, which refuses to move backwards.

Every operation starts from its own copy of one seeded database (members, a connection, a
pack bought, an InMail, a group, a post, an introduction, a renewal), shared by that
operation's examples: one operation's writes (the test clock moved to the year 9999, a plan
edited) cannot change another's answers, and each parametrized test reproduces on its own
(``-k``). In the positive parts of a case, values that name something are swapped for live
ones (see ``with_live_values``): a real member, plan, pack, thread, next-page cursor. The
schema cannot say which ids exist, and an unknown plan or a forged cursor is rightly a 422.
Generation is derandomized with a fixed seed and no example database, so CI sends the same
requests on every run; ``INMAIL_TEST_FUZZ_EXAMPLES=200`` (and ``..._SCENARIOS``) fuzzes
longer locally.

The other tests replay, as fixed requests checked by the same Schemathesis checks, the
problems the fuzzer found (and the ones sharing their cause), one precise reproducer each.
"""

from __future__ import annotations

import atexit
import itertools
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import APIOperation, Case
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput

from inmail.api.app import create_app
from inmail.bootstrap import Runtime, build, migrate
from inmail.config import Settings
from inmail.domain.events import Event
from inmail.domain.plans import DEFAULT_PACKS, DEFAULT_PLANS
from inmail.domain.templates import Letter, TemplateText
from inmail.services import webhooks
from inmail.services.templates import create_template
from inmail.store import outbox
from tests.api.conftest import ADMIN_TOKEN
from tests.conftest import T0

MAX_EXAMPLES = int(os.environ.get("INMAIL_TEST_FUZZ_EXAMPLES", "20"))
SEED = 20260131

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "mode": "all",  # valid and invalid inputs
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,  # Hypothesis' derandomize: the same inputs on every run
            "database": "none",  # nothing replayed from, or written to, .hypothesis/
        },
        "operations": [
            {
                # The test clock refuses to move backwards (API.md: 422), a rule about its
                # current time, which no schema can state: a schema-valid time in the past
                # is refused, so "valid data is accepted" cannot hold for this operation.
                "include-path": "/v1/admin/clock",
                "include-method": "POST",
                "checks": {"positive_data_acceptance": {"enabled": False}},
            },
            {
                # A bulk send that sends (dry_run: false) needs an Idempotency-Key and
                # max_credits, and a list within the deployment's limit: conditions on the
                # body and a setting, which no schema states (docs/rules.md, "Bulk sends").
                "include-path": "/v1/bulk-sends",
                "include-method": "POST",
                "checks": {"positive_data_acceptance": {"enabled": False}},
            },
            {
                # A plan's terms are checked against each other and the plan: a paid plan's
                # fee must be more than 0, a cap below the allotment needs confirm_lower_cap,
                # expected_version must be the version in force (docs/rules.md, "Operators").
                "include-path": "/v1/admin/plans/{code}",
                "include-method": "PUT",
                "checks": {"positive_data_acceptance": {"enabled": False}},
            },
            {
                # A new pack needs credits and a price; an edit's expected_version must be
                # the version on sale: facts about the catalog no schema can state.
                "include-path": "/v1/admin/packs/{code}",
                "include-method": "PUT",
                "checks": {"positive_data_acceptance": {"enabled": False}},
            },
            {
                # A template renders only when the recipient has a value (or the template a
                # fallback) for each placeholder, and within the InMail limits: facts about
                # the recipient's profile that no schema can state (422, API.md).
                "include-path": "/v1/me/templates/{template_id}/render",
                "include-method": "POST",
                "checks": {"positive_data_acceptance": {"enabled": False}},
            },
            {
                # A time zone must be one the system's zone database knows (docs/rules.md,
                # "Members and settings"): the schema states its characters and length, not
                # the list of ~600 names, which depends on the installed tzdata.
                "include-path": "/v1/me/settings",
                "include-method": "PUT",
                "checks": {"positive_data_acceptance": {"enabled": False}},
            },
        ],
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": True},
        },
        "checks": {"enabled": True},
    }
)
Operation = APIOperation[Any, Any, Any, Any]
OPERATOR = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NOBODY: dict[str, str] = {}


def _settings(database_url: str, *, test_clock: bool = True) -> Settings:
    clock = T0 if test_clock else None
    return Settings(database_url=database_url, admin_token=ADMIN_TOKEN, test_clock=clock)


def _schema_only_app() -> FastAPI:
    """An app on a throwaway migrated database: it serves /openapi.json and no test case."""
    directory = tempfile.mkdtemp(prefix="inmail-openapi-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    runtime = build(_settings(f"sqlite:///{directory}/openapi.db"))
    migrate(runtime)
    return create_app(runtime=runtime)


schema = schemathesis.openapi.from_asgi("/openapi.json", _schema_only_app(), config=CONFIG)
ALL_OPERATIONS: list[Operation] = [
    operation for operations in schema.values() for operation in operations.values()
]

# What a path parameter, query parameter or body field names, by its name.
KIND_OF = {
    **dict.fromkeys(
        ("member_id", "other_id", "applicant_id", "a", "b", "to", "target", "via"), "member"
    ),
    **dict.fromkeys(("code", "plan"), "plan"),
    "pack": "pack",
    "overage_pack": "pack",
    "thread_id": "thread",
    "inmail_id": "inmail",
    "group_id": "group",
    "post_id": "post",
    "intro_id": "introduction",
    "invitation_id": "invitation",
    "template_id": "template",
    "bulk_id": "bulk_send",
    "endpoint_id": "webhook",
    "delivery_id": "delivery",
}
# Kinds a schema-valid request can only name by a value that exists: an unknown plan or pack
# code is 422 (`unknown-plan`, `unknown-pack`), not a 404. Generated ids of the other kinds
# stay in play half of the time (404s are answers to valid requests too).
MUST_EXIST = {"plan", "pack"}
# Values of each kind that exist in the database under test. The ``target`` fixture fills
# this before anything is generated; the hook below puts them in the positive parts of a
# case (never in the parts generated to be invalid), so the success paths (a real member,
# a real thread, a real plan edited, a real next page) are fuzzed too, not only the 404s.
# "member" holds the other members, never the caller: an InMail, invitation or block aimed
# at oneself is a 422 the schema cannot express (and a/b, target/via get distinct members).
LIVE: dict[str, list[str]] = {}
# Next-page cursors by operation: a cursor is an opaque token the server hands out, which
# no generator can forge; a positive case carries a real one or none.
CURSORS: dict[str, str] = {}
# The names a list's cursor goes by: `after` for the outbox's events (GET /v1/admin/events).
CURSOR_PARAMETERS = frozenset({"cursor", "after"})


def _pick(values: list[str], seed: object, offset: int = 0) -> str:
    # Deterministic (map_case draws nothing): the generated value chooses.
    return values[(zlib.crc32(repr(seed).encode()) + offset) % len(values)]


def _live(container: dict[str, Any], keep: frozenset[str]) -> None:
    members = 0
    for name, value in list(container.items()):
        kind = KIND_OF.get(name, "")
        live = LIVE.get(kind, [])
        if not live or name in keep:
            continue
        if kind == "member":
            container[name] = _pick(live, value, members)
            members += 1
        elif kind in MUST_EXIST or zlib.crc32(repr(value).encode()) % 2:
            container[name] = _pick(live, value)


def _positive(case: Case[Any], location: ParameterLocation) -> bool:
    component = case.meta.components.get(location) if case.meta is not None else None
    return component is None or component.mode.is_positive


def with_live_values(case: Case[Any], keep: frozenset[str] = frozenset()) -> Case[Any]:
    """Live values in the positive parts of a case (the negative parts stay as generated),
    except in the parameters named in ``keep`` (the stateful phase's, filled by links).

    Applied when the case is sent, not as a generation hook: the coverage phase builds its
    cases when the module is collected, before any database exists.
    """
    if _positive(case, ParameterLocation.PATH) and case.path_parameters:
        _live(case.path_parameters, keep)
    if _positive(case, ParameterLocation.BODY) and isinstance(case.body, dict):
        _live(case.body, keep)
    if _positive(case, ParameterLocation.QUERY) and case.query:
        _live(case.query, keep)
        for name in CURSOR_PARAMETERS & set(case.query):
            label = case.operation.label
            if label in CURSORS:
                case.query[name] = CURSORS[label]
            else:
                del case.query[name]
    key = case.headers.get("Idempotency-Key")
    if _positive(case, ParameterLocation.HEADER) and isinstance(key, str):
        # The same key with another body is 422 `idempotency-key-reused` (API.md): a key
        # generated again for another body becomes another key.
        digest = zlib.crc32(repr(case.body).encode())
        case.headers["Idempotency-Key"] = f"{key[:180]}-{digest:08x}"
    return case


@dataclass(frozen=True)
class Seeded:
    """A migrated, seeded SQLite file with the test clock 40 days on, and what is in it."""

    path: Path
    ids: dict[str, str]  # member handle -> id
    tokens: dict[str, dict[str, str]]  # "operator", "nobody" or a member handle -> headers
    live: dict[str, list[str]]
    cursors: dict[str, str]  # operation label -> a real next_cursor of that list


def _seed(path: Path) -> Seeded:
    runtime = build(_settings(f"sqlite:///{path}"))
    client = TestClient(create_app(runtime=runtime), raise_server_exceptions=False)
    ids: dict[str, str] = {}
    tokens = {"operator": OPERATOR, "nobody": NOBODY}
    for handle, plan in (("fuzzer", "premium_business"), ("peer", "recruiter"), ("basic", "basic")):
        member = {"handle": handle, "name": handle.title(), "plan": plan}
        created = client.post("/v1/admin/members", json=member, headers=OPERATOR)
        assert created.status_code == 201, created.text
        ids[handle] = created.json()["id"]
        issued = client.post(f"/v1/admin/members/{ids[handle]}/tokens", headers=OPERATOR)
        assert issued.status_code == 201, issued.text
        tokens[handle] = {"Authorization": f"Bearer {issued.json()['token']}"}
    live: dict[str, list[str]] = {
        "member": [ids["peer"], ids["basic"]],
        "plan": [plan.code for plan in DEFAULT_PLANS],
        "pack": [pack.code for pack in DEFAULT_PACKS],
    }
    # (kind of the id answered, caller, path, body). The credit steps must work; the others
    # seed ids for the messaging and social routes, which this test does not itself assert.
    intro = {"target": ids["basic"], "via": ids["peer"], "note": "Hi"}
    steps: list[tuple[str | None, str, str, dict[str, Any] | None]] = [
        (None, "operator", "/v1/admin/connections", {"a": ids["fuzzer"], "b": ids["peer"]}),
        (None, "operator", "/v1/admin/connections", {"a": ids["peer"], "b": ids["basic"]}),
        (None, "fuzzer", "/v1/me/purchases", {"pack": "pack_5"}),
        ("inmail", "fuzzer", "/v1/inmails", {"to": ids["basic"], "subject": "Hi", "body": "Hi"}),
        ("invitation", "basic", "/v1/invitations", {"to": ids["fuzzer"]}),
        ("group", "fuzzer", "/v1/groups", {"name": "Fuzzers"}),
        ("post", "fuzzer", "/v1/posts", {"body": "Hello @peer"}),
        ("introduction", "fuzzer", "/v1/introductions", intro),
        (None, "operator", "/v1/admin/clock", {"advance_days": 40}),
        (None, "operator", "/v1/admin/renewals/run", None),
    ]
    for kind, caller, url, body in steps:
        done = client.post(url, json=body, headers=tokens[caller])
        if kind is None:
            assert done.status_code < 300, f"{url}: {done.text}"
        elif done.status_code < 300:
            live.setdefault(kind, []).append(done.json()["id"])
            if "thread_id" in done.json():
                live.setdefault("thread", []).append(done.json()["thread_id"])
    template = create_template(
        runtime.deps,
        owner_id=ids["fuzzer"],
        name="Fuzz",
        text=TemplateText(Letter("Hi {first_name}", "Hello {first_name|there}")),
        now=runtime.clock.now(),
    )
    live["template"] = [template.id]
    recipients = [ids["basic"], ids["peer"]]
    bulk = {"template_id": template.id, "recipients": recipients, "dry_run": False}
    started = client.post(
        "/v1/bulk-sends",
        json=bulk | {"max_credits": 2},
        headers=tokens["fuzzer"] | {"Idempotency-Key": "seed-bulk"},
    )
    assert started.status_code == 202, started.text
    live["bulk_send"] = [started.json()["id"]]
    live["webhook"], live["delivery"] = _seed_webhook(client, tokens, runtime)
    cursors = _first_page_cursors(client, tokens, live)
    assert "GET /v1/me/credits/ledger" in cursors
    with runtime.deps.db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    runtime.close()
    return Seeded(path, ids, tokens, live, cursors)


def _seed_webhook(
    client: TestClient, tokens: dict[str, dict[str, str]], runtime: Runtime
) -> tuple[list[str], list[str]]:
    """An endpoint (nobody sends to it here: no worker runs) with two deliveries."""
    body = {"url": "http://127.0.0.1:9/fuzz", "events": ["*"]}
    made = client.post("/v1/admin/webhooks", json=body, headers=tokens["operator"])
    assert made.status_code == 201, made.text
    now = runtime.clock.now()
    with runtime.deps.db.write() as conn:
        outbox.append(conn, [Event("fuzz.happened", None, now, {"n": n}) for n in range(2)])
    webhooks.dispatch(runtime.deps, now=now)
    found = webhooks.list_deliveries(runtime.deps, made.json()["id"])
    return [made.json()["id"]], [d.id for d in found]


def _first_page_cursors(
    client: TestClient, tokens: dict[str, dict[str, str]], live: dict[str, list[str]]
) -> dict[str, str]:
    """The next_cursor of a one-item first page of every list that has a second page."""
    cursors = {}
    for operation in ALL_OPERATIONS:
        names = {p["name"] for p in operation.definition.raw.get("parameters", [])}
        if operation.method != "get" or not names & CURSOR_PARAMETERS:
            continue
        params = {n: live[KIND_OF[n]][0] for n in re.findall(r"{(\w+)}", operation.path)}
        caller = "operator" if operation.path.startswith("/v1/admin/") else "fuzzer"
        page = client.get(
            operation.path.format(**params), params={"limit": 1}, headers=tokens[caller]
        )
        assert page.status_code == 200, page.text
        after = _next_cursor(page.json())
        if after is not None:
            cursors[operation.label] = after
    return cursors


def _next_cursor(answer: dict[str, Any]) -> str | None:
    """A page's next_cursor; that of the page inside it for a thing with a paged part (a bulk
    send's recipients)."""
    if "next_cursor" in answer:
        found: str | None = answer["next_cursor"]
        return found
    (inner,) = [v for v in answer.values() if isinstance(v, dict) and "next_cursor" in v]
    nested: str | None = inner["next_cursor"]
    return nested


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Seeded:
    path = tmp_path_factory.mktemp("fuzz") / "seeded.db"
    shutil.copy(sqlite_template, path)
    return _seed(path)


@dataclass(frozen=True)
class Target:
    """An app on its own copy of the seeded database."""

    app: FastAPI
    seeded: Seeded

    def auth_for(self, case: Case[Any]) -> dict[str, str]:
        """The right caller: the operator for /v1/admin/, a member for the rest; nobody when
        the case was generated without its Authorization header on purpose."""
        operation = case.operation
        header = ParameterLocation.HEADER
        if not operation.definition.raw.get("security") or not _positive(case, header):
            return NOBODY
        if operation.path.startswith("/v1/admin/"):
            return OPERATOR
        return self.seeded.tokens["fuzzer"]


@contextmanager
def _target(seeded: Seeded, directory: Path, *, test_clock: bool = True) -> Iterator[Target]:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "target.db"
    shutil.copy(seeded.path, path)
    runtime = build(_settings(f"sqlite:///{path}", test_clock=test_clock))
    try:
        yield Target(create_app(runtime=runtime), seeded)
    finally:
        runtime.close()


@pytest.fixture
def live_values(seeded: Seeded) -> Iterator[None]:
    LIVE.update(seeded.live)
    CURSORS.update(seeded.cursors)
    try:
        yield
    finally:
        LIVE.clear()
        CURSORS.clear()


@pytest.fixture
def target(seeded: Seeded, tmp_path: Path, live_values: None) -> Iterator[Target]:
    with _target(seeded, tmp_path) as built:
        yield built


@schema.parametrize()
# The database is per operation and shared by its examples on purpose (module docstring);
# wall-clock health checks would make a slow CI runner fail a contract test.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_operation_answers_as_documented(case: Case[Any], target: Target) -> None:
    case = with_live_values(case)
    case.call_and_validate(app=target.app, headers=target.auth_for(case))


# ---------------------------------------------------------------------------------------
# The stateful phase: sequences of operations joined by the document's links (create a
# member, then its token, its profile, a quote; send an InMail, then its thread...).

SCENARIOS = int(os.environ.get("INMAIL_TEST_FUZZ_SCENARIOS", "12"))


class Workflow(schema.as_state_machine()):  # type: ignore[misc]
    """Every step sent as the right caller; every scenario on its own copy of the seeded
    database, so that a scenario replays the same way (Hypothesis requires it)."""

    seeded: ClassVar[Seeded]
    directory: ClassVar[Path]
    scenarios: ClassVar[Iterator[int]]

    def setup(self) -> None:
        self._built = _target(self.seeded, self.directory / f"s{next(self.scenarios)}")
        self.target = self._built.__enter__()

    def teardown(self) -> None:
        self._built.__exit__(None, None, None)

    def step(self, input: StepInput) -> StepOutput:
        linked = frozenset(name for _, name in input.applied_parameters if name)
        with_live_values(input.case, keep=linked)
        return super().step(input)  # type: ignore[no-any-return]

    def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
        return {"app": self.target.app, "headers": self.target.auth_for(case)}


def test_linked_operations_answer_as_documented(
    seeded: Seeded, tmp_path: Path, live_values: None
) -> None:
    Workflow.seeded, Workflow.directory, Workflow.scenarios = seeded, tmp_path, itertools.count()
    Workflow.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=8,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )


# ---------------------------------------------------------------------------------------
# Fixed reproducers: one request each, the same checks.


@dataclass(frozen=True)
class Known:
    """A request whose answer must be documented; "@handle" values become member ids."""

    caller: str
    method: str
    path: str
    path_parameters: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    query: dict[str, Any] = field(default_factory=dict)
    status: int | None = None  # the answer it gets today; None where that is a 500
    test_clock: bool = True


def _resolve(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("@"):
        return ids[value[1:]]
    if isinstance(value, dict):
        return {key: _resolve(item, ids) for key, item in value.items()}
    return value


def _check(built: Target, known: Known) -> None:
    ids = built.seeded.ids
    body = {} if known.body is None else {"body": _resolve(known.body, ids)}
    case = schema[known.path][known.method].Case(
        path_parameters=_resolve(known.path_parameters, ids), query=known.query, **body
    )
    headers = built.seeded.tokens[known.caller]
    response = case.call(app=built.app, headers=headers)
    if known.status is not None:
        assert response.status_code == known.status, response.text
    case.validate_response(response, headers=headers)


UNKNOWN = "m_00000000000000000000000000000000"
NEW_PLAN = {
    "name": "Gold",
    "monthly_allotment": 10,
    "rollover_cap": 30,
    "price": {"amount_minor": 1000, "currency": "USD"},
    "inmail": True,
    "packs": True,
    "overage": False,
}
PLAN = "/v1/admin/plans/{code}"
KNOWN = {
    # Request validation answers problem+json, as the document says.
    "422 unknown field": Known("operator", "POST", "/v1/admin/members", body={"x": 1}, status=422),
    "422 limit 0": Known("fuzzer", "GET", "/v1/me/charges", query={"limit": 0}, status=422),
    "422 unknown plan": Known(
        "fuzzer", "PUT", "/v1/me/subscription", body={"plan": "gold"}, status=422
    ),
    # Statuses the routes answer but do not declare.
    "409 handle taken": Known(
        "operator", "POST", "/v1/admin/members", body={"handle": "fuzzer", "name": "F"}, status=409
    ),
    "404 token, unknown member": Known(
        "operator",
        "POST",
        "/v1/admin/members/{member_id}/tokens",
        path_parameters={"member_id": UNKNOWN},
        status=404,
    ),
    "404 plan change, unknown member": Known(
        "operator",
        "PUT",
        "/v1/admin/members/{member_id}/subscription",
        path_parameters={"member_id": UNKNOWN},
        body={"plan": "recruiter"},
        status=404,
    ),
    "404 connect unknown member": Known(
        "operator",
        "POST",
        "/v1/admin/connections",
        body={"a": "@fuzzer", "b": UNKNOWN},
        status=404,
    ),
    "200 connect again": Known(
        "operator",
        "POST",
        "/v1/admin/connections",
        body={"a": "@fuzzer", "b": "@peer"},
        status=200,
    ),
    "403 packs not on plan": Known(
        "basic", "POST", "/v1/me/purchases", body={"pack": "pack_1"}, status=403
    ),
    "404 clock off": Known("operator", "GET", "/v1/admin/clock", status=404, test_clock=False),
    # Bad input that once answered 500; 422 now.
    **{
        f"422 plan {term} null": Known(
            "operator",
            "PUT",
            PLAN,
            path_parameters={"code": "recruiter"},
            body={term: None},
            status=422,
        )
        for term in ("name", "monthly_allotment", "price", "inmail", "max_followups")
    },
    "422 new plan, name null": Known(
        "operator",
        "PUT",
        PLAN,
        path_parameters={"code": "gold"},
        body={**NEW_PLAN, "name": None},
        status=422,
    ),
    "422 plan price past 64 bits": Known(
        "operator",
        "PUT",
        PLAN,
        path_parameters={"code": "recruiter"},
        body={"price": {"amount_minor": 10**30, "currency": "USD"}},
        status=422,
    ),
}


@pytest.mark.parametrize("known", KNOWN.values(), ids=KNOWN.keys())
def test_known_answer_is_documented(known: Known, seeded: Seeded, tmp_path: Path) -> None:
    with _target(seeded, tmp_path, test_clock=known.test_clock) as built:
        _check(built, known)


def test_clock_overflow_is_not_a_server_error(target: Target) -> None:
    """Moves that leave no two years before 9999-12-31 are refused (docs/rules.md, Times)."""
    far = Known("operator", "POST", "/v1/admin/clock", body={"now": "9999-12-31T23:59:59Z"})
    _check(target, replace(far, status=422))
    _check(target, replace(far, body={"now": "9997-12-31T23:59:59Z"}, status=200))
    _check(target, replace(far, body={"advance_days": 1}, status=422))


def test_nul_byte_in_text_is_refused_alike_on_both_engines(db_url: str) -> None:
    """SQLite would store it; PostgreSQL text cannot hold it: the text rule refuses it first."""
    runtime = build(_settings(db_url))
    nobody_yet = Seeded(Path(), ids={}, tokens={"operator": OPERATOR}, live={}, cursors={})
    body = {"handle": "nul", "name": "Nul\x00Byte"}
    try:
        built = Target(create_app(runtime=runtime), nobody_yet)
        _check(built, Known("operator", "POST", "/v1/admin/members", body=body, status=422))
    finally:
        runtime.close()


SECURED: list[Operation] = [
    operation for operation in ALL_OPERATIONS if operation.definition.raw.get("security")
]


@pytest.fixture(scope="module")
def shared_target(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """One app for requests that change nothing."""
    with _target(seeded, tmp_path_factory.mktemp("refusals")) as built:
        yield built


ANY_CALLER = {"GET /v1/packs"}  # API.md: "any valid token"
OPERATOR_ONLY = {"GET /metrics"}  # the operator's, though outside /v1/admin (docs/operations.md)


@pytest.mark.parametrize("operation", SECURED, ids=lambda operation: operation.label)
def test_refusals_are_documented(operation: Operation, shared_target: Target) -> None:
    """No token: 401. The other kind of caller (a member here, the operator there): 403."""
    params = dict.fromkeys(re.findall(r"{(\w+)}", operation.path), "@peer")
    known = Known("nobody", operation.method.upper(), operation.path, path_parameters=params)
    _check(shared_target, replace(known, status=401))
    if operation.path.startswith("/v1/admin/") or operation.label in OPERATOR_ONLY:
        _check(shared_target, replace(known, caller="fuzzer", status=403))
    elif operation.label not in ANY_CALLER:
        _check(shared_target, replace(known, caller="operator", status=403))
