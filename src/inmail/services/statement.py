"""A member's statement as people read it: newest first, a page at a time, in words.

The API's ledger (``statements.list_ledger``) stays oldest first with its
references; this is the web's view of the same lines, each with what it means
(``domain.statement``) and the thread it concerns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from inmail.domain.credits import ChargeKind
from inmail.domain.statement import ChargeFact, Described, Facts, SentFact, describe, wanted
from inmail.services.context import Deps, refresh
from inmail.services.statements import LedgerLine, ledger_lines, ledger_of
from inmail.store import catalog as catalog_store
from inmail.store.tables import charges, ledger_entries, members, messages, threads


@dataclass(frozen=True, slots=True)
class StatementLine:
    """A ledger line and its meaning (``said.text``; ``said.thread_id`` to link to)."""

    line: LedgerLine
    said: Described


@dataclass(frozen=True, slots=True)
class StatementPage:
    """Lines newest first; ``newer``/``older``: the cursor of the page next to this one
    in that direction (a ledger line id), None when there is none."""

    lines: list[StatementLine]
    newer: int | None
    older: int | None


def statement_page(
    deps: Deps,
    *,
    member_id: str,
    now: datetime,
    before: int | None = None,
    after: int | None = None,
    limit: int = 25,
) -> StatementPage:
    """``limit`` lines of the member's ledger, newest first (SPEC §3).

    With neither cursor: the newest lines. ``before``: the lines older than line
    ``before`` (the "Older" page); ``after``: the lines newer than line ``after``
    (the "Newer" page). Renewals and expiries due by ``now`` are applied first.
    """
    refresh(deps, member_id, now)
    query = ledger_of(member_id)
    if after is not None:  # the oldest lines above the cursor, then shown newest first
        query = query.where(ledger_entries.c.id > after).order_by(ledger_entries.c.id)
        found = ledger_lines(deps, query.limit(limit))[::-1]
    else:
        if before is not None:
            query = query.where(ledger_entries.c.id < before)
        found = ledger_lines(deps, query.order_by(ledger_entries.c.id.desc()).limit(limit))
    with deps.db.read_stale() as conn:  # the same replica as ledger_lines
        newer = found[0].id if found and _exists(conn, member_id, above=found[0].id) else None
        older = found[-1].id if found and _exists(conn, member_id, below=found[-1].id) else None
        said = described(conn, found)
    return StatementPage(said, newer, older)


def _exists(
    conn: Connection, member_id: str, *, above: int | None = None, below: int | None = None
) -> bool:
    query = select(ledger_entries.c.id).where(ledger_entries.c.member_id == member_id)
    if above is not None:
        query = query.where(ledger_entries.c.id > above)
    if below is not None:
        query = query.where(ledger_entries.c.id < below)
    return conn.execute(query.limit(1)).first() is not None


def described(conn: Connection, lines: Sequence[LedgerLine]) -> list[StatementLine]:
    """Each of ``lines`` with its meaning, the facts they name read in two queries."""
    facts = _facts(conn, [line.reference for line in lines])
    return [
        StatementLine(line, describe(line.kind, line.source, line.reference, facts))
        for line in lines
    ]


def _facts(conn: Connection, references: list[str]) -> Facts:
    message_ids, charge_ids = wanted(references)
    sent: dict[str, SentFact] = {}
    if message_ids:
        query = (
            select(messages.c.id, messages.c.kind, threads.c.id.label("thread"), members.c.name)
            .join(threads, threads.c.id == messages.c.thread_id)
            .join(members, members.c.id == threads.c.recipient_id)
            .where(messages.c.id.in_(sorted(message_ids)))
        )
        for row in conn.execute(query):
            sent[row.id] = SentFact(row.thread, row.name, followup=row.kind == "followup")
    bought: dict[str, ChargeFact] = {}
    if charge_ids:
        query = select(charges.c.id, charges.c.kind, charges.c.credits).where(
            charges.c.id.in_(sorted(charge_ids))
        )
        for charge in conn.execute(query):
            bought[charge.id] = ChargeFact(ChargeKind(charge.kind), charge.credits)
    plans = {plan.code: plan.name for plan in catalog_store.current_plans(conn)}
    return Facts(sent, bought, plans)


def describe_lines(deps: Deps, lines: Sequence[LedgerLine]) -> list[StatementLine]:
    """:func:`described` in a read transaction of its own (the CSV export, the operator)."""
    with deps.db.read() as conn:
        return described(conn, lines)


@dataclass(frozen=True, slots=True)
class Period:
    """A run of statement lines: of the current cycle (``current``) or from before it."""

    current: bool
    lines: list[StatementLine]


def by_cycle(lines: Sequence[StatementLine], cycle_start: datetime | None) -> list[Period]:
    """``lines`` (newest first) split where the current cycle began: this cycle's first.

    Without a cycle (Basic has none) every line is in one period, not current.
    """
    periods: list[Period] = []
    for shown in lines:
        current = cycle_start is not None and shown.line.at >= cycle_start
        if not periods or periods[-1].current != current:
            periods.append(Period(current, []))
        periods[-1].lines.append(shown)
    return periods
