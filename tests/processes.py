"""Stopping the child processes the tests start (servers, workers, pgbouncer).

Every such child is started with ``start_new_session=True``, so it leads its own process
group: killing the group reaches the uvicorn workers or pool connections it forked, which a
kill of the leader alone would leave running (and holding ports or database locks).
"""

from __future__ import annotations

import os
import signal
import subprocess
from contextlib import suppress

STOP_TIMEOUT_S = 15.0


def kill_group(proc: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """``kill -9`` ``proc``'s whole process group at once, as a crash or a power cut would,
    and reap the leader. A group that is already gone is fine."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=timeout_s)


def stop(proc: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM (a graceful shutdown); the process group is SIGKILLed if the leader has not
    exited within ``timeout_s``, or if anything it forked outlived it."""
    if proc.poll() is None:
        proc.terminate()
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout_s)
    kill_group(proc, timeout_s)
