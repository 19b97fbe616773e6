"""Schemathesis against the app's own OpenAPI document, in-process (ASGI), on SQLite.

``test_operation_answers_as_documented`` fuzzes every operation the app publishes with
generated requests, valid and invalid (Schemathesis' coverage and fuzzing phases), sent as
the right caller: ``/v1/admin/...`` with the operator token, every other secured operation
with a member token (Schemathesis' own auth probes also send some with the token left out).
Every answer must

- not be a 5xx (API.md: "never a bare 500 for bad input"),
- have a status code the operation documents,
- have a content type documented for that status,
- have a body (and headers) matching the documented schema.

Every operation starts from its own copy of one seeded database (members, a connection, a
pack bought, an InMail, a group, a post, an introduction, a renewal), shared by that
operation's examples: one operation's writes (the test clock moved to the year 9999, a plan
edited) cannot change another's answers, and each parametrized test reproduces on its own
(``-k``). Generation is derandomized with a fixed seed and no example database, so CI sends
the same requests on every run; ``INMAIL_TEST_FUZZ_EXAMPLES=200`` fuzzes longer locally.

The other tests replay, as fixed requests checked by the same Schemathesis checks, the
problems the fuzzer found (and the ones sharing their cause), one precise reproducer each.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, HookContext

from inmail.api.app import create_app
from inmail.bootstrap import build, migrate
from inmail.config import Settings
from inmail.domain.plans import DEFAULT_PACKS, DEFAULT_PLANS
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
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        # The contract checks, and only those.
        "checks": {
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
        },
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

# What a path parameter, query parameter or body field names, by its name.
KIND_OF = {
    **dict.fromkeys(
        ("member_id", "other_id", "applicant_id", "a", "b", "to", "target", "via"), "member"
    ),
    **dict.fromkeys(("code", "plan"), "plan"),
    "pack": "pack",
    "cursor": "cursor",
    "thread_id": "thread",
    "inmail_id": "inmail",
    "group_id": "group",
    "post_id": "post",
    "intro_id": "introduction",
    "invitation_id": "invitation",
}
# Values of each kind that exist in the database under test. The ``target`` fixture fills
# this before Hypothesis draws anything; the hooks below offer them in place of generated
# values, so the success paths (a real member's token, a real thread, a real plan edited,
# a real next page) are fuzzed too, not only the 404s.
LIVE: dict[str, list[str]] = {}


def _with_live_values(values: Any) -> st.SearchStrategy[Any]:
    if not isinstance(values, dict):
        return st.just(values)
    drawn: dict[str, st.SearchStrategy[Any]] = {}
    for key, value in values.items():
        live = LIVE.get(KIND_OF.get(key, ""), [])
        drawn[key] = st.sampled_from([value, *live]) if live else st.just(value)
    return st.fixed_dictionaries(drawn)


@schema.hook
def flatmap_path_parameters(_: HookContext, path_parameters: Any) -> st.SearchStrategy[Any]:
    return _with_live_values(path_parameters)


@schema.hook
def flatmap_query(_: HookContext, query: Any) -> st.SearchStrategy[Any]:
    return _with_live_values(query)


@schema.hook
def flatmap_body(_: HookContext, body: Any) -> st.SearchStrategy[Any]:
    return _with_live_values(body)


@dataclass(frozen=True)
class Seeded:
    """A migrated, seeded SQLite file with the test clock 40 days on, and what is in it."""

    path: Path
    ids: dict[str, str]  # member handle -> id
    tokens: dict[str, dict[str, str]]  # "operator", "nobody" or a member handle -> headers
    live: dict[str, list[str]]


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
        "member": list(ids.values()),
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
    page = client.get("/v1/me/credits/ledger?limit=1", headers=tokens["fuzzer"])
    assert page.status_code == 200, page.text
    live["cursor"] = [page.json()["next_cursor"]]
    with runtime.deps.db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    runtime.close()
    return Seeded(path, ids, tokens, live)


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

    def auth_for(self, operation: Operation) -> dict[str, str]:
        """The right caller: the operator for /v1/admin/, a member for the rest."""
        if not operation.definition.raw.get("security"):
            return NOBODY
        if operation.path.startswith("/v1/admin/"):
            return OPERATOR
        return self.seeded.tokens["fuzzer"]


@contextmanager
def _target(seeded: Seeded, directory: Path, *, test_clock: bool = True) -> Iterator[Target]:
    path = directory / "target.db"
    shutil.copy(seeded.path, path)
    runtime = build(_settings(f"sqlite:///{path}", test_clock=test_clock))
    try:
        yield Target(create_app(runtime=runtime), seeded)
    finally:
        runtime.close()


@pytest.fixture
def target(seeded: Seeded, tmp_path: Path) -> Iterator[Target]:
    with _target(seeded, tmp_path) as built:
        LIVE.update(seeded.live)
        try:
            yield built
        finally:
            LIVE.clear()


@schema.parametrize()
# The database is per operation and shared by its examples on purpose (module docstring);
# wall-clock health checks would make a slow CI runner fail a contract test.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_operation_answers_as_documented(case: Case[Any], target: Target) -> None:
    case.call_and_validate(app=target.app, headers=target.auth_for(case.operation))


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
    # Request validation answers problem+json; the 422 documented is FastAPI's JSON default.
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
    # 500s for bad input.
    **{
        f"500 plan {term} null": Known(
            "operator", "PUT", PLAN, path_parameters={"code": "recruiter"}, body={term: None}
        )
        for term in ("name", "monthly_allotment", "price", "inmail", "max_followups")
    },
    "500 new plan, name null": Known(
        "operator", "PUT", PLAN, path_parameters={"code": "gold"}, body={**NEW_PLAN, "name": None}
    ),
    "500 plan price past 64 bits": Known(
        "operator",
        "PUT",
        PLAN,
        path_parameters={"code": "recruiter"},
        body={"price": {"amount_minor": 10**30, "currency": "USD"}},
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


def test_nul_byte_in_text_is_not_a_server_error(db_url: str) -> None:
    """SQLite stores it; PostgreSQL text cannot hold it (psycopg raises DataError)."""
    runtime = build(_settings(db_url))
    nobody_yet = Seeded(Path(), ids={}, tokens={"operator": OPERATOR}, live={})
    body = {"handle": "nul", "name": "Nul\x00Byte"}
    try:
        built = Target(create_app(runtime=runtime), nobody_yet)
        _check(built, Known("operator", "POST", "/v1/admin/members", body=body))
    finally:
        runtime.close()


SECURED: list[Operation] = [
    operation
    for operations in schema.values()
    for operation in operations.values()
    if operation.definition.raw.get("security")
]


@pytest.fixture(scope="module")
def shared_target(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """One app for requests that change nothing."""
    with _target(seeded, tmp_path_factory.mktemp("refusals")) as built:
        yield built


ANY_CALLER = {"GET /v1/packs"}  # API.md: "any valid token"


@pytest.mark.parametrize("operation", SECURED, ids=lambda operation: operation.label)
def test_refusals_are_documented(operation: Operation, shared_target: Target) -> None:
    """No token: 401. The other kind of caller (a member here, the operator there): 403."""
    params = dict.fromkeys(re.findall(r"{(\w+)}", operation.path), "@peer")
    known = Known("nobody", operation.method.upper(), operation.path, path_parameters=params)
    _check(shared_target, replace(known, status=401))
    if operation.path.startswith("/v1/admin/"):
        _check(shared_target, replace(known, caller="fuzzer", status=403))
    elif operation.label not in ANY_CALLER:
        _check(shared_target, replace(known, caller="operator", status=403))
