"""Exec, attach and metrics on ``Backend`` (a mixin: the methods need the backend's lock and records).

Kept apart so that ``backend.py`` stays one facade of bounded size; see ``exec_sessions.py`` (tickets, the
engine adapter) and ``metrics.py`` (the sampler, Azure Monitor's answers).
"""

from __future__ import annotations

from typing import Any

from .. import errors
from ..runtime.engine import ContainerStats, Engine, ExecSession
from .exec_sessions import Ticket, container_group_stopped, parse_exec_body, require_running
from .instance_view import group_state
from .metrics import metric_definitions, query_metrics


class SocketsAndMetrics:
    """Needs ``_lock``, ``_groups``, ``_engine``, ``_deployments``, ``_metrics``, ``exec_sessions`` and
    ``_require_group`` from ``Backend``."""

    _lock: Any
    _groups: Any
    _engine: Engine
    _deployments: Any
    _metrics: Any
    exec_sessions: Any

    def _require_group(self, sub: str, rg: str, name: str) -> Any:  # pragma: no cover - Backend's
        raise NotImplementedError

    def issue_socket(self, kind: str, sub: str, rg: str, name: str, container: str, body: dict[str, Any] | None,
                     base_url: str) -> dict[str, str]:
        """``{webSocketUri, password}`` for an exec (``body`` is the exec request) or an attach."""
        with self._lock:
            group = self._require_group(sub, rg, name)  # a missing group is a 404 before a bad body's 400
            argv, cols, rows = parse_exec_body(body or {}) if kind == "exec" else ([], 80, 24)
            record = next((r for r in group.containers.values() if r.name.lower() == container.lower()), None)
            require_running(group, record, container)
            assert record is not None
            return self.exec_sessions.issue(kind, group, record, base_url, argv, cols, rows)

    def _socket_run(self, ticket: Ticket) -> tuple[str, bool]:
        """(run uid, running) of the ticket's container; ArmError when its group is gone or stopped."""
        group = self._groups.get(ticket.group_key)
        if group is None or group.uid != ticket.group_uid:
            raise errors.container_group_not_found(ticket.group_key[2], ticket.group_key[1])
        record = group.containers.get(ticket.container)
        if record is None or record.run_uid is None:
            raise errors.container_not_found(ticket.container, group.name)
        return record.run_uid, record.running and group_state(group) == "Running" and not group.stopped

    def open_socket_exec(self, ticket: Ticket) -> ExecSession:
        """The engine's exec session for an exec ticket whose password matched; ArmError when the container no
        longer runs. ``CommandNotRunnable`` (process engine) when the command cannot start."""
        with self._lock:
            group = self._groups.get(ticket.group_key)
            run_uid, running = self._socket_run(ticket)
            if not running:
                raise container_group_stopped(group)
        try:
            return self._engine.exec(run_uid, ticket.argv, tty=True, cols=ticket.cols, rows=ticket.rows)
        except LookupError:  # it stopped between the check and the exec
            raise container_group_stopped(group) from None

    def socket_output(self, ticket: Ticket) -> tuple[str, bool]:
        """(the container's output so far, whether it still runs) for an attach ticket."""
        with self._lock:
            run_uid, running = self._socket_run(ticket)
            path = self._deployments.log_path(run_uid)
        return self._engine.logs(run_uid, path, running=running, tail=None, timestamps=False), running

    def metrics(self, sub: str, rg: str, name: str, query: dict[str, str] | None) -> dict[str, Any]:
        """Azure Monitor's metrics (``query`` given) or metric definitions (None) of a group."""
        with self._lock:
            group = self._require_group(sub, rg, name)
            uid, resource_id, location = group.uid, group.id, group.location
            names = list(group.containers)
        if query is None:
            return metric_definitions(resource_id)
        return query_metrics(resource_id, location, {c: self._metrics.points(uid, c) for c in names}, query)

    def _metric_targets(self) -> dict[tuple[str, str], str]:
        """(group uid, container) -> run uid of every running container: what the sampler reads."""
        with self._lock:
            if self._deployments.closed:
                return {}
            return {(g.uid, r.name): r.run_uid for g in self._groups for r in g.containers.values()
                    if r.running and r.run_uid}

    def _metric_readings(self, targets: dict[tuple[str, str], str]) -> dict[tuple[str, str], ContainerStats]:
        """The engine's counters for the sampler's targets (a container that ended meanwhile is left out)."""
        readings = self._engine.stats_many(list(targets.values()))
        return {key: readings[run_uid] for key, run_uid in targets.items() if run_uid in readings}
