"""Deployments and runs: pull (resolve) images, map ports, start, watch, restart, kill and remove containers.

Processes run through ``runtime/process.py``; their exits come back on the runtime's notifier thread, and
back-off restarts and provisioning delays on the scheduler's thread. Those callbacks take the backend's lock
and re-check that what they were for still holds (the group, its generation, the container's run).

Emulator choices (ACI documents none of these):
* a command that cannot be executed: a ``Failed`` Warning event, then Terminated with exit code 127
  (not found) or 126 (not executable), detailStatus ``Error``, as a shell reports it.
* a container killed by stop/restart/update/delete reports its real exit code (143 after SIGTERM, 137
  after SIGKILL).
"""

from __future__ import annotations

import contextlib
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
from ..runtime.images import catalogue
from ..runtime.images.catalogue import ImageNotFound, ResolvedImage
from ..runtime.process import CommandNotRunnable, ProcessRuntime
from .container_groups import ContainerGroups
from .instance_view import (
    ContainerRecord,
    GroupRecord,
    add_event,
    container_id,
    is_transitioning,
    iso_millis,
    terminated_state,
    utc_now,
)
from .operations import Operations
from .restart_policy import RestartPolicy
from .scheduler import Scheduler
from .store import Store

RUN_MARKER_ENV = "ACI_EMULATOR_RUN_ID"  # lets a later emulator find a run whose pid was never recorded
# Host environment a container inherits; everything else comes from the image and the group.
PASSTHROUGH_ENV = ("HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Deployments:
    """Runs the containers of the groups. Its methods expect the backend's lock held; its callbacks take it."""

    def __init__(self, home: EmulatorHome, lock: threading.RLock, store: Store, groups: ContainerGroups,
                 operations: Operations, scheduler: Scheduler, runtime: ProcessRuntime,
                 restart_policy: RestartPolicy):
        self.home = home
        self._lock = lock
        self._store = store
        self._groups = groups
        self._operations = operations
        self._scheduler = scheduler
        self._runtime = runtime
        self.restart_policy = restart_policy
        self._shims = catalogue.shim_dir(home)
        self.closed = False  # set by Backend.shutdown/abandon: timers and exits that arrive later do nothing
        self.provisioning_delay = 0.0

    # == deployments =================================================================================
    def redeploy(self, group: GroupRecord, kind: str) -> str:
        """A new deployment (start): fresh instance views, new host ports, the same configuration."""
        self.kill_containers(group)
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

    # == runs ========================================================================================
    def _launch(self, group: GroupRecord, record: ContainerRecord, spec: dict[str, Any],
                resolved: ResolvedImage) -> None:
        """Start one run of a container and record it (or its failure to start)."""
        run_uid = uuid.uuid4().hex
        env = self._container_env(group, spec, resolved, run_uid)
        cwd = self.work_dir(group) / record.name
        catalogue.populate_workdir(resolved, cwd)  # the image's files (built-in images)
        old_run = record.run_uid
        # Recorded before the fork: a crash right after it still leaves a trace for reconcile to follow.
        self._store.add_run(run_uid, group.key, record.name)
        try:
            handle = self._runtime.start(run_uid, resolved.argv, env, cwd, self.log_path(run_uid))
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
            self.after_exit(group, record, run_seconds=0.0, started=False)
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
        self._groups.set_run_owner(run_uid, group.key, record.name)
        if old_run is not None and old_run != run_uid:
            self._groups.drop_run_owner(old_run)
            with contextlib.suppress(OSError):
                self.log_path(old_run).unlink()

    def after_exit(self, group: GroupRecord, record: ContainerRecord, *, run_seconds: float, started: bool,
                   immediate: bool = False) -> None:
        """Apply the restart policy to a container that has just terminated, and schedule its restart."""
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
                    self.schedule_restart(current, container, self.restart_policy.backoff_cap_seconds)
                    self._groups.save(current)
                    return
                container.restart_count += 1
                self._launch(current, container, spec, resolved)
                self._groups.save(current)
                self._operations.settle_group(key)

        self._scheduler.call_later(delay, restart_when_due)

    def on_process_exit(self, run_uid: str, exit_code: int, finished_at: datetime) -> None:
        """A container process ended on its own (runtime notifier thread)."""
        with self._lock:
            if self.closed:
                return
            owner = self._groups.run_owner(run_uid)
            group = self._groups.get(owner[0]) if owner else None
            record = group.containers.get(owner[1]) if group is not None and owner else None
            if group is None or record is None or record.run_uid != run_uid or not record.running:
                return  # a run that was killed on purpose, or belongs to a deleted group
            record.running = False
            self._store.end_runs([run_uid])
            start = record.current.get("startTime") if record.current else None
            record.current = terminated_state(start, exit_code, finished_at)
            self.after_exit(group, record, run_seconds=finished_at.timestamp() - record.run_started_at,
                            started=True)
            self._groups.save(group)
            self._operations.settle_group(group.key)

    def kill_containers(self, group: GroupRecord) -> None:
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
        running = [record.run_uid for group in groups for record in group.containers.values()
                   if record.running and record.run_uid]
        if running:
            self._runtime.kill(running)
            with contextlib.suppress(Exception):  # refused by a full disk: reconcile ends them at next start
                self._store.end_runs(running)
        for group in groups:
            for record in group.containers.values():
                record.running = False
                record.waiting_token += 1
                if record.run_uid:
                    with contextlib.suppress(OSError):
                        self.log_path(record.run_uid).unlink()
            shutil.rmtree(self.work_dir(group), ignore_errors=True)
            self._operations.settle_group(group.key)

    # == what a run gets ==============================================================================
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
        taken = self._groups.host_ports_taken(besides=group)
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

    def log_path(self, run_uid: str) -> Path:
        return self.home.logs_dir / f"{run_uid}.log"

    def work_dir(self, group: GroupRecord) -> Path:
        return self.home.path / "work" / group.uid


def _free_port(taken: set[int]) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in taken:
            taken.add(port)
            return port
