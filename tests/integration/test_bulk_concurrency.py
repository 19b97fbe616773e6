"""Bulk sends under concurrency and crashes, on a real SQLite file and a real PostgreSQL.

Whatever runs a bulk send — the request's background task, a resumed run after a crash,
two processes at once, a retry of the whole request — every recipient is written to at
most once, the credits counted are exactly those spent, and the credits confirmed are
never passed, also while the same member sends single InMails at the same time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from inmail.domain.bulk import Connections, Status
from inmail.domain.errors import InsufficientCredits
from inmail.domain.templates import Letter, TemplateText
from inmail.services.audit import run_audit
from inmail.services.bulk_background import resume_unfinished
from inmail.services.bulk_runs import run_bulk_send
from inmail.services.bulk_sends import BulkRequest, get_bulk_send, start_bulk_send
from inmail.services.context import Deps
from inmail.services.credits import adjust_credits, update_overage_settings
from inmail.services.inmail import send_inmail
from inmail.services.network import connect
from inmail.services.templates import create_template
from inmail.store.tables import bulk_sends, messages, threads
from tests.conftest import T0, WITH_PGBOUNCER, database_url
from tests.helpers import balance, days, new_member
from tests.integration.test_send_concurrency import spend_references, together

NOW = T0 + days(1)
LIMIT = 500
LETTER = Letter("Hello {first_name}", "Hi {first_name}, would you talk about the role?")


CLOCK_READINGS = 11  # of a whole run of test_a_run_that_dies_anywhere_resumes...'s bulk send


@pytest.fixture(params=WITH_PGBOUNCER)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Also through pgbouncer in transaction pooling mode (docs/rules.md)."""
    return database_url(request, tmp_path)


class Crash(Exception):
    """The process died here."""


def setup(deps: Deps, recipients: int, *, connections: int = 0) -> tuple[str, str, list[str]]:
    """A sender on premium_business (25 credits), their template, and recipients (the
    first ``connections`` of them connected to the sender)."""
    sender = new_member(deps, "premium_business", T0)
    text = TemplateText(LETTER, Letter("Hey {first_name}", "{first_name}, one question?"))
    made = create_template(deps, owner_id=sender, name="Outreach", text=text, now=T0)
    people = [new_member(deps, "basic", T0) for _ in range(recipients)]
    for friend in people[:connections]:
        connect(deps, a=sender, b=friend, now=T0)
    return sender, made.id, people


def start(deps: Deps, sender: str, template_id: str, people: list[str], **caps: int) -> str:
    request = BulkRequest(template_id, tuple(people), Connections.MESSAGE, **caps)
    return start_bulk_send(
        deps,
        owner_id=sender,
        request=request,
        now=NOW,
        idempotency_key="bulk-1",
        max_recipients=LIMIT,
    )


def written_to(deps: Deps, sender: str) -> Counter[str]:
    """How many threads the sender started with each member (InMail or message)."""
    query = select(threads.c.recipient_id).where(threads.c.initiator_id == sender)
    with deps.db.read() as conn:
        return Counter(conn.execute(query).scalars())


def messages_by(deps: Deps, sender: str) -> Counter[str]:
    query = select(messages.c.kind).where(messages.c.sender_id == sender)
    with deps.db.read() as conn:
        return Counter(conn.execute(query).scalars())


def bulk_rows(deps: Deps) -> int:
    with deps.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(bulk_sends)).scalar_one())


def assert_each_written_once(deps: Deps, sender: str, people: list[str], bulk_id: str) -> None:
    """Every recipient sent exactly once, and the bulk send's count is its spends."""
    view = get_bulk_send(deps, owner_id=sender, bulk_id=bulk_id, limit=LIMIT)
    sent = [r for r in view.recipients if r.status == "sent"]
    listed = Counter({m: n for m, n in written_to(deps, sender).items() if m in people})
    assert listed == Counter(r.member_id for r in sent)
    assert set(listed.values()) <= {1}
    assert view.bulk.credits_spent == sum(r.cost_credits for r in sent)
    assert sum(spend_references(deps, sender).values()) == messages_by(deps, sender)["inmail"]
    assert view.counts.pending == 0
    assert run_audit(deps) == []


def test_the_same_bulk_request_twice_at_once_is_one_bulk_send_each_charged_once(
    deps: Deps,
) -> None:
    sender, template_id, people = setup(deps, 8)

    def request_and_run(_: int) -> Status:
        bulk_id = start(deps, sender, template_id, people, max_credits=8)
        return run_bulk_send(deps, bulk_id=bulk_id, clock=lambda: NOW)

    outcomes = together(4, request_and_run)

    assert outcomes == [Status.DONE] * 4, outcomes
    assert bulk_rows(deps) == 1
    bulk_id = start(deps, sender, template_id, people, max_credits=8)  # the same answer
    assert_each_written_once(deps, sender, people, bulk_id)
    assert written_to(deps, sender) == Counter(people)
    assert balance(deps, sender, NOW) == 25 - 8


def test_runs_of_one_bulk_send_at_once_never_pass_the_confirmed_total(deps: Deps) -> None:
    sender, template_id, people = setup(deps, 12)
    bulk_id = start(deps, sender, template_id, people, max_credits=7)

    outcomes = together(4, lambda _: run_bulk_send(deps, bulk_id=bulk_id, clock=lambda: NOW))

    assert outcomes == [Status.DONE] * 4, outcomes
    view = get_bulk_send(deps, owner_id=sender, bulk_id=bulk_id, limit=LIMIT)
    assert view.bulk.credits_spent == 7
    assert [r.status for r in view.recipients] == ["sent"] * 7 + ["not_sent"] * 5
    reasons = {r.reason["code"] for r in view.recipients if r.reason is not None}
    assert reasons == {"over-confirmed-total"}
    assert balance(deps, sender, NOW) == 25 - 7
    assert_each_written_once(deps, sender, people, bulk_id)


def test_single_sends_at_the_same_time_count_against_the_balance_not_the_bulk_total(
    deps: Deps,
) -> None:
    sender, template_id, people = setup(deps, 10)
    others = [new_member(deps, "basic", T0) for _ in range(6)]
    update_overage_settings(deps, member_id=sender, auto_overage=False, limit_minor=None, now=T0)
    adjust_credits(deps, member_id=sender, amount=-13, reason="test: 12 left", now=T0)
    bulk_id = start(deps, sender, template_id, people, max_credits=10)

    def work(i: int) -> object:
        if i == 0:
            return run_bulk_send(deps, bulk_id=bulk_id, clock=lambda: NOW)
        try:
            return send_inmail(
                deps,
                sender_id=sender,
                to=others[i - 1],
                subject="Hello",
                body="A single InMail",
                now=NOW,
            )
        except InsufficientCredits:
            return "refused"

    outcomes = together(7, work)

    assert outcomes[0] in (Status.DONE, Status.STOPPED), outcomes
    view = get_bulk_send(deps, owner_id=sender, bulk_id=bulk_id, limit=LIMIT)
    singles = sum(1 for o in outcomes[1:] if o != "refused")
    assert view.bulk.credits_spent <= 10
    assert view.bulk.credits_spent + singles == 12  # every credit went to one or the other
    assert balance(deps, sender, NOW) == 0
    if view.status == Status.STOPPED:  # it ran out: stopped cleanly, nothing half-sent
        assert view.bulk.stop is not None
        assert view.bulk.stop["code"] == "insufficient-credits"
    assert_each_written_once(deps, sender, people, bulk_id)


def crashing_clock(after: int) -> Callable[[], datetime]:
    """A clock that lets the process die on its ``after``-th reading."""
    calls = iter(range(1, 10_000))

    def now() -> datetime:
        if next(calls) == after:
            raise Crash(after)
        return NOW

    return now


@pytest.mark.parametrize("crash_at", range(1, CLOCK_READINGS + 1))
def test_a_run_that_dies_anywhere_resumes_without_writing_to_anyone_twice(
    deps: Deps, crash_at: int
) -> None:
    # Recipients 1-2 are connections (free messages), 3-6 get InMails; the clock is read
    # before each send and after each free message, so every gap is a place to die in.
    # (A whole run reads it CLOCK_READINGS times: the last is when it finishes.)
    sender, template_id, people = setup(deps, 6, connections=2)
    bulk_id = start(deps, sender, template_id, people, max_credits=4)

    with pytest.raises(Crash):
        run_bulk_send(deps, bulk_id=bulk_id, clock=crashing_clock(crash_at))
    resumed = run_bulk_send(deps, bulk_id=bulk_id, clock=lambda: NOW)

    assert resumed == Status.DONE
    assert written_to(deps, sender) == Counter(people)
    assert messages_by(deps, sender) == Counter({"message": 2, "inmail": 4})
    assert balance(deps, sender, NOW) == 25 - 4
    assert_each_written_once(deps, sender, people, bulk_id)


def test_a_restarted_process_resumes_every_unfinished_bulk_send(deps: Deps) -> None:
    sender, template_id, people = setup(deps, 3)
    bulk_id = start(deps, sender, template_id, people, max_credits=3)
    with pytest.raises(Crash):
        run_bulk_send(deps, bulk_id=bulk_id, clock=crashing_clock(4))  # after one InMail

    assert resume_unfinished(deps, clock=lambda: NOW) == 1

    assert get_bulk_send(deps, owner_id=sender, bulk_id=bulk_id).status == Status.DONE
    assert resume_unfinished(deps, clock=lambda: NOW) == 0
    assert written_to(deps, sender) == Counter(people)
    assert balance(deps, sender, NOW) == 25 - 3
