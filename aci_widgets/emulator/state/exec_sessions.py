"""Exec and attach tickets, and the adapter from the state layer to the engine's ``exec`` and ``stats``.

``POST .../containers/{c}/exec`` (and ``/attach``) answers ``{webSocketUri, password}`` as ACI does: the URI
names a one-time ticket (a random path token) that is valid for ``TICKET_SECONDS`` and for one connection;
the password (random, compared in constant time) must be the first text frame on that websocket.
``arm/exec_socket.py`` takes the ticket and bridges the websocket to the session this module opens.

The only module of the state layer that knows which engine runs containers: until the engine interface
(``runtime/engine.py``) lands, ``open_exec`` and ``stats_of`` call the process engine's implementations
(``runtime/process_exec.py``, ``runtime/process_stats.py``) directly; at the merge only this adapter changes.
"""

from __future__ import annotations

import hmac
import secrets
import shlex
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .. import errors
from ..errors import ArmError
from ..runtime.process_exec import ProcessExecSession, process_exec
from ..runtime.process_stats import ContainerStats, process_stats_many
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
    """Tickets handed out by exec/attach, the live exec sessions per container (so that their processes
    count in the container's metrics), and the calls into the engine. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tickets: dict[str, Ticket] = {}
        self._live: dict[tuple[str, str], set[int]] = {}  # (group uid, container) -> exec session ids

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

    # -- the engine --------------------------------------------------------------------------------
    def open_exec(self, ticket: Ticket, pid: int) -> ProcessExecSession:
        session = process_exec(pid, ticket.argv, tty=True, cols=ticket.cols, rows=ticket.rows)
        with self._lock:
            self._live.setdefault((ticket.group_uid, ticket.container), set()).add(session.pid)
        return session

    def closed(self, ticket: Ticket, session: ProcessExecSession) -> None:
        with self._lock:
            live = self._live.get((ticket.group_uid, ticket.container))
            if live is not None:
                live.discard(session.pid)

    def exec_sessions_of(self, group_uid: str, container: str) -> set[int]:
        with self._lock:
            return set(self._live.get((group_uid, container), ()))

    def stats_of(self, containers: dict[tuple[str, str], tuple[int, Iterable[int]]]) -> dict[tuple[str, str],
                                                                                          ContainerStats]:
        """``engine.stats`` for each (group uid, container) -> (main pid, ...): one pass over ``/proc``."""
        by_name = {f"{uid}/{name}": [pid, *self.exec_sessions_of(uid, name)]
                   for (uid, name), (pid, _) in containers.items()}
        stats = process_stats_many(by_name)
        return {key: stats[f"{key[0]}/{key[1]}"] for key in containers}


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
