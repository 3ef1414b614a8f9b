"""Exec into a process-engine container: a command in the container's working directory and environment.

The process engine has no namespaces, so "inside the container" means what a process of it sees: the
working directory and the environment of the container's main process (read from ``/proc/<pid>/cwd`` and
``/proc/<pid>/environ`` at the moment of the exec, so a variable the container set for itself at start is
not there, exactly as with ``docker exec``). With ``tty`` the command gets a pseudo-terminal of the requested
size as its controlling terminal (ACI's exec always has one); without, plain pipes (stdout and stderr merged).

This is the process engine's half of the engine interface (``exec(container, argv, *, tty, cols, rows) ->
ExecSession``); a session is used by one websocket bridge: ``write`` stdin, ``read`` output until ``b""``,
``resize``, ``close``, then ``exit_code``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import threading
from pathlib import Path

# What a process of a container inherits when its main process is gone or unreadable (it never is while
# the container runs: the caller checks first).
_FALLBACK_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ExecNotRunnable(Exception):
    """The command could not be started (not found, not executable); ``message`` says so as runc does."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def container_context(pid: int) -> tuple[Path, dict[str, str]]:
    """The working directory and environment of process ``pid`` (a container's main process)."""
    cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    env: dict[str, str] = {}
    for item in raw.split(b"\0"):
        name, sep, value = item.partition(b"=")
        if sep and name:
            env[name.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return cwd, env


def _set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", max(1, rows), max(1, cols), 0, 0))


class ProcessExecSession:
    """One command running in a container, with a pty (``tty``) or pipes. Thread-safe enough for one reader
    thread and one writer thread (the websocket bridge)."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], *, tty: bool = True, cols: int = 80,
                 rows: int = 24):
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
        try:
            self.process = subprocess.Popen(
                argv, cwd=str(cwd), env=env, stdin=stdin, stdout=stdout, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True,
                # One ioctl in the child (make the pty its controlling terminal): no lock, no import, no
                # allocation a thread of the parent could hold; the subprocess alternatives have no TIOCSCTTY.
                preexec_fn=(lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0)) if tty else None)  # noqa: PLW1509
        except OSError as error:
            for fd in (master, slave):
                if fd >= 0:
                    os.close(fd)
            reason = "no such file or directory" if isinstance(error, FileNotFoundError) else (
                error.strerror or str(error)).lower()
            raise ExecNotRunnable(f"exec failed: unable to start container process: exec: "
                                  f"\"{argv[0] if argv else ''}\": {reason}") from None
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
        """End the command (its whole process group) and free the terminal."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGHUP if self.tty else signal.SIGTERM)
            try:
                self.process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.process.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)  # whatever it left behind in its group
        for fd in {self._out_fd, self._in_fd}:
            with contextlib.suppress(OSError):
                os.close(fd)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def process_exec(pid: int, argv: list[str], *, tty: bool = True, cols: int = 80,
                 rows: int = 24) -> ProcessExecSession:
    """``engine.exec`` for the process engine: ``argv`` in the context of the container whose main process is
    ``pid``. Raises ``ExecNotRunnable`` when the command cannot be started, ``OSError`` when ``pid`` is gone."""
    cwd, env = container_context(pid)
    return ProcessExecSession(argv, cwd, env, tty=tty, cols=cols, rows=rows)
