"""On SQLite the spend hot path keeps one driver connection across spends (store/fast_spend.py,
``FastSpend._checkout``): no pool checkout per spend. What that must not change: a spend
that fails half-way writes nothing and leaves no transaction open for the next one, a forked
process never shares the parent's connection, and disposing the database closes it."""

from __future__ import annotations

import gc
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from inmail.services.context import Deps, PlanVersionCache
from inmail.services.credits import SpendResult, spend_credits
from inmail.store.db import Database, make_engine
from inmail.store.fast_spend import Guard
from inmail.store.tables import ledger_entries, spends
from tests.conftest import T0
from tests.helpers import balance, days, new_member

NOW = T0 + days(1)


class Checkouts:
    """Counts the pool's checkouts of an engine."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: Any) -> None:
        self.count += 1


@pytest.fixture
def sqlite_deps(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[Deps, Checkouts]]:
    path = tmp_path / "inmail.db"
    shutil.copy(sqlite_template, path)
    db = Database(make_engine(f"sqlite:///{path}"))
    checkouts = Checkouts()
    event.listen(db.engine, "checkout", checkouts)
    yield Deps(db, PlanVersionCache()), checkouts
    db.dispose()


def _spend(deps: Deps, member: str, reference: str, **kwargs: Any) -> SpendResult:
    return spend_credits(deps, member_id=member, cost=1, reference=reference, now=NOW, **kwargs)


def _warm_member(deps: Deps) -> str:
    """A member who has spent once (the fast path's connection is open and kept)."""
    member = new_member(deps, "premium_business", T0)
    _spend(deps, member, "warm")
    return member


def _rows(deps: Deps, reference: str) -> tuple[int, int]:
    """(spend records, ledger lines) for ``reference``."""
    with deps.db.read() as conn:
        records = conn.execute(
            select(func.count()).select_from(spends).where(spends.c.reference == reference)
        ).scalar_one()
        lines = conn.execute(
            select(func.count())
            .select_from(ledger_entries)
            .where(ledger_entries.c.reference == reference)
        ).scalar_one()
    return records, lines


def test_spends_after_the_first_take_no_connection_from_the_pool(
    sqlite_deps: tuple[Deps, Checkouts],
) -> None:
    deps, checkouts = sqlite_deps
    member = _warm_member(deps)
    before, start = balance(deps, member, NOW), checkouts.count
    for n in range(5):
        assert _spend(deps, member, f"r{n}").balance_after == before - 1 - n
    assert checkouts.count == start
    assert balance(deps, member, NOW) == before - 5


def test_an_error_half_way_writes_nothing_and_the_next_spend_works(
    sqlite_deps: tuple[Deps, Checkouts],
) -> None:
    deps, _ = sqlite_deps
    member = _warm_member(deps)
    before = balance(deps, member, NOW)

    def broken(_spent: SpendResult) -> tuple[Guard, ...]:
        raise RuntimeError("a bug in a caller's bookkeeping, after the spend's writes")

    with pytest.raises(RuntimeError, match="a bug in a caller"):
        _spend(deps, member, "half-way", then_execute=broken)

    assert _rows(deps, "half-way") == (0, 0)
    assert balance(deps, member, NOW) == before
    assert _spend(deps, member, "after").balance_after == before - 1
    assert _rows(deps, "after") == (1, 1)
    assert deps.db.engine.pool.checkedout() == 1  # type: ignore[attr-defined]  # the new one


def test_a_forked_process_opens_its_own_connection(
    sqlite_deps: tuple[Deps, Checkouts], monkeypatch: pytest.MonkeyPatch
) -> None:
    deps, checkouts = sqlite_deps
    member = _warm_member(deps)  # in the parent
    parent = deps.db.fast_spend._kept  # what the child must not use
    start = checkouts.count
    child_pid = os.getpid() + 1
    monkeypatch.setattr(os, "getpid", lambda: child_pid)

    _spend(deps, member, "in the child")

    assert checkouts.count == start + 1
    assert deps.db.fast_spend._kept is not parent
    assert _rows(deps, "in the child") == (1, 1)
    # The parent's stays out of this process's pool (held, never used, never returned).
    del parent
    gc.collect()
    assert deps.db.engine.pool.checkedout() == 2  # type: ignore[attr-defined]


def test_dispose_returns_the_kept_connection(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "inmail.db"
    shutil.copy(sqlite_template, path)
    db = Database(make_engine(f"sqlite:///{path}"))
    _warm_member(Deps(db, PlanVersionCache()))
    assert db.engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    db.dispose()
    assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_dispose_waits_for_the_spend_using_the_kept_connection(
    sqlite_deps: tuple[Deps, Checkouts],
) -> None:
    deps, _ = sqlite_deps
    member = _warm_member(deps)
    inside, release = threading.Event(), threading.Event()

    def slow(_spent: SpendResult) -> tuple[Guard, ...]:
        inside.set()  # the spend has written and holds the kept connection
        release.wait(10)
        return ()

    spender = threading.Thread(
        target=_spend, args=(deps, member, "slow"), kwargs={"then_execute": slow}
    )
    spender.start()
    assert inside.wait(10)
    closer = threading.Thread(target=deps.db.fast_spend.close)
    closer.start()
    closer.join(0.2)
    assert closer.is_alive()  # waiting for the spend's turn to end
    release.set()
    spender.join(10)
    closer.join(10)
    assert not closer.is_alive()
    assert _rows(deps, "slow") == (1, 1)
    assert deps.db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
