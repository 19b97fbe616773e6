"""What operators watch: readiness (``GET /readyz``) and the gauges a scrape reads.

Both read the database at the moment they are asked, in one short read
transaction each, with indexed queries only (store.operations).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from inmail.domain.cycles import require_utc
from inmail.domain.errors import NotReady
from inmail.services.context import Deps
from inmail.store import operations as ops_store
from inmail.store import schema

OUTBOX_DEPTH_CAP = 100_000
"""The outbox is counted up to this many events (the gauge then reads this cap)."""


def check_ready(deps: Deps) -> None:
    """Returns when the database answers and is at the newest migration.

    Raises NotReady naming the failed check: ``database`` (no connection, or the
    query failed) or ``migrations`` (never migrated, or behind the code).
    """
    try:
        with deps.db.read() as conn:
            revision = schema.current_revision(conn)
    except SQLAlchemyError as exc:
        raise NotReady(
            f"the database does not answer ({exc.__class__.__name__})", check="database"
        ) from None
    head = schema.head_revision()
    if revision != head:
        raise NotReady(
            f"the database is at migration {revision or 'none'}, the code needs {head}: "
            "run `inmail db upgrade`",
            check="migrations",
        )


@dataclass(frozen=True, slots=True)
class Gauges:
    """The database's side of a scrape, in seconds and events.

    ``renewal_lag_seconds``: now minus the oldest ``next_due_at`` still due (0 when none
    is): how far renewals run behind (SPEC §2: they never wait for a job).
    ``outbox_depth``: events stored in the outbox (up to :data:`OUTBOX_DEPTH_CAP`);
    ``outbox_oldest_age_seconds``: now minus the oldest one's time (0 when empty).
    """

    renewal_lag_seconds: float
    outbox_depth: int
    outbox_oldest_age_seconds: float


def read_gauges(deps: Deps, *, now: datetime) -> Gauges:
    """The gauges at ``now`` (UTC). Raises SQLAlchemyError when the database fails."""
    require_utc(now)
    with deps.db.read() as conn:
        overdue = ops_store.oldest_overdue(conn, now)
        depth, oldest = ops_store.outbox_backlog(conn, OUTBOX_DEPTH_CAP)
    return Gauges(_age(now, overdue), depth, _age(now, oldest))


def _age(now: datetime, since: datetime | None) -> float:
    return 0.0 if since is None else max(0.0, (now - since).total_seconds())
