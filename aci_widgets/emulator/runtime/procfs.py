"""Reading Linux's ``/proc``: the one place that parses ``/proc/<pid>/stat`` and lists processes.

The runtime uses it to find a run's processes (by parent, process group or marker variable), to tell a pid
that was reused from the one recorded (start ticks), and for the process engine's CPU and memory figures.
"""

from __future__ import annotations

import os
from collections.abc import Iterator


def pids() -> Iterator[int]:
    """Every pid in ``/proc`` now (a process may be gone by the time it is read)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            yield int(entry)


def read(pid: int, name: str) -> bytes | None:
    """``/proc/<pid>/<name>`` (``environ``, ``cmdline``...), or None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/{name}", "rb") as handle:
            return handle.read()
    except OSError:
        return None


def stat_fields(pid: int) -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` from field 3 (state) on, or None when there is no such process:
    ``[0]`` state, ``[1]`` parent pid, ``[2]`` process group, ``[11]``/``[12]`` user/system ticks, ``[19]``
    start ticks, ``[21]`` resident pages."""
    stat = read(pid, "stat")
    if stat is None:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
    return stat[stat.rfind(b")") + 2:].split()


def field(pid: int, index: int) -> int | None:
    """One numeric field of :func:`stat_fields`, or None."""
    fields = stat_fields(pid)
    try:
        return int(fields[index]) if fields else None
    except (IndexError, ValueError):
        return None


def state(pid: int) -> str | None:
    """The one-letter state of ``pid`` (``R``, ``S``, ``Z``...), or None when there is no such process."""
    fields = stat_fields(pid)
    return fields[0].decode() if fields else None


def alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (a zombie has already exited)."""
    current = state(pid)
    return current is not None and current not in ("Z", "X")


def start_ticks(pid: int) -> int | None:
    """Field 22 (start time in clock ticks after boot): with the pid, it names one process for good."""
    return field(pid, 19)
