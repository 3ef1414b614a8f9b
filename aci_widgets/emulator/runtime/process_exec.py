"""Exec into a process-engine container (``ProcessEngine.exec``): a command where the container's processes are.

"Inside the container" means: the container's environment (the one it was started with, so a variable the
container set for itself at start is not there, exactly as with ``docker exec``) and working folder; the run's
cgroup (the command counts in the container's memory limit and metrics, as an exec does in ACI); and, when the
container runs in bubblewrap's sandbox, its mount and PID namespaces, entered with util-linux's ``nsenter``
(the container's volumes at their mount paths, its private ``/tmp``, the read-only host, ``ps`` showing only the
container's processes). With ``tty`` the command gets a pseudo-terminal of the requested size as its
controlling terminal (ACI's exec always has one); without, plain pipes (stdout and stderr merged).

A session is used by one websocket bridge: ``write`` stdin, ``read`` output until ``b""``, ``resize``,
``close``, then ``exit_code``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import shutil
import signal
import struct
import subprocess
import termios
import threading
from pathlib import Path

from .engine import CommandNotRunnable, runc_failure
from .tree import descendants, join_cgroups

# What a process of a container inherits when its main process is gone or unreadable (it never is while
# the container runs: the caller checks first).
_FALLBACK_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PIPE_CLOSE_SECONDS = 1.0  # without a terminal: how long a command may take to end after its input ends


def namespace_entry(pids: set[int], cwd: Path) -> list[str]:
    """The ``nsenter`` prefix that puts a command into the namespaces of a container's processes ``pids`` and
    into its working folder ``cwd``, or ``[]`` when they share this process's namespaces (no sandbox) or
    ``nsenter`` is missing."""
    nsenter = shutil.which("nsenter")
    if nsenter is None:
        return []
    own_mnt = os.readlink("/proc/self/ns/mnt")
    candidates: list[tuple[bool, int, bool]] = []
    for pid in sorted(pids):
        try:
            if os.readlink(f"/proc/{pid}/ns/mnt") == own_mnt:
                continue  # bubblewrap's outer process: still in the host's namespaces
            own_user = os.readlink(f"/proc/{pid}/ns/user") == os.readlink("/proc/self/ns/user")
            in_folder = os.readlink(f"/proc/{pid}/cwd") == str(cwd)
        except OSError:
            continue  # ended meanwhile
        candidates.append((not in_folder, pid, own_user))
    if not candidates:
        return []
    _, pid, own_user = min(candidates)
    # -p forks the command into the PID namespace; -U (an unprivileged sandbox's user namespace) keeps our uid
    # and gid rather than becoming root inside it; -w takes the working folder of a process in the container
    # (a path given to --wd would be opened on the host's side, outside the sandbox's mounts).
    user = [] if own_user else ["-U", "--preserve-credentials"]
    return [nsenter, "-t", str(pid), "-m", "-p", *user, "-w", "--"]


def _set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", max(1, rows), max(1, cols), 0, 0))


class ProcessExecSession:
    """One command running in a container, with a pty (``tty``) or pipes. Thread-safe enough for one reader
    thread and one writer thread (the websocket bridge)."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], *, tty: bool = True, cols: int = 80,
                 rows: int = 24, enter: list[str] | None = None, cgroup_procs: list[str] | None = None):
        """``enter``: a prefix that enters the container's namespaces (``namespace_entry``); ``cgroup_procs``:
        the ``cgroup.procs`` files of the run's cgroups, joined before the command starts."""
        env = dict(env)
        env.setdefault("PATH", _FALLBACK_PATH)
        if tty:
            env.setdefault("TERM", "xterm")
            master, slave = os.openpty()
            _set_size(slave, cols, rows)
            stdin = stdout = slave
        else:
            master = slave = -1
            stdin = stdout = subprocess.PIPE
        if enter:
            missing = _missing_program(argv, env["PATH"], cwd)
            if missing:  # nsenter would say so in its own words after a fork: say it as runc does, before
                for fd in (master, slave):
                    if fd >= 0:
                        os.close(fd)
                raise CommandNotRunnable(127, runc_failure(argv, missing, exec_into=True))
        procs = list(cgroup_procs or ())

        def in_child() -> None:
            # Only system calls in the child (join the run's cgroups, make the pty the controlling terminal): no
            # lock, no import a thread of the parent could hold; the subprocess alternatives have no TIOCSCTTY.
            if procs:
                join_cgroups(procs)
            if tty:
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        try:
            self.process = subprocess.Popen(
                [*(enter or ()), *argv], cwd=str(cwd), env=env, stdin=stdin, stdout=stdout,
                stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
                preexec_fn=in_child if (procs or tty) else None)  # noqa: PLW1509
        except OSError as error:
            for fd in (master, slave):
                if fd >= 0:
                    os.close(fd)
            reason = "no such file or directory" if isinstance(error, FileNotFoundError) else (
                error.strerror or str(error)).lower()
            raise CommandNotRunnable(127 if isinstance(error, FileNotFoundError) else 126,
                                     runc_failure(argv, reason, exec_into=True)) from None
        if tty:
            os.close(slave)
            self._out_fd = master
            self._in_fd = master
        else:
            assert self.process.stdout is not None and self.process.stdin is not None
            self._out_fd = self.process.stdout.fileno()
            self._in_fd = self.process.stdin.fileno()
        self.tty = tty
        self.pid = self.process.pid
        self._closed = False
        self._eof = False
        self._lock = threading.Lock()

    # -- the ExecSession protocol ------------------------------------------------------------------
    @property
    def exit_code(self) -> int | None:
        code = self.process.poll()
        if code is None:
            return None
        return 128 - code if code < 0 else code  # killed by a signal: 128 + its number, as a shell says

    def write(self, data: bytes) -> None:
        if self._closed or not data:
            return
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._in_fd, view)
            except InterruptedError:
                continue
            except OSError as error:
                if error.errno in (errno.EIO, errno.EPIPE, errno.EBADF):
                    return  # the command has gone: its output says what happened
                raise
            view = view[written:]

    def read(self, timeout: float) -> bytes:
        """Output that is there within ``timeout`` seconds: ``b""`` at end of output (the command ended and
        everything it wrote was read); a timeout without output raises ``TimeoutError``."""
        if self._eof or self._closed:
            return b""
        ready, _, _ = select.select([self._out_fd], [], [], max(0.0, timeout))
        if not ready:
            raise TimeoutError
        try:
            chunk = os.read(self._out_fd, 65536)
        except OSError as error:
            if error.errno != errno.EIO:  # EIO: the pty's last writer closed it
                raise
            chunk = b""
        if not chunk:
            self._eof = True
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=2)
        return chunk

    def resize(self, cols: int, rows: int) -> None:
        if self.tty and not self._closed:
            with contextlib.suppress(OSError):
                _set_size(self._out_fd, cols, rows)

    def close(self) -> None:
        """End the command and everything it started (``nsenter``'s child, a job-control shell's jobs in
        their own process groups), then free the terminal. Without a terminal the command first gets the end
        of its input and a moment to finish by itself."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if not self.tty and self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=PIPE_CLOSE_SECONDS)
        tree = {self.pid} | descendants(self.pid)
        if self.process.poll() is None or len(tree) > 1:
            hangup = signal.SIGHUP if self.tty else signal.SIGTERM
            for pid in tree:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, hangup)
            try:
                self.process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        for pid in tree | (descendants(self.pid) if self.process.poll() is None else set()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)  # whatever did not end by itself
        with contextlib.suppress(ChildProcessError):
            self.process.wait()
        for fd in {self._out_fd, self._in_fd}:
            with contextlib.suppress(OSError):
                os.close(fd)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def _missing_program(argv: list[str], path: str, cwd: Path) -> str | None:
    """Why a bare ``argv[0]`` cannot be found on ``PATH`` (runc's words), or None. The sandbox sees the host's
    folders read-only at their own paths, so the host can look. A path (``/x/y``) is left to the sandbox: it
    may be in a volume or the private ``/tmp`` (then a missing one is reported by ``nsenter``)."""
    program = argv[0] if argv else ""
    if not program or "/" in program:
        return None
    return None if shutil.which(program, path=path) else "executable file not found in $PATH"
