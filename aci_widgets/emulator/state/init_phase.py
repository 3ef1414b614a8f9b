"""The init phase of a deployment: a group's init containers run one after another, each to its exit, before
any app container starts (Microsoft docs, "Run an init container for setup tasks", container-instances-init-
container; COVERAGE.md).

* Order: as listed in ``initContainers``; exit 0 starts the next, the last one's starts the app containers.
* While they run: group ``instanceView.state`` ``Pending`` (container-state.md: "waiting to initialize (finish
  running init containers ...)"), provisioning ``Creating`` and the create/start/restart operation InProgress
  (the docs: "the deployment time is increased because of the time it takes for the init container or
  containers to complete"); every app container ``Waiting`` with detailStatus ``PodInitializing`` (Kubernetes'
  reason: ACI's own string is unverified).
* A non-zero exit follows the docs' table: group policy Always or OnFailure -> the init container restarts
  as under OnFailure, with the crash-loop back-off of ``restart_policy.py`` (restartCount grows); Never -> the
  group ends ``Failed`` (provisioning ``Succeeded``, the operation done, as when an app container fails under
  Never) and the app containers never start (they stay ``Waiting``).
* A stop, restart, update or delete kills the running init container (``Deployments.kill_containers``); a
  restart, update or start runs every init container again (as Kubernetes does when a pod restarts).

Calls expect the backend's lock held. ``InitPhase`` knows its host (``Deployments``) only through ``Host``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from .instance_view import INIT_WAIT_DETAIL, ContainerRecord, GroupRecord, add_event, utc_now
from .restart_policy import RestartPolicy

INIT_RESTART_POLICY = {"Always": "OnFailure", "OnFailure": "OnFailure", "Never": "Never"}  # the docs' table


class Host(Protocol):
    restart_policy: RestartPolicy

    def launch(self, group: GroupRecord, record: ContainerRecord, spec: dict[str, Any]) -> None: ...

    def start_app_containers(self, group: GroupRecord, now: datetime) -> None: ...

    def schedule_restart(self, group: GroupRecord, record: ContainerRecord, delay: float) -> None: ...

    def forget_run(self, run_uid: str) -> None: ...


class InitPhase:
    def __init__(self, host: Host):
        self._host = host

    def sync_records(self, group: GroupRecord) -> None:
        """One record per init container of the spec, in its order (an update may add, drop or reorder them)."""
        old = group.init_containers
        group.init_containers = {spec["name"]: old.get(spec["name"]) or ContainerRecord(spec["name"])
                                 for spec in group.init_specs()}
        for name, record in old.items():
            if name not in group.init_containers and record.run_uid:
                self._host.forget_run(record.run_uid)

    def begin(self, group: GroupRecord) -> bool:
        """Start the deployment's init phase; False when the group has no init containers."""
        group.init_failed = False
        group.initializing = bool(group.init_containers)
        if not group.initializing:
            return False
        group.provisioning_state = "Creating"
        for record in group.containers.values():
            if record.current is not None and record.current["state"] == "Terminated":
                record.previous = record.current
            record.current = {"state": "Waiting", "detailStatus": INIT_WAIT_DETAIL}
        self.advance(group)
        return True

    def advance(self, group: GroupRecord) -> None:
        """Launch the first init container not yet completed in this deployment, or end the phase."""
        pending = next((record for record in group.init_containers.values() if not _completed(group, record)), None)
        if pending is None:
            group.initializing = False
            group.provisioning_state = "Succeeded"
            self._host.start_app_containers(group, utc_now())
            return
        spec = group.spec_of(pending.name)
        image = spec["properties"]["image"]
        now = utc_now()
        add_event(pending.events, "Pulling", f'pulling image "{image}"', moment=now, merge_floor=pending.merge_floor)
        add_event(pending.events, "Pulled", f'Successfully pulled image "{image}"', moment=now,
                  merge_floor=pending.merge_floor)
        add_event(pending.events, "Created", "Created container", moment=now, merge_floor=pending.merge_floor)
        self._host.launch(group, pending, spec)

    def after_exit(self, group: GroupRecord, record: ContainerRecord, *, run_seconds: float, started: bool,
                   immediate: bool = False) -> None:
        """An init container terminated (or could not start): the next one, a retry, or the group fails."""
        if group.stopped or not group.initializing:
            return
        if (record.current or {}).get("exitCode", 0) == 0:
            record.crash_streak = 0
            self.advance(group)
            return
        policy = INIT_RESTART_POLICY.get(group.restart_policy, "OnFailure")
        if policy == "Never":
            group.initializing = False
            group.init_failed = True
            group.provisioning_state = "Succeeded"
            return
        delay = self._host.restart_policy.after_exit(group, record, run_seconds=run_seconds, started=started,
                                                     immediate=immediate, policy=policy)
        if delay is not None:
            self._host.schedule_restart(group, record, delay)

    def killed(self, group: GroupRecord) -> None:
        """The group's containers were killed (stop, restart, update): an init phase under way is over."""
        if group.initializing:
            group.initializing = False
            group.provisioning_state = "Succeeded"

    def resume(self, group: GroupRecord) -> None:
        """After an emulator restart: an init phase with nothing running or backing off goes on."""
        if (group.deployed and group.initializing and not group.stopped and group.failure is None
                and not any(record.running or (record.current or {}).get("state") == "Waiting"
                            for record in group.init_containers.values())):
            self.advance(group)


def _completed(group: GroupRecord, record: ContainerRecord) -> bool:
    """Exited 0 in this deployment."""
    current = record.current or {}
    return (record.started_generation == group.generation and not record.running
            and current.get("state") == "Terminated" and current.get("exitCode") == 0)
