"""The process engine: a container is a local process tree (``process.py``), sandboxed where the machine allows.

Per container: a working folder holding its image's files (the built-in images' programs and data), a private
``/tmp``, its volumes at their mount paths and a read-only view of the host (bubblewrap, ``sandbox.py``; without
it: ``TMPDIR`` in the working folder, volumes as folders under it, and the host writable); a memory limit
(the run's cgroup where writable, ``tree.py``, killed over it with exit 137 as Docker does; else
``RLIMIT_AS``: the allocation fails instead); a CPU quota (cgroup only); and its whole tree killed on stop,
delete, restart and emulator shutdown, whatever it forked.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .engine import (
    CommandNotRunnable,
    ContainerStats,
    ExecSession,
    ExitCallback,
    ImageUnavailable,
    LeftoverRun,
    Recovered,
    RunHandle,
    RunSpec,
    runc_failure,
)
from .images import catalogue
from .process import ProcessRuntime, _private_dirs, read_log
from .process_exec import ProcessExecSession, namespace_entry
from .process_stats import proc_usage
from .sandbox import bwrap_argv, bwrap_path, sandbox_kind
from .tree import MARKER_ENV, RunCgroup, kill_leftover_runs, marker_holders, tracking_kind

PASSTHROUGH_ENV = ("HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LEFTOVER_GRACE_SECONDS = 0.5  # after a crash: one short grace for all leftovers together


class ProcessEngine:
    name = "process"

    def __init__(self, home: Any, on_exit: ExitCallback, *, kill_grace_seconds: float):
        self.home = home
        self._on_exit = on_exit
        self._runtime = ProcessRuntime(on_exit=self._exited, kill_grace_seconds=kill_grace_seconds)
        self._shims = catalogue.shim_dir(home)
        self._lock = threading.Lock()
        self._runs: dict[str, tuple[dict[str, str], Path, RunCgroup]] = {}

    @property
    def runtime(self) -> ProcessRuntime:
        return self._runtime

    def describe(self) -> str:
        return f"process (sandbox {sandbox_kind()}, tree tracking {tracking_kind()})"

    # -- images --------------------------------------------------------------------------------------
    def check_image(self, image: str, credentials: list[dict[str, Any]]) -> None:
        if not catalogue.is_resolvable(image, self.home):
            raise ImageUnavailable(image, "not in the local image catalogue")

    def image_is_known(self, image: str) -> bool:
        return catalogue.is_resolvable(image, self.home)

    def cached_images(self) -> list[str]:
        return [str(entry["name"]) for entry in catalogue.list_images()]

    # -- runs ----------------------------------------------------------------------------------------
    def start(self, spec: RunSpec) -> RunHandle:
        resolved = catalogue.resolve(spec.image, spec.command, self.home)
        work = spec.work_dir
        _private_dirs(work)
        catalogue.populate_workdir(resolved, work)  # the image's files (built-in images)
        env = {name: os.environ[name] for name in PASSTHROUGH_ENV if name in os.environ}
        env["PATH"] = f"{self._shims}:{os.environ.get('PATH') or DEFAULT_PATH}"
        env["HOSTNAME"] = spec.group_name
        env.update(resolved.env)
        env.update(spec.group_port_env)
        env.update(spec.env)
        env[MARKER_ENV] = spec.run_uid
        argv = list(resolved.argv)
        if bwrap_path():
            _check_executable(argv, env["PATH"], work)
            env["TMPDIR"] = "/tmp"
            read_only = [self._shims, catalogue.PACKAGE_ROOT, Path(sys.prefix), Path(sys.executable).parent]
            # The home holds the emulator's signing and control keys and every group's files: hidden (SECURITY.md).
            argv, _skipped = bwrap_argv(argv, work_dir=work, read_only=read_only, mounts=spec.mounts,
                                        hidden=[Path(self.home.path).resolve()])
        else:
            tmp = work / ".tmp"
            tmp.mkdir(exist_ok=True, mode=0o700)
            env["TMPDIR"] = str(tmp)
            for mount in spec.mounts:  # no mount namespace: the volume's folder under the working folder
                link = work / mount.target.lstrip("/")
                link.parent.mkdir(parents=True, exist_ok=True)
                if not link.exists():
                    link.symlink_to(mount.source, target_is_directory=True)
        cgroup = RunCgroup(spec.run_uid)
        cgroup.create(spec.memory_bytes, spec.cpu)
        rlimit = None if cgroup.limits_memory else spec.memory_bytes + 256 * 1024 * 1024 * int(bool(bwrap_path()))
        with self._lock:
            self._runs[spec.run_uid] = (env, work, cgroup)
        try:
            return self._runtime.start(spec.run_uid, argv, env, work, spec.log_path, cgroup=cgroup,
                                       rlimit_as=rlimit)
        except Exception:
            with self._lock:
                self._runs.pop(spec.run_uid, None)
            cgroup.remove()
            raise

    def _exited(self, run_uid: str, exit_code: int, finished_at: Any, oom: bool = False) -> None:
        self._on_exit(run_uid, exit_code, finished_at, oom)

    def kill(self, run_uids: Iterable[str], grace: float | None = None) -> dict[str, int]:
        return self._runtime.kill(list(run_uids), grace)

    def discard(self, run_uid: str) -> None:
        with self._lock:
            self._runs.pop(run_uid, None)

    def is_running(self, run_uid: str) -> bool:
        return self._runtime.is_running(run_uid)

    def running_uids(self) -> set[str]:
        return self._runtime.running_uids()

    def logs(self, run_uid: str, log_path: Path, *, running: bool, tail: int | None, timestamps: bool) -> str:
        return read_log(log_path, running=running, tail=tail, timestamps=timestamps)

    def stats(self, run_uid: str) -> ContainerStats:
        return self.stats_many([run_uid])[run_uid]

    def stats_many(self, run_uids: Iterable[str]) -> dict[str, ContainerStats]:
        """The run's cgroup counters where it has a cgroup; else its marked processes, one ``/proc`` pass for
        all such runs."""
        result: dict[str, ContainerStats] = {}
        without_cgroup: list[str] = []
        now = time.time()
        for run_uid in run_uids:
            with self._lock:
                entry = self._runs.get(run_uid)
            cgroup = entry[2] if entry else RunCgroup(run_uid)
            cpu, memory = cgroup.cpu_seconds(), cgroup.memory_bytes()
            if cpu is None or memory is None:
                without_cgroup.append(run_uid)
            else:
                # One host network: no per-container counters (COVERAGE.md).
                result[run_uid] = ContainerStats(cpu_seconds_total=cpu, memory_bytes=memory, rx_bytes=0,
                                                 tx_bytes=0, at=now)
        for run_uid, pids in marker_holders(without_cgroup).items():
            cpu, memory = proc_usage(pids)
            result[run_uid] = ContainerStats(cpu_seconds_total=cpu, memory_bytes=memory, rx_bytes=0, tx_bytes=0,
                                             at=now)
        return result

    def exec(self, run_uid: str, argv: list[str], *, tty: bool, cols: int, rows: int) -> ExecSession:
        """``argv`` inside the container: its environment and working folder, its cgroup (so its limits and
        metrics include the command), and with bubblewrap its mount and PID namespaces (its volumes, its
        private ``/tmp``, the read-only host; ``ps`` shows the container's processes)."""
        with self._lock:
            entry = self._runs.get(run_uid)
        if entry is None or not self._runtime.is_running(run_uid):
            raise LookupError(f"run {run_uid} is not running")
        env, work, cgroup = entry
        return ProcessExecSession(argv, work, env, tty=tty, cols=cols, rows=rows,
                                  enter=namespace_entry(marker_holders([run_uid])[run_uid], work),
                                  cgroup_procs=cgroup.join_paths())

    def remove_group(self, group_uid: str) -> None:
        return None  # the backend removes the group's folders; the processes are killed already

    def recover(self, leftovers: list[LeftoverRun], known_groups: set[str]) -> Recovered:
        """A process cannot be adopted (its output pipe died with the old emulator): kill every leftover tree,
        all at once with one short grace, and record each as killed (137)."""
        kill_leftover_runs([(row.run_uid, row.pid, row.start_ticks) for row in leftovers], LEFTOVER_GRACE_SECONDS)
        return Recovered(ended={row.run_uid: 137 for row in leftovers})

    def machine(self) -> tuple[float, float]:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3
        return float(os.cpu_count() or 1), memory

    def shutdown(self, kill_processes: bool = True) -> None:
        self._runtime.shutdown(kill_processes=kill_processes)

    def abandon(self) -> None:
        self._runtime.abandon()


def _check_executable(argv: list[str], path: str, cwd: Path) -> None:
    """Inside bwrap an exec failure would only show as exit 127 after a start: check first, as Popen does."""
    program = argv[0] if argv else ""
    if "/" in program:
        found = str(cwd / program) if not program.startswith("/") else program
        if not os.path.exists(found):
            raise CommandNotRunnable(127, runc_failure(argv, "no such file or directory"))
        if not os.access(found, os.X_OK) or os.path.isdir(found):
            raise CommandNotRunnable(126, runc_failure(argv, "permission denied"))
    elif shutil.which(program, path=path) is None:
        raise CommandNotRunnable(127, runc_failure(argv, "no such file or directory"))
