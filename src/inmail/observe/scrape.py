"""A scrape: the process's (or every worker process's) metrics plus the database's gauges.

``GET /metrics`` (operator token) answers :func:`exposition`; with
``INMAIL_METRICS_PORT`` set, ``inmail serve`` serves the same text on that port
instead, without a token (:func:`serve_on_port`), and the app has no ``/metrics``.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from inmail.observe import metrics
from inmail.services.context import Deps
from inmail.services.operations import read_gauges

logger = logging.getLogger("inmail.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class DatabaseCollector(Collector):
    """Gauges read from the database at each scrape (services.operations.read_gauges).

    ``inmail_database_up`` is 0, and the other gauges are left out, when the read
    fails: a scrape still answers while the database is down.
    """

    def __init__(self, deps: Deps, clock: Callable[[], datetime]) -> None:
        self._deps = deps
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        try:
            gauges = read_gauges(self._deps, now=self._clock())
        except SQLAlchemyError:
            logger.warning("metrics: the database did not answer", exc_info=True)
            yield _gauge("inmail_database_up", "1 when the scrape could read the database.", 0)
            return
        yield _gauge("inmail_database_up", "1 when the scrape could read the database.", 1)
        yield _gauge(
            "inmail_renewal_lag_seconds",
            "Now minus the oldest next_due_at still due, in seconds (0: none is due).",
            gauges.renewal_lag_seconds,
        )
        yield _gauge(
            "inmail_outbox_depth",
            "Events webhook endpoints have not had yet (counted up to 100000).",
            gauges.outbox_depth,
        )
        yield _gauge(
            "inmail_outbox_oldest_age_seconds",
            "Now minus the time of the oldest event still to deliver, in seconds (0: none).",
            gauges.outbox_oldest_age_seconds,
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class _Own(Collector):
    """This process's own registry, as one collector of a scrape's registry."""

    def collect(self) -> Iterable[Metric]:
        return metrics.REGISTRY.collect()


class _AllProcesses(Collector):
    """Every worker process's metrics, from their files in ``path``.

    A worker that died without shutting down (killed, or restarted by uvicorn's health
    check) leaves its live gauges' files behind; prometheus-client adds them up until
    ``mark_process_dead`` is called for it, so each scrape calls it for every file whose
    process is gone (the files are this host's: the processes are its own).
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._files = MultiProcessCollector(None, path=str(path))  # type: ignore[no-untyped-call]

    def collect(self) -> Iterable[Metric]:
        for pid in _dead_pids(self._path):
            mark_process_dead(pid, str(self._path))  # type: ignore[no-untyped-call]
        return self._files.collect()  # type: ignore[no-untyped-call,no-any-return]


def _dead_pids(path: Path) -> set[int]:
    dead: set[int] = set()
    for live in path.glob("gauge_live*_*.db"):
        pid = int(live.stem.rsplit("_", 1)[1])
        try:
            os.kill(pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            dead.add(pid)
        except PermissionError:
            pass  # exists, under another user
    return dead


def scrape_registry(
    deps: Deps, clock: Callable[[], datetime], *, files: Path | None = None
) -> CollectorRegistry:
    """The registry a scrape renders: the database's gauges, and the process's metrics or,
    in multiprocess mode, every worker process's (added up from their files in ``files``,
    by default the directory this process writes its own to)."""
    registry = CollectorRegistry(auto_describe=False)
    directory = files or metrics.MULTIPROCESS_DIR
    if directory is not None:
        registry.register(_AllProcesses(Path(directory)))
    else:
        registry.register(_Own())
    registry.register(DatabaseCollector(deps, clock))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The Prometheus text format (version 0.0.4) of ``registry`` now."""
    return generate_latest(registry)


def prepare_multiprocess_dir(configured: Path | None) -> tuple[Path, bool]:
    """The directory worker processes write their metrics to, emptied; and whether it was
    made here (a temporary one, to remove on exit).

    Emptied at every start, as prometheus-client requires: files left by an earlier run
    would add its counts to this one's.
    """
    if configured is None:
        return Path(tempfile.mkdtemp(prefix="inmail-metrics-")), True
    configured.mkdir(parents=True, exist_ok=True)
    for stale in configured.glob("*.db"):
        stale.unlink()
    return configured, False


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def serve_on_port(registry: CollectorRegistry, *, host: str, port: int) -> None:
    """Serve ``registry`` on ``host:port`` from a background thread, without a token."""
    start_http_server(port, addr=host, registry=registry)
    logger.info("metrics served on http://%s:%d/metrics", host, port)
