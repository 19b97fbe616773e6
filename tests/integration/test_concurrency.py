"""Concurrency and idempotency against real databases (SPEC §2, §3, §4).

Every test runs on a real SQLite file and on a real PostgreSQL (the ``deps``
fixture is parametrized over both). Threads share one ``Deps``: SQLAlchemy's
pool hands each thread its own connection. Threads start together at a
barrier so the writes really do overlap.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier as ProcessBarrier
from pathlib import Path
from threading import Barrier
from typing import TypeVar

import pytest

from inmail.domain.errors import IdempotencyKeyReused, InsufficientCredits
from inmail.services.audit import run_audit
from inmail.services.context import Deps, PlanVersionCache
from inmail.services.credits import (
    Purchase,
    SpendResult,
    buy_pack,
    spend_credits,
    update_overage_settings,
)
from inmail.services.renewals import renew_all
from inmail.services.statements import get_credits
from inmail.store.db import Database, make_engine
from tests.conftest import T0, WITH_PGBOUNCER, database_url
from tests.helpers import balance, charge_kinds, days, ledger, new_member

T = TypeVar("T")
Outcome = tuple[str, str]
"""(reference, "spent" | "refused" | the unexpected error, in words)."""

NOW = T0 + days(1)
CREDITS = 25  # what premium_business grants at creation
THREADS = 20
ATTEMPTS_PER_THREAD = 2  # 40 attempts for 25 credits
PROCESSES = 4
ATTEMPTS_PER_PROCESS = 10
REPLAYS = 16
WAIT_SECONDS = 60  # a hang fails the test instead of blocking the run
# Anchored Jan 31: cycles start Feb 28, Mar 31 and Apr 30, so three renewals are due.
AFTER_THREE_CYCLES = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=WITH_PGBOUNCER)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Also through pgbouncer in transaction pooling mode (docs/rules.md)."""
    return database_url(request, tmp_path)


@pytest.fixture
def member_id(deps: Deps) -> str:
    """A premium_business member with 25 credits and automatic overage off."""
    member = new_member(deps, "premium_business", T0)
    update_overage_settings(deps, member_id=member, auto_overage=False, limit_minor=None, now=T0)
    assert balance(deps, member, T0) == CREDITS
    return member


def together(n: int, work: Callable[[int], T]) -> list[T | BaseException]:
    """Run ``work(0)`` … ``work(n - 1)`` on n threads released at once; each result or error."""
    barrier = Barrier(n, timeout=WAIT_SECONDS)

    def run(i: int) -> T:
        barrier.wait()
        return work(i)

    results: list[T | BaseException] = []
    with ThreadPoolExecutor(max_workers=n) as pool:
        for future in [pool.submit(run, i) for i in range(n)]:
            error = future.exception(timeout=WAIT_SECONDS)
            results.append(future.result() if error is None else error)
    return results


def spend_attempts(deps: Deps, member_id: str, prefix: str, attempts: int) -> list[Outcome]:
    """Try to spend 1 credit ``attempts`` times, each for its own InMail."""
    outcomes: list[Outcome] = []
    for attempt in range(attempts):
        reference = f"inmail:{prefix}-{attempt}"
        try:
            spend_credits(deps, member_id=member_id, cost=1, reference=reference, now=NOW)
        except InsufficientCredits:
            outcomes.append((reference, "refused"))
        except Exception as exc:
            outcomes.append((reference, f"{type(exc).__name__}: {exc}"))
        else:
            outcomes.append((reference, "spent"))
    return outcomes


def spend_in_process(
    url: str, member_id: str, worker: int, barrier: ProcessBarrier, results: Queue[list[Outcome]]
) -> None:
    """One process's share of the spends, through its own engine (a ``spawn`` target)."""
    deps = Deps(Database(make_engine(url)), PlanVersionCache())
    try:
        balance(deps, member_id, NOW)  # connect before the start line, not after it
        barrier.wait(timeout=WAIT_SECONDS)
        results.put(spend_attempts(deps, member_id, f"p{worker}", ATTEMPTS_PER_PROCESS))
    finally:
        deps.db.dispose()


def assert_spent_exactly_the_credits(deps: Deps, member_id: str, outcomes: list[Outcome]) -> None:
    tally = Counter(outcome for _, outcome in outcomes)
    assert tally == {"spent": CREDITS, "refused": len(outcomes) - CREDITS}
    spent = sorted(ref for ref, outcome in outcomes if outcome == "spent")
    spend_lines = [line for line in ledger(deps, member_id, NOW) if line.kind == "spend"]
    assert sorted(line.reference for line in spend_lines) == spent
    assert all(line.balance_after >= 0 for line in ledger(deps, member_id, NOW))
    assert balance(deps, member_id, NOW) == 0
    assert run_audit(deps) == []


def test_concurrent_spends_from_one_account_spend_each_credit_exactly_once(
    deps: Deps, member_id: str
) -> None:
    results = together(
        THREADS, lambda i: spend_attempts(deps, member_id, f"t{i}", ATTEMPTS_PER_THREAD)
    )

    assert not [r for r in results if isinstance(r, BaseException)]
    outcomes = [o for r in results if not isinstance(r, BaseException) for o in r]
    assert len(outcomes) == THREADS * ATTEMPTS_PER_THREAD
    assert_spent_exactly_the_credits(deps, member_id, outcomes)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres", "pgbouncer"], indirect=True)
def test_concurrent_spends_from_several_processes_spend_each_credit_exactly_once(
    db_url: str, deps: Deps, member_id: str
) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results: Queue[list[Outcome]] = ctx.Queue()
    processes = [
        ctx.Process(target=spend_in_process, args=(db_url, member_id, n, barrier, results))
        for n in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    try:
        outcomes = [o for _ in processes for o in results.get(timeout=WAIT_SECONDS)]
    finally:
        for process in processes:
            process.join(timeout=WAIT_SECONDS)

    assert [p.exitcode for p in processes] == [0] * PROCESSES
    assert len(outcomes) == PROCESSES * ATTEMPTS_PER_PROCESS
    assert_spent_exactly_the_credits(deps, member_id, outcomes)


def test_concurrent_replays_of_one_spend_key_spend_once_and_return_the_first_result(
    deps: Deps, member_id: str
) -> None:
    def replay(_: int) -> SpendResult:
        return spend_credits(
            deps,
            member_id=member_id,
            cost=1,
            reference="inmail:same",
            now=NOW,
            idempotency_key="same-key",
        )

    results = together(REPLAYS, replay)

    assert Counter(type(r).__name__ for r in results) == {"SpendResult": REPLAYS}, results
    assert len(set(results)) == 1
    assert balance(deps, member_id, NOW) == CREDITS - 1
    spend_lines = [line for line in ledger(deps, member_id, NOW) if line.kind == "spend"]
    assert [line.reference for line in spend_lines] == ["inmail:same"]
    assert run_audit(deps) == []


def test_concurrent_replays_of_one_purchase_key_buy_one_pack(deps: Deps, member_id: str) -> None:
    def replay(_: int) -> Purchase:
        return buy_pack(
            deps, member_id=member_id, pack="pack_5", now=NOW, idempotency_key="buy-once"
        )

    results = together(REPLAYS, replay)

    assert Counter(type(r).__name__ for r in results) == {"Purchase": REPLAYS}, results
    assert len(set(results)) == 1
    assert balance(deps, member_id, NOW) == CREDITS + 5
    assert charge_kinds(deps, member_id, NOW).count("pack") == 1
    assert run_audit(deps) == []


def _snapshot(deps: Deps, member_id: str) -> tuple[object, ...]:
    return (
        balance(deps, member_id, NOW),
        ledger(deps, member_id, NOW),
        charge_kinds(deps, member_id, NOW),
    )


@pytest.mark.parametrize(
    ("reference", "cost"), [("inmail:other", 1), ("inmail:first", 2)], ids=["reference", "cost"]
)
def test_reusing_a_spend_key_for_a_different_request_is_refused_and_changes_nothing(
    deps: Deps, member_id: str, reference: str, cost: int
) -> None:
    spend_credits(
        deps, member_id=member_id, cost=1, reference="inmail:first", now=NOW, idempotency_key="k"
    )
    before = _snapshot(deps, member_id)

    with pytest.raises(IdempotencyKeyReused):
        spend_credits(
            deps, member_id=member_id, cost=cost, reference=reference, now=NOW, idempotency_key="k"
        )

    assert _snapshot(deps, member_id) == before
    assert run_audit(deps) == []


def test_reusing_a_purchase_key_for_another_pack_is_refused_and_changes_nothing(
    deps: Deps, member_id: str
) -> None:
    buy_pack(deps, member_id=member_id, pack="pack_5", now=NOW, idempotency_key="k")
    before = _snapshot(deps, member_id)

    with pytest.raises(IdempotencyKeyReused):
        buy_pack(deps, member_id=member_id, pack="pack_10", now=NOW, idempotency_key="k")

    assert _snapshot(deps, member_id) == before


def test_a_due_renewal_happens_exactly_once_when_reads_spends_and_the_batch_race(
    deps: Deps, member_id: str
) -> None:
    now = AFTER_THREE_CYCLES
    actions: list[Callable[[int], object]] = [
        lambda i: renew_all(deps, now=now),
        lambda i: get_credits(deps, member_id=member_id, now=now),
        lambda i: spend_credits(
            deps, member_id=member_id, cost=1, reference=f"inmail:renewal-{i}", now=now
        ),
    ]
    results = together(10, lambda i: actions[i % len(actions)](i))

    assert not [r for r in results if isinstance(r, BaseException)], results
    spends = sum(isinstance(r, SpendResult) for r in results)
    grants = [
        line
        for line in ledger(deps, member_id, now)
        if line.kind == "grant" and line.source == "allotment"
    ]
    assert len(grants) == 4  # the creation cycle and three renewals
    assert charge_kinds(deps, member_id, now).count("subscription") == 4
    assert balance(deps, member_id, now) == 75 - spends  # the rollover cap, less the spends
    assert run_audit(deps) == []
