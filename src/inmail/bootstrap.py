"""Wiring: builds the database, clock and service dependencies from Settings, once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from inmail.clock import Clock, SystemClock, TestClock
from inmail.config import Settings
from inmail.services.context import Deps, PlanVersionCache
from inmail.store import schema
from inmail.store.db import Database, make_engine


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    deps: Deps
    clock: Clock

    @property
    def test_clock(self) -> TestClock | None:
        return self.clock if isinstance(self.clock, TestClock) else None

    @property
    def database_on_loop(self) -> bool:
        """Whether the busiest requests' database work runs on the event loop's thread
        (``api.deps.on_database``): when requests get one thread (``INMAIL_THREADS=1``, the
        default on SQLite), their database work takes turns anyway, and handing it to that
        thread and back cost more than the work itself (docs/deploy.md, "Threads")."""
        return self.settings.request_threads == 1

    def close(self) -> None:
        self.deps.db.dispose()


def build(settings: Settings) -> Runtime:
    engine = make_engine(
        settings.database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        pool_size=settings.pool_size,
        pgbouncer=settings.pgbouncer,
        prepare_threshold=settings.pg_prepare_threshold,
    )
    read_engine = None
    if settings.read_database_url is not None:
        read_engine = make_engine(
            settings.read_database_url,
            pool_size=settings.pool_size,
            pgbouncer=settings.pgbouncer,
            prepare_threshold=settings.pg_prepare_threshold,
        )
    db = Database(engine, read_engine)
    clock: Clock = SystemClock()
    if settings.test_clock is not None:
        clock = TestClock(db, settings.test_clock)
    deps = Deps(
        db,
        PlanVersionCache(),
        settings.group_message_monthly_limit,
        followup_max_days=settings.follow_up_max_days,
        job_lease=timedelta(seconds=settings.job_lease_seconds),
        targeting=settings.targeting_rules(),
        reputation=settings.reputation_rules(),
    )
    return Runtime(settings, deps, clock)


def migrate(runtime: Runtime) -> None:
    """Bring the schema to the newest migration and load the default catalog if empty."""
    from inmail.services.catalog import seed_catalog

    schema.upgrade(runtime.deps.db.engine)
    seed_catalog(runtime.deps, now=runtime.clock.now())
