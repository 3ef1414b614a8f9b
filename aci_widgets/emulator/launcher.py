"""Start, find and stop a detached emulator server for a home.

Used by ``aci-emulator start/stop/status`` and by ``aci_widgets.connect(backend="local")``, so it stays
light: stdlib only at import time (no Starlette, no uvicorn, no SDK). The server itself is
``python -m aci_widgets.emulator.cli serve`` in its own session, so it outlives the notebook kernel that
started it and a Ctrl-C in that kernel does not reach it.

Whether a server runs is decided by the home's lock (see ``server.py``), never by a pid number alone: a pid
can be recycled, a lock dies with its process.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .config import EmulatorHome

START_TIMEOUT_SECONDS = 20.0
# A server that answers "reconciling" is never killed by a start; it gets this long before start gives up waiting.
RECONCILE_PATIENCE_SECONDS = 600.0
STOP_TIMEOUT_SECONDS = 10.0
_POLL_SECONDS = 0.02

# Servers this process started: reaped on stop so that they do not linger as zombies.
_children: dict[int, subprocess.Popen[bytes]] = {}


class EmulatorStartError(RuntimeError):
    """The server did not come up; the message names the log file to read."""


@dataclass(frozen=True)
class EmulatorStatus:
    running: bool
    pid: int | None
    url: str | None
    home: str
    healthy: bool = False
    reconciling: bool = False  # answering, but still settling what an earlier run left

    def describe(self) -> str:
        if not self.running:
            return f"aci-emulator is not running (home {self.home})"
        if self.reconciling:
            health = "reconciling the containers an earlier run left (ready soon)"
        elif self.healthy:
            health = "healthy"
        elif self.url is None:
            health = "starting"
        else:
            health = "NOT answering its health check"
        return f"aci-emulator is running, {health}: pid {self.pid}, url {self.url}, home {self.home}"


def ssl_context(home: EmulatorHome) -> ssl.SSLContext:
    """A client context that trusts exactly the emulator's CA."""
    return ssl.create_default_context(cafile=str(home.ca_path))


def health(home: EmulatorHome, url: str, timeout: float = 2.0) -> dict[str, object] | None:
    """The server's ``/_emulator/health`` answer, or None when nothing healthy answers at ``url``."""
    host_port = url.split("://", 1)[-1].rstrip("/")
    host, _, port = host_port.rpartition(":")
    connection = http.client.HTTPSConnection(host, int(port), timeout=timeout, context=ssl_context(home))
    try:
        connection.request("GET", "/_emulator/health")
        response = connection.getresponse()
        if response.status != 200:
            return None
        return json.loads(response.read())
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def status(home: EmulatorHome) -> EmulatorStatus:
    """Whether a server serves ``home``, its pid and URL, and whether it answers."""
    from .server import ServerInfo, lock_is_held

    if not lock_is_held(home):
        return EmulatorStatus(False, None, None, str(home.path))
    info = ServerInfo.read(home)
    if info is None:  # locked but not yet serving: it is starting up (reconciling)
        return EmulatorStatus(True, _read_pid(home), None, str(home.path))
    answer = health(home, info.url)
    ours = answer is not None and answer.get("pid") == info.pid
    return EmulatorStatus(True, info.pid, info.url, str(home.path),
                          healthy=ours and answer.get("status") == "ok",
                          reconciling=ours and answer.get("status") == "reconciling")


def running_url(home: EmulatorHome) -> str | None:
    """The URL of the server serving ``home`` right now, if any (its port may differ from the config's)."""
    from .server import ServerInfo, lock_is_held

    info = ServerInfo.read(home)
    return info.url if info is not None and lock_is_held(home) else None


def ensure_running(home: EmulatorHome, port: int | None = None, *, extra_args: Sequence[str] = (),
                   timeout: float = START_TIMEOUT_SECONDS) -> tuple[str, int]:
    """Start a detached server for ``home`` unless one is already healthy; return ``(base_url, pid)``.

    ``extra_args`` are passed to ``aci-emulator serve`` (``--latency-ms 50``, ``--fault 503:2``...).
    """
    from .auth import ensure_certificates

    home.ensure()
    home.config()
    # Make the CA before any client (or a second racing server) looks for it.
    ensure_certificates(home)
    current = status(home)
    if current.running:
        return _wait_for_existing(home, port, timeout)
    if port is not None or home.port_pinned():
        return _spawn(home, home.port() if port is None else port, extra_args, timeout)
    # The home's own port: re-chosen when another process holds it, and once more when a second home
    # started at the same moment won the race for the same free port (our server then exits at its bind).
    from .home_port import rechoose_if_taken
    from .ports import port_is_free

    deadline = time.monotonic() + timeout
    for attempt in range(3):
        chosen = rechoose_if_taken(home, say=_say)
        try:
            return _spawn(home, chosen, extra_args, deadline - time.monotonic())
        except EmulatorStartError:
            if attempt == 2 or status(home).running or port_is_free(chosen):
                raise
    raise AssertionError("unreachable")


def _say(line: str) -> None:
    print(line, flush=True)


def _spawn(home: EmulatorHome, port: int, extra_args: Sequence[str], timeout: float) -> tuple[str, int]:
    """Start ``aci-emulator serve`` on ``port`` and wait until it answers."""
    command = [sys.executable, "-m", "aci_widgets.emulator.cli", "serve", "--home", str(home.path),
               "--port", str(port), *extra_args]
    log_fd = os.open(home.server_log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd,
                                   start_new_session=True, close_fds=True, cwd=str(home.path))
    finally:
        os.close(log_fd)
    _children[process.pid] = process
    url = f"https://127.0.0.1:{port}"
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            _children.pop(process.pid, None)
            if status(home).running:  # another start won the race for this home: use that server
                return _wait_for_existing(home, port, deadline - time.monotonic())
            raise EmulatorStartError(
                f"the emulator exited with code {code} while starting; see {home.server_log_path}:\n"
                f"{_log_tail(home)}")
        answer = health(home, url, timeout=1.0)
        if answer is not None and answer.get("pid") == process.pid:
            if answer.get("status") == "ok":
                return url, process.pid
            # It serves and is reconciling: killing it now would interrupt the clean-up and leave containers
            # without a server. Wait for it, as long as it takes (bounded by RECONCILE_PATIENCE_SECONDS).
            deadline = max(deadline, started + RECONCILE_PATIENCE_SECONDS)
        time.sleep(_POLL_SECONDS)
    if status(home).reconciling:
        raise EmulatorStartError(f"the emulator (pid {process.pid}) is still reconciling after "
                                 f"{RECONCILE_PATIENCE_SECONDS:g} s; it goes on (aci-emulator status)")
    _terminate(process.pid)
    raise EmulatorStartError(f"the emulator did not answer on {url} within {timeout:g} s; "
                             f"see {home.server_log_path}:\n{_log_tail(home)}")


def _wait_for_existing(home: EmulatorHome, port: int | None, timeout: float) -> tuple[str, int]:
    """A server already holds the home (maybe still reconciling): wait until it answers."""
    started = time.monotonic()
    deadline = started + max(timeout, 1.0)
    while time.monotonic() < deadline:
        current = status(home)
        if current.reconciling:
            deadline = max(deadline, started + RECONCILE_PATIENCE_SECONDS)
        if not current.running:
            raise EmulatorStartError(f"the emulator serving {home.path} stopped while we waited for it; "
                                     f"see {home.server_log_path}")
        if current.healthy and current.url and current.pid:
            running_port = int(current.url.rsplit(":", 1)[1])
            if port is not None and running_port != port:
                raise EmulatorStartError(f"an emulator already serves {home.path} on port {running_port}, "
                                         f"not {port}; stop it first (aci-emulator stop)")
            return current.url, current.pid
        time.sleep(_POLL_SECONDS)
    raise EmulatorStartError(f"an emulator holds {home.path} but does not answer; see {home.server_log_path}")


def stop(home: EmulatorHome, timeout: float = STOP_TIMEOUT_SECONDS) -> int | None:
    """Stop the server of ``home``: SIGTERM, wait, then SIGKILL. Returns its pid, or None if none ran.

    On SIGTERM the server kills every container process before it exits. After a SIGKILL it cannot;
    the next start reconciles (kills) whatever it left.
    """
    from .server import lock_is_held

    if not lock_is_held(home):
        return None
    pid = _read_pid(home)
    if pid is None:
        return None
    if status(home).reconciling:
        # Its SIGTERM handler waits for the reconcile, then kills every container: a SIGKILL after the usual
        # 10 s would leave them without a server.
        timeout = max(timeout, RECONCILE_PATIENCE_SECONDS)
    _signal(pid, signal.SIGTERM)

    def gone() -> bool:  # the lock is released just before the interpreter winds down: wait for both
        return not lock_is_held(home) and not _pid_running(pid)

    if not _wait_until(gone, timeout):
        _signal(pid, signal.SIGKILL)
        _wait_until(gone, 5.0)
    child = _children.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5.0)
    return pid


def _terminate(pid: int) -> None:
    _signal(pid, signal.SIGTERM)
    child = _children.pop(pid, None)
    if child is not None:
        try:
            child.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(_POLL_SECONDS)
    return condition()


def _pid_running(pid: int) -> bool:
    """True while ``pid`` runs; an exited process waiting to be reaped (a zombie) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True  # no /proc (macOS): kill(0) said it exists


def _read_pid(home: EmulatorHome) -> int | None:
    try:
        return int(home.pid_path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def _log_tail(home: EmulatorHome, lines: int = 20) -> str:
    try:
        text = home.server_log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
