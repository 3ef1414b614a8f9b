"""Resource use of process-engine containers, from ``/proc`` (the engine interface's ``stats(container)``).

A process-engine container is its main process's session plus the sessions of the commands exec'd into
it: CPU is the user + system time of every live process in those sessions (``/proc/<pid>/stat`` fields 14
and 15), memory their resident set (field 24, pages). Without network namespaces the process engine cannot
tell one container's traffic from another's, so ``rx_bytes`` and ``tx_bytes`` stay 0 (COVERAGE.md); the
Docker engine reports the container's own interface. CPU time of processes that already exited is not
counted (a cgroup would keep it): a counter can go down, and the sampler reads a decrease as 0.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class ContainerStats:
    """One reading of a container's counters (the engine interface's type; i14's engine.py defines the same)."""

    cpu_seconds_total: float
    memory_bytes: int
    rx_bytes: int
    tx_bytes: int
    at: float


def _sessions_snapshot() -> dict[int, tuple[float, int]]:
    """session id -> (cpu seconds, resident bytes) summed over every live process on the machine."""
    totals: dict[int, tuple[float, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        try:
            # fields[0] is field 3 (state): session is field 6, utime 14, stime 15, rss 24
            if fields[0] == b"Z":
                continue
            session = int(fields[3])
            cpu = (int(fields[11]) + int(fields[12])) / _TICKS
            rss = int(fields[21]) * _PAGE
        except (IndexError, ValueError):
            continue
        old_cpu, old_rss = totals.get(session, (0.0, 0))
        totals[session] = (old_cpu + cpu, old_rss + rss)
    return totals


def process_stats_many(containers: dict[str, Iterable[int]]) -> dict[str, ContainerStats]:
    """``stats`` for many containers from one pass over ``/proc``: name -> the session ids of its processes."""
    snapshot = _sessions_snapshot()
    now = time.time()
    result: dict[str, ContainerStats] = {}
    for name, sessions in containers.items():
        cpu, rss = 0.0, 0
        for session in set(sessions):
            session_cpu, session_rss = snapshot.get(session, (0.0, 0))
            cpu += session_cpu
            rss += session_rss
        result[name] = ContainerStats(cpu, rss, 0, 0, now)
    return result


def process_stats(sessions: Iterable[int]) -> ContainerStats:
    """``engine.stats(container)`` for the process engine: the container is the given process sessions."""
    return process_stats_many({"": sessions})[""]
