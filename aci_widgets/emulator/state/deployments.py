"""Deployments and runs: pull (resolve) images, map ports, start, watch, restart, kill and remove containers.

Containers run through the engine (``runtime/engine.py``: processes or Docker); their exits come back on the
engine's notifier thread, and
back-off restarts and provisioning delays on the scheduler's thread. Those callbacks take the backend's lock
and re-check that what they were for still holds (the group, its generation, the container's run).

Emulator choices (ACI documents none of these):
* a command that cannot be executed: a ``Failed`` Warning event, then Terminated with exit code 127
  (not found) or 126 (not executable), detailStatus ``Error``, as a shell reports it.
* a container killed by stop/restart/update/delete reports its real exit code (143 after SIGTERM, 137
  after SIGKILL).
* a container killed over its memory: Terminated, exit code 137, detailStatus ``OOMKilled`` (unverified, see
  COVERAGE.md), then the restart policy.
* the group's first event says which engine runs it (``Scheduled``, "... on the emulator's docker engine").

Init containers run first, one after another (``init_phase.py``); what each run gets is ``run_specs.py``'s.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import errors
from ..config import EmulatorHome
from ..runtime import volumes
from ..runtime.engine import OOM_DETAIL_STATUS, CommandNotRunnable, Engine, ImageUnavailable, home_id
from ..runtime.images.catalogue import ImageNotFound
from .container_groups import ContainerGroups
from .init_phase import InitPhase
from .instance_view import (
    ContainerRecord,
    GroupRecord,
    add_event,
    backing_off,
    container_id,
    is_transitioning,
    iso_millis,
    terminated_state,
    utc_now,
)
from .operations import Operations
from .restart_policy import RestartPolicy
from .run_specs import allocate_ports, run_spec
from .scheduler import Scheduler
from .store import Store

RUN_MARKER_ENV = "ACI_EMULATOR_RUN_ID"  # lets a later emulator find a run whose pid was never recorded


class Deployments:
    """Runs the containers of the groups. Its methods expect the backend's lock held; its callbacks take it."""

    def __init__(self, home: EmulatorHome, lock: threading.RLock, store: Store, groups: ContainerGroups,
                 operations: Operations, scheduler: Scheduler, engine: Engine,
                 restart_policy: RestartPolicy):
        self.home = home
        self._lock = lock
        self._store = store
        self._groups = groups
        self._operations = operations
        self._scheduler = scheduler
        self._engine = engine
        self.restart_policy = restart_policy
        self._home_id = home_id(home.path)
        self.closed = False  # set by Backend.shutdown/abandon: timers and exits that arrive later do nothing
        self.provisioning_delay = 0.0
        self.init_phase = InitPhase(self)
        self._machine_cpus: float | None = None  # the engine's, asked once: caps an init container's CPU

    # == deployments =================================================================================
    def redeploy(self, group: GroupRecord, kind: str) -> str:
        """A new deployment (start): fresh instance views, new host ports, the same configuration."""
        self.kill_containers(group)
        for record in group.records():
            record.restart_count = 0
            record.current = record.previous = None
            record.events = []
            record.merge_floor = 0
            record.crash_streak = 0
        group.host_ports = {}
        group.stopped = False
        group.failure = None
        group.generation += 1
        operation_id = self._operations.new(group, kind)
        self.begin_deployment(group)
        self._groups.save(group)
        self._operations.settle_group(group.key)
        return operation_id

    def begin_deployment(self, group: GroupRecord) -> None:
        group.deployed = False
        group.provisioning_state = "Pending"
        group.pending_since = time.time()
        if self.provisioning_delay > 0:
            group.deploy_at = group.pending_since + self.provisioning_delay
            self.schedule_deployment(group, self.provisioning_delay)
        else:
            group.deploy_at = None
            self.deploy(group)

    def schedule_deployment(self, group: GroupRecord, delay: float) -> None:
        key, generation = group.key, group.generation

        def deploy_when_due() -> None:
            with self._lock:
                current = self._groups.get(key)
                if self.closed or current is None or current.generation != generation:
                    return
                if not is_transitioning(current):
                    return
                self.deploy(current)
                self._groups.save(current)
                self._operations.settle_group(key)

        self._scheduler.call_later(delay, deploy_when_due)

    def deploy(self, group: GroupRecord) -> None:
        """Pull every image, prepare the volumes, map the ports, run the init containers, start every container."""
        now = utc_now()
        add_event(group.group_events, "Scheduled",
                  f"Container group scheduled on the emulator's {self._engine.name} engine", moment=now)
        credentials = group.properties.get("imageRegistryCredentials") or []
        self.init_phase.sync_records(group)
        for spec in group.init_specs() + group.container_specs():
            image = spec["properties"]["image"]
            record = group.record(spec["name"])
            assert record is not None
            try:
                self._engine.check_image(image, credentials)
            except (ImageUnavailable, ImageNotFound) as missing:
                # The image was runnable at PUT time and is not now (or its pull failed). ACI fails the pull.
                reason = getattr(missing, "reason", "not found")
                add_event(record.events, "Pulling", f'pulling image "{image}"', moment=now,
                          merge_floor=record.merge_floor)
                add_event(record.events, "Failed", f'Failed to pull image "{image}": rpc error: code = NotFound '
                          f'desc = failed to resolve reference "{image}": {reason}', "Warning", moment=now,
                          merge_floor=record.merge_floor)
                group.failure = {"code": "InaccessibleImage",
                                 "message": errors.inaccessible_image(image, group.name).message}
                group.provisioning_state = "Failed"
                return
        warnings: list[str] = []
        volumes.prepare(self.home.path, group.uid, group.properties.get("volumes") or [], warnings)
        for warning in warnings:  # invented: an empty volume and a Warning event (COVERAGE.md)
            add_event(group.group_events, "FailedMount", warning, "Warning", moment=now)
        allocate_ports(group, self._groups.host_ports_taken(besides=group))
        group.deployed = True
        group.provisioning_state = "Succeeded"
        if not self.init_phase.begin(group):
            self.start_app_containers(group, now)

    def start_app_containers(self, group: GroupRecord, now: datetime) -> None:
        for spec in group.container_specs():
            record = group.containers[spec["name"]]
            image = spec["properties"]["image"]
            add_event(record.events, "Pulling", f'pulling image "{image}"', moment=now,
                      merge_floor=record.merge_floor)
            add_event(record.events, "Pulled", f'Successfully pulled image "{image}"', moment=now,
                      merge_floor=record.merge_floor)
            add_event(record.events, "Created", "Created container", moment=now, merge_floor=record.merge_floor)
            self.launch(group, record, spec)

    # == runs ========================================================================================
    def launch(self, group: GroupRecord, record: ContainerRecord, spec: dict[str, Any]) -> None:
        """Start one run of a container and record it (or its failure to start)."""
        run_uid = uuid.uuid4().hex
        old_run = record.run_uid
        # Recorded before the fork: a crash right after it still leaves a trace for reconcile to follow.
        self._store.add_run(run_uid, group.key, record.name)
        try:
            if self._machine_cpus is None:
                self._machine_cpus = _machine_cpus(self._engine)
            handle = self._engine.start(run_spec(self.home.path, self._home_id, group, record, spec, run_uid,
                                                 self.log_path(run_uid), self.work_dir(group) / record.name,
                                                 self._machine_cpus))
        except (ImageNotFound, ImageUnavailable) as missing:
            failure = CommandNotRunnable(127, f"Failed to pull image \"{spec['properties']['image']}\": {missing}")
            self._record_not_runnable(group, record, run_uid, old_run, failure)
            return
        except CommandNotRunnable as failure:
            self._record_not_runnable(group, record, run_uid, old_run, failure)
            return
        self._record_started(group, record, run_uid, old_run, handle)

    def _record_not_runnable(self, group: GroupRecord, record: ContainerRecord, run_uid: str, old_run: str | None,
                             failure: CommandNotRunnable) -> None:
        self._store.end_runs([run_uid])
        now = utc_now()
        self._adopt_run(group, record, run_uid, old_run)
        record.started_generation = group.generation
        add_event(record.events, "Failed", failure.message, "Warning", moment=now,
                  merge_floor=record.merge_floor)
        if record.current is not None and record.current["state"] == "Terminated":
            record.previous = record.current
        record.current = terminated_state(iso_millis(now), failure.exit_code, now)
        self.after_exit(group, record, run_seconds=0.0, started=False)

    def _record_started(self, group: GroupRecord, record: ContainerRecord, run_uid: str, old_run: str | None,
                        handle: Any) -> None:
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
        self._groups.set_run_owner(run_uid, group.key, record.name)
        if old_run is not None and old_run != run_uid:
            self.forget_run(old_run)

    def forget_run(self, run_uid: str) -> None:
        """A run whose container will not be shown again: its owner, its engine's record, its log."""
        self._groups.drop_run_owner(run_uid)
        self._engine.discard(run_uid)
        with contextlib.suppress(OSError):
            self.log_path(run_uid).unlink()

    def after_exit(self, group: GroupRecord, record: ContainerRecord, *, run_seconds: float, started: bool,
                   immediate: bool = False) -> None:
        """Apply the restart policy to a container that has just terminated, and schedule its restart."""
        if group.is_init(record):
            self.init_phase.after_exit(group, record, run_seconds=run_seconds, started=started, immediate=immediate)
            return
        delay = self.restart_policy.after_exit(group, record, run_seconds=run_seconds, started=started,
                                               immediate=immediate)
        if delay is not None:
            self.schedule_restart(group, record, delay)

    def schedule_restart(self, group: GroupRecord, record: ContainerRecord, delay: float) -> None:
        record.waiting_token += 1
        key, name, generation, token = group.key, record.name, group.generation, record.waiting_token

        def restart_when_due() -> None:
            with self._lock:
                current = self._groups.get(key)
                if self.closed or current is None or current.generation != generation or current.stopped:
                    return
                container = current.record(name)
                if container is None or container.waiting_token != token or container.running \
                        or not backing_off(container):
                    return
                spec = current.spec_of(name)
                try:
                    self._engine.check_image(spec["properties"]["image"],
                                             current.properties.get("imageRegistryCredentials") or [])
                except (ImageNotFound, ImageUnavailable):
                    add_event(container.events, "Failed",
                              f'Failed to pull image "{spec["properties"]["image"]}": not found', "Warning",
                              merge_floor=container.merge_floor)
                    self.schedule_restart(current, container, self.restart_policy.backoff_cap_seconds)
                    self._groups.save(current)
                    return
                container.restart_count += 1
                self.launch(current, container, spec)
                self._groups.save(current)
                self._operations.settle_group(key)

        self._scheduler.call_later(delay, restart_when_due)

    def on_process_exit(self, run_uid: str, exit_code: int, finished_at: datetime, oom: bool = False) -> None:
        """A container process ended on its own (runtime notifier thread)."""
        with self._lock:
            if self.closed:
                return
            owner = self._groups.run_owner(run_uid)
            group = self._groups.get(owner[0]) if owner else None
            record = group.record(owner[1]) if group is not None and owner else None
            if group is None or record is None or record.run_uid != run_uid or not record.running:
                return  # a run that was killed on purpose, or belongs to a deleted group
            record.running = False
            self._store.end_runs([run_uid])
            start = record.current.get("startTime") if record.current else None
            record.current = terminated_state(start, exit_code, finished_at)
            if oom:
                record.current["detailStatus"] = OOM_DETAIL_STATUS
            self.after_exit(group, record, run_seconds=finished_at.timestamp() - record.run_started_at,
                            started=True)
            self._groups.save(group)
            self._operations.settle_group(group.key)

    def kill_containers(self, group: GroupRecord) -> None:
        """Kill every running container of the group and record each as ACI does (Killing, Terminated)."""
        running = {record.run_uid: record for record in group.records() if record.running and record.run_uid}
        codes = self._engine.kill(list(running)) if running else {}
        self._store.end_runs(list(running))
        now = utc_now()
        self.init_phase.killed(group)
        for record in group.records():
            record.waiting_token += 1  # cancels a pending back-off restart
            if record.running:
                record.running = False
                add_event(record.events, "Killing", f"Killing container with id {container_id(group, record.name)}.",
                          moment=now, merge_floor=record.merge_floor)
                start = record.current.get("startTime") if record.current else None
                record.current = terminated_state(start, codes.get(record.run_uid or "", 137), now)
            elif record.current is not None and record.current["state"] == "Waiting":
                record.current, record.previous = record.previous, None

    def remove_groups(self, groups: list[GroupRecord]) -> None:
        """Delete groups: kill and reap their processes (in one batch), then forget them and their logs."""
        removed: list[GroupRecord] = []
        try:
            for group in groups:
                # SQLite first (issue 12, case 8): on a full disk the DELETE fails before its processes are
                # killed. The run rows stay until the kill, so a crash in between leaves them for reconcile.
                self._groups.remove(group, keep_runs=True)
                removed.append(group)
        finally:  # the groups already forgotten are killed and cleaned up even if a later one failed
            self._finish_removal(removed)

    def _finish_removal(self, groups: list[GroupRecord]) -> None:
        running = [record.run_uid for group in groups for record in group.records()
                   if record.running and record.run_uid]
        if running:
            if not getattr(self._engine, "remove_kills", False):
                self._engine.kill(running)  # Docker's remove_group below kills at once itself, as `docker rm -f`
            with contextlib.suppress(Exception):  # refused by a full disk: reconcile ends them at next start
                self._store.end_runs(running)
        for group in groups:
            self._engine.remove_group(group.uid)
            volumes.remove_group(self.home.path, group.uid)
            for record in group.records():
                record.running = False
                record.waiting_token += 1
                if record.run_uid:
                    with contextlib.suppress(OSError):
                        self.log_path(record.run_uid).unlink()
            shutil.rmtree(self.work_dir(group), ignore_errors=True)
            self._operations.settle_group(group.key)

    # == what a run gets ==============================================================================
    def log_path(self, run_uid: str) -> Path:
        return self.home.logs_dir / f"{run_uid}.log"

    def work_dir(self, group: GroupRecord) -> Path:
        return self.home.path / "work" / group.uid


def _machine_cpus(engine: Engine) -> float:
    try:
        return float(engine.machine()[0])
    except Exception:  # noqa: BLE001 - the engine's client raises many kinds
        return float(os.cpu_count() or 1)
