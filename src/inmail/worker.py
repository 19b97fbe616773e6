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
   has its own derived key, so a bulk send run twice charges nobody twice).

Then it sleeps ``poll_seconds`` (the setting ``INMAIL_WORKER_POLL_SECONDS``).
SIGTERM and Ctrl-C stop it cleanly: the job in hand finishes, follow-ups claimed
but not started are given back, and the process exits 0. A worker killed
outright (``kill -9``) loses nothing: what it committed stays, and what it had
claimed is taken over by a later run once its lease (``INMAIL_JOB_LEASE_SECONDS``)
runs out, without a second charge. Any number of workers may run beside the app.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from datetime import datetime
from types import FrameType

from inmail.bootstrap import Runtime
from inmail.observe import logs
from inmail.services.bulk_background import resume_unfinished
from inmail.services.renewals import renew_all
from inmail.services.sequences import RunReport, run_due

logger = logging.getLogger("inmail.worker")

CHUNK = 200
"""Scheduled follow-ups run at one ``now`` (their leases counted from it)."""


@dataclass(frozen=True, slots=True)
class PassReport:
    """What one pass did, at ``at``."""

    at: datetime
    renewed: int
    follow_ups: RunReport
    bulk_sends: int = 0

    def __str__(self) -> str:
        f = self.follow_ups
        return (
            f"pass at {self.at.isoformat().replace('+00:00', 'Z')}: renewed {self.renewed} "
            f"cycle(s); scheduled follow-ups: {f.sent} sent, {f.failed} failed, "
            f"{f.cancelled} cancelled, {f.retried} left for a retry, "
            f"{f.skipped} decided elsewhere; bulk sends resumed: {self.bulk_sends}"
        )

    @property
    def did_something(self) -> bool:
        return self.renewed > 0 or self.follow_ups.total > 0 or self.bulk_sends > 0


class Worker:
    """Runs passes until :meth:`stop` (a signal handler calls it) or, with ``once``, one."""

    def __init__(self, runtime: Runtime, *, poll_seconds: float) -> None:
        self._runtime = runtime
        self._poll_seconds = poll_seconds
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Finish the job in hand, then exit (safe from a signal handler or another thread)."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run_pass(self) -> PassReport:
        """Renewals due by the clock's now, the scheduled follow-ups due, unfinished bulk sends."""
        deps, now = self._runtime.deps, self._runtime.clock.now()
        renewed = renew_all(deps, now=now, should_stop=self._stopping.is_set)
        follow_ups = self._follow_ups()
        bulk = 0 if self.stopping else resume_unfinished(deps, clock=self._runtime.clock.now)
        report = PassReport(now, renewed, follow_ups, bulk)
        logger.log(logging.INFO if report.did_something else logging.DEBUG, "%s", report)
        return report

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
                self.run_pass()
            except Exception:
                logger.exception("the pass failed; the next one retries what is left")
                ok = False
            if once:
                break
            self._stopping.wait(self._poll_seconds)
        logger.info("worker stopped")
        return ok

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
