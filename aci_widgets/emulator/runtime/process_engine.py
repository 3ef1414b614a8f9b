"""The process engine: a container is a local process tree (``process.py``), sandboxed where the machine allows.

Per container: a working folder holding its image's files (the built-in images' programs and data), a private
``/tmp``, its volumes at their mount paths and a read-only view of the host (bubblewrap, ``sandbox.py``; without
it: ``TMPDIR`` in the working folder, volumes as folders under it, and the host writable); a memory limit
(the run's cgroup where writable, ``tree.py``, killed over it with exit 137 as Docker does; else
``RLIMIT_AS``: the allocation fails instead); a CPU quota (cgroup only); and its whole tree killed on stop,
delete, restart and emulator shutdown, whatever it forked.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .engine import (
    ContainerStats,
    ExecSession,
    ExitCallback,
    ImageUnavailable,
    LeftoverRun,
    Recovered,
    RunHandle,
    RunSpec,
)
from .images import catalogue
from .process import CommandNotRunnable, ProcessRuntime, _private_dirs, read_log
from .sandbox import bwrap_argv, bwrap_path, sandbox_kind
from .tree import MARKER_ENV, RunCgroup, kill_leftover_runs, tracking_kind, tree_pids

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
            argv, _skipped = bwrap_argv(argv, work_dir=work, read_only=read_only, mounts=spec.mounts)
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
        with self._lock:
            entry = self._runs.get(run_uid)
        cgroup = entry[2] if entry else RunCgroup(run_uid)
        cpu, memory = cgroup.cpu_seconds(), cgroup.memory_bytes()
        if cpu is None or memory is None:
            ticks, rss = 0, 0
            page, hertz = os.sysconf("SC_PAGE_SIZE"), os.sysconf("SC_CLK_TCK")
            for pid in tree_pids([run_uid]):
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    ticks += int(fields[11]) + int(fields[12])
                    rss += int(fields[21]) * page
                except (OSError, IndexError, ValueError):
                    continue
            cpu = ticks / hertz if cpu is None else cpu
            memory = rss if memory is None else memory
        # One host network: no per-container counters (COVERAGE.md).
        return ContainerStats(cpu_seconds_total=cpu, memory_bytes=memory, rx_bytes=0, tx_bytes=0, at=time.time())

    def exec(self, run_uid: str, argv: list[str], *, tty: bool, cols: int, rows: int) -> ExecSession:
        with self._lock:
            entry = self._runs.get(run_uid)
        if entry is None or not self._runtime.is_running(run_uid):
            raise LookupError(f"run {run_uid} is not running")
        env, work, cgroup = entry
        return PipeExecSession(argv, env, work, cgroup)

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
            raise CommandNotRunnable(127, _exec_failure(argv, "no such file or directory"))
        if not os.access(found, os.X_OK) or os.path.isdir(found):
            raise CommandNotRunnable(126, _exec_failure(argv, "permission denied"))
    elif shutil.which(program, path=path) is None:
        raise CommandNotRunnable(127, _exec_failure(argv, "no such file or directory"))


def _exec_failure(argv: list[str], reason: str) -> str:
    return (f"failed to create containerd task: failed to create shim task: OCI runtime create failed: "
            f"runc create failed: unable to start container process: exec: \"{argv[0] if argv else ''}\": {reason}")


class PipeExecSession:
    """A simple exec for the process engine: the command in the container's folder and environment, its own
    cgroup membership (so it is killed with the container), stdin/stdout as pipes (no TTY)."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, cgroup: RunCgroup):
        from .tree import join_cgroups

        paths = cgroup.join_paths()
        self._process = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, preexec_fn=(lambda: join_cgroups(paths))  # noqa: PLW1509
                                         if paths else None)
        self._chunks: list[bytes] = []
        self._ready = threading.Condition()
        self._eof = False
        self.exit_code: int | None = None
        threading.Thread(target=self._pump, daemon=True, name="aci-emulator-exec").start()

    def _pump(self) -> None:
        assert self._process.stdout is not None
        while True:
            chunk = os.read(self._process.stdout.fileno(), 65536)
            with self._ready:
                if not chunk:
                    self._eof = True
                    self.exit_code = self._process.wait()
                else:
                    self._chunks.append(chunk)
                self._ready.notify_all()
            if not chunk:
                return

    def write(self, data: bytes) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(data)
        self._process.stdin.flush()

    def read(self, timeout: float) -> bytes:
        with self._ready:
            if not self._chunks and not self._eof:
                self._ready.wait(timeout)
            data = b"".join(self._chunks)
            self._chunks.clear()
            return data

    def resize(self, cols: int, rows: int) -> None:
        return None  # pipes have no window size

    def close(self) -> None:
        """Stdin closed; a command that does not end within a second of that is killed."""
        with contextlib.suppress(OSError):
            assert self._process.stdin is not None
            self._process.stdin.close()
        try:
            self._process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._process.wait()
        if self.exit_code is None:
            self.exit_code = self._process.returncode
