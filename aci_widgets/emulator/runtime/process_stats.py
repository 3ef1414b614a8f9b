"""Resource use of process-engine containers from ``/proc``, where the run has no cgroup to ask.

A process-engine container's processes are found by the run's marker (``tree.marker_holders``: one pass over
``/proc`` for many runs); its CPU is the user + system time of those live processes (``/proc/<pid>/stat``
fields 14 and 15), its memory their resident set (field 24, pages). Processes exec'd into the container carry
its marker too (they get the container's environment), so they count, as ``docker exec``'s processes count
in a Docker container's cgroup. CPU time of processes that already exited is not counted (a cgroup would keep
it): the counter can go down, and the sampler reads a decrease as 0. Without network namespaces the process
engine cannot tell one container's traffic from another's: no network counters (COVERAGE.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from . import procfs

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def proc_usage(pids: Iterable[int]) -> tuple[float, int]:
    """(CPU seconds, resident bytes) summed over the live processes ``pids``."""
    cpu, rss = 0.0, 0
    for pid in pids:
        fields = procfs.stat_fields(pid)
        try:
            if not fields or fields[0] == b"Z":
                continue
            cpu += (int(fields[11]) + int(fields[12])) / _TICKS
            rss += int(fields[21]) * _PAGE
        except (IndexError, ValueError):
            continue
    return cpu, rss
