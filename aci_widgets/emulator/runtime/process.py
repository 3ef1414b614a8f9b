"""Container processes: start, capture logs, watch, kill and reap. No restart policies here.

Each container run is one process started in its own session (so its process group is the "container":
killing the group kills everything the container started). Its stdout and stderr go into one pipe that a
single monitor thread reads, writing each line to the run's log file prefixed with the time it was
captured. The monitor also watches a pidfd per process, so an exit is noticed at once without polling;
it then kills what is left of the process group, reaps the process and hands the exit to a notifier
thread, which calls the backend's callback. Callbacks never run on the monitor thread: the backend may
hold its lock while it waits here for a kill to finish, and a callback waiting for that same lock must
not stall the monitor.

Every process is reaped (``Popen.wait``), and a process group is killed while its leader is still an
unreaped zombie, so the group id cannot have been recycled by then. Beyond the process group, a kill finds the
run's whole tree (``tree.py``: its cgroup where one is writable, and its marker variable), so a ``setsid`` or
double fork does not outlive its container; the runs of one kill are signalled together with one grace.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import queue
import resource
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import procfs
from .engine import CommandNotRunnable, RunHandle, runc_failure
from .tree import RunCgroup, join_cgroups, kill_trees

logger = logging.getLogger(__name__)

# ACI log limits: up to 4 MB for a running instance; "16 KB or 1,000 lines" once it has stopped.
RUNNING_LOG_LIMIT_BYTES = 4 * 1024 * 1024
STOPPED_LOG_LIMIT_BYTES = 16 * 1024
STOPPED_LOG_LIMIT_LINES = 1000
# A line longer than this is written out in pieces, like Docker's 16 KB partial messages.
MAX_LINE_BYTES = 16 * 1024
# Docker's default stop grace is 10 s; an emulator that holds a lock while it waits wants it short.
DEFAULT_KILL_GRACE_SECONDS = 2.0

ExitCallback = Callable[..., None]  # (run_uid, exit_code, finished_at, oom_killed)


@dataclass(eq=False)
class _Run:
    run_uid: str
    process: subprocess.Popen[bytes]
    pidfd: int
    stdout_fd: int
    log_fd: int
    log_path: Path
    log_size: int = 0
    partial: bytes = b""
    stdout_open: bool = True
    killed: bool = False  # the backend asked for the kill: no exit callback
    exit_code: int | None = None
    cgroup: RunCgroup | None = None
    done: threading.Event = field(default_factory=threading.Event)
    io_lock: threading.Lock = field(default_factory=threading.Lock)


# -- helpers -----------------------------------------------------------------------------------------
def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def log_timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# Kept under these names: the runtime's callers and tests use them.
read_start_ticks = procfs.start_ticks
process_state = procfs.state
is_process_alive = procfs.alive


def exit_code_of(returncode: int) -> int:
    """A shell-style exit code: killed by signal N gives 128 + N (SIGKILL 137, SIGTERM 143), as Docker."""
    return 128 - returncode if returncode < 0 else returncode


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_leftover_process(pid: int, start_ticks: int | None, grace: float = DEFAULT_KILL_GRACE_SECONDS) -> bool:
    """Kill the process group of a container run left by an earlier emulator. True if it was still running.

    The pid only counts as ours if its start ticks match what was recorded (pids are recycled). If the
    leader is gone, members of its group may remain (Linux does not reuse a pid while it names a group),
    so the group still gets a SIGKILL.
    """
    ticks = read_start_ticks(pid)
    if ticks is None:
        _signal_group(pid, signal.SIGKILL)
        return False
    if start_ticks is not None and ticks != start_ticks:
        return False  # a different process now has this pid: not ours
    alive = is_process_alive(pid)
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while is_process_alive(pid) and time.monotonic() < deadline:
        _reap_if_child(pid)
        time.sleep(0.01)
    _signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while is_process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    _reap_if_child(pid)
    return alive


def _reap_if_child(pid: int) -> None:
    # The earlier emulator may have been this very process (tests): then the pid is our zombie to reap.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


# -- log files ---------------------------------------------------------------------------------------
def read_log(path: Path, *, running: bool, tail: int | None = None, timestamps: bool = False) -> str:
    """The log content ACI would return: bounded by the running/stopped limits, then the last ``tail`` lines."""
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return render_log(data, running=running, tail=tail, timestamps=timestamps)


def render_log(data: bytes, *, running: bool, tail: int | None = None, timestamps: bool = False) -> str:
    """``read_log`` for log lines already read (``<timestamp> <content>`` each), e.g. from Docker."""
    lines = data.splitlines()
    if running:
        limit_bytes, limit_lines = RUNNING_LOG_LIMIT_BYTES, None
    else:
        limit_bytes, limit_lines = STOPPED_LOG_LIMIT_BYTES, STOPPED_LOG_LIMIT_LINES
    if limit_lines is not None:
        lines = lines[-limit_lines:]
    parsed = [line.partition(b" ") for line in lines]
    kept: list[tuple[bytes, bytes]] = []
    size = 0
    for stamp, _, content in reversed(parsed):
        size += len(content) + 1
        if size > limit_bytes:
            break
        kept.append((stamp, content))
    kept.reverse()
    if tail is not None and tail >= 0:
        kept = kept[len(kept) - tail:] if tail else []
    if timestamps:
        text = b"".join(stamp + b" " + content + b"\n" for stamp, content in kept)
    else:
        text = b"".join(content + b"\n" for _, content in kept)
    return text.decode("utf-8", errors="replace")


def _compact_log(path: Path, fd: int) -> tuple[int, int]:
    """Drop the oldest half of a log that outgrew the running limit. Returns (new fd, new size)."""
    data = path.read_bytes()
    keep = data[len(data) - RUNNING_LOG_LIMIT_BYTES // 2:]
    newline = keep.find(b"\n")
    keep = keep[newline + 1:] if newline >= 0 else b""
    tmp = path.with_name(path.name + ".tmp")
    new_fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
    os.write(new_fd, keep)
    os.replace(tmp, path)
    os.close(fd)
    return new_fd, len(keep)


# -- the runtime -------------------------------------------------------------------------------------
class ProcessRuntime:
    """Starts container processes and reports their exits through ``on_exit(run_uid, exit_code, finished_at)``."""

    def __init__(self, on_exit: ExitCallback | None = None,
                 kill_grace_seconds: float = DEFAULT_KILL_GRACE_SECONDS):
        self._on_exit = on_exit
        self.kill_grace_seconds = kill_grace_seconds
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._selector.register(self._wake_read, selectors.EVENT_READ, ("wake", None))
        self._exits: queue.SimpleQueue[tuple[str, int, datetime, bool] | None] = queue.SimpleQueue()
        self._stopping = False
        self._monitor = threading.Thread(target=self._monitor_loop, name="aci-emulator-monitor", daemon=True)
        self._notifier = threading.Thread(target=self._notify_loop, name="aci-emulator-exits", daemon=True)
        self._monitor.start()
        self._notifier.start()

    # -- public ------------------------------------------------------------------------------------
    def start(self, run_uid: str, argv: list[str], env: Mapping[str, str], cwd: Path, log_path: Path, *,
              cgroup: RunCgroup | None = None, rlimit_as: int | None = None) -> RunHandle:
        """Start ``argv`` as a new session. Raises :class:`CommandNotRunnable` when it cannot be executed.

        ``cgroup`` (created by the caller) is joined between fork and exec; ``rlimit_as`` caps the address space.
        """
        if self._stopping:
            raise RuntimeError("the runtime is shut down")
        _private_dirs(log_path.parent)
        _private_dirs(cwd)
        join_paths = cgroup.join_paths() if cgroup is not None else []
        preexec = _preexec(join_paths, rlimit_as) if join_paths or rlimit_as else None
        try:
            process = subprocess.Popen(
                argv, env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, start_new_session=True, close_fds=True, preexec_fn=preexec)  # noqa: PLW1509
        except FileNotFoundError as error:
            raise CommandNotRunnable(127, runc_failure(argv, "no such file or directory")) from error
        except PermissionError as error:
            raise CommandNotRunnable(126, runc_failure(argv, "permission denied")) from error
        except OSError as error:
            raise CommandNotRunnable(126, runc_failure(argv, error.strerror or str(error))) from error
        started_at = utc_now()
        start_ticks = read_start_ticks(process.pid)
        assert process.stdout is not None
        stdout_fd = process.stdout.fileno()
        os.set_blocking(stdout_fd, False)
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        run = _Run(run_uid, process, os.pidfd_open(process.pid), stdout_fd, log_fd, log_path,
                   log_size=os.fstat(log_fd).st_size, cgroup=cgroup)
        with self._lock:
            self._runs[run_uid] = run
            self._selector.register(stdout_fd, selectors.EVENT_READ, ("out", run))
            self._selector.register(run.pidfd, selectors.EVENT_READ, ("exit", run))
        self._wake()
        return RunHandle(run_uid, process.pid, start_ticks, started_at)

    def kill(self, run_uids: Iterable[str], grace: float | None = None) -> dict[str, int]:
        """Stop these runs (SIGTERM to each group, SIGKILL after ``grace``), reap them, return exit codes.

        Runs killed here get no exit callback: the caller records the outcome itself. Runs that had already
        exited are waited for and their real exit code returned.
        """
        grace = self.kill_grace_seconds if grace is None else grace
        runs: list[_Run] = []
        with self._lock:
            for uid in run_uids:
                run = self._runs.get(uid)
                if run is not None:
                    run.killed = True
                    runs.append(run)
        # The whole tree of every run at once: SIGTERM, one grace for all, then SIGKILL (tree.py).
        live = [run for run in runs if run.process.returncode is None]
        if live:
            kill_trees([run.run_uid for run in live], pgids={run.process.pid for run in live},
                       cgroups=[run.cgroup for run in live if run.cgroup is not None], grace=grace)
        for run in runs:
            if not run.done.wait(10.0):  # the monitor finalizes; only a wedged monitor gets here
                self._finish(run)
        return {run.run_uid: run.exit_code if run.exit_code is not None else 137 for run in runs}

    def is_running(self, run_uid: str) -> bool:
        with self._lock:
            run = self._runs.get(run_uid)
        return run is not None and not run.done.is_set()

    def running_uids(self) -> set[str]:
        with self._lock:
            return {uid for uid, run in self._runs.items() if not run.done.is_set()}

    def shutdown(self, kill_processes: bool = True) -> None:
        """Stop watching. With ``kill_processes`` every process is killed and reaped first (no callbacks)."""
        if kill_processes:
            self.kill(list(self._runs))
        self._stop_threads()

    def abandon(self) -> None:
        """Stop the threads and leave every process running, unreaped: what a crash leaves behind (tests)."""
        with self._lock:
            for run in self._runs.values():
                run.killed = True
        self._stop_threads()

    # -- threads -----------------------------------------------------------------------------------
    def _stop_threads(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        self._wake()
        self._exits.put(None)
        self._monitor.join(timeout=5)
        self._notifier.join(timeout=5)

    def _wake(self) -> None:
        try:
            os.write(self._wake_write, b"x")
        except BlockingIOError:
            pass  # already awake

    def _monitor_loop(self) -> None:
        while not self._stopping:
            try:
                ready = self._selector.select(timeout=1.0)
            except OSError:  # a fd closed under select by a kill that finished without us
                time.sleep(0.01)
                continue
            for key, _ in ready:
                kind, run = key.data
                try:
                    if kind == "wake":
                        while os.read(self._wake_read, 4096):
                            pass
                    elif kind == "out":
                        self._read_output(run)
                    elif kind == "exit":
                        self._finish(run)
                except BlockingIOError:
                    pass
                except Exception:  # never let one run stop the monitor; never print either
                    logger.debug("monitor error for %s", run.run_uid if run else "-", exc_info=True)

    def _notify_loop(self) -> None:
        while True:
            item = self._exits.get()
            if item is None:
                return
            if self._on_exit is None:
                continue
            try:
                self._on_exit(*item) if _takes_oom(self._on_exit) else self._on_exit(*item[:3])
            except Exception:
                logger.debug("exit callback failed for %s", item[0], exc_info=True)

    # -- output and exits --------------------------------------------------------------------------
    def _read_output(self, run: _Run) -> None:
        with run.io_lock:
            if not run.stdout_open:
                return
            try:
                chunk = os.read(run.stdout_fd, 65536)
            except BlockingIOError:
                return
            if not chunk:
                self._close_stdout(run)
                return
            self._write_lines(run, chunk, final=False)

    def _drain_output(self, run: _Run) -> None:
        with run.io_lock:
            while run.stdout_open:
                try:
                    chunk = os.read(run.stdout_fd, 65536)
                except (BlockingIOError, OSError):
                    break  # the pipe may stay open in a detached grandchild: take what is there
                if not chunk:
                    break
                self._write_lines(run, chunk, final=False)
            self._write_lines(run, b"", final=True)
            if run.stdout_open:
                self._close_stdout(run)

    def _close_stdout(self, run: _Run) -> None:
        run.stdout_open = False
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(run.stdout_fd)
        with contextlib.suppress(OSError):
            assert run.process.stdout is not None
            run.process.stdout.close()

    def _write_lines(self, run: _Run, chunk: bytes, *, final: bool) -> None:
        data = run.partial + chunk
        lines = data.split(b"\n")
        run.partial = lines.pop()
        if (final and run.partial) or len(run.partial) > MAX_LINE_BYTES:
            lines.append(run.partial)
            run.partial = b""
        if not lines:
            return
        stamp = log_timestamp(utc_now()).encode()
        payload = b"".join(stamp + b" " + line.rstrip(b"\r") + b"\n" for line in lines)
        try:
            os.write(run.log_fd, payload)
        except OSError as error:
            if error.errno != errno.EBADF:
                raise
            return
        run.log_size += len(payload)
        if run.log_size > RUNNING_LOG_LIMIT_BYTES:
            try:
                run.log_fd, run.log_size = _compact_log(run.log_path, run.log_fd)
            except OSError:
                pass  # the log was deleted with its group

    def _finish(self, run: _Run) -> None:
        """The leader exited: kill what is left of its group, reap it, flush its log, report the exit."""
        with self._lock:
            if run.done.is_set() or self._runs.get(run.run_uid) is not run:
                return
            # Unregister now so the pidfd, readable until closed, does not fire again.
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(run.pidfd)
        if run.process.returncode is None:
            # The leader is a zombie until reaped, so its group id is still ours to signal; the rest of the
            # tree (setsid, double forks) is found by its cgroup and marker.
            _signal_group(run.process.pid, signal.SIGKILL)
            kill_trees([run.run_uid], pgids={run.process.pid},
                       cgroups=[run.cgroup] if run.cgroup is not None else [], grace=0, terminate=False)
        returncode = run.process.wait()
        self._drain_output(run)
        with contextlib.suppress(OSError):
            os.close(run.log_fd)
        with contextlib.suppress(OSError):
            os.close(run.pidfd)
        run.exit_code = exit_code_of(returncode)
        oom = run.exit_code == 137 and run.cgroup is not None and run.cgroup.oom_killed()
        if run.cgroup is not None:
            run.cgroup.remove()
        finished_at = utc_now()
        with self._lock:
            self._runs.pop(run.run_uid, None)
            killed = run.killed
        run.done.set()
        if not killed:
            self._exits.put((run.run_uid, run.exit_code, finished_at, oom))


def _takes_oom(callback: Callable[..., None]) -> bool:
    import inspect

    try:
        return len(inspect.signature(callback).parameters) >= 4
    except (TypeError, ValueError):
        return False


def _preexec(join_paths: list[str], rlimit_as: int | None) -> Callable[[], None]:
    def in_child() -> None:  # between fork and exec: no locks, no allocations beyond the bare minimum
        join_cgroups(join_paths)
        if rlimit_as:
            resource.setrlimit(resource.RLIMIT_AS, (rlimit_as, rlimit_as))

    return in_child


def _private_dirs(path: Path) -> None:
    """``mkdir -p`` with every folder it creates 0700: the home's files are the owner's only (found by
    tests/reliability/test_access.py: work folders were 0755 under the umask)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another run made it meanwhile
            folder.mkdir(mode=0o700)
