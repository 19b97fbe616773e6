"""``inmail worker``: the process that runs what falls due, pass after pass.

Each pass, at one ``now`` from the runtime's clock:

1. renews every due account in bulk (services.renewals.renew_all; each account
   in its own short transaction, keyed by (subscription, cycle) so nothing is
   renewed twice, whoever else renews it: another worker, a member's request);
2. sends or ends every due scheduled follow-up (services.sequences.run_due:
   each claimed atomically, sent with an idempotency key derived from its id,
   so two workers, or a worker and the sender's request, send it once);
3. resumes every unfinished bulk send (services.bulk_background.resume_unfinished:
   one its app process could not finish, after a restart; each recipient's send
   has its own derived key, so a bulk send run twice charges nobody twice);
4. delivers webhooks (services.webhooks.deliver_due: new outbox events become
   deliveries, then signed POSTs until nothing more is due; claims are leased,
   so a killed worker's come back after ``INMAIL_WEBHOOK_LEASE_SECONDS``);
5. at most every ``INMAIL_WORKER_NOTICE_SECONDS`` (the first pass always), writes
   the notices nobody's action writes, follow-up due and the credit warnings, for
   every member they are due for (services.notices.sweep: each once, whoever
   computes it, the worker or the member opening their notifications), and the
   response-rate floor's warnings and bulk-offs (services.reputation.sweep);
6. deletes idempotency keys older than ``INMAIL_IDEMPOTENCY_KEY_RETENTION_DAYS``
   (services.idempotency.prune_expired_keys, in bounded batches).

After each pass it logs one report line and, when ``INMAIL_WORKER_HEALTH_FILE``
is set, writes its health there (JSON: the pass, what it did, the pid), which
``inmail worker --check-health`` reads for a systemd or Kubernetes probe.
Then it sleeps ``poll_seconds`` (the setting ``INMAIL_WORKER_POLL_SECONDS``).
SIGTERM and Ctrl-C stop it cleanly: the job in hand finishes, follow-ups claimed
but not started are given back, and the process exits 0. A worker killed
outright (``kill -9``) loses nothing: what it committed stays, and what it had
claimed is taken over by a later run once its lease (``INMAIL_JOB_LEASE_SECONDS``)
runs out, without a second charge. Any number of workers may run beside the app.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from inmail.bootstrap import Runtime
from inmail.observe import logs
from inmail.services import reputation
from inmail.services.bulk_background import resume_unfinished
from inmail.services.idempotency import prune_expired_keys
from inmail.services.notices import SweepReport, sweep
from inmail.services.renewals import renew_all
from inmail.services.sequences import RunReport, run_due
from inmail.services.webhooks import DeliveryReport, deliver_due

logger = logging.getLogger("inmail.worker")

CHUNK = 200
"""Scheduled follow-ups run at one ``now`` (their leases counted from it)."""


@dataclass(frozen=True, slots=True)
class PassReport:
    """What one pass did, at ``at`` (UTC, the runtime's clock).

    ``notices``: None when the pass did not sweep for notices (not yet time to);
    ``pruned``: idempotency keys deleted.
    """

    at: datetime
    renewed: int
    follow_ups: RunReport
    bulk_sends: int = 0
    notices: SweepReport | None = None
    pruned: int = 0
    webhooks: DeliveryReport = field(default_factory=DeliveryReport)

    def __str__(self) -> str:
        f = self.follow_ups
        notices = (
            "not swept this pass"
            if self.notices is None
            else f"{self.notices.written} written ({self.notices.checked} member(s) checked)"
        )
        return (
            f"pass at {self.at.isoformat().replace('+00:00', 'Z')}: renewed {self.renewed} "
            f"cycle(s); scheduled follow-ups: {f.sent} sent, {f.failed} failed, "
            f"{f.cancelled} cancelled, {f.retried} left for a retry, "
            f"{f.skipped} decided elsewhere; bulk sends resumed: {self.bulk_sends}; "
            f"{self.webhooks}; notices: {notices}; idempotency keys pruned: {self.pruned}"
        )

    @property
    def did_something(self) -> bool:
        return (
            self.renewed > 0
            or self.follow_ups.total > 0
            or self.bulk_sends > 0
            or (self.notices is not None and self.notices.written > 0)
            or self.pruned > 0
            or self.webhooks.total > 0
        )

    def as_json(self) -> dict[str, Any]:
        """The report as the health file's ``did``: counts by step."""
        f = self.follow_ups
        return {
            "renewed": self.renewed,
            "follow_ups": {
                "sent": f.sent,
                "failed": f.failed,
                "cancelled": f.cancelled,
                "retried": f.retried,
                "skipped": f.skipped,
            },
            "bulk_sends_resumed": self.bulk_sends,
            "notices": None
            if self.notices is None
            else {"checked": self.notices.checked, "written": self.notices.written},
            "webhooks": {
                "dispatched": self.webhooks.dispatched,
                "delivered": self.webhooks.delivered,
                "retrying": self.webhooks.retrying,
                "dead": self.webhooks.dead,
            },
            "idempotency_keys_pruned": self.pruned,
        }


class Worker:
    """Runs passes until :meth:`stop` (a signal handler calls it) or, with ``once``, one."""

    def __init__(self, runtime: Runtime, *, poll_seconds: float) -> None:
        self._runtime = runtime
        self._poll_seconds = poll_seconds
        self._stopping = threading.Event()
        settings = runtime.settings
        self._notice_every = timedelta(seconds=settings.worker_notice_seconds)
        self._next_sweep: datetime | None = None  # None: the next pass sweeps
        self._key_retention = timedelta(days=settings.idempotency_key_retention_days)
        self._health_file = settings.worker_health_file
        self.last_report: PassReport | None = None
        """The last pass's report (None before one finished)."""

    def stop(self) -> None:
        """Finish the job in hand, then exit (safe from a signal handler or another thread)."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run_pass(self) -> PassReport:
        """Renewals due by the clock's now, the scheduled follow-ups due, unfinished bulk
        sends, the notices due (when it is time to sweep), expired idempotency keys."""
        deps, now = self._runtime.deps, self._runtime.clock.now()
        renewed = renew_all(deps, now=now, should_stop=self._stopping.is_set)
        follow_ups = self._follow_ups()
        bulk = 0 if self.stopping else resume_unfinished(deps, clock=self._runtime.clock.now)
        webhooks = deliver_due(
            deps,
            clock=self._runtime.clock.now,
            policy=self._runtime.settings.webhook_policy(),
            should_stop=self._stopping.is_set,
        )
        notices = None if self.stopping else self._notices()
        pruned = 0
        if not self.stopping:
            pruned = prune_expired_keys(
                deps,
                now=self._runtime.clock.now(),
                retention=self._key_retention,
                should_stop=self._stopping.is_set,
            )
        report = PassReport(now, renewed, follow_ups, bulk, notices, pruned, webhooks)
        logger.log(logging.INFO if report.did_something else logging.DEBUG, "%s", report)
        self.last_report = report
        return report

    def _notices(self) -> SweepReport | None:
        """The notice sweep, when its time has come (None: not this pass)."""
        now = self._runtime.clock.now()
        if self._next_sweep is not None and now < self._next_sweep:
            return None
        done = sweep(self._runtime.deps, now=now, should_stop=self._stopping.is_set)
        # The response-rate floor's warnings and bulk-offs (each written once, with its notice).
        rated = reputation.sweep(self._runtime.deps, now=now, should_stop=self._stopping.is_set)
        self._next_sweep = now + self._notice_every
        return SweepReport(done.checked, done.written + rated.changed)

    def _follow_ups(self) -> RunReport:
        """In chunks, each at a fresh now: a long pass never claims with a lease already
        run out (another worker would then do the same work again, safely but for nothing)."""
        done = RunReport()
        while not self.stopping:
            now = self._runtime.clock.now()
            chunk = run_due(
                self._runtime.deps, now=now, limit=CHUNK, should_stop=self._stopping.is_set
            )
            done += chunk
            if chunk.total < CHUNK:
                return done
        return done

    def run(self, *, once: bool = False) -> bool:
        """Pass after pass until stopped; True unless a pass failed (``once``: the one pass).

        A failed pass (the database unreachable) is logged and tried again after
        the poll interval: a worker outlives a database restart.
        """
        logger.info(
            "worker started%s", " for one pass" if once else f", every {self._poll_seconds:g} s"
        )
        ok = True
        while not self.stopping:
            try:
                report = self.run_pass()
            except Exception as failed:
                logger.exception("the pass failed; the next one retries what is left")
                ok = False
                self._write_health(None, f"{type(failed).__name__}: {failed}")
            else:
                self._write_health(report, None)
            if once:
                break
            self._stopping.wait(self._poll_seconds)
        logger.info("worker stopped")
        return ok

    def _write_health(self, report: PassReport | None, error: str | None) -> None:
        """The health file, replaced whole (a reader never sees half of it)."""
        if self._health_file is None:
            return
        health = {
            "written_at": _iso(datetime.now(UTC)),  # real time: what a probe compares
            "pid": os.getpid(),
            "ok": error is None,
            "pass_at": None if report is None else _iso(report.at),
            "did": None if report is None else report.as_json(),
            "report": None if report is None else str(report),
            "error": error,
        }
        try:
            write_health(self._health_file, health)
        except OSError:
            logger.exception("could not write the health file %s", self._health_file)

    def stop_on_signals(self) -> None:
        """SIGTERM and SIGINT (Ctrl-C) stop the worker cleanly (call from the main thread)."""

        def handle(signum: int, _frame: FrameType | None) -> None:
            logger.info("%s: stopping after the job in hand", signal.Signals(signum).name)
            self.stop()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)


def configure_logging(verbose: bool = False, log_format: str = "text") -> None:
    """One line per event on stderr, with the time in UTC (what an operator's log collector
    wants), as text or JSON objects: the configuration ``inmail serve`` uses too
    (observe/logs.py)."""
    logs.configure_logging(logs.LogFormat(log_format), verbose=verbose)
    # inmail's own loggers only: the root at DEBUG would log every SQL statement too.
    logging.getLogger("inmail").setLevel(logging.DEBUG if verbose else logging.INFO)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def write_health(path: Path, health: dict[str, Any]) -> None:
    """Write ``health`` as JSON to ``path`` through a temporary file beside it, then rename."""
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    part.write_text(json.dumps(health, indent=2) + "\n", encoding="utf-8")
    os.replace(part, path)


def health_problem(text: str, *, now: datetime, max_age: timedelta) -> str | None:
    """What is wrong with a worker whose health file reads ``text`` at ``now`` (UTC, real
    time), or None when it is healthy: its last pass succeeded and it wrote the file at
    most ``max_age`` ago."""
    try:
        health = json.loads(text)
        written = datetime.fromisoformat(health["written_at"])
        ok = health["ok"]
    except (ValueError, KeyError, TypeError):
        return "the health file is not one inmail worker wrote"
    if written.tzinfo is None:
        return "the health file is not one inmail worker wrote"
    age = now - written
    if age > max_age:
        return (
            f"the last pass ended {age.total_seconds():.0f} s ago "
            f"(more than {max_age.total_seconds():g} s)"
        )
    if ok is not True:
        return f"the last pass failed: {health.get('error')}"
    return None
