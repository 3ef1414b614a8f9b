"""The operations a session offers: list, get, create, run a task, logs, follow, lifecycle, delete.

Every call goes through the session's real SDK clients. Two paths:
- SDK operations (``begin_create_or_update``, ``begin_delete``, ``begin_start`` ...) where the SDK's
  long-running-operation handling is the point;
- raw JSON through the same client's pipeline (``ci._send_request``: same auth, retries, TLS) where the
  SDK's model layer would cost ~1.2 ms a group (list, live state, get): frames are built from the JSON.

Errors from azure-core become the one-line errors of ``errors.py``, with secrets scrubbed (``arm_calls.py``).
The session holds one ``GroupOperations`` (composition: nothing here imports ``session.py``) and offers its
methods as its own.
"""

from __future__ import annotations

import json
import secrets as _random
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .arm_calls import PROVIDER, ArmCalls
from .errors import InvalidInput, NotFound, OperationFailed
from .logtail import LogCursor
from .results import TERMINAL_GROUP_STATES, CreateHandle, GroupDetails, Progress, ProgressCallback, TaskResult
from .terminal_cache import TerminalCache

if TYPE_CHECKING:
    import pandas as pd

    from .spec import GroupSpec



class GroupOperations:
    """List, get, create, run, logs, lifecycle and resource groups over one connection's ``ArmCalls``."""

    def __init__(self, calls: ArmCalls) -> None:
        self.calls = calls
        self.terminal = TerminalCache()  # GET answers of ended groups: live lists do not ask again

    # -- list / get ---------------------------------------------------------------------------------
    def list_group_json(self, resource_group: str | None = None, *, all_groups: bool = False) -> list[dict]:
        """The raw list JSON (no instance views: the list API has none), following ``nextLink``."""
        rg = None if all_groups else (resource_group or self.calls.connection.resource_group)
        base = self.calls.subscription_path()
        path = f"{base}/resourceGroups/{quote(rg, safe='')}/{PROVIDER}" if rg else f"{base}/{PROVIDER}"
        groups: list[dict] = []
        with self.calls.errors(f"list container groups in {rg or 'the subscription'}"):
            page = self.calls.send_json("GET", path)
            while True:
                groups.extend(page.get("value") or [])
                next_link = page.get("nextLink")
                if not next_link:
                    break
                page = self.calls.follow_next_link(next_link)
        return groups

    def list_groups(self, resource_group: str | None = None, *, live: bool = False, cost: bool = False,
                    all_groups: bool = False) -> pd.DataFrame:
        """Container groups as a DataFrame (the brief's list columns).

        ``state`` is empty unless ``live=True``, which fills it with bounded parallel gets: the list API
        carries no instance view, so a list alone never knows whether a group runs. ``cost=True`` (which
        implies ``live``) adds a ``cost`` column: the estimate so far, from each group's running time.
        """
        from .frames import list_frame, with_cost

        groups = self.list_group_json(resource_group, all_groups=all_groups)
        if not (live or cost):
            return list_frame(groups)
        fetched = self.get_many(groups)
        states = {gid: str(((body.get("properties") or {}).get("instanceView") or {}).get("state", ""))
                  for gid, body in fetched.items()}
        frame = list_frame(groups, live_states=states)
        if cost:
            frame = with_cost(frame, [fetched.get(str(g["id"]), g) for g in groups])
        return frame

    def live_states(self, groups: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """``{group id: instance-view state}`` from bounded parallel gets ("" for a group that vanished)."""
        fetched = self.get_many(groups)
        return {str(g["id"]): str(((fetched.get(str(g["id"])) or {}).get("properties") or {})
                                  .get("instanceView", {}).get("state", "")) for g in groups}

    def get_many(self, groups: Sequence[Mapping[str, Any]]) -> dict[str, dict]:
        """``{group id: GET JSON}`` with at most ``tuning.max_parallel_gets`` gets in flight.

        A group deleted meanwhile (or a transient error) is left out rather than failing the whole list.
        Groups that have ended and whose list JSON has not changed are answered from ``self.terminal``
        (terminal_cache.py) without a GET.
        """
        def fetch(group: Mapping[str, Any]) -> tuple[str, dict | None]:
            try:
                body = self.calls.send_json("GET", str(group["id"]))
            except Exception:  # noqa: BLE001 - see the docstring
                return str(group["id"]), None
            self.terminal.put(group, body)
            return str(group["id"]), body

        if not groups:
            return {}
        known = {str(g["id"]): self.terminal.get(g) for g in groups}
        result = {gid: body for gid, body in known.items() if body is not None}
        todo = [g for g in groups if known.get(str(g["id"])) is None]
        if not todo:
            return result
        workers = max(1, min(self.calls.tuning.max_parallel_gets, len(todo)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="aci-live") as pool:
            result.update({gid: body for gid, body in pool.map(fetch, todo) if body is not None})
        return {str(g["id"]): result[str(g["id"])] for g in groups if str(g["id"]) in result}

    def location_usage(self, location: str | None = None) -> list[dict]:
        """ACI's quotas in a region and their current use (``location.list_usage``, raw JSON): ``ContainerGroups``,
        ``StandardCores`` ... each with ``currentValue`` and ``limit``."""
        where = location or self.calls.location or "eastus"
        path = (f"{self.calls.subscription_path()}/providers/Microsoft.ContainerInstance/locations/"
                f"{quote(where, safe='')}/usages")
        with self.calls.errors(f"usage in {where}"):
            return list((self.calls.send_json("GET", path) or {}).get("value") or [])

    def get_group_json(self, name: str, resource_group: str | None = None) -> dict:
        rg = self.calls.resource_group(resource_group)
        with self.calls.errors(f"get {name}"):
            return self.calls.send_json("GET", self.calls.group_path(rg, name))

    def get_group(self, name: str, resource_group: str | None = None) -> GroupDetails:
        """One GET: properties, per-container instance views and events."""
        return GroupDetails(self.get_group_json(name, resource_group))

    # -- create / run -------------------------------------------------------------------------------
    def create_group(self, spec: GroupSpec, *, wait: bool = True, resource_group: str | None = None,
                     progress: ProgressCallback | None = None,
                     timeout: float | None = None) -> GroupDetails | CreateHandle:
        """Validate ``spec`` (no request if it is invalid), create it, and by default wait for it."""
        spec.validate()
        rg = self.calls.resource_group(resource_group or spec.resource_group)
        if self.calls.backend == "local" and self._create_missing_resource_group(rg):  # Azure: ResourceGroupNotFound
            self.calls.connection.notify(f"aci-widgets: created resource group {rg} in the local emulator (on "
                                         f"Azure it must exist first: %aci create-rg {rg})")
        body = spec.to_arm(location_default=self.calls.location or "eastus")
        self.terminal.forget(self.calls.group_path(rg, spec.name))
        with self.calls.errors(f"create {spec.name}"):
            poller = self.calls.ci.container_groups.begin_create_or_update(
                rg, spec.name, json.dumps(body).encode("utf-8"), content_type="application/json")
        handle = CreateHandle(self._finish_create, spec.name, rg, poller)
        if not wait:
            return handle
        return self._finish_create(handle, timeout=timeout, progress=progress)

    def _finish_create(self, handle: CreateHandle, *, timeout: float | None,
                       progress: ProgressCallback | None) -> GroupDetails:
        tick = max(0.05, min(1.0, self.calls.tuning.poll_interval or 0.2))
        deadline = None if timeout is None else handle.started + timeout
        with self.calls.errors(f"create {handle.name}"):
            while not handle.poller.done():
                if deadline is not None and time.monotonic() > deadline:
                    raise OperationFailed(f"create {handle.name} still {handle.status()} after {timeout:g} s; "
                                          "it goes on in the service")
                handle.poller.wait(tick)
                if progress is not None:
                    progress(Progress("create", handle.name, time.monotonic() - handle.started, handle.status()))
            handle.poller.result()
        details = self.get_group(handle.name, handle.resource_group)
        if progress is not None:
            status = f"provisioning {details.provisioning_state}, state {details.state or '-'}"
            progress(Progress("create", handle.name, time.monotonic() - handle.started, status, done=True))
        if details.provisioning_state == "Failed":
            raise OperationFailed(f"{handle.name} failed to provision: {_last_warning(details.json)}",
                                  code="ProvisioningFailed")
        return details

    def run_task(
        self,
        image: str,
        *,
        name: str | None = None,
        command: Sequence[str] | str | None = None,
        env: Mapping[str, str] | Iterable[Any] | None = None,
        secure_env: Mapping[str, str] | Iterable[Any] | None = None,
        cpu: float = 1.0,
        memory_gb: float = 1.5,
        resource_group: str | None = None,
        timeout: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> TaskResult:
        """Run a task group (restart policy ``Never``), wait for it to end, return exit codes and logs."""
        from .spec import GroupSpec, command_from_line

        if isinstance(command, str):
            command = command_from_line(command)
        spec = GroupSpec.single(
            name or task_name(image), image, cpu=cpu, memory_gb=memory_gb,
            command=list(command) if command else None, env=env, secure_env=secure_env,
            restart_policy="Never",
        )
        started = time.monotonic()
        details = self.create_group(spec, resource_group=resource_group, progress=progress, timeout=timeout)
        assert isinstance(details, GroupDetails)
        rg = details.resource_group or self.calls.resource_group(resource_group)
        timed_out = False
        while details.state not in TERMINAL_GROUP_STATES:
            if timeout is not None and time.monotonic() - started > timeout:
                timed_out = True
                break
            time.sleep(max(0.05, self.calls.tuning.poll_interval) * self.calls.slowdown())
            details = self.get_group(spec.name, rg)
            if progress is not None:
                progress(Progress("run", spec.name, time.monotonic() - started, details.state or "Pending"))
        logs = {c: self.logs(spec.name, c, resource_group=rg) for c in details.containers}
        result = TaskResult(details, logs, time.monotonic() - started, timed_out=timed_out)
        if progress is not None:
            progress(Progress("run", spec.name, result.elapsed, result.state, done=True))
        return result

    # -- logs -----------------------------------------------------------------------------------------
    def logs(self, name: str, container: str | None = None, *, resource_group: str | None = None,
             tail: int | None = None, timestamps: bool = False) -> str:
        """A container's log (the first container by default). Empty until the container has started."""
        rg = self.calls.resource_group(resource_group)
        if tail is not None and (isinstance(tail, bool) or int(tail) < 0):
            raise InvalidInput({"tail": f"{tail!r} must be a whole number of lines, 0 or more"})
        if container is None:
            container = self._first_container(name, rg)
        query: dict[str, Any] = {}
        if tail is not None:
            query["tail"] = int(tail)
        if timestamps:
            query["timestamps"] = "true"
        path = f"{self.calls.group_path(rg, name)}/containers/{quote(container, safe='')}/logs"
        try:
            with self.calls.errors(f"logs of {name}/{container}"):
                body = self.calls.send_json("GET", path, query=query)
        except NotFound as exc:
            if exc.code == "ContainerLogNotAvailable":  # the container has not started yet
                return ""
            raise
        return self.calls.scrub(str((body or {}).get("content") or ""))

    def _first_container(self, name: str, rg: str) -> str:
        containers = self.get_group(name, rg).containers
        if not containers:
            raise NotFound(f"container group '{name}' has no containers")
        return containers[0]

    def follow_logs(self, name: str, container: str | None = None, *, resource_group: str | None = None,
                    interval: float | None = None, timeout: float | None = None,
                    stop: threading.Event | None = None, timestamps: bool = False) -> Iterator[str]:
        """Yield new log lines as they appear; end when the container or group terminates.

        Bounded polling (one get and one logs request per round, ``interval`` apart). Only new lines are
        yielded; if the log shrinks (the container restarted) a marker line says so and the new run follows.
        """
        rg = self.calls.resource_group(resource_group)
        group = self.get_group(name, rg)
        container = container or (group.containers[0] if group.containers else None)
        if container is None or container not in group.containers:
            raise NotFound(f"The container '{container}' does not exist in container group '{name}'.",
                           code="ContainerNotFound")
        pause = interval if interval is not None else (0.25 if self.calls.backend == "local" else 2.0)
        cursor = LogCursor()
        started = time.monotonic()
        marker = run_marker(group.json, container)
        while True:
            finished = container_finished(group.json, container)
            current = run_marker(group.json, container)
            if new_run(marker, current):
                yield from cursor.restart()
            if current[1] or current[0] != marker[0]:
                marker = current
            yield from cursor.advance(self.logs(name, container, resource_group=rg, timestamps=timestamps))
            if finished:
                yield from cursor.flush()
                return
            if timeout is not None and time.monotonic() - started >= timeout:
                return
            if stop is not None:
                if stop.wait(pause * self.calls.slowdown()):
                    return
            else:
                time.sleep(pause * self.calls.slowdown())
            group = self.get_group(name, rg)

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self, name: str, *, resource_group: str | None = None) -> None:
        rg = self.calls.resource_group(resource_group)
        self.terminal.forget(self.calls.group_path(rg, name))
        with self.calls.errors(f"start {name}"):
            self.calls.ci.container_groups.begin_start(rg, name).result()

    def stop(self, name: str, *, resource_group: str | None = None) -> None:
        rg = self.calls.resource_group(resource_group)
        self.terminal.forget(self.calls.group_path(rg, name))
        with self.calls.errors(f"stop {name}"):
            self.calls.ci.container_groups.stop(rg, name)

    def restart(self, name: str, *, resource_group: str | None = None) -> None:
        rg = self.calls.resource_group(resource_group)
        self.terminal.forget(self.calls.group_path(rg, name))
        with self.calls.errors(f"restart {name}"):
            self.calls.ci.container_groups.begin_restart(rg, name).result()

    def delete_groups(self, *names: str, resource_group: str | None = None) -> list[str]:
        """Delete groups; returns the names deleted. Missing ones are reported after the others are gone."""
        if not names:
            raise InvalidInput({"names": "give at least one container group to delete"})
        rg = self.calls.resource_group(resource_group)
        deleted: list[str] = []
        missing: list[str] = []
        for name in names:
            self.terminal.forget(self.calls.group_path(rg, name))
            with self.calls.errors(f"delete {name}"):
                result = self.calls.ci.container_groups.begin_delete(rg, name).result()
            # ACI answers 204 (no body) for a group that does not exist.
            (deleted if result is not None else missing).append(name)
        if missing:
            done = f" (deleted {', '.join(deleted)})" if deleted else ""
            raise NotFound(f"no container group {', '.join(repr(m) for m in missing)} in resource group "
                           f"'{rg}'{done}")
        return deleted

    # -- resource groups ------------------------------------------------------------------------------
    def ensure_resource_group(self, name: str | None = None, location: str | None = None) -> str:
        """Create the resource group if it does not exist yet; returns its name."""
        rg = self.calls.resource_group(name)
        self._create_missing_resource_group(rg, location)
        return rg

    def _create_missing_resource_group(self, rg: str, location: str | None = None) -> bool:  # True: created
        body = {"location": location or self.calls.location or "eastus"}
        with self.calls.errors(f"resource group {rg}"):
            missing = not self.calls.rm.resource_groups.check_existence(rg)
            if missing:
                self.calls.rm.resource_groups.create_or_update(rg, body)
        return missing

    def delete_resource_group(self, name: str | None = None, *, wait: bool = True) -> None:
        """Delete a resource group and every container group in it."""
        rg = self.calls.resource_group(name)
        with self.calls.errors(f"delete resource group {rg}"):
            poller = self.calls.rm.resource_groups.begin_delete(rg)
            if wait:
                poller.result()

    def list_resource_groups(self) -> list[str]:
        with self.calls.errors("list resource groups"):
            return [group.name for group in self.calls.rm.resource_groups.list()]

    # -- export ---------------------------------------------------------------------------------------
    def export_group(self, name: str, resource_group: str | None = None) -> str:
        """YAML that ``az container create --file`` and ``%%aci create`` accept."""
        from .spec.formats import export_group_yaml

        return export_group_yaml(self.get_group_json(name, resource_group))


# -- pure helpers ----------------------------------------------------------------------------------




def task_name(image: str) -> str:
    """A valid, fresh group name derived from an image: ``mcr.../aci-wordcount:latest`` -> ``aci-wordcount-3f9a1c``."""
    base = image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0].lower()
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in base)
    while "--" in cleaned:
        cleaned = cleaned.replace("--", "-")
    cleaned = cleaned.strip("-")[:50] or "task"
    return f"{cleaned}-{_random.token_hex(3)}"


def container_finished(group_json: Mapping[str, Any], container: str) -> bool:
    """Whether following this container's log can stop: the group ended, or the container ended for good."""
    props = group_json.get("properties") or {}
    if ((props.get("instanceView") or {}).get("state")) in TERMINAL_GROUP_STATES:
        return True
    policy = props.get("restartPolicy", "Always")
    for item in props.get("containers", []):
        if item.get("name") != container:
            continue
        current = ((item.get("properties") or {}).get("instanceView") or {}).get("currentState") or {}
        if current.get("state") == "Terminated":
            exit_code = current.get("exitCode")
            return policy == "Never" or (policy == "OnFailure" and exit_code == 0)
    return False


def restart_count(group_json: Mapping[str, Any], container: str) -> int:
    """The container's restart count in a GET answer (0 when absent)."""
    for item in (group_json.get("properties") or {}).get("containers", []):
        if item.get("name") == container:
            return int(((item.get("properties") or {}).get("instanceView") or {}).get("restartCount") or 0)
    return 0


def run_marker(group_json: Mapping[str, Any], container: str) -> tuple[int, str]:
    """What tells one run of a container from the next in a GET answer: (restart count, start time).

    A group restarted with ``begin_restart`` (from anywhere) starts its containers again with a new start
    time while the restart count may stay 0, and the new log can be as long as the old one by the time we
    look: the start time is what changes (issue 17 case 14). An empty start time (Waiting) is no run yet.
    """
    for item in (group_json.get("properties") or {}).get("containers", []):
        if item.get("name") == container:
            view = (item.get("properties") or {}).get("instanceView") or {}
            started = str((view.get("currentState") or {}).get("startTime") or "")
            return int(view.get("restartCount") or 0), started
    return 0, ""


def new_run(before: tuple[int, str] | None, now: tuple[int, str]) -> bool:
    """Whether ``now`` is a later run than ``before`` (restart count rose, or a new start time)."""
    if before is None:
        return False
    return now[0] > before[0] or (bool(before[1]) and bool(now[1]) and now[1] != before[1])


def _last_warning(group_json: Mapping[str, Any]) -> str:
    events: list[Mapping[str, Any]] = list((group_json.get("properties") or {}).get("instanceView", {})
                                           .get("events", []))
    for container in (group_json.get("properties") or {}).get("containers", []):
        events.extend(((container.get("properties") or {}).get("instanceView") or {}).get("events", []))
    warnings = [e for e in events if e.get("type") == "Warning"]
    return str(warnings[-1].get("message")) if warnings else "see the group's events"








def names_in(items: Iterable[Mapping[str, Any]]) -> list[str]:
    return [str(item.get("name", "")) for item in items]
