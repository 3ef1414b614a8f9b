"""A container's whole process tree on Linux: a cgroup per run where one is writable, else its marker.

Every process a container starts carries the run's marker variable (``ACI_EMULATOR_RUN_ID=<run uid>``) in its
environment, and, where this user can write a cgroup hierarchy (v1 ``memory``/``cpu``/``pids`` controllers, or
a delegated v2 subtree), sits in the run's cgroup, which nothing inside can leave. A kill signals the union of
the cgroup's members, the marker holders and the run's process group, so a ``setsid`` or double fork that
left the session is still found (a process that also clears its environment is found only by the cgroup).

The memory limit is the cgroup's (``memory.limit_in_bytes`` / ``memory.max``): a run over it is killed by
the kernel (exit 137) and its ``oom_kill`` counter tells us so. Without a writable memory cgroup the run
gets ``RLIMIT_AS`` instead: an allocation over it fails (``MemoryError``/``ENOMEM``) rather than a kill.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

from . import procfs

CGROUP_ROOT = Path("/sys/fs/cgroup")
MARKER_ENV = "ACI_EMULATOR_RUN_ID"
CGROUP_PREFIX = "aci-emulator-"
CFS_PERIOD_US = 100_000


# -- cgroups ---------------------------------------------------------------------------------------
def _own_cgroups() -> dict[str, str]:
    """controller name (or ``""`` for v2) -> this process's cgroup path."""
    found: dict[str, str] = {}
    try:
        text = Path("/proc/self/cgroup").read_text()
    except OSError:
        return found
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                found[controller] = parts[2]
    return found


def _writable_parent(mount: Path, own: str) -> Path | None:
    parent = mount / own.lstrip("/")
    probe = parent / f"{CGROUP_PREFIX}probe-{os.getpid()}"
    try:
        probe.mkdir(exist_ok=True)
        probe.rmdir()
    except OSError:
        return None
    return parent


_PARENTS: dict[str, Path | None] | None = None


def cgroup_parents() -> dict[str, Path]:
    """Where this process may create run cgroups: ``{"memory": dir, "cpu": dir, "pids": dir}`` (v1) or
    ``{"v2": dir}``. Empty when no hierarchy is writable (macOS, an unprivileged user without delegation)."""
    global _PARENTS
    if _PARENTS is None:
        _PARENTS = {}
        own = _own_cgroups()
        if (CGROUP_ROOT / "cgroup.controllers").exists():  # a pure v2 host
            _PARENTS["v2"] = _writable_parent(CGROUP_ROOT, own.get("", "/"))
        else:
            for controller in ("memory", "cpu", "pids"):
                if (CGROUP_ROOT / controller / "cgroup.procs").exists() and controller in own:
                    _PARENTS[controller] = _writable_parent(CGROUP_ROOT / controller, own[controller])
    return {name: path for name, path in _PARENTS.items() if path is not None}


def tracking_kind() -> str:
    """How trees are tracked here, for ``status`` and COVERAGE.md: ``cgroup v1``, ``cgroup v2`` or ``marker``."""
    parents = cgroup_parents()
    if "v2" in parents:
        return "cgroup v2"
    return "cgroup v1" if parents else "marker"


class RunCgroup:
    """The cgroups of one run (one per v1 controller, or one v2 group). All methods are no-ops without any."""

    def __init__(self, run_uid: str):
        self.run_uid = run_uid
        self.dirs = {name: parent / f"{CGROUP_PREFIX}{run_uid}" for name, parent in cgroup_parents().items()}

    @property
    def limits_memory(self) -> bool:
        return "memory" in self.dirs or "v2" in self.dirs

    def create(self, memory_bytes: int | None, cpu: float | None) -> None:
        for name, folder in list(self.dirs.items()):
            try:
                folder.mkdir(exist_ok=True)
                if name == "memory" and memory_bytes:
                    (folder / "memory.limit_in_bytes").write_text(str(memory_bytes))
                    with contextlib.suppress(OSError):  # no swap on top of the limit, where swap accounting is on
                        (folder / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
                elif name == "cpu" and cpu:
                    (folder / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
                    (folder / "cpu.cfs_quota_us").write_text(str(max(1000, int(cpu * CFS_PERIOD_US))))
                elif name == "v2":
                    with contextlib.suppress(OSError):
                        if memory_bytes:
                            (folder / "memory.max").write_text(str(memory_bytes))
                            (folder / "memory.swap.max").write_text("0")
                        if cpu:
                            (folder / "cpu.max").write_text(f"{max(1000, int(cpu * CFS_PERIOD_US))} {CFS_PERIOD_US}")
            except OSError:
                self.dirs.pop(name, None)

    def join_paths(self) -> list[str]:
        """The ``cgroup.procs`` files a child writes its pid into before exec."""
        return [str(folder / "cgroup.procs") for folder in self.dirs.values()]

    def members(self) -> set[int]:
        pids: set[int] = set()
        for folder in self.dirs.values():
            with contextlib.suppress(OSError, ValueError):
                pids.update(int(line) for line in (folder / "cgroup.procs").read_text().split())
        return pids

    def oom_killed(self) -> bool:
        for name, folder in self.dirs.items():
            source = {"memory": "memory.oom_control", "v2": "memory.events"}.get(name)
            if source is None:
                continue
            with contextlib.suppress(OSError, ValueError):
                for line in (folder / source).read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill" and int(value) > 0:
                        return True
        return False

    def cpu_seconds(self) -> float | None:
        folder = self.dirs.get("cpu")
        with contextlib.suppress(OSError, ValueError):
            if folder is not None:
                acct = CGROUP_ROOT / "cpuacct" / folder.relative_to(CGROUP_ROOT / "cpu") / "cpuacct.usage"
                if acct.exists():
                    return int(acct.read_text()) / 1e9
            if "v2" in self.dirs:
                for line in (self.dirs["v2"] / "cpu.stat").read_text().splitlines():
                    if line.startswith("usage_usec "):
                        return int(line.split()[1]) / 1e6
        return None

    def memory_bytes(self) -> int | None:
        for name, leaf in (("memory", "memory.usage_in_bytes"), ("v2", "memory.current")):
            with contextlib.suppress(OSError, ValueError, KeyError):
                if name in self.dirs:
                    return int((self.dirs[name] / leaf).read_text())
        return None

    def remove(self) -> None:
        for folder in self.dirs.values():
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # members still exiting
                    time.sleep(0.01)


def join_cgroups(paths: list[str]) -> None:
    """In the child between fork and exec (``preexec_fn``): move this process into the run's cgroups."""
    pid = str(os.getpid()).encode()
    for path in paths:
        try:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)
        except OSError:
            pass


# -- finding and killing a tree ----------------------------------------------------------------------
def marker_holders(run_uids: Iterable[str]) -> dict[str, set[int]]:
    """Pids of this user's live processes whose environment holds the marker of one of ``run_uids``."""
    wanted = {f"{MARKER_ENV}={uid}".encode(): uid for uid in run_uids}
    found: dict[str, set[int]] = {uid: set() for uid in wanted.values()}
    if not wanted:
        return found
    me = os.getpid()
    for pid in procfs.pids():
        environ = procfs.read(pid, "environ") if pid != me else None
        for variable in (environ or b"").split(b"\0"):
            uid = wanted.get(variable)
            if uid is not None:
                found[uid].add(pid)
                break
    return found


def _group_members(pgids: set[int]) -> set[int]:
    if not pgids:
        return set()
    return {pid for pid in procfs.pids() if procfs.field(pid, 2) in pgids}


def descendants(root: int) -> set[int]:
    """Every live process below ``root`` (by parent pid, one pass over ``/proc``): what a job-control shell put
    in process groups of its own is still found."""
    children: dict[int, list[int]] = {}
    for pid in procfs.pids():
        parent = procfs.field(pid, 1)
        if parent is not None:
            children.setdefault(parent, []).append(pid)
    found: set[int] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return {pid for pid in found if procfs.alive(pid)}


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def tree_pids(run_uids: Iterable[str], pgids: Iterable[int] = (),
              cgroups: Iterable[RunCgroup] = ()) -> set[int]:
    """Every live process of these runs: cgroup members, marker holders, process-group members."""
    uids = list(run_uids)
    pids: set[int] = set()
    for group in cgroups:
        pids |= group.members()
    for found in marker_holders(uids).values():
        pids |= found
    pids |= _group_members(set(pgids))
    pids.discard(os.getpid())
    return {pid for pid in pids if procfs.alive(pid)}


def _signal(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def kill_trees(run_uids: Iterable[str], *, pgids: Iterable[int] = (), cgroups: Iterable[RunCgroup] = (),
               grace: float, terminate: bool = True) -> None:
    """SIGTERM every process of these runs at once (not ``bwrap`` itself: its death would SIGKILL the rest
    before they could finish), wait one ``grace`` for all, then SIGKILL whatever is left and wait for it."""
    uids, pgids, cgroups = list(run_uids), set(pgids), list(cgroups)
    if terminate and grace > 0:
        pids = tree_pids(uids, pgids, cgroups)
        termed: set[int] = set()
        deadline = time.monotonic() + grace
        while pids:
            # A run still being set up (bwrap before its exec) gets its SIGTERM when its program appears.
            fresh = {pid for pid in pids - termed if _comm(pid) != "bwrap"}
            _signal(fresh, signal.SIGTERM)
            termed |= fresh
            if time.monotonic() >= deadline:
                break
            time.sleep(0.02)
            pids = tree_pids(uids, pgids, cgroups)
    deadline = time.monotonic() + 5.0
    while True:
        pids = tree_pids(uids, pgids, cgroups)
        if not pids or time.monotonic() > deadline:
            return
        _signal(pids, signal.SIGKILL)
        time.sleep(0.01)
        for pid in pids:  # an earlier emulator may have been this very process (tests): reap our zombies
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)


def kill_leftover_runs(leftovers: list[tuple[str, int | None, int | None]], grace: float) -> None:
    """Kill the trees of an earlier emulator's runs ``(run_uid, pid, start_ticks)``, all in parallel with one
    ``grace``. A pid counts (as a process group to kill) only if its start ticks match what was recorded."""
    pgids = set()
    for _uid, pid, ticks in leftovers:
        if pid is not None:
            current = procfs.start_ticks(pid)
            if current is None or ticks is None or current == ticks:
                pgids.add(pid)  # gone: its group may remain (Linux keeps the id while it names a group)
    uids = [uid for uid, _pid, _ticks in leftovers]
    groups = [RunCgroup(uid) for uid in uids]
    kill_trees(uids, pgids=pgids, cgroups=groups, grace=grace)
    for pid in pgids:  # the earlier emulator may have been this very process (tests): reap its children
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    break
            except ChildProcessError:
                break
            time.sleep(0.005)
    for group in groups:
        group.remove()
