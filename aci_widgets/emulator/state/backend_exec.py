"""Exec, attach and metrics on ``Backend`` (a mixin: the methods need the backend's lock and records).

Kept apart so that ``backend.py`` stays one facade of bounded size; see ``exec_sessions.py`` (tickets, the
engine adapter) and ``metrics.py`` (the sampler, Azure Monitor's answers).
"""

from __future__ import annotations

from typing import Any

from .. import errors
from .exec_sessions import Ticket, parse_exec_body, require_running
from .metrics import metric_definitions, query_metrics


class SocketsAndMetrics:
    """Needs ``_lock``, ``_groups``, ``_store``, ``_deployments``, ``_metrics``, ``exec_sessions`` and
    ``_require_group`` from ``Backend``."""

    _lock: Any
    _groups: Any
    _store: Any
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

    def socket_target(self, ticket: Ticket) -> tuple[int, str | None]:
        """(main pid, log path of the run) of the ticket's container, still running; else ArmError."""
        with self._lock:
            group = self._groups.get(ticket.group_key)
            if group is None or group.uid != ticket.group_uid:
                raise errors.container_group_not_found(ticket.group_key[2], ticket.group_key[1])
            record = group.containers.get(ticket.container)
            require_running(group, record, ticket.container)
            assert record is not None and record.run_uid is not None
            pids = {row.run_uid: row.pid for row in self._store.live_runs()}
            pid = pids.get(record.run_uid)
            if pid is None:
                raise errors.container_log_not_available(record.name, group.name)
            return pid, str(self._deployments.log_path(record.run_uid))

    def metrics(self, sub: str, rg: str, name: str, query: dict[str, str] | None) -> dict[str, Any]:
        """Azure Monitor's metrics (``query`` given) or metric definitions (None) of a group."""
        with self._lock:
            group = self._require_group(sub, rg, name)
            uid, resource_id, location = group.uid, group.id, group.location
            names = list(group.containers)
        if query is None:
            return metric_definitions(resource_id)
        return query_metrics(resource_id, location, {c: self._metrics.points(uid, c) for c in names}, query)

    def _metric_targets(self) -> dict[tuple[str, str], tuple[int, Any]]:
        with self._lock:
            if self._deployments.closed:
                return {}
            running = {r.run_uid: (g.uid, r.name) for g in self._groups for r in g.containers.values()
                       if r.running and r.run_uid}
            if not running:
                return {}
            return {running[row.run_uid]: (row.pid, None) for row in self._store.live_runs()
                    if row.run_uid in running and row.pid}

