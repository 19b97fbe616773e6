"""What every use case shares: the plan cache, opening an account under its lock, as of now."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Connection

from inmail.domain.billing import PlanLookup, Renewal, catch_up
from inmail.domain.credits import Book
from inmail.domain.cycles import require_utc
from inmail.domain.errors import UnknownMember, UnknownPlan, UnknownTeam
from inmail.domain.plans import Plan, PlanVersion, in_force
from inmail.domain.reputation import DEFAULT_RULES as DEFAULT_REPUTATION
from inmail.domain.reputation import ReputationRules
from inmail.domain.sequences import DEFAULT_LEASE, FOLLOW_UP_MAX_DAYS
from inmail.domain.targeting import DEFAULT_RULES, TargetingRules
from inmail.domain.teams import is_team_id, pool_plan
from inmail.services.due_check import DueCheck
from inmail.store import accounts as account_store
from inmail.store import catalog as catalog_store
from inmail.store import teams as team_store
from inmail.store.db import Database
from inmail.store.messaging import notify

T = TypeVar("T")


class PlanVersionCache:
    """Plan versions never change once written, so each process may keep them forever.

    Which version is a plan's newest can change (an operator edits the plan),
    so :meth:`current` remembers that for a few seconds only: long enough to
    spare the hot reads a query, short enough that an edit shows up at once
    for every purpose that matters (renewals always ask the database).
    """

    CURRENT_TTL_S = 5.0

    def __init__(self) -> None:
        self._versions: dict[tuple[str, int], Plan] = {}
        self._current: dict[str, tuple[float, Plan]] = {}

    def current(self, conn: Connection) -> PlanLookup:
        """The newest version of a plan, as a lookup for moments from now on.

        For looking ahead (what the next renewal will do), where the newest
        terms are the ones that will be in force. Never for a renewal itself.
        """

        def newest(code: str, _at: datetime) -> Plan:
            seen = self._current.get(code)
            if seen is not None and time.monotonic() - seen[0] < self.CURRENT_TTL_S:
                return seen[1]
            plan = catalog_store.current_plan(conn, code)
            self._current[code] = (time.monotonic(), plan)
            return plan

        return newest

    def forget(self, code: str) -> None:
        """An edit in this process shows at once here (other processes: within the TTL)."""
        self._current.pop(code, None)

    def cached(self, code: str, number: int) -> Plan | None:
        return self._versions.get((code, number))

    def lookup(self, conn: Connection) -> Callable[[str, int], Plan]:
        def version(code: str, number: int) -> Plan:
            key = (code, number)
            plan = self._versions.get(key)
            if plan is None:
                plan = self._versions[key] = catalog_store.plan_version(conn, code, number)
            return plan

        return version


@dataclass(frozen=True)
class Deps:
    """The pieces a use case needs besides its arguments."""

    db: Database
    plans: PlanVersionCache
    group_message_monthly_limit: int = 15
    followup_max_days: int = FOLLOW_UP_MAX_DAYS  # the longest scheduled follow-up wait
    job_lease: timedelta = DEFAULT_LEASE  # how long a run holds a claimed job
    due_check: DueCheck = field(default_factory=DueCheck)  # senders with nothing due yet
    targeting: TargetingRules = DEFAULT_RULES  # the targeting score's weights and terms
    reputation: ReputationRules = DEFAULT_REPUTATION  # the floor and the ban ladder (SPEC §10)


@dataclass(slots=True)
class OpenAccount:
    conn: Connection
    account: account_store.Account
    book: Book
    renewals: list[Renewal]

    def save(self) -> list[int]:
        """Write the book's changes; the new ledger entries' ids, in order."""
        entry_ids = account_store.save(self.conn, self.account, self.book, self.renewals)
        # A team pool has no member to tell: its renewals are in its ledger and events.
        for renewal in [] if is_team_id(self.account.member_id) else self.renewals:
            notify(
                self.conn,
                member_id=self.account.member_id,
                at=renewal.at,
                kind="credits_renewed",
                text=_renewal_text(renewal),
                reference=f"cycle:{renewal.subscription_id}:{renewal.cycle}",
            )
        self.renewals = []
        return entry_ids


def _renewal_text(renewal: Renewal) -> str:
    if not renewal.plan.is_paid:
        return (
            f"You are on {renewal.plan.name} now; {renewal.forfeited} plan credits were forfeited"
        )
    text = f"{renewal.plan.name}: {renewal.granted} credits granted for the new cycle"
    if renewal.forfeited:
        text += f"; {renewal.forfeited} unused credits above the cap were forfeited"
    return text


def lock_and_catch_up(deps: Deps, conn: Connection, member_id: str, now: datetime) -> OpenAccount:
    """Lock the holder's account and apply every renewal and expiry due by ``now``.

    ``member_id`` is the account's holder: a member, or a team (``tm_…``) whose pool
    renews on its plan scaled by its seats (domain/teams.py).
    """
    versions, in_force = holder_terms(deps, conn, member_id)
    account = account_store.lock_account(conn, member_id, versions)
    if account is None:
        raise UnknownMember(f"there is no member {member_id!r}")
    book = account_store.load_book(conn, account)
    done = catch_up(book, account.subscription, in_force, now)
    return OpenAccount(conn, account, book, done)


def holder_terms(
    deps: Deps, conn: Connection, holder_id: str
) -> tuple[Callable[[str, int], Plan], PlanLookup]:
    """The plan lookups for an account holder: a member's are the catalog's; a team pool's
    are the team's plan scaled by its seats and pool cap (SPEC §10)."""
    versions, in_force = deps.plans.lookup(conn), plans_in_force(conn)
    if not is_team_id(holder_id):
        return versions, in_force
    team = team_store.get_team(conn, holder_id)
    if team is None:
        raise UnknownTeam(f"there is no team {holder_id!r}")

    def pool_version(code: str, number: int) -> Plan:
        plan = versions(code, number)
        return pool_plan(plan, team) if plan.is_paid else plan

    def pool_in_force(code: str, at: datetime) -> Plan:
        plan = in_force(code, at)
        return pool_plan(plan, team) if plan.is_paid else plan

    return pool_version, pool_in_force


def holder_current_terms(deps: Deps, conn: Connection, holder_id: str) -> PlanLookup:
    """:meth:`PlanVersionCache.current` for an account holder (a team pool's: scaled)."""
    current = deps.plans.current(conn)
    team = team_store.get_team(conn, holder_id) if is_team_id(holder_id) else None
    if team is None:
        return current

    def pool_current(code: str, at: datetime) -> Plan:
        plan = current(code, at)
        return pool_plan(plan, team) if plan.is_paid else plan

    return pool_current


def plans_in_force(conn: Connection) -> PlanLookup:
    """Plan terms as they were at a moment: what renewals and plan changes must use.

    Renewals always ask the database (never the few-seconds memo of
    :class:`PlanVersionCache`), so an edit is never missed and a late
    catch-up never sees terms written after the cycle it renews. Each plan's
    history is read once per lookup (a catch-up of many cycles reads it once).
    """
    histories: dict[str, list[PlanVersion]] = {}

    def lookup(code: str, at: datetime) -> Plan:
        history = histories.get(code)
        if history is None:
            history = histories[code] = catalog_store.plan_history(conn, code)
        if not history:
            raise UnknownPlan(f"there is no plan {code!r}")
        return in_force(history, at)

    return lookup


def account_in_memory(
    deps: Deps, conn: Connection, member_id: str, now: datetime
) -> tuple[account_store.Account, Book]:
    """The account and its credits caught up to ``now`` in memory only, for a preview.

    Nothing is written: the due renewals and expiries are applied to the copy,
    as the write being previewed would first apply them. Raises UnknownMember.
    """
    versions, in_force = holder_terms(deps, conn, member_id)
    account = account_store.read_account(conn, member_id, versions)
    if account is None:
        raise UnknownMember(f"there is no member {member_id!r}")
    book = account_store.load_book(conn, account)
    catch_up(book, account.subscription, in_force, now)
    return account, book


@contextmanager
def open_account(deps: Deps, member_id: str, now: datetime) -> Iterator[OpenAccount]:
    """A write transaction on one account, caught up to ``now``; saved when the block ends."""
    require_utc(now)
    with deps.db.write() as conn:
        opened = lock_and_catch_up(deps, conn, member_id, now)
        yield opened
        opened.save()


def current_account(deps: Deps, member_id: str, now: datetime) -> account_store.Account:
    """Any member's account as of ``now``: every renewal due by then applied (SPEC §2).

    One read when nothing is due; otherwise, after that read is over, one write
    transaction that applies what is due. Never call it while holding a
    connection: it may need one of its own (and SQLite's write lock). So a rule
    that looks at another member's plan (a recipient's Open Profile) sees the
    plan they are really on now, not the one their last visit left.
    Raises UnknownMember, also for a team's id: a pool holds an account but is no
    member (nobody can write to, block or quote it); :func:`holder_account` reads pools.
    """
    if is_team_id(member_id):
        raise UnknownMember(f"there is no member {member_id!r}")
    return holder_account(deps, member_id, now)


def holder_account(deps: Deps, holder_id: str, now: datetime) -> account_store.Account:
    """:func:`current_account` of any account holder: a member or a team's pool (``tm_…``).
    Raises UnknownMember (UnknownTeam for a team id naming no team)."""
    require_utc(now)
    with deps.db.read() as conn:
        versions, _ = holder_terms(deps, conn, holder_id)
        account = account_store.read_account(conn, holder_id, versions)
    if account is None:
        raise UnknownMember(f"there is no member {holder_id!r}")
    if is_due(account.next_due_at, now):
        with open_account(deps, holder_id, now) as opened:
            account = opened.account
    return account


def is_due(next_due_at: datetime | None, now: datetime) -> bool:
    """Whether something (a renewal, an expiry) must be applied before the account is read."""
    return next_due_at is not None and next_due_at <= now


def refresh(deps: Deps, member_id: str, now: datetime) -> None:
    """Apply due renewals before a read of a holder's account (a member's or a pool's)."""
    holder_account(deps, member_id, now)
