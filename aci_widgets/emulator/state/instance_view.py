"""Container group records and how they look in ARM JSON: instance views, events, derived states.

The backend mutates these records (under its lock); this module only derives and renders:
``group_state`` (ACI's group ``instanceView.state``), ``add_event`` (ACI's event merging), and
``render_group`` (the response body, with secrets stripped and null fields omitted).
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .validation.schema import strip_secrets

GROUP_TYPE = "Microsoft.ContainerInstance/containerGroups"
CRASH_LOOP_DETAIL = "CrashLoopBackOff: Back-off restarting failed"
# An app container's detailStatus while the group's init containers run (Kubernetes' reason; unverified, COVERAGE.md)
INIT_WAIT_DETAIL = "PodInitializing"

GroupKey = tuple[str, str, str]


# -- time ------------------------------------------------------------------------------------------
def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso_seconds(moment: datetime) -> str:
    """Event timestamps, as ACI writes them: ``2019-10-21T11:43:03Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(moment: datetime) -> str:
    """State and operation times, as newer ACI responses write them: ``2021-10-14T20:39:33.124Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# -- records ---------------------------------------------------------------------------------------
@dataclass
class ContainerRecord:
    """One container's instance view plus what the backend needs to run it."""

    name: str
    restart_count: int = 0
    current: dict[str, Any] | None = None  # {state, startTime?, exitCode?, finishTime?, detailStatus}
    previous: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    merge_floor: int = 0  # events before this index are never merged into (after a restart POST)
    run_uid: str | None = None  # the current or last run; its log is the container's log
    running: bool = False  # a process of this container is (as far as we know) alive
    run_started_at: float = 0.0  # epoch seconds the current run started (a quick exit lengthens back-off)
    started_generation: int = -1  # the deployment in which this container last started or ended
    crash_streak: int = 0  # consecutive quick exits: sets the back-off length
    waiting_token: int = 0  # identifies the scheduled restart that may end a back-off

    def to_doc(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ContainerRecord:
        known = {key: value for key, value in doc.items() if key in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class GroupRecord:
    sub: str
    rg: str
    name: str
    uid: str  # stable id of this group instance (log and work folders, container ids)
    spec: dict[str, Any]  # the validated PUT body, secure values included (never rendered)
    provisioning_state: str = "Pending"
    generation: int = 0  # bumped by every deployment: create, update, start, restart
    deployed: bool = False  # the current generation's containers have been launched
    pending_since: float = 0.0  # epoch seconds; with deploy_at, gives Pending -> Creating
    deploy_at: float | None = None  # epoch seconds the provisioning delay ends
    stopped: bool = False
    containers: dict[str, ContainerRecord] = field(default_factory=dict)
    init_containers: dict[str, ContainerRecord] = field(default_factory=dict)  # in the order they run
    initializing: bool = False  # this deployment's init containers have not all completed (init_phase.py)
    init_failed: bool = False  # an init container failed under restart policy Never: the app never starts
    host_ports: dict[str, int] = field(default_factory=dict)  # "<port>" -> host port (JSON keys are str)
    group_events: list[dict[str, Any]] = field(default_factory=list)
    failure: dict[str, str] | None = None  # {"code","message"} when the deployment failed
    # (lower-cased id, JSON text) of the list form, until the next change: see Backend.list_group_documents.
    list_cache: tuple[str, str] | None = field(default=None, repr=False)

    @property
    def key(self) -> GroupKey:
        return (self.sub.lower(), self.rg.lower(), self.name.lower())

    @property
    def id(self) -> str:
        return (f"/subscriptions/{self.sub}/resourceGroups/{self.rg}/providers/Microsoft.ContainerInstance/"
                f"containerGroups/{self.name}")

    @property
    def location(self) -> str:
        return str(self.spec.get("location", ""))

    @property
    def properties(self) -> dict[str, Any]:
        return self.spec["properties"]

    @property
    def restart_policy(self) -> str:
        return str(self.properties.get("restartPolicy", "Always"))

    def container_specs(self) -> list[dict[str, Any]]:
        return list(self.properties["containers"])

    def init_specs(self) -> list[dict[str, Any]]:
        return list(self.properties.get("initContainers") or [])

    def records(self) -> list[ContainerRecord]:
        """Every container's record, init containers first (names are unique across both kinds)."""
        return [*self.init_containers.values(), *self.containers.values()]

    def record(self, name: str) -> ContainerRecord | None:
        return self.containers.get(name) or self.init_containers.get(name)

    def spec_of(self, name: str) -> dict[str, Any]:
        return next(c for c in self.init_specs() + self.container_specs() if c["name"] == name)

    def is_init(self, record: ContainerRecord) -> bool:
        return self.init_containers.get(record.name) is record

    def to_doc(self) -> dict[str, Any]:
        doc = {key: value for key, value in self.__dict__.items() if key != "list_cache"}
        for kind in ("containers", "init_containers"):
            doc[kind] = {name: record.to_doc() for name, record in getattr(self, kind).items()}
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> GroupRecord:
        known = {key: value for key, value in doc.items() if key in cls.__dataclass_fields__}
        for kind in ("containers", "init_containers"):
            known[kind] = {name: ContainerRecord.from_doc(item) for name, item in (doc.get(kind) or {}).items()}
        return cls(**known)


def container_id(group: GroupRecord, container: str) -> str:
    """A stable 64-hex container id per deployment (the ``Killing`` message names it)."""
    return hashlib.sha256(f"{group.uid}/{container}/{group.generation}".encode()).hexdigest()


# -- events ----------------------------------------------------------------------------------------
def add_event(events: list[dict[str, Any]], name: str, message: str, kind: str = "Normal", *,
              moment: datetime | None = None, merge_floor: int = 0) -> None:
    """Record an event; a repeat of the same event (after ``merge_floor``) raises its count, as ACI does."""
    stamp = iso_seconds(moment or utc_now())
    for event in reversed(events[merge_floor:]):
        if event["name"] == name and event["message"] == message and event["type"] == kind:
            event["count"] += 1
            event["lastTimestamp"] = stamp
            return
    events.append({"count": 1, "firstTimestamp": stamp, "lastTimestamp": stamp, "name": name,
                   "message": message, "type": kind})


# -- states ----------------------------------------------------------------------------------------
def terminated_state(start_time: str | None, exit_code: int, finished: datetime) -> dict[str, Any]:
    state: dict[str, Any] = {"state": "Terminated"}
    if start_time:
        state["startTime"] = start_time
    state.update({"exitCode": exit_code, "finishTime": iso_millis(finished),
                  "detailStatus": "Completed" if exit_code == 0 else "Error"})
    return state


def backing_off(record: ContainerRecord) -> bool:
    """Waiting for a back-off restart (not for the group's init containers)."""
    current = record.current
    return current is not None and current["state"] == "Waiting" and current.get("detailStatus") != INIT_WAIT_DETAIL


def group_state(group: GroupRecord) -> str:
    """ACI's group ``instanceView.state`` for the restart policy (reference §2 table); ``Pending`` while the
    init containers run, ``Failed`` when one failed under Never."""
    if group.stopped:
        return "Stopped"
    if group.init_failed:
        return "Failed"
    if not group.deployed or group.failure is not None or group.initializing:
        return "Pending"
    states = [record.current for record in group.containers.values()]
    if not states or any(state is None for state in states):
        return "Pending"
    policy = group.restart_policy
    if policy == "Always" or any(state["state"] != "Terminated" for state in states if state):
        return "Running"
    if policy == "Never" and any(state.get("exitCode", 0) != 0 for state in states if state):
        return "Failed"
    return "Succeeded"


def provisioning_state(group: GroupRecord, now: float) -> str:
    """``Pending`` for the first half of a provisioning delay, then ``Creating``; else the stored state."""
    if group.deployed or group.stopped or group.provisioning_state != "Pending":
        return group.provisioning_state
    if group.deploy_at is not None and now >= (group.pending_since + group.deploy_at) / 2:
        return "Creating"
    return "Pending"


def is_transitioning(group: GroupRecord) -> bool:
    return not group.deployed and not group.stopped and group.failure is None


# -- rendering -------------------------------------------------------------------------------------
def _public_env(variables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    public = []
    for variable in variables:
        if "secureValue" in variable:
            public.append({"name": variable["name"]})  # ACI returns only the name of a secure variable
        else:
            public.append(dict(variable))
    return public


def _public_container(container: dict[str, Any]) -> dict[str, Any]:
    props = copy.deepcopy(container["properties"])
    if "environmentVariables" in props:
        props["environmentVariables"] = _public_env(props["environmentVariables"])
    ordered: dict[str, Any] = {"image": props.pop("image")}
    for key in ("command", "ports", "environmentVariables"):
        if key in props:
            ordered[key] = props.pop(key)
    ordered.update(props)
    return {"name": container["name"], "properties": ordered}


def _public_volume(volume: dict[str, Any]) -> dict[str, Any]:
    public = copy.deepcopy(volume)
    if isinstance(public.get("azureFile"), dict):
        public["azureFile"].pop("storageAccountKey", None)
    if "secret" in public:
        public["secret"] = {}  # secret volume contents never come back
    return public


def public_properties(spec: dict[str, Any]) -> dict[str, Any]:
    """The stored properties as ACI echoes them: secure values, passwords and keys stripped."""
    props = spec["properties"]
    result: dict[str, Any] = {"sku": props.get("sku", "Standard")}
    result["containers"] = [_public_container(container) for container in props["containers"]]
    result["initContainers"] = [_public_container(container) for container in props.get("initContainers", [])]
    if props.get("imageRegistryCredentials") is not None:
        result["imageRegistryCredentials"] = [
            {key: value for key, value in registry.items() if key != "password"}
            for registry in props["imageRegistryCredentials"]]
    result["restartPolicy"] = props["restartPolicy"]
    if props.get("ipAddress") is not None:
        result["ipAddress"] = copy.deepcopy(props["ipAddress"])
    result["osType"] = props["osType"]
    if props.get("volumes") is not None:
        result["volumes"] = [_public_volume(volume) for volume in props["volumes"]]
    diagnostics = props.get("diagnostics")
    if isinstance(diagnostics, dict):
        diagnostics = copy.deepcopy(diagnostics)
        if isinstance(diagnostics.get("logAnalytics"), dict):
            diagnostics["logAnalytics"].pop("workspaceKey", None)
        result["diagnostics"] = diagnostics
    extensions = props.get("extensions")
    if isinstance(extensions, list):
        result["extensions"] = [_public_extension(extension) for extension in extensions]
    for key, value in props.items():
        if key not in result and key not in ("provisioningState", "instanceView"):
            result[key] = copy.deepcopy(value)
    return result


def _public_extension(extension: Any) -> Any:
    if not isinstance(extension, dict):
        return extension
    public = copy.deepcopy(extension)
    if isinstance(public.get("properties"), dict):
        public["properties"].pop("protectedSettings", None)
    return public


def container_instance_view(record: ContainerRecord) -> dict[str, Any] | None:
    if record.current is None:
        return None
    view: dict[str, Any] = {"restartCount": record.restart_count, "currentState": dict(record.current)}
    if record.previous is not None:
        view["previousState"] = dict(record.previous)
    view["events"] = [dict(event) for event in record.events]
    return view


def render_group(group: GroupRecord, *, instance_view: bool, now: float,
                 as_put_response: bool = False) -> dict[str, Any]:
    """The group as ARM JSON. ``instance_view`` False gives the list form (no instanceView anywhere).

    ``as_put_response`` gives the answer to a PUT: provisioning ``Pending`` and a Pending group view, as ACI
    answers before the deployment is under way.
    """
    props = public_properties(group.spec)
    ordered: dict[str, Any] = {"sku": props.pop("sku")}
    ordered["provisioningState"] = "Pending" if as_put_response else provisioning_state(group, now)
    ordered.update(props)
    ip = ordered.get("ipAddress")
    if ip is not None:
        ip["ip"] = ip.get("ip") or "127.0.0.1"
        if ip.get("dnsNameLabel"):
            ip["fqdn"] = f"{ip['dnsNameLabel'].lower()}.{group.location}.localhost"
        ports = [{"port": port["port"], "hostPort": group.host_ports[str(port["port"])]}
                 for port in ip.get("ports", []) if str(port["port"]) in group.host_ports]
        if ports:
            ip["hostPorts"] = ports  # emulator extension: where each group port listens on 127.0.0.1
    if instance_view and not as_put_response:
        for container in ordered["containers"] + ordered["initContainers"]:
            record = group.record(container["name"])
            view = container_instance_view(record) if record is not None else None
            if view is not None:
                container["properties"]["instanceView"] = view
        ordered["instanceView"] = {"events": [dict(event) for event in group.group_events],
                                   "state": group_state(group)}
    elif as_put_response:
        ordered["instanceView"] = {"events": [], "state": "Pending"}
    body: dict[str, Any] = {"properties": ordered, "id": group.id, "name": group.name, "type": GROUP_TYPE,
                            "location": group.location}
    if "tags" in group.spec:
        body["tags"] = dict(group.spec["tags"])
    for key in ("identity", "zones"):
        if group.spec.get(key) is not None:
            body[key] = copy.deepcopy(group.spec[key])
    return strip_secrets(body)


def operation_events(group: GroupRecord) -> list[dict[str, Any]]:
    """The events an operation status lists: every container's (init containers first), in order."""
    return [dict(event) for record in group.records() for event in record.events]
