"""Renewing every due account in bulk (``inmail renew`` and the worker)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from inmail.domain.cycles import require_utc
from inmail.services.context import Deps, open_account
from inmail.store import accounts as account_store

Progress = Callable[[int, int], None]
"""Called with (accounts done, accounts found so far)."""


def count_due(deps: Deps, now: datetime) -> int:
    with deps.db.read() as conn:
        return account_store.count_due(conn, now)


def renew_all(
    deps: Deps,
    *,
    now: datetime,
    batch: int = 500,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Apply every renewal and expiry due by ``now``; returns how many cycles were renewed.

    Each account is caught up in its own short transaction, so members are
    never blocked for long and a crash loses nothing already committed:
    running it again finishes the rest (and renews nothing twice). Stops early,
    between accounts, once ``should_stop()`` (a worker asked to stop).
    """
    require_utc(now)
    renewed = accounts_done = 0
    seen: set[str] = set()
    total = count_due(deps, now)
    while not should_stop():
        with deps.db.read() as conn:
            due = [m for m in account_store.due_member_ids(conn, now, batch) if m not in seen]
        if not due:
            return renewed
        for member_id in due:
            if should_stop():
                break
            seen.add(member_id)
            with open_account(deps, member_id, now) as opened:
                renewed += len(opened.renewals)
            accounts_done += 1
            if progress is not None:
                progress(accounts_done, max(total, accounts_done))
    return renewed
