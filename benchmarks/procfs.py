"""Processes' CPU time from Linux's ``/proc``: what the benchmarks report besides rates."""

from __future__ import annotations

import os
from collections.abc import Iterator

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
"""Clock ticks per second, the unit of ``/proc/PID/stat``'s times."""

# Indexes into stat_fields(): after the command name, field 0 is the state.
PPID, PGRP, UTIME, STIME, CUTIME, CSTIME = 1, 2, 11, 12, 13, 14


def stat_fields(pid: int) -> list[str] | None:
    """``/proc/PID/stat``'s fields after the command name; None: no such process here (or
    no ``/proc``)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def own_seconds(fields: list[str]) -> float:
    """A process's own CPU seconds (user + system) from its :func:`stat_fields`."""
    return (int(fields[UTIME]) + int(fields[STIME])) / CLOCK_TICKS


def cpu_seconds(pid: int) -> float | None:
    """A local process's own CPU seconds so far, or None when it is not there."""
    fields = stat_fields(pid)
    return None if fields is None else own_seconds(fields)


def processes() -> Iterator[tuple[int, list[str]]]:
    """Every process now running here, with its :func:`stat_fields`."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = stat_fields(int(entry.name))
            if fields is not None:
                yield int(entry.name), fields
