"""The emulator's state machine: resource groups, container groups, operations, logs (docs/contracts.md).

``Backend`` is the facade the HTTP layer and the CLI call; the work is done by units that each own one
responsibility:

* ``resource_groups.ResourceGroups``: resource group records and their ARM JSON;
* ``container_groups.ContainerGroups``: container group records, run owners, write-through saves, list answers;
* ``operations.Operations``: long-running operations and how group state settles them;
* ``deployments.Deployments``: deploying groups and running, watching, killing and removing containers;
* ``restart_policy.RestartPolicy``: the restart policy and crash-loop back-off;
* ``reconcile.reconcile``: what a start does with the runs an earlier emulator left.

One ``threading.RLock`` guards all state: every public method takes it, and so do the runtime's and the
scheduler's callbacks. Every change is written through to SQLite (``store.py``) before the method returns;
the in-memory records (``instance_view.py``) answer reads, and the list form of each group is cached as JSON
until the group changes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import threading
import time
import uuid
from datetime import datetime
from typing import Any

from .. import errors
from ..config import EmulatorHome
from ..errors import ArmError
from ..runtime.images import catalogue
from ..runtime.process import ProcessRuntime, read_log
from .container_groups import ContainerGroups
from .deployments import Deployments
from .exec_sessions import ExecSessions, Ticket, parse_exec_body, require_running
from .instance_view import ContainerRecord, GroupRecord, group_state, is_transitioning, render_group
from .metrics import MetricsSampler, metric_definitions, query_metrics
from .operations import Operations
from .reconcile import reconcile
from .resource_groups import ResourceGroups
from .restart_policy import RestartPolicy
from .scheduler import Scheduler
from .store import Store
from .validation import invalid_content, validate_group, validate_tags

logger = logging.getLogger(__name__)
logging.getLogger("aci_widgets").addHandler(logging.NullHandler())  # background threads never print


class Backend:
    """The ACI and resource-group state machine behind the HTTP layer. Thread-safe; raises ``ArmError``."""

    def __init__(self, home: EmulatorHome, *, backoff_base_seconds: float = 0.5,
                 backoff_cap_seconds: float = 10.0, kill_grace_seconds: float = 2.0):
        self.home = home.ensure()
        self._lock = threading.RLock()
        self._store = Store(home.state_path)
        self._resource_groups = ResourceGroups(self._store)
        self._groups = ContainerGroups(self._store)
        self._operations = Operations(self._store, self._groups.get)
        self._resource_groups.load()
        self._groups.load()
        self._operations.load()
        self._scheduler = Scheduler()
        self._runtime = ProcessRuntime(on_exit=self._on_process_exit, kill_grace_seconds=kill_grace_seconds)
        self._deployments = Deployments(home, self._lock, self._store, self._groups, self._operations,
                                        self._scheduler, self._runtime,
                                        RestartPolicy(backoff_base_seconds, backoff_cap_seconds))
        self.exec_sessions = ExecSessions()
        self._metrics = MetricsSampler(self._metric_targets, self.exec_sessions.stats_of)

    # == life cycle ==================================================================================
    def reconcile(self) -> None:
        """Kill container processes an earlier emulator left, record them, and settle every group.

        See ``reconcile.py``. Safe to call again: runs of this emulator are left alone.
        """
        with self._lock:
            reconcile(self._store, self._runtime, self._groups, self._deployments, self._operations)

    def shutdown(self, kill_processes: bool = True) -> None:
        """Stop the threads; with ``kill_processes`` kill every container process first.

        The store still lists the killed runs as live, so the next start's ``reconcile`` records them
        and applies each restart policy, exactly as after a crash.
        """
        with self._lock:
            if self._deployments.closed:
                return
            self._deployments.closed = True
        self._metrics.stop()
        self._scheduler.stop()
        self._runtime.shutdown(kill_processes=kill_processes)
        self._store.close()

    def abandon(self) -> None:
        """Stop the threads and close the store, leaving every process running: a crash, for tests."""
        with self._lock:
            self._deployments.closed = True
        self._metrics.stop()
        self._scheduler.stop()
        self._runtime.abandon()
        self._store.close()

    def reset(self) -> None:
        """Delete everything: container groups (their processes and logs), resource groups, operations."""
        with self._lock:
            self._runtime.kill(self._runtime.running_uids())
            self._store.wipe()
            for group in self._groups:
                shutil.rmtree(self._deployments.work_dir(group), ignore_errors=True)
            self._groups.clear()
            self._resource_groups.clear()
            self._operations.clear()
            for path in self.home.logs_dir.glob("*.log"):
                with contextlib.suppress(OSError):
                    path.unlink()

    def set_provisioning_delay(self, seconds: float) -> None:
        """Hold new deployments in Pending, then Creating, for ``seconds`` before containers start."""
        seconds = float(seconds)
        if not seconds >= 0 or seconds == float("inf"):
            raise ValueError("the provisioning delay must be a non-negative number of seconds")
        with self._lock:
            self._deployments.provisioning_delay = seconds

    # == resource groups =============================================================================
    def create_or_update_resource_group(self, sub: str, rg: str, body: Any) -> tuple[dict[str, Any], bool]:
        with self._lock:
            return self._resource_groups.create_or_update(sub, rg, body)

    def get_resource_group(self, sub: str, rg: str) -> dict[str, Any]:
        with self._lock:
            return self._resource_groups.get(sub, rg)

    def list_resource_groups(self, sub: str) -> list[dict[str, Any]]:
        with self._lock:
            return self._resource_groups.list(sub)

    def delete_resource_group(self, sub: str, rg: str) -> None:
        with self._lock:
            self._resource_groups.require(sub, rg)
            self._deployments.remove_groups(self._groups.in_resource_group(sub, rg))
            self._resource_groups.forget(sub, rg)

    # == container groups ============================================================================
    def create_or_update_group(self, sub: str, rg: str, name: str, body: Any) -> tuple[dict[str, Any], bool, str]:
        with self._lock:
            resource_group = self._resource_groups.require(sub, rg)
            key = (sub.lower(), rg.lower(), name.lower())
            existing = self._groups.get(key)
            spec = validate_group(
                existing.name if existing else name, body, default_location=resource_group["location"],
                existing=existing.spec if existing else None, image_is_runnable=self._image_is_runnable,
                dns_label_taken=lambda location, label: self._groups.dns_label_taken(key, location, label))
            if spec["properties"]["initContainers"]:
                raise errors.not_supported("Init containers")
            if existing is None:
                group = GroupRecord(sub=sub, rg=resource_group["name"], name=name, uid=uuid.uuid4().hex,
                                    spec=spec)
                group.containers = {c["name"]: ContainerRecord(c["name"]) for c in spec["properties"]["containers"]}
                self._groups.add(group)
            else:
                group = existing
                if is_transitioning(group):
                    raise errors.transitioning(group.name)
                # An update restarts every container in place; its events follow the old ones, unmerged.
                self._deployments.kill_containers(group)
                group.spec = spec
                for record in group.containers.values():
                    record.merge_floor = len(record.events)
                    record.crash_streak = 0
            group.stopped = False
            group.failure = None
            group.generation += 1
            operation_id = self._operations.new(group, "create" if existing is None else "update")
            self._deployments.begin_deployment(group)
            body_out = render_group(group, instance_view=False, now=time.time(), as_put_response=True)
            self._groups.save(group)
            self._operations.settle_group(group.key)
            return body_out, existing is None, operation_id

    def get_group(self, sub: str, rg: str, name: str) -> dict[str, Any]:
        with self._lock:
            return render_group(self._require_group(sub, rg, name), instance_view=True, now=time.time())

    def list_groups(self, sub: str, rg: str | None) -> list[dict[str, Any]]:
        """Every group of the subscription (or resource group), without instance views, oldest first."""
        return [json.loads(text) for _key, text in self.list_group_documents(sub, rg)]

    def list_group_documents(self, sub: str, rg: str | None) -> list[tuple[str, str]]:
        """``(lower-cased id, JSON text of the list form)`` of each group, sorted by id, for the HTTP layer to
        page (see ``ContainerGroups.list_documents``). Callers must not change the list."""
        with self._lock:
            if rg is not None:
                self._resource_groups.require(sub, rg)
            return self._groups.list_documents(sub, rg)

    def update_group_tags(self, sub: str, rg: str, name: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid_content("", "Unexpected character encountered while parsing value: the body must be "
                                      "a JSON object.")
        tags = next((value for key, value in body.items() if str(key).lower() == "tags"), None)
        with self._lock:
            group = self._require_group(sub, rg, name)
            if tags is not None:
                group.spec["tags"] = validate_tags(tags)
                self._groups.save(group)
            return render_group(group, instance_view=True, now=time.time())

    def delete_group(self, sub: str, rg: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            self._resource_groups.require(sub, rg)
            group = self._groups.find(sub, rg, name)
            if group is None:
                return None
            body = render_group(group, instance_view=True, now=time.time())
            self._deployments.remove_groups([group])
            return body

    def start_group(self, sub: str, rg: str, name: str) -> str | None:
        """A new deployment with the same configuration; None (204) if running or starting already."""
        with self._lock:
            group = self._require_group(sub, rg, name)
            if is_transitioning(group) or group_state(group) == "Running":
                return None
            return self._deployments.redeploy(group, "start")

    def stop_group(self, sub: str, rg: str, name: str) -> None:
        with self._lock:
            group = self._require_group(sub, rg, name)
            if is_transitioning(group):
                raise errors.transitioning(group.name)
            if group.stopped or group_state(group) in ("Succeeded", "Failed"):
                return  # ACI: stopping a group that has already ended has no effect
            self._deployments.kill_containers(group)
            group.stopped = True
            self._groups.save(group)
            self._operations.settle_group(group.key)

    def restart_group(self, sub: str, rg: str, name: str) -> str:
        """Restart every container in place (a stopped group is started); returns the operation id."""
        with self._lock:
            group = self._require_group(sub, rg, name)
            if is_transitioning(group):
                raise errors.transitioning(group.name)
            if group.stopped or group.failure is not None:
                return self._deployments.redeploy(group, "restart")
            self._deployments.kill_containers(group)
            for record in group.containers.values():
                record.merge_floor = len(record.events)  # the restart's events are appended, count 1
                record.crash_streak = 0
            group.generation += 1
            operation_id = self._operations.new(group, "restart")
            group.deployed = False
            group.provisioning_state = "Pending"
            self._deployments.deploy(group)
            self._groups.save(group)
            self._operations.settle_group(group.key)
            return operation_id

    def container_logs(self, sub: str, rg: str, name: str, container: str, tail: int | None,
                       timestamps: bool) -> str:
        with self._lock:
            group = self._require_group(sub, rg, name)
            record = next((r for r in group.containers.values() if r.name.lower() == container.lower()), None)
            if record is None:
                raise errors.container_not_found(container, group.name)
            if record.run_uid is None:
                raise errors.container_log_not_available(record.name, group.name)
            path, running = self._deployments.log_path(record.run_uid), record.running
        return read_log(path, running=running, tail=tail, timestamps=timestamps)

    # == exec, attach, metrics (exec_sessions.py, metrics.py) =======================================
    def issue_socket(self, kind: str, sub: str, rg: str, name: str, container: str, body: dict[str, Any] | None,
                     base_url: str) -> dict[str, str]:
        """``{webSocketUri, password}`` for an exec (``body`` is the exec request) or an attach."""
        argv, cols, rows = parse_exec_body(body) if kind == "exec" else ([], 80, 24)
        with self._lock:
            group = self._require_group(sub, rg, name)
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

    def operation_status(self, sub: str, location: str, operation_id: str) -> dict[str, Any]:
        with self._lock:
            return self._operations.status(sub, operation_id)

    # == helpers =====================================================================================
    def _on_process_exit(self, run_uid: str, exit_code: int, finished_at: datetime) -> None:
        self._deployments.on_process_exit(run_uid, exit_code, finished_at)

    def _require_group(self, sub: str, rg: str, name: str) -> GroupRecord:
        self._resource_groups.require(sub, rg)
        return self._groups.require(sub, rg, name)

    def _image_is_runnable(self, image: str) -> bool:
        return catalogue.is_resolvable(image, self.home)


__all__ = ["ArmError", "Backend"]
