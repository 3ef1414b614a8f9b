"""Exec into a container: ``session.exec(...)`` (a command, its output and exit code) and ``open_console``.

One path for both backends, as ``az container exec`` does it: the SDK's ``containers.execute_command``
answers ``{webSocketUri, password}`` (Azure's websocket bridge, or the emulator's), then a websocket client
(websocket-client, the library the Azure CLI uses) sends the password as the first text frame, stdin as
binary frames, and reads the output until the bridge closes.

ACI starts a single process per exec and passes it no arguments (Azure's docs: "you can't pass command
arguments"), and its bridge carries no exit status. So ``exec`` starts ``/bin/sh`` and types the command
into it, framed by two markers the shell prints itself (``\\x1eS`` before, ``\\x1eE<status>`` after):
everything between them is the command's output, and the status is its exit code. Needs a ``/bin/sh`` in
the image, as nearly every Linux image has.
"""

from __future__ import annotations

import re
import shlex
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .arm_calls import ArmCalls
from .errors import InvalidInput, OperationFailed

SHELL = "/bin/sh"
_START = b"\x1eS"
_END = re.compile(rb"\x1eE(\d+)")
DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class ExecResult:
    """What ``session.exec`` returns: the command's output (terminal line ends made ``\\n``) and exit code."""

    output: str
    exit_code: int | None
    container: str

    def __str__(self) -> str:
        return self.output


def _verify_of(ci: Any) -> bool | str:
    """The TLS verification the session's clients use (a CA path for the emulator, True for Azure)."""
    transport = getattr(getattr(getattr(ci, "_client", None), "_pipeline", None), "_transport", None)
    config = getattr(transport, "connection_config", None)
    verify = getattr(config, "verify", True)
    return verify if isinstance(verify, (bool, str)) else True


def _sslopt(verify: bool | str) -> dict[str, Any]:
    if verify is False:
        return {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
    if isinstance(verify, str):
        return {"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": verify}
    return {"cert_reqs": ssl.CERT_REQUIRED}


class Console:
    """A live terminal session in a container (what the Console tab and ``session.exec`` use).

    ``send(text_or_bytes)`` types, ``read(timeout)`` returns what arrived (``b""`` on a timeout),
    ``interrupt()`` sends Ctrl-C, ``close()`` ends it; ``closed`` tells whether the bridge hung up.
    """

    def __init__(self, socket: Any, container: str):
        self._socket = socket
        self.container = container
        self.closed = False
        self._send_lock = threading.Lock()

    def send(self, data: str | bytes) -> None:
        payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        if self.closed or not payload:
            return
        import websocket

        try:
            with self._send_lock:
                self._socket.send_binary(payload)
        except (OSError, websocket.WebSocketException):
            self.closed = True

    def interrupt(self) -> None:
        self.send(b"\x03")

    def read(self, timeout: float = 0.5) -> bytes:
        if self.closed:
            return b""
        import websocket

        self._socket.settimeout(timeout)
        try:
            opcode, data = self._socket.recv_data(control_frame=False)
        except websocket.WebSocketTimeoutException:
            return b""
        except (OSError, websocket.WebSocketException):
            self.closed = True
            return b""
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            self.closed = True
            return b""
        return data if isinstance(data, bytes) else str(data).encode("utf-8")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self._socket.close(timeout=1)
            except Exception:  # noqa: BLE001, S110 - already gone: nothing to tell the user
                pass


class ExecOperations:
    """``exec`` and ``open_console`` over one connection's ``ArmCalls`` (offered as Session methods)."""

    def __init__(self, calls: ArmCalls) -> None:
        self.calls = calls

    def open_console(self, name: str, container: str | None = None, *, resource_group: str | None = None,
                     command: str = SHELL, cols: int = 120, rows: int = 30) -> Console:
        """A terminal in a running container (``command`` is started there; a shell by default)."""
        import websocket
        from azure.mgmt.containerinstance.models import ContainerExecRequest, ContainerExecRequestTerminalSize

        rg = self.calls.resource_group(resource_group)
        container = container or self._first_container(name, rg)
        request = ContainerExecRequest(command=command,
                                       terminal_size=ContainerExecRequestTerminalSize(rows=rows, cols=cols))
        with self.calls.errors(f"exec into {name}/{container}"):
            answer = self.calls.ci.containers.execute_command(rg, name, container, request)
        try:
            socket = websocket.create_connection(answer.web_socket_uri, sslopt=_sslopt(_verify_of(self.calls.ci)),
                                                 timeout=30, enable_multithread=True)
            socket.send(answer.password)
        except (OSError, websocket.WebSocketException) as error:
            raise OperationFailed(self.calls.scrub(f"exec into {name}/{container}: cannot open the terminal: "
                                                   f"{error}")) from None
        return Console(socket, container)

    def exec(self, name: str, command: str | Sequence[str], container: str | None = None, *,
             resource_group: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> ExecResult:
        """Run ``command`` in a running container: its output and exit code.

        ``command`` is a list of arguments (quoted for the shell) or one shell command line.
        """
        if isinstance(command, str):
            line = command.strip()
        else:
            if not command or not all(isinstance(part, str) for part in command):
                raise InvalidInput({"command": "a non-empty list of strings, or one command line"})
            line = shlex.join(list(command))
        if not line or "\n" in line:
            raise InvalidInput({"command": "one non-empty line"})
        console = self.open_console(name, container, resource_group=resource_group)
        script = f"PS1=''; PS2=''; stty -echo 2>/dev/null; printf '\\036S\\n'; {line}\nprintf '\\036E%d\\n' $?; exit\n"
        console.send(script)
        received = b""
        deadline = time.monotonic() + timeout
        try:
            while not console.closed and not _END.search(received.partition(_START + b"\r\n")[2]):
                if time.monotonic() > deadline:
                    raise OperationFailed(f"exec in {name}/{console.container}: no end after {timeout:g} s")
                received += console.read(0.5)
        finally:
            console.close()
        return _result(received, console.container)

    def _first_container(self, name: str, rg: str) -> str:
        path = self.calls.group_path(rg, name)
        with self.calls.errors(f"get {name}"):
            body = self.calls.send_json("GET", path)
        containers = [c.get("name") for c in ((body or {}).get("properties") or {}).get("containers") or []]
        if not containers:
            raise OperationFailed(f"container group '{name}' has no containers")
        return str(containers[0])


def _result(received: bytes, container: str) -> ExecResult:
    _, found, after = received.partition(_START + b"\r\n")
    if not found:
        _, found, after = received.partition(_START + b"\n")
    body = after if found else received
    match = _END.search(body)
    code = int(match.group(1)) if match else None
    output = body[:match.start()] if match else body
    text = output.decode("utf-8", "replace").replace("\r\n", "\n")
    return ExecResult(text, code, container)
