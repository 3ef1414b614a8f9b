"""Exec and attach tickets, and ACI's answers for exec into a container that is not running.

``POST .../containers/{c}/exec`` (and ``/attach``) answers ``{webSocketUri, password}`` as ACI does: the URI
names a one-time ticket (a random path token) that is valid for ``TICKET_SECONDS`` and for one connection;
the password (random, compared in constant time) must be the first text frame on that websocket.
``arm/exec_socket.py`` takes the ticket and bridges the websocket to the engine's exec session, which
``Backend.open_socket_exec`` (``backend_exec.py``) opens with whichever engine runs the container.
"""

from __future__ import annotations

import hmac
import secrets
import shlex
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .. import errors
from ..errors import ArmError
from .instance_view import ContainerRecord, GroupRecord, group_state

TICKET_SECONDS = 60.0  # how long a webSocketUri stays valid before its one connection
SOCKET_PREFIX = "bridge"  # wss://host:port/bridge/{exec|attach}/{token}


@dataclass
class Ticket:
    token: str
    password: str
    kind: str  # "exec" or "attach"
    group_key: tuple[str, str, str]
    group_uid: str
    container: str
    argv: list[str]
    cols: int
    rows: int
    expires: float
    extra: dict[str, Any] = field(default_factory=dict)

    def password_matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8"), self.password.encode("utf-8"))


def parse_exec_body(body: dict[str, Any]) -> tuple[list[str], int, int]:
    """The exec request ``{command, terminalSize:{rows, cols}}`` -> (argv, cols, rows), or ARM's 400."""
    command = body.get("command")
    if not isinstance(command, str) or not command.strip():
        raise errors.bad_request("InvalidRequestContent",  # the SDK's model requires it; ARM's code for a bad body
                                 "The request content was invalid and could not be deserialized: "
                                 "'command' must be a non-empty string.", target="command")
    try:
        argv = shlex.split(command)
    except ValueError:
        argv = command.split()
    size = body.get("terminalSize") or {}
    if not isinstance(size, dict):
        size = {}

    def dimension(name: str, default: int) -> int:
        value = size.get(name)
        return int(value) if isinstance(value, (int, float)) and 0 < value < 10000 else default

    return argv, dimension("cols", 80), dimension("rows", 24)


class ExecSessions:
    """Tickets handed out by exec/attach. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tickets: dict[str, Ticket] = {}

    # -- tickets -----------------------------------------------------------------------------------
    def issue(self, kind: str, group: GroupRecord, record: ContainerRecord, base_url: str, argv: list[str],
              cols: int, rows: int) -> dict[str, str]:
        require_running(group, record)
        ticket = Ticket(secrets.token_urlsafe(24), secrets.token_urlsafe(32), kind, group.key, group.uid,
                        record.name, argv, cols, rows, time.monotonic() + TICKET_SECONDS)
        with self._lock:
            now = time.monotonic()
            for token in [t for t, old in self._tickets.items() if old.expires < now]:
                del self._tickets[token]
            self._tickets[ticket.token] = ticket
        scheme_host = "wss://" + base_url.split("://", 1)[-1]
        uri = f"{scheme_host}/{SOCKET_PREFIX}/{kind}/{ticket.token}"
        if kind == "exec":
            uri += f"?rows={rows}&cols={cols}"
        return {"webSocketUri": uri, "password": ticket.password}

    def take(self, kind: str, token: str) -> Ticket | None:
        """The ticket for one connection: it is gone afterwards, whether the password then matches or not."""
        with self._lock:
            ticket = self._tickets.pop(token, None)
        if ticket is None or ticket.kind != kind or ticket.expires < time.monotonic():
            return None
        return ticket


def require_running(group: GroupRecord, record: ContainerRecord | None, container: str = "") -> None:
    """ACI's answers for exec/attach into a group or container that is not running."""
    if record is None:
        raise errors.container_not_found(container, group.name)
    if group_state(group) != "Running" or group.stopped:
        raise container_group_stopped(group)
    if not record.running:
        raise container_group_stopped(group)  # ACI has no separate code for one container: see COVERAGE.md


def container_group_stopped(group: GroupRecord) -> ArmError:
    # code and message as ACI's (aci-rest-behaviour.md); the status was not recorded: 409 chosen (COVERAGE.md)
    return ArmError(409, "ContainerGroupStopped",
                    f"Container Group '{group.name}' in resource group '{group.rg}' is stopped.")
