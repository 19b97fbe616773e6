"""The entry points a new operator meets first: the CLI and the served pages."""

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from inmail.api.app import create_app
from inmail.cli import app
from inmail.config import Settings
from inmail.store.db import make_engine


@pytest.fixture
def sqlite_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("INMAIL_DATABASE_URL", url)
    monkeypatch.setenv("INMAIL_TEST_CLOCK", "2026-03-31T09:00:00Z")
    return url


def test_upgrade_demo_data_renew_and_audit_work_from_an_empty_directory(sqlite_env: str) -> None:
    runner = CliRunner()
    assert "database ready" in runner.invoke(app, ["db", "upgrade"]).output
    assert "demo data loaded" in runner.invoke(app, ["demo-data"]).output
    assert "already present" in runner.invoke(app, ["demo-data"]).output
    engine = make_engine(sqlite_env)
    with engine.connect() as conn:  # the demo's team: its pool paid its seats' 4 sends
        team = conn.execute(text("SELECT id, name FROM teams")).one()
        sends = "SELECT count(*) FROM spends WHERE member_id = :t AND seat_member_id IS NOT NULL"
        assert conn.execute(text(sends), {"t": team.id}).scalar_one() == 4
    engine.dispose()
    assert team.name == "Globex Health recruiting"
    renewed = runner.invoke(app, ["renew"])
    assert renewed.exit_code == 0
    assert "renewed" in renewed.output
    audited = runner.invoke(app, ["audit"])
    assert (audited.exit_code, "audit clean" in audited.output) == (0, True)


def test_audit_exits_non_zero_and_names_the_violation(sqlite_env: str) -> None:
    runner = CliRunner()
    runner.invoke(app, ["db", "upgrade"])
    runner.invoke(app, ["demo-data"])
    engine = make_engine(sqlite_env)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE accounts SET balance = balance + 1 WHERE plan_code = 'recruiter'")
        )
    engine.dispose()
    audited = runner.invoke(app, ["audit"])
    assert audited.exit_code == 1
    assert "balance" in audited.output


def test_demo_members_sign_in_with_the_printed_password_and_see_their_credits(
    sqlite_env: str,
) -> None:
    runner = CliRunner()
    runner.invoke(app, ["db", "upgrade"])
    printed = runner.invoke(app, ["demo-data"], env={"COLUMNS": "60"}).output
    assert "inmail-demo" in printed
    token = re.search(r"^  grace: (imt_\S+)$", printed, re.M)
    assert token is not None, "each token whole on its own line, even in a narrow terminal"
    with TestClient(create_app(Settings())) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        bearer = {"Authorization": f"Bearer {token.group(1)}"}
        assert client.get("/v1/me", headers=bearer).json()["handle"] == "grace"
        landing = client.get("/")
        assert landing.url.path == "/login"
        csrf = re.search(r'name="csrf" value="([^"]+)"', landing.text)
        assert csrf is not None
        form = {"csrf": csrf.group(1), "handle": "grace", "password": "inmail-demo", "next": "/"}
        credits = client.post("/login", data=form)
        assert credits.url.path == "/inbox"
        page = client.get("/credits")
    assert page.status_code == 200
    assert "Sign out @grace" in page.text
    assert 'id="balance"' in page.text


def _tokens(printed: str) -> dict[str, str]:
    return dict(re.findall(r"^  (\w+): (imt_\S+)$", printed, re.M))


def test_demo_tokens_print_whole_with_each_plan_as_it_is_now_and_a_second_run_gives_new_ones(
    sqlite_env: str,
) -> None:
    runner = CliRunner()
    runner.invoke(app, ["db", "upgrade"])
    first = runner.invoke(app, ["demo-data"], env={"COLUMNS": "40"}).output
    assert re.search(r"^katherine\s+inmail-demo\s+premium_business$", first, re.M), first
    assert re.search(r"^ada\s+inmail-demo\s+recruiter$", first, re.M)
    first_tokens = _tokens(first)
    assert len(first_tokens) == 7
    assert all(len(token) > 40 for token in first_tokens.values())  # never cut at the width
    again = runner.invoke(app, ["demo-data"], env={"COLUMNS": "40"})
    assert again.exit_code == 0
    assert "demo data already present: nothing loaded." in again.output
    assert "Fresh API tokens (earlier ones keep working):" in again.output
    assert re.search(r"^katherine\s+inmail-demo\s+premium_business$", again.output, re.M)
    fresh = _tokens(again.output)
    assert fresh.keys() == first_tokens.keys()
    assert not set(fresh.values()) & set(first_tokens.values())
    with TestClient(create_app(Settings())) as client:
        for token in (first_tokens["grace"], fresh["grace"]):
            me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.json()["handle"] == "grace"


def test_member_token_prints_a_new_working_token_and_refuses_an_unknown_handle(
    sqlite_env: str,
) -> None:
    runner = CliRunner()
    runner.invoke(app, ["db", "upgrade"])
    runner.invoke(app, ["demo-data"])
    issued = runner.invoke(app, ["member", "token", "@alan"])
    assert issued.exit_code == 0
    token = issued.output.strip()
    assert re.fullmatch(r"imt_\S+", token)
    with TestClient(create_app(Settings())) as client:
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["handle"] == "alan"
    unknown = runner.invoke(app, ["member", "token", "nobody"])
    assert unknown.exit_code == 1
    assert "there is no member @nobody" in unknown.output
    bad = runner.invoke(app, ["member", "token", "no\x00body"])
    assert bad.exit_code == 1
    assert "Traceback" not in bad.output
