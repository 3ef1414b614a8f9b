"""The emulator's state machine: resource groups, container groups, operations, logs (docs/contracts.md).

``Backend`` is the facade the HTTP layer and the CLI call; the work is done by units that each own one
responsibility:

* ``resource_groups.ResourceGroups``: resource group records and their ARM JSON;
* ``container_groups.ContainerGroups``: container group records, run owners, write-through saves, list answers;
* ``operations.Operations``: long-running operations and how group state settles them;
* ``deployments.Deployments``: deploying groups and running, watching, killing and removing containers;
* ``init_phase.InitPhase`` (held by ``Deployments``): a deployment's init containers, before its app containers;
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
import sqlite3
import threading
import time
import uuid
from datetime import datetime
from typing import Any

from .. import errors
from ..config import EmulatorHome
from ..errors import ArmError
from ..runtime.engine import Engine
from ..runtime.select import choose_engine, make_engine
from .backend_exec import SocketsAndMetrics
from .container_groups import ContainerGroups
from .deployments import Deployments
from .engine_calls import EngineCalls, credentials_of
from .exec_sessions import ExecSessions
from .identity import fill_identity
from .instance_view import ContainerRecord, GroupRecord, group_state, is_transitioning, render_group
from .metrics import MetricsSampler
from .operations import Operations
from .quotas import LimitSettings, Quotas, normal_location
from .reconcile import reconcile
from .resource_groups import ResourceGroups
from .restart_policy import RestartPolicy
from .rg_deletions import ResourceGroupDeletions
from .scheduler import Scheduler
from .store import Store, StoreCorrupted
from .validation import invalid_content, validate_group, validate_tags

logger = logging.getLogger(__name__)
logging.getLogger("aci_widgets").addHandler(logging.NullHandler())  # background threads never print


class Backend(EngineCalls, SocketsAndMetrics):
    """The ACI and resource-group state machine behind the HTTP layer. Thread-safe; raises ``ArmError``."""

    def __init__(self, home: EmulatorHome, *, backoff_base_seconds: float = 0.5,
                 backoff_cap_seconds: float = 10.0, kill_grace_seconds: float = 2.0, engine: str | None = None):
        self.home = home.ensure()
        self._lock = threading.RLock()
        self._store = Store(home.state_path)
        self._resource_groups = ResourceGroups(self._store)
        self._groups = ContainerGroups(self._store)
        self._operations = Operations(self._store, self._groups.get)
        try:
            self._resource_groups.load()
            self._groups.load()
            self._operations.load()
        except (sqlite3.DatabaseError, TypeError, KeyError, ValueError, AttributeError) as error:
            self._store.close()
            raise StoreCorrupted(home.state_path, f"{type(error).__name__}: {str(error)[:120]}") from None
        self._store.save_backup()  # it loaded: this is the last good state
        self._scheduler = Scheduler()
        self._rg_deletions = ResourceGroupDeletions(self._lock, self._remove_some_groups, self._forget_resource_group)
        self._pending_credentials: list[dict[str, Any]] = []
        self._pull_failures: dict[str, float] = {}
        self.engine_name = choose_engine(engine)
        self._engine: Engine = make_engine(self.engine_name, home, self._on_process_exit,
                                           kill_grace_seconds=kill_grace_seconds)
        self._runtime = getattr(self._engine, "runtime", self._engine)  # the process engine's ProcessRuntime
        self._deployments = Deployments(home, self._lock, self._store, self._groups, self._operations,
                                        self._scheduler, self._engine,
                                        RestartPolicy(backoff_base_seconds, backoff_cap_seconds))
        self.exec_sessions = ExecSessions()
        self._metrics = MetricsSampler(self._metric_targets, self._metric_readings)
        self.quotas = Quotas(LimitSettings(enabled=False))  # the server sets the real ones (set_limits)

    # == life cycle ==================================================================================
    def reconcile(self) -> None:
        """Kill container processes an earlier emulator left, record them, and settle every group.

        See ``reconcile.py``. Safe to call again: runs of this emulator are left alone.
        """
        with self._lock:
            reconcile(self._store, self._engine, self._groups, self._deployments, self._operations)

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
        self._engine.shutdown(kill_processes=kill_processes)
        self._store.close()

    def abandon(self) -> None:
        """Stop the threads and close the store, leaving every process running: a crash, for tests."""
        with self._lock:
            self._deployments.closed = True
        self._metrics.stop()
        self._scheduler.stop()
        self._engine.abandon()
        self._store.close()

    def reset(self) -> None:
        """Delete everything: container groups (their processes and logs), resource groups, operations."""
        with self._lock:
            self._engine.kill(self._engine.running_uids())
            self._store.wipe()
            for group in self._groups:
                self._engine.remove_group(group.uid)
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

    def set_limits(self, quotas: Quotas) -> None:
        """Enforce ACI's quotas and create/delete rates (``quotas.py``); off until this is called."""
        with self._lock:
            self.quotas = quotas

    def location_usage(self, sub: str, location: str) -> list[dict[str, Any]]:
        """ACI's usage list for a region: each quota's current use (from the groups that exist) and limit."""
        with self._lock:
            return self.quotas.usage_json(self._specs_in(sub, location))

    def _specs_in(self, sub: str, location: str, besides: Any = None) -> list[dict[str, Any]]:
        where = normal_location(location)
        return [g.spec for g in self._groups if g.key[0] == sub.lower() and g is not besides
                and normal_location(g.location) == where]

    # == resource groups =============================================================================
    def create_or_update_resource_group(self, sub: str, rg: str, body: Any) -> tuple[dict[str, Any], bool]:
        with self._lock:
            if self._rg_deletions.is_deleting(sub, rg):
                raise errors.resource_group_being_deleted(rg)
            return self._resource_groups.create_or_update(sub, rg, body)

    def get_resource_group(self, sub: str, rg: str) -> dict[str, Any]:
        with self._lock:
            body = self._resource_groups.get(sub, rg)
            if self._rg_deletions.is_deleting(sub, rg):
                body["properties"]["provisioningState"] = "Deleting"
            return body

    def list_resource_groups(self, sub: str) -> list[dict[str, Any]]:
        with self._lock:
            return self._resource_groups.list(sub)

    def delete_resource_group(self, sub: str, rg: str) -> None:
        """Delete at once (tests, reset paths); the HTTP layer uses ``begin_delete_resource_group``."""
        with self._lock:
            self._resource_groups.require(sub, rg)
            self._deployments.remove_groups(self._groups.in_resource_group(sub, rg))
            self._resource_groups.forget(sub, rg)

    def begin_delete_resource_group(self, sub: str, rg: str) -> str:
        """Mark the resource group Deleting and remove its groups in the background; the id to poll."""
        with self._lock:
            self._resource_groups.require(sub, rg)
            self._store.check_writable()
            return self._rg_deletions.begin(sub, rg)

    def resource_group_deletion(self, operation_id: str) -> tuple[bool, str | None] | None:
        return self._rg_deletions.outcome(operation_id)  # (done, error); None for an id never given out

    def _remove_some_groups(self, sub: str, rg: str, count: int) -> bool:
        groups = self._groups.in_resource_group(sub, rg)
        self._deployments.remove_groups(groups[:count])
        return len(groups) <= count

    def _forget_resource_group(self, sub: str, rg: str) -> None:
        if self._resource_groups.find(sub, rg) is not None:
            self._resource_groups.forget(sub, rg)

    # == container groups ============================================================================
    def create_or_update_group(self, sub: str, rg: str, name: str, body: Any) -> tuple[dict[str, Any], bool, str]:
        self._prefetch_images(body)  # a slow pull must not hold the lock that every other request needs
        with self._lock:
            resource_group = self._resource_groups.require(sub, rg)
            if self._rg_deletions.is_deleting(sub, rg):
                raise errors.resource_group_being_deleted(resource_group["name"])
            self._store.check_writable()  # a full disk fails here, before anything changes
            key = (sub.lower(), rg.lower(), name.lower())
            existing = self._groups.get(key)
            self._pending_credentials = credentials_of(body)
            spec = validate_group(
                existing.name if existing else name, body, default_location=resource_group["location"],
                existing=existing.spec if existing else None, image_is_runnable=self._image_is_runnable,
                dns_label_taken=lambda location, label: self._groups.dns_label_taken(key, location, label))
            location = str(spec.get("location") or resource_group["location"])
            self.quotas.check_create(sub, location, spec, self._specs_in(sub, location, besides=existing),
                                     new=existing is None)
            group = None
            try:
                if existing is None:
                    group = GroupRecord(sub=sub, rg=resource_group["name"], name=name, uid=uuid.uuid4().hex,
                                        spec=spec)
                    group.containers = {c["name"]: ContainerRecord(c["name"]) for c in spec["properties"]["containers"]}
                    self._groups.add(group)
                    self.quotas.note_groups(sub, location, len(self._specs_in(sub, location)))
                else:
                    group = existing
                    if is_transitioning(group):
                        raise errors.transitioning(group.name)
                    # An update restarts every container in place; its events follow the old ones, unmerged.
                    self._deployments.kill_containers(group)
                    group.spec = spec
                    for record in group.records():
                        record.merge_floor = len(record.events)
                        record.crash_streak = 0
                if "identity" in spec:
                    tenant_id = str(self.home.config()["tenantId"])
                    group.spec["identity"] = fill_identity(spec["identity"], group.uid, tenant_id)
                group.stopped = False
                group.failure = None
                group.generation += 1
                operation_id = self._operations.new(group, "create" if existing is None else "update")
                self._deployments.begin_deployment(group)
                body_out = render_group(group, instance_view=False, now=time.time(), as_put_response=True)
                self._groups.save(group)
                self._operations.settle_group(group.key)
                return body_out, existing is None, operation_id
            except Exception:
                # A full disk (or a bug) half-way: a new group must not stay behind as a ghost.
                if existing is None and group is not None:
                    self._forget_unsaved(group)
                raise

    def _forget_unsaved(self, group: GroupRecord) -> None:
        """Undo a create that failed half-way: its processes, its memory, whatever reached the store."""
        with contextlib.suppress(ArmError):
            self._deployments.kill_containers(group)
        with contextlib.suppress(ArmError):
            self._store.delete_group(group.key)
        self._groups.remove(group, from_store=False)
        self._operations.forget_group(group.key)

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
                old_tags = group.spec.get("tags")
                group.spec["tags"] = validate_tags(tags)
                try:
                    self._groups.save(group)
                except ArmError:
                    group.spec["tags"] = old_tags  # memory follows what the store holds
                    raise
            return render_group(group, instance_view=True, now=time.time())

    def delete_group(self, sub: str, rg: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            self._resource_groups.require(sub, rg)
            group = self._groups.find(sub, rg, name)
            if group is None:
                return None
            self.quotas.check_delete(sub, group.location)
            body = render_group(group, instance_view=True, now=time.time())
            self._deployments.remove_groups([group])
            return body

    def start_group(self, sub: str, rg: str, name: str) -> str | None:
        """A new deployment with the same configuration; None (204) if running or starting already."""
        with self._lock:
            group = self._require_group(sub, rg, name)
            if is_transitioning(group) or group.initializing or group_state(group) == "Running":
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
            for record in group.records():
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
            record = next((r for r in group.records() if r.name.lower() == container.lower()), None)
            if record is None:
                raise errors.container_not_found(container, group.name)
            if record.run_uid is None:
                raise errors.container_log_not_available(record.name, group.name)
            path, running, run_uid = self._deployments.log_path(record.run_uid), record.running, record.run_uid
        return self._engine.logs(run_uid, path, running=running, tail=tail, timestamps=timestamps)

    def operation_status(self, sub: str, location: str, operation_id: str) -> dict[str, Any]:
        with self._lock:
            return self._operations.status(sub, operation_id)

    # == helpers =====================================================================================
    def _on_process_exit(self, run_uid: str, exit_code: int, finished_at: datetime, oom: bool = False) -> None:
        self._deployments.on_process_exit(run_uid, exit_code, finished_at, oom)

    def _require_group(self, sub: str, rg: str, name: str) -> GroupRecord:
        self._resource_groups.require(sub, rg)
        return self._groups.require(sub, rg, name)


__all__ = ["ArmError", "Backend"]
