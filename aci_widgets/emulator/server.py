"""Run the emulator: uvicorn with TLS on 127.0.0.1, one server per home.

The order matters and is the whole point of this module:

1. take the home's lock (``emulator.pid``, ``flock``): two servers on one home would fight over the same
   SQLite file and the same container processes; the lock dies with the process, so a crash never leaves a
   stale "running" mark behind (a pid number alone could be recycled);
2. bind the port before anything slow, so "port in use" fails at once and clearly;
3. ``backend.reconcile()``: adopt or kill container processes a previous server left behind;
4. serve until SIGTERM/SIGINT (uvicorn's own handlers), then ``backend.shutdown()`` kills every container
   process, and only then the lock is released.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .arm.app import ApiSettings, create_app
from .auth import ensure_certificates
from .config import EmulatorHome, write_private

HOST = "127.0.0.1"

try:  # POSIX; the emulator runs containers as POSIX processes anyway
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


class EmulatorAlreadyRunning(RuntimeError):
    pass


class PortInUse(RuntimeError):
    pass


@dataclass(frozen=True)
class ServerInfo:
    """What a running server tells other processes about itself (``emulator.json`` in the home)."""

    pid: int
    port: int
    url: str
    started: float

    @classmethod
    def read(cls, home: EmulatorHome) -> ServerInfo | None:
        try:
            data: dict[str, Any] = json.loads(server_info_path(home).read_text(encoding="utf-8"))
            return cls(int(data["pid"]), int(data["port"]), str(data["url"]), float(data["started"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None


def server_info_path(home: EmulatorHome) -> Path:
    return home.path / "emulator.json"


def lock_is_held(home: EmulatorHome) -> bool:
    """True while a server process holds this home (works across processes, immune to pid reuse)."""
    if fcntl is None or not home.pid_path.exists():
        return False
    try:
        fd = os.open(home.pid_path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


@contextlib.contextmanager
def _home_lock(home: EmulatorHome) -> Iterator[int]:
    fd = os.open(home.pid_path, os.O_RDWR | os.O_CREAT, 0o600)
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            other = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)  # and leave the running server's files alone
            raise EmulatorAlreadyRunning(f"another emulator (pid {other}) is already serving {home.path}") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield fd
    finally:
        # Remove the marks while still holding the lock, so nobody reads a pid that is about to die.
        for path in (server_info_path(home), home.pid_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        os.close(fd)


def _bind(port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the socket says
    # proto == IPPROTO_TCP. With proto 0 every small answer waits ~40 ms for Nagle + delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    # Like uvicorn's own bind: a restart may reuse the port while old connections sit in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"port {port} on {HOST} is already in use (set ACI_EMULATOR_PORT or --port)") from None
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(home: EmulatorHome, port: int | None = None, settings: ApiSettings | None = None, *,
          access_log: bool = False) -> None:
    """Serve until SIGTERM/SIGINT; every container process is killed before this returns."""
    import uvicorn

    from .state.backend import Backend

    home.ensure()
    home.config()
    ensure_certificates(home)
    port = home.port() if port is None else port
    # uvicorn shuts down gracefully on SIGTERM/SIGINT and then re-raises the signal to the handler that was
    # there before it. SIGTERM's default handler would end the process on the spot, skipping the container
    # clean-up below; a handler that raises SystemExit lets the ``finally`` run instead.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    with _home_lock(home):
        sock = _bind(port)
        backend = Backend(home)
        try:
            app = create_app(backend, home, settings or ApiSettings.from_env())
            # Serve at once and reconcile beside it: health says "reconciling" meanwhile (ARM calls get 503 +
            # Retry-After), so `aci-emulator start` waits for it instead of killing a server mid clean-up.
            ready = app.state.api.control.ready
            ready.clear()
            threading.Thread(target=_reconcile, args=(backend, ready), name="aci-reconcile", daemon=True).start()
            config = uvicorn.Config(
                app, host=HOST, port=port, ssl_certfile=str(home.server_cert_path),
                ssl_keyfile=str(home.server_key_path), access_log=access_log,
                log_level="info" if access_log else "warning", lifespan="off",
                # A stop must not wait for a client's idle keep-alive connection.
                timeout_graceful_shutdown=3,
                http=_arm_h11_protocol(),
            )
            server = _server_class()(config)
            info = {"pid": os.getpid(), "port": port, "url": f"https://{HOST}:{port}", "started": time.time()}
            write_private(server_info_path(home), json.dumps(info))
            server.run(sockets=[sock])
        finally:
            # A second Ctrl-C or SIGTERM must not interrupt the clean-up and leave processes behind.
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(signum, signal.SIG_IGN)
            backend.shutdown(kill_processes=True)
            sock.close()
    logging.getLogger("aci_widgets.emulator").info("emulator on port %s stopped", port)


def _reconcile(backend: Any, ready: threading.Event) -> None:
    try:
        backend.reconcile()
    except Exception:
        logging.getLogger("aci_widgets.emulator").exception("reconciling after a restart failed")
    finally:
        ready.set()


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # An idle keep-alive client (the SDK keeps one per client) never answers a TLS close_notify, so
            # uvicorn's graceful close would wait for the whole grace period: abort idle connections instead.
            for connection in list(self.server_state.connections):
                cycle = getattr(connection, "cycle", None)
                transport = getattr(connection, "transport", None)
                if transport is not None and (cycle is None or getattr(cycle, "response_complete", False)):
                    transport.abort()
            await super().shutdown(sockets)

    return Server


def _arm_h11_protocol() -> type:
    """uvicorn's h11 protocol, but a request it cannot parse (a request line or headers over h11's 16 KB,
    a malformed request) gets ARM's JSON error envelope instead of plain text. Found by the fuzz tests
    (tests/reliability/test_fuzz.py): the emulator's promise is that every error is ARM's envelope."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    body = json.dumps({"error": {"code": "BadRequest",  # invented: HTTP.sys answers such requests in HTML
                                 "message": "Invalid HTTP request received (malformed, or its request line or "
                                            "headers are over 16 KB)."}}).encode("utf-8")

    class ArmH11Protocol(H11Protocol):
        def send_400_response(self, msg: str) -> None:
            headers = [(b"content-type", b"application/json; charset=utf-8"), (b"connection", b"close"),
                       (b"content-length", str(len(body)).encode("ascii"))]
            try:
                for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                              h11.Data(data=body), h11.EndOfMessage()):
                    self.transport.write(self.conn.send(event))
            except h11.LocalProtocolError:  # h11 is in no state to answer: just close, as uvicorn would
                pass
            self.transport.close()

    return ArmH11Protocol


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)

