"""The emulator's state machine: resource groups, container groups, operations, logs (docs/contracts.md).

One ``threading.RLock`` guards all state. Every change is written through to SQLite (``store.py``) before
the method returns; the in-memory records (``instance_view.py``) answer reads, and the list form of each
group is cached as JSON until the group changes. Processes run through ``runtime.py``; their exits come
back on the runtime's notifier thread, and back-off restarts and provisioning delays on the scheduler's
thread. Those callbacks take the same lock and re-check that what they were for still holds.

Emulator choices (ACI documents none of these numbers):
* crash-loop back-off: 0.5 s doubling up to 10 s (``backoff_base_seconds``/``backoff_cap_seconds``); a run
  that lasted ``STABLE_RUN_SECONDS`` resets it. ACI/Kubernetes use 10 s doubling up to 5 min.
* a command that cannot be executed: a ``Failed`` Warning event, then Terminated with exit code 127
  (not found) or 126 (not executable), detailStatus ``Error``, as a shell reports it.
* a container killed by stop/restart/update/delete reports its real exit code (143 after SIGTERM, 137
  after SIGKILL). A container found running (or gone) after an emulator crash is killed and recorded as
  Terminated with exit code 137 (SIGKILL) and a ``Killing`` event; then its restart policy applies.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import errors
from ..config import EmulatorHome
from ..errors import ArmError
from ..runtime.images import catalogue
from ..runtime.images.catalogue import ImageNotFound, ResolvedImage
from ..runtime.process import (
    CommandNotRunnable,
    ProcessRuntime,
    find_processes_with_env,
    kill_leftover_process,
    read_log,
)
from .instance_view import (
    CRASH_LOOP_DETAIL,
    ContainerRecord,
    GroupKey,
    GroupRecord,
    add_event,
    container_id,
    group_state,
    is_transitioning,
    iso_millis,
    operation_events,
    render_group,
    terminated_state,
    utc_now,
)
from .scheduler import Scheduler
from .store import Store
from .validation import invalid_content, validate_group, validate_resource_group_body, validate_tags

logger = logging.getLogger(__name__)
logging.getLogger("aci_widgets").addHandler(logging.NullHandler())  # background threads never print

RUN_MARKER_ENV = "ACI_EMULATOR_RUN_ID"  # lets a later emulator find a run whose pid was never recorded
STABLE_RUN_SECONDS = 10.0
CRASH_EXIT_CODE = 137  # a container killed at reconcile: as if SIGKILLed
# Host environment a container inherits; everything else comes from the image and the group.
PASSTHROUGH_ENV = ("HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Backend:
    """The ACI and resource-group state machine behind the HTTP layer. Thread-safe; raises ``ArmError``."""

    def __init__(self, home: EmulatorHome, *, backoff_base_seconds: float = 0.5,
                 backoff_cap_seconds: float = 10.0, kill_grace_seconds: float = 2.0):
        self.home = home.ensure()
        self.backoff_base_seconds = backoff_base_seconds
        self.backoff_cap_seconds = backoff_cap_seconds
        self._lock = threading.RLock()
        self._closed = False
        self._provisioning_delay = 0.0
        self._store = Store(home.state_path)
        self._shims = catalogue.shim_dir(home)
        self._resource_groups: dict[tuple[str, str], dict[str, Any]] = {}
        self._groups: dict[GroupKey, GroupRecord] = {}
        # Bumped by every change that can alter a list answer; the sorted list documents of a (sub, rg) are
        # kept until it moves, so that paging through 10,000 groups does not rebuild the list 100 times.
        self._list_generation = 0
        self._sorted_documents: dict[tuple[str, str | None], tuple[int, list[tuple[str, str]]]] = {}
        self._operations: dict[str, dict[str, Any]] = {}
        self._in_progress: dict[GroupKey, set[str]] = {}  # operation ids by group, until they settle
        self._run_owner: dict[str, tuple[GroupKey, str]] = {}
        self._load()
        self._scheduler = Scheduler()
        self._runtime = ProcessRuntime(on_exit=self._on_process_exit, kill_grace_seconds=kill_grace_seconds)

    # == life cycle ==================================================================================
    def _load(self) -> None:
        for sub_key, rg_key, doc in self._store.resource_groups():
            self._resource_groups[(sub_key, rg_key)] = doc
        for key, doc in self._store.groups():
            group = GroupRecord.from_doc(doc)
            self._groups[key] = group
            for record in group.containers.values():
                if record.run_uid:
                    self._run_owner[record.run_uid] = (key, record.name)
        self._operations = self._store.operations()
        for operation_id, operation in self._operations.items():
            if operation["status"] == "InProgress":
                self._in_progress.setdefault(_operation_key(operation), set()).add(operation_id)

    def reconcile(self) -> None:
        """Kill container processes an earlier emulator left, record them, and settle every group.

        A recorded run whose pid is alive with the recorded start ticks is killed (its whole process
        group); one whose pid is gone is simply recorded. Either way the container becomes Terminated
        (exit 137) with a ``Killing`` event, then its restart policy applies. Deployments cut short are
        carried out, back-offs resume, and operations settle. Safe to call again: runs of this emulator
        are left alone.
        """
        with self._lock:
            own = self._runtime.running_uids()
            leftovers = [row for row in self._store.live_runs() if row.run_uid not in own]
            for row in leftovers:
                if row.pid is None:
                    for pid in find_processes_with_env(RUN_MARKER_ENV, row.run_uid):
                        kill_leftover_process(pid, None)
                else:
                    kill_leftover_process(row.pid, row.start_ticks)
            self._store.end_runs([row.run_uid for row in leftovers])
            now = utc_now()
            for group in list(self._groups.values()):
                for record in group.containers.values():
                    if record.running and record.run_uid not in own:
                        record.running = False
                        add_event(record.events, "Killing",
                                  f"Killing container with id {container_id(group, record.name)}.",
                                  moment=now, merge_floor=record.merge_floor)
                        start = record.current.get("startTime") if record.current else None
                        record.current = terminated_state(start, CRASH_EXIT_CODE, now)
                        self._after_exit(group, record, run_seconds=STABLE_RUN_SECONDS, started=True,
                                         immediate=True)
                    elif (record.current is not None and record.current["state"] == "Waiting"
                          and not group.stopped):
                        self._schedule_restart(group, record, 0.0)
                if is_transitioning(group):
                    delay = max(0.0, (group.deploy_at or 0.0) - time.time())
                    self._schedule_deployment(group, delay)
                self._save(group)
            for operation_id in list(self._operations):
                self._settle_operation(operation_id)

    def shutdown(self, kill_processes: bool = True) -> None:
        """Stop the threads; with ``kill_processes`` kill every container process first.

        The store still lists the killed runs as live, so the next start's ``reconcile`` records them
        and applies each restart policy, exactly as after a crash.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._scheduler.stop()
        self._runtime.shutdown(kill_processes=kill_processes)
        self._store.close()

    def abandon(self) -> None:
        """Stop the threads and close the store, leaving every process running: a crash, for tests."""
        with self._lock:
            self._closed = True
        self._scheduler.stop()
        self._runtime.abandon()
        self._store.close()

    def reset(self) -> None:
        """Delete everything: container groups (their processes and logs), resource groups, operations."""
        with self._lock:
            self._runtime.kill(self._runtime.running_uids())
            self._store.wipe()
            for group in self._groups.values():
                shutil.rmtree(self._work_dir(group), ignore_errors=True)
            self._groups.clear()
            self._list_generation += 1
            self._resource_groups.clear()
            self._operations.clear()
            self._in_progress.clear()
            self._run_owner.clear()
            for path in self.home.logs_dir.glob("*.log"):
                with contextlib.suppress(OSError):
                    path.unlink()

    def set_provisioning_delay(self, seconds: float) -> None:
        """Hold new deployments in Pending, then Creating, for ``seconds`` before containers start."""
        seconds = float(seconds)
        if not seconds >= 0 or seconds == float("inf"):
            raise ValueError("the provisioning delay must be a non-negative number of seconds")
        with self._lock:
            self._provisioning_delay = seconds

    # == resource groups =============================================================================
    def create_or_update_resource_group(self, sub: str, rg: str, body: Any) -> tuple[dict[str, Any], bool]:
        spec = validate_resource_group_body(rg, body)
        with self._lock:
            key = (sub.lower(), rg.lower())
            existing = self._resource_groups.get(key)
            if existing is not None and existing["location"] != spec["location"]:
                raise errors.resource_group_location_conflict(existing["name"], existing["location"],
                                                              spec["location"])
            record = {"sub": existing["sub"] if existing else sub, "name": existing["name"] if existing else rg,
                      **spec}
            self._store.put_resource_group(*key, record)
            self._resource_groups[key] = record
            return _render_resource_group(record), existing is None

    def get_resource_group(self, sub: str, rg: str) -> dict[str, Any]:
        with self._lock:
            return _render_resource_group(self._require_resource_group(sub, rg))

    def list_resource_groups(self, sub: str) -> list[dict[str, Any]]:
        with self._lock:
            return [_render_resource_group(record) for (sub_key, _), record in self._resource_groups.items()
                    if sub_key == sub.lower()]

    def delete_resource_group(self, sub: str, rg: str) -> None:
        with self._lock:
            self._require_resource_group(sub, rg)
            key = (sub.lower(), rg.lower())
            self._remove_groups([group for group in self._groups.values() if group.key[:2] == key])
            self._store.delete_resource_group(*key)
            del self._resource_groups[key]

    # == container groups ============================================================================
    def create_or_update_group(self, sub: str, rg: str, name: str, body: Any) -> tuple[dict[str, Any], bool, str]:
        with self._lock:
            resource_group = self._require_resource_group(sub, rg)
            key = (sub.lower(), rg.lower(), name.lower())
            existing = self._groups.get(key)
            spec = validate_group(
                existing.name if existing else name, body, default_location=resource_group["location"],
                existing=existing.spec if existing else None, image_is_runnable=self._image_is_runnable,
                dns_label_taken=lambda location, label: self._dns_label_taken(key, location, label))
            if spec["properties"]["initContainers"]:
                raise errors.not_supported("Init containers")
            if existing is None:
                group = GroupRecord(sub=sub, rg=resource_group["name"], name=name, uid=uuid.uuid4().hex,
                                    spec=spec)
                group.containers = {c["name"]: ContainerRecord(c["name"]) for c in spec["properties"]["containers"]}
                self._groups[key] = group
                self._list_generation += 1
            else:
                group = existing
                if is_transitioning(group):
                    raise errors.transitioning(group.name)
                # An update restarts every container in place; its events follow the old ones, unmerged.
                self._kill_containers(group)
                group.spec = spec
                for record in group.containers.values():
                    record.merge_floor = len(record.events)
                    record.crash_streak = 0
            group.stopped = False
            group.failure = None
            group.generation += 1
            operation_id = self._new_operation(group, "create" if existing is None else "update")
            self._begin_deployment(group)
            body_out = render_group(group, instance_view=False, now=time.time(), as_put_response=True)
            self._save(group)
            self._settle_group_operations(group.key)
            return body_out, existing is None, operation_id

    def get_group(self, sub: str, rg: str, name: str) -> dict[str, Any]:
        with self._lock:
            return render_group(self._require_group(sub, rg, name), instance_view=True, now=time.time())

    def list_groups(self, sub: str, rg: str | None) -> list[dict[str, Any]]:
        """Every group of the subscription (or resource group), without instance views, oldest first."""
        return [json.loads(text) for _key, text in self.list_group_documents(sub, rg)]

    def list_group_documents(self, sub: str, rg: str | None) -> list[tuple[str, str]]:
        """``(lower-cased id, JSON text of the list form)`` of each group, sorted by id, for the HTTP layer to
        page. Callers must not change the list: it is shared until the next change.

        Each text is rendered once and kept until its group changes, and the sorted list until any group
        changes: a 10,000-group list is paged 100 times, and rebuilding it per page made listing quadratic.
        """
        with self._lock:
            if rg is not None:
                self._require_resource_group(sub, rg)
            sub_key, rg_key = sub.lower(), rg.lower() if rg is not None else None
            cached_list = self._sorted_documents.get((sub_key, rg_key))
            if cached_list is not None and cached_list[0] == self._list_generation:
                return cached_list[1]
            now = time.time()
            documents = []
            stable = True
            for group in self._groups.values():
                key = group.key
                if key[0] != sub_key or (rg_key is not None and key[1] != rg_key):
                    continue
                cached = group.list_cache
                if cached is None:
                    body = render_group(group, instance_view=False, now=now)
                    cached = (str(body.get("id", "")).lower(), json.dumps(body, separators=(",", ":")))
                    if is_transitioning(group):  # Pending -> Creating depends on the clock
                        stable = False
                    else:
                        group.list_cache = cached
                documents.append(cached)
            documents.sort(key=lambda document: document[0])
            if stable:
                self._sorted_documents[(sub_key, rg_key)] = (self._list_generation, documents)
        return documents

    def update_group_tags(self, sub: str, rg: str, name: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid_content("", "Unexpected character encountered while parsing value: the body must be "
                                      "a JSON object.")
        tags = next((value for key, value in body.items() if str(key).lower() == "tags"), None)
        with self._lock:
            group = self._require_group(sub, rg, name)
            if tags is not None:
                group.spec["tags"] = validate_tags(tags)
                self._save(group)
            return render_group(group, instance_view=True, now=time.time())

    def delete_group(self, sub: str, rg: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            self._require_resource_group(sub, rg)
            group = self._groups.get((sub.lower(), rg.lower(), name.lower()))
            if group is None:
                return None
            body = render_group(group, instance_view=True, now=time.time())
            self._remove_groups([group])
            return body

    def start_group(self, sub: str, rg: str, name: str) -> str | None:
        """A new deployment with the same configuration; None (204) if running or starting already."""
        with self._lock:
            group = self._require_group(sub, rg, name)
            if is_transitioning(group) or group_state(group) == "Running":
                return None
            return self._redeploy(group, "start")

    def stop_group(self, sub: str, rg: str, name: str) -> None:
        with self._lock:
            group = self._require_group(sub, rg, name)
            if is_transitioning(group):
                raise errors.transitioning(group.name)
            if group.stopped or group_state(group) in ("Succeeded", "Failed"):
                return  # ACI: stopping a group that has already ended has no effect
            self._kill_containers(group)
            group.stopped = True
            self._save(group)
            self._settle_group_operations(group.key)

    def restart_group(self, sub: str, rg: str, name: str) -> str:
        """Restart every container in place (a stopped group is started); returns the operation id."""
        with self._lock:
            group = self._require_group(sub, rg, name)
            if is_transitioning(group):
                raise errors.transitioning(group.name)
            if group.stopped or group.failure is not None:
                return self._redeploy(group, "restart")
            self._kill_containers(group)
            for record in group.containers.values():
                record.merge_floor = len(record.events)  # the restart's events are appended, count 1
                record.crash_streak = 0
            group.generation += 1
            operation_id = self._new_operation(group, "restart")
            group.deployed = False
            group.provisioning_state = "Pending"
            self._deploy(group)
            self._save(group)
            self._settle_group_operations(group.key)
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
            path, running = self._log_path(record.run_uid), record.running
        return read_log(path, running=running, tail=tail, timestamps=timestamps)

    def operation_status(self, sub: str, location: str, operation_id: str) -> dict[str, Any]:
        with self._lock:
            operation = self._operations.get(operation_id)
            if operation is None or operation["sub"].lower() != sub.lower():
                raise errors.operation_not_found(operation_id)
            self._settle_operation(operation_id)
            operation = self._operations[operation_id]
            group = self._groups.get(_operation_key(operation))
            body: dict[str, Any] = {"id": operation["groupId"], "name": operation_id,
                                    "status": operation["status"], "startTime": operation["startTime"]}
            if operation.get("endTime"):
                body["endTime"] = operation["endTime"]
            events = operation_events(group) if group is not None else operation.get("events", [])
            body["properties"] = {"events": events}
            if operation.get("error"):
                body["error"] = dict(operation["error"])
            return body

    # == deployments =================================================================================
    def _redeploy(self, group: GroupRecord, kind: str) -> str:
        """A new deployment (start): fresh instance views, new host ports, the same configuration."""
        self._kill_containers(group)
        for record in group.containers.values():
            record.restart_count = 0
            record.current = record.previous = None
            record.events = []
            record.merge_floor = 0
            record.crash_streak = 0
        group.host_ports = {}
        group.stopped = False
        group.failure = None
        group.generation += 1
        operation_id = self._new_operation(group, kind)
        self._begin_deployment(group)
        self._save(group)
        self._settle_group_operations(group.key)
        return operation_id

    def _begin_deployment(self, group: GroupRecord) -> None:
        group.deployed = False
        group.provisioning_state = "Pending"
        group.pending_since = time.time()
        if self._provisioning_delay > 0:
            group.deploy_at = group.pending_since + self._provisioning_delay
            self._schedule_deployment(group, self._provisioning_delay)
        else:
            group.deploy_at = None
            self._deploy(group)

    def _schedule_deployment(self, group: GroupRecord, delay: float) -> None:
        key, generation = group.key, group.generation

        def deploy_when_due() -> None:
            with self._lock:
                current = self._groups.get(key)
                if self._closed or current is None or current.generation != generation:
                    return
                if not is_transitioning(current):
                    return
                self._deploy(current)
                self._save(current)
                self._settle_group_operations(key)

        self._scheduler.call_later(delay, deploy_when_due)

    def _deploy(self, group: GroupRecord) -> None:
        """Pull (resolve) every image, map the ports, start every container."""
        resolved: dict[str, ResolvedImage] = {}
        now = utc_now()
        for spec in group.container_specs():
            image = spec["properties"]["image"]
            record = group.containers[spec["name"]]
            try:
                resolved[spec["name"]] = catalogue.resolve(image, spec["properties"].get("command"), self.home)
            except ImageNotFound:
                # The image was runnable at PUT time; it has left the catalogue since. ACI fails the pull.
                add_event(record.events, "Pulling", f'pulling image "{image}"', moment=now,
                          merge_floor=record.merge_floor)
                add_event(record.events, "Failed", f'Failed to pull image "{image}": rpc error: code = NotFound '
                          f'desc = failed to resolve reference "{image}": not found', "Warning", moment=now,
                          merge_floor=record.merge_floor)
                group.failure = {"code": "InaccessibleImage",
                                 "message": errors.inaccessible_image(image, group.name).message}
                group.provisioning_state = "Failed"
                return
        self._allocate_ports(group)
        group.deployed = True
        group.provisioning_state = "Succeeded"
        for spec in group.container_specs():
            record = group.containers[spec["name"]]
            image = spec["properties"]["image"]
            add_event(record.events, "Pulling", f'pulling image "{image}"', moment=now,
                      merge_floor=record.merge_floor)
            add_event(record.events, "Pulled", f'Successfully pulled image "{image}"', moment=now,
                      merge_floor=record.merge_floor)
            add_event(record.events, "Created", "Created container", moment=now, merge_floor=record.merge_floor)
            self._launch(group, record, spec, resolved[spec["name"]])

    def _launch(self, group: GroupRecord, record: ContainerRecord, spec: dict[str, Any],
                resolved: ResolvedImage) -> None:
        """Start one run of a container and record it (or its failure to start)."""
        run_uid = uuid.uuid4().hex
        env = self._container_env(group, spec, resolved, run_uid)
        cwd = self._work_dir(group) / record.name
        old_run = record.run_uid
        # Recorded before the fork: a crash right after it still leaves a trace for reconcile to follow.
        self._store.add_run(run_uid, group.key, record.name)
        try:
            handle = self._runtime.start(run_uid, resolved.argv, env, cwd, self._log_path(run_uid))
        except CommandNotRunnable as failure:
            self._store.end_runs([run_uid])
            now = utc_now()
            self._adopt_run(group, record, run_uid, old_run)
            record.started_generation = group.generation
            add_event(record.events, "Failed", failure.message, "Warning", moment=now,
                      merge_floor=record.merge_floor)
            if record.current is not None and record.current["state"] == "Terminated":
                record.previous = record.current
            record.current = terminated_state(iso_millis(now), failure.exit_code, now)
            self._after_exit(group, record, run_seconds=0.0, started=False)
            return
        self._store.set_run_process(run_uid, handle.pid, handle.start_ticks)
        self._adopt_run(group, record, run_uid, old_run)
        record.running = True
        record.run_started_at = handle.started_at.timestamp()
        record.started_generation = group.generation
        if record.current is not None and record.current["state"] == "Terminated":
            record.previous = record.current  # a Waiting container already holds it in previous
        record.current = {"state": "Running", "startTime": iso_millis(handle.started_at), "detailStatus": ""}
        add_event(record.events, "Started", "Started container", moment=handle.started_at,
                  merge_floor=record.merge_floor)

    def _adopt_run(self, group: GroupRecord, record: ContainerRecord, run_uid: str, old_run: str | None) -> None:
        """Make ``run_uid`` the container's run; the previous run's log goes (ACI shows the current one)."""
        record.run_uid = run_uid
        self._run_owner[run_uid] = (group.key, record.name)
        if old_run is not None and old_run != run_uid:
            self._run_owner.pop(old_run, None)
            with contextlib.suppress(OSError):
                self._log_path(old_run).unlink()

    def _after_exit(self, group: GroupRecord, record: ContainerRecord, *, run_seconds: float, started: bool,
                    immediate: bool = False) -> None:
        """Apply the restart policy to a container that has just terminated."""
        exit_code = record.current.get("exitCode", 0) if record.current else 0
        policy = group.restart_policy
        if group.stopped or policy == "Never" or (policy == "OnFailure" and exit_code == 0):
            return
        if started:
            add_event(record.events, "Killing", f"Killing container with id {container_id(group, record.name)}.",
                      merge_floor=record.merge_floor)
        record.crash_streak = record.crash_streak + 1 if run_seconds < STABLE_RUN_SECONDS else 1
        delay = 0.0 if immediate else min(self.backoff_base_seconds * 2 ** (record.crash_streak - 1),
                                          self.backoff_cap_seconds)
        record.previous = record.current
        record.current = {"state": "Waiting", "detailStatus": CRASH_LOOP_DETAIL}
        if delay > 0:
            add_event(record.events, "BackOff", "Back-off restarting failed container", "Warning",
                      merge_floor=record.merge_floor)
        self._schedule_restart(group, record, delay)

    def _schedule_restart(self, group: GroupRecord, record: ContainerRecord, delay: float) -> None:
        record.waiting_token += 1
        key, name, generation, token = group.key, record.name, group.generation, record.waiting_token

        def restart_when_due() -> None:
            with self._lock:
                current = self._groups.get(key)
                if self._closed or current is None or current.generation != generation or current.stopped:
                    return
                container = current.containers.get(name)
                if (container is None or container.waiting_token != token or container.running
                        or container.current is None or container.current["state"] != "Waiting"):
                    return
                spec = next(c for c in current.container_specs() if c["name"] == name)
                try:
                    resolved = catalogue.resolve(spec["properties"]["image"], spec["properties"].get("command"),
                                                 self.home)
                except ImageNotFound:
                    add_event(container.events, "Failed",
                              f'Failed to pull image "{spec["properties"]["image"]}": not found', "Warning",
                              merge_floor=container.merge_floor)
                    self._schedule_restart(current, container, self.backoff_cap_seconds)
                    self._save(current)
                    return
                container.restart_count += 1
                self._launch(current, container, spec, resolved)
                self._save(current)
                self._settle_group_operations(key)

        self._scheduler.call_later(delay, restart_when_due)

    def _on_process_exit(self, run_uid: str, exit_code: int, finished_at: datetime) -> None:
        """A container process ended on its own (runtime notifier thread)."""
        with self._lock:
            if self._closed:
                return
            owner = self._run_owner.get(run_uid)
            group = self._groups.get(owner[0]) if owner else None
            record = group.containers.get(owner[1]) if group is not None and owner else None
            if group is None or record is None or record.run_uid != run_uid or not record.running:
                return  # a run that was killed on purpose, or belongs to a deleted group
            record.running = False
            self._store.end_runs([run_uid])
            start = record.current.get("startTime") if record.current else None
            record.current = terminated_state(start, exit_code, finished_at)
            self._after_exit(group, record, run_seconds=finished_at.timestamp() - record.run_started_at,
                             started=True)
            self._save(group)
            self._settle_group_operations(group.key)

    def _kill_containers(self, group: GroupRecord) -> None:
        """Kill every running container of the group and record each as ACI does (Killing, Terminated)."""
        running = {record.run_uid: record for record in group.containers.values()
                   if record.running and record.run_uid}
        codes = self._runtime.kill(list(running)) if running else {}
        self._store.end_runs(list(running))
        now = utc_now()
        for record in group.containers.values():
            record.waiting_token += 1  # cancels a pending back-off restart
            if record.running:
                record.running = False
                add_event(record.events, "Killing", f"Killing container with id {container_id(group, record.name)}.",
                          moment=now, merge_floor=record.merge_floor)
                start = record.current.get("startTime") if record.current else None
                record.current = terminated_state(start, codes.get(record.run_uid or "", 137), now)
            elif record.current is not None and record.current["state"] == "Waiting":
                record.current, record.previous = record.previous, None

    def _remove_groups(self, groups: list[GroupRecord]) -> None:
        """Delete groups: kill and reap their processes (in one batch), then forget them and their logs."""
        running = [record.run_uid for group in groups for record in group.containers.values()
                   if record.running and record.run_uid]
        if running:
            self._runtime.kill(running)
        for group in groups:
            for record in group.containers.values():
                record.running = False
                record.waiting_token += 1
                if record.run_uid:
                    self._run_owner.pop(record.run_uid, None)
                    with contextlib.suppress(OSError):
                        self._log_path(record.run_uid).unlink()
            self._store.delete_group(group.key)
            self._groups.pop(group.key, None)
            self._list_generation += 1
            shutil.rmtree(self._work_dir(group), ignore_errors=True)
            self._settle_group_operations(group.key)

    # == operations ==================================================================================
    def _new_operation(self, group: GroupRecord, kind: str) -> str:
        operation_id = str(uuid.uuid4())
        operation = {"sub": group.sub, "groupKey": list(group.key), "groupId": group.id, "kind": kind,
                     "generation": group.generation, "status": "InProgress", "startTime": iso_millis(utc_now())}
        self._operations[operation_id] = operation
        self._in_progress.setdefault(group.key, set()).add(operation_id)
        self._store.put_operation(operation_id, operation)
        return operation_id

    def _settle_group_operations(self, key: GroupKey) -> None:
        for operation_id in list(self._in_progress.get(key, ())):
            self._settle_operation(operation_id)

    def _settle_operation(self, operation_id: str) -> None:
        """Finish an InProgress operation whose outcome the group's state now decides."""
        operation = self._operations[operation_id]
        if operation["status"] != "InProgress":
            return
        group = self._groups.get(_operation_key(operation))
        status, error = "InProgress", None
        if group is None:
            status = "Failed"
            # invented: ACI's answer for an operation whose group was deleted under it is not recorded.
            group_name = operation["groupId"].rsplit("/", 1)[-1]
            error = {"code": "OperationCanceled",
                     "message": f"The operation was canceled: container group '{group_name}' was deleted."}
        elif group.generation > operation["generation"] or group.stopped:
            status = "Succeeded"
        elif group.failure is not None:
            status, error = "Failed", dict(group.failure)
        elif group.deployed and all(record.started_generation >= operation["generation"]
                                    for record in group.containers.values()):
            status = "Succeeded"
        if status == "InProgress":
            return
        key = _operation_key(operation)
        pending = self._in_progress.get(key)
        if pending is not None:
            pending.discard(operation_id)
            if not pending:
                del self._in_progress[key]
        operation = dict(operation, status=status, endTime=iso_millis(utc_now()))
        if error:
            operation["error"] = error
        if group is not None:
            operation["events"] = operation_events(group)
        self._operations[operation_id] = operation
        self._store.put_operation(operation_id, operation)

    # == helpers =====================================================================================
    def _save(self, group: GroupRecord) -> None:
        group.list_cache = None
        self._list_generation += 1
        if group.key in self._groups:
            self._store.put_group(group.key, group.to_doc())

    def _require_resource_group(self, sub: str, rg: str) -> dict[str, Any]:
        record = self._resource_groups.get((sub.lower(), rg.lower()))
        if record is None:
            raise errors.resource_group_not_found(rg)
        return record

    def _require_group(self, sub: str, rg: str, name: str) -> GroupRecord:
        self._require_resource_group(sub, rg)
        group = self._groups.get((sub.lower(), rg.lower(), name.lower()))
        if group is None:
            raise errors.container_group_not_found(name, rg)
        return group

    def _image_is_runnable(self, image: str) -> bool:
        return catalogue.is_resolvable(image, self.home)

    def _dns_label_taken(self, key: GroupKey, location: str, label: str) -> bool:
        for other in self._groups.values():
            ip = other.properties.get("ipAddress") or {}
            if (other.key != key and other.location == location
                    and str(ip.get("dnsNameLabel", "")).lower() == label.lower()):
                return True
        return False

    def _allocate_ports(self, group: GroupRecord) -> None:
        """A free 127.0.0.1 port for every port of the group (group and container ports alike).

        Kept across restarts and updates; a start (a new deployment) clears the map first, as ACI may give
        a group a new IP then.
        """
        wanted: list[int] = []
        ip = group.properties.get("ipAddress") or {}
        for port in ip.get("ports", []):
            if port["port"] not in wanted:
                wanted.append(port["port"])
        for container in group.container_specs():
            for port in container["properties"].get("ports", []):
                if port["port"] not in wanted:
                    wanted.append(port["port"])
        taken = {port for other in self._groups.values() if other is not group
                 for port in other.host_ports.values()}
        group.host_ports = {str(port): group.host_ports.get(str(port)) or _free_port(taken) for port in wanted}

    def _container_env(self, group: GroupRecord, spec: dict[str, Any], resolved: ResolvedImage,
                       run_uid: str) -> dict[str, str]:
        env = {name: os.environ[name] for name in PASSTHROUGH_ENV if name in os.environ}
        env["PATH"] = f"{self._shims}:{os.environ.get('PATH') or DEFAULT_PATH}"
        env["HOSTNAME"] = group.name
        env.update(resolved.env)
        own_ports = [port["port"] for port in spec["properties"].get("ports", [])]
        group_ports = [port["port"] for port in (group.properties.get("ipAddress") or {}).get("ports", [])]
        first = (own_ports or group_ports or [None])[0]
        if first is not None and str(first) in group.host_ports:
            env["PORT"] = str(group.host_ports[str(first)])
        for port, host_port in group.host_ports.items():
            env[f"ACI_PORT_{port}"] = str(host_port)
        for variable in spec["properties"].get("environmentVariables", []):
            env[variable["name"]] = variable.get("secureValue", variable.get("value")) or ""
        env[RUN_MARKER_ENV] = run_uid
        return env

    def _log_path(self, run_uid: str) -> Path:
        return self.home.logs_dir / f"{run_uid}.log"

    def _work_dir(self, group: GroupRecord) -> Path:
        return self.home.path / "work" / group.uid


def _operation_key(operation: dict[str, Any]) -> GroupKey:
    sub, rg, name = operation["groupKey"]
    return (sub, rg, name)


def _free_port(taken: set[int]) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in taken:
            taken.add(port)
            return port


def _render_resource_group(record: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"id": f"/subscriptions/{record['sub']}/resourceGroups/{record['name']}",
                            "name": record["name"], "type": "Microsoft.Resources/resourceGroups",
                            "location": record["location"]}
    if "tags" in record:
        body["tags"] = dict(record["tags"])
    if record.get("managedBy"):
        body["managedBy"] = record["managedBy"]
    body["properties"] = {"provisioningState": "Succeeded"}
    return body


__all__ = ["ArmError", "Backend"]
