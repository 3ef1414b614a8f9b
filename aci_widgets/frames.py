"""The DataFrames users see, built straight from ACI's raw ARM JSON.

Why raw JSON: the SDK's model layer costs about 1.2 ms a group (reference/azure-sdk-facts.md §7), so a
2,000-group list spends seconds building objects nobody looks at. Here each function walks the dicts once,
fills one list per column, and calls the DataFrame constructor once with explicit dtypes, so empty inputs
get the same columns and dtypes as full ones.

Columns are a contract (BRIEF "DataFrames"): add, never rename. Environment values never enter a frame.

    list_frame(groups, live_states=None)   name, resource_group, location, provisioning_state, state, os_type,
                                           restart_policy, containers, images, cpu, memory_gb, ip, fqdn, ports
                                           then (issue 18) sku, identity, volumes, subnet
    instance_view_frame(group)             container, image, state, detail_status, start_time, finish_time,
                                           exit_code, restart_count, cpu, memory_gb, ports, then mounts
    events_frame(group)                    container, name, type, count, first_timestamp, last_timestamp, message
    group_properties(group)                ordered {label: text} for detail views
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from .frame_features import identity_text, mounts_text, subnet_text, volumes_text

LIST_COLUMNS = ("name", "resource_group", "location", "provisioning_state", "state", "os_type", "restart_policy",
                "containers", "images", "cpu", "memory_gb", "ip", "fqdn", "ports",
                # added with issue 18 (after the contract's columns): where users look for them
                "sku", "identity", "volumes", "subnet")
INSTANCE_VIEW_COLUMNS = ("container", "image", "state", "detail_status", "start_time", "finish_time", "exit_code",
                         "restart_count", "cpu", "memory_gb", "ports", "mounts", "init")
EVENTS_COLUMNS = ("container", "name", "type", "count", "first_timestamp", "last_timestamp", "message")

# `str` is pandas' own default for text: object in pandas 2, the string dtype in pandas 3.
TEXT: Any = str
TIMESTAMP = "datetime64[ns, UTC]"
_NUMERIC = {"containers": "int64", "cpu": "float64", "memory_gb": "float64", "exit_code": "Int64",
            "restart_count": "Int64", "count": "Int64", "init": "bool"}
_TIMESTAMPS = {"start_time", "finish_time", "first_timestamp", "last_timestamp"}

_EMPTY: Mapping[str, Any] = {}


def list_frame(groups: Iterable[Mapping[str, Any]], *, live_states: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per group of a list (or get) answer.

    ``state`` is the group's instance-view state. The list API returns none, so it is ``""`` unless
    ``live_states`` (``{group id or name: state}``, from gets) supplies it or a group dict came from a get.
    ``cpu``/``memory_gb`` are the group totals of the containers' requests. ``ports`` reads like
    ``"80/TCP, 443/TCP"``; with the emulator's ``ipAddress.hostPorts`` it shows ``"80→127.0.0.1:54321"``.
    """
    live = live_states or {}
    columns: dict[str, list[Any]] = {name: [] for name in LIST_COLUMNS}
    (names, rgs, locations, provisioning, states, os_types, policies, counts, images, cpus, memories, ips, fqdns,
     ports, skus, identities, volumes, subnets) = (columns[name].append for name in LIST_COLUMNS)
    for group in groups:
        props = group.get("properties") or _EMPTY
        containers = props.get("containers") or ()
        cpu = memory = 0.0
        container_images = []
        for container in containers:
            container_props = container.get("properties") or _EMPTY
            container_images.append(container_props.get("image") or "")
            requests = (container_props.get("resources") or _EMPTY).get("requests") or _EMPTY
            cpu += _float(requests.get("cpu"))
            memory += _float(requests.get("memoryInGB"))
        ip = props.get("ipAddress") or _EMPTY
        group_id = group.get("id") or ""
        name = group.get("name") or ""
        state = live.get(group_id) or live.get(name) or (props.get("instanceView") or _EMPTY).get("state") or ""
        names(name)
        rgs(_resource_group(group_id))
        locations(group.get("location") or "")
        provisioning(props.get("provisioningState") or "")
        states(state)
        os_types(props.get("osType") or "")
        policies(props.get("restartPolicy") or "")
        counts(len(containers))
        images(", ".join(container_images))
        cpus(cpu)
        memories(memory)
        ips(ip.get("ip") or "")
        fqdns(ip.get("fqdn") or "")
        ports(_ports_text(ip.get("ports"), ip.get("hostPorts"), ip.get("ip") or "127.0.0.1"))
        skus(props.get("sku") or "")
        identities(identity_text(group) if group.get("identity") else "")
        volumes(volumes_text(props) if props.get("volumes") else "")
        subnets(subnet_text(props) if props.get("subnetIds") else "")
    return _frame(columns)


def instance_view_frame(group: Mapping[str, Any]) -> pd.DataFrame:
    """One row per container of a GET answer: its current state, times, exit code and restarts; the init
    containers first (they run first, ``init`` True: no ports or resources of their own, so those are empty).

    Times are UTC Timestamps (NaT when absent); ``exit_code`` and ``restart_count`` are nullable Int64,
    ``<NA>`` when the container has not run (or the JSON came from a list, which has no instance view).
    """
    columns: dict[str, list[Any]] = {name: [] for name in INSTANCE_VIEW_COLUMNS}
    props_of_group = group.get("properties") or _EMPTY
    every = [(c, True) for c in props_of_group.get("initContainers") or ()] + \
            [(c, False) for c in props_of_group.get("containers") or ()]
    for container, init in every:
        props = container.get("properties") or _EMPTY
        view = props.get("instanceView") or _EMPTY
        current = view.get("currentState") or _EMPTY
        requests = (props.get("resources") or _EMPTY).get("requests") or _EMPTY
        columns["container"].append(container.get("name") or "")
        columns["image"].append(props.get("image") or "")
        columns["state"].append(current.get("state") or "")
        columns["detail_status"].append(current.get("detailStatus") or "")
        columns["start_time"].append(current.get("startTime"))
        columns["finish_time"].append(current.get("finishTime"))
        columns["exit_code"].append(current.get("exitCode"))
        columns["restart_count"].append(view.get("restartCount"))
        columns["cpu"].append(_float(requests.get("cpu")))
        columns["memory_gb"].append(_float(requests.get("memoryInGB")))
        columns["ports"].append(_ports_text(props.get("ports"), None, ""))
        columns["mounts"].append(mounts_text(props))
        columns["init"].append(init)
    return _frame(columns)


def events_frame(group: Mapping[str, Any]) -> pd.DataFrame:
    """The containers' events and the group's own (``container == ""``), oldest ``last_timestamp`` first."""
    columns: dict[str, list[Any]] = {name: [] for name in EVENTS_COLUMNS}

    def add(container_name: str, events: Iterable[Mapping[str, Any]]) -> None:
        for event in events:
            columns["container"].append(container_name)
            columns["name"].append(event.get("name") or "")
            columns["type"].append(event.get("type") or "")
            columns["count"].append(event.get("count"))
            columns["first_timestamp"].append(event.get("firstTimestamp"))
            columns["last_timestamp"].append(event.get("lastTimestamp"))
            columns["message"].append(event.get("message") or "")

    props = group.get("properties") or _EMPTY
    for container in [*(props.get("initContainers") or ()), *(props.get("containers") or ())]:
        view = (container.get("properties") or _EMPTY).get("instanceView") or _EMPTY
        add(container.get("name") or "", view.get("events") or ())
    add("", (props.get("instanceView") or _EMPTY).get("events") or ())
    frame = _frame(columns)
    # stable, so events with equal timestamps keep ACI's order (Pulling before Pulled)
    return frame.sort_values("last_timestamp", kind="stable", na_position="last").reset_index(drop=True)


PROPERTY_LABELS = ("Name", "Resource group", "Location", "Provisioning state", "State", "OS type", "Restart policy",
                   "IP address", "FQDN", "Ports", "CPU (cores)", "Memory (GB)", "Estimated cost", "Tags",
                   "SKU", "Identity", "Volumes", "Mounts", "Virtual network", "Init containers", "Zones")


def init_container_text(container: Mapping[str, Any]) -> str:
    """``setup (Terminated, exit 5, 2 restarts)``: an init container's name and how it ended, as far as known."""
    view = (container.get("properties") or _EMPTY).get("instanceView") or _EMPTY
    current = view.get("currentState") or _EMPTY
    parts = [str(current.get("state") or "")] if current.get("state") else []
    if current.get("exitCode") is not None:
        parts.append(f"exit {current['exitCode']}")
    restarts = view.get("restartCount") or 0
    if restarts:
        parts.append(f"{restarts} restart{'s' if restarts != 1 else ''}")
    name = str(container.get("name") or "")
    return f"{name} ({', '.join(parts)})" if parts else name


def group_properties(group: Mapping[str, Any]) -> dict[str, str]:
    """The detail view's properties, in ``PROPERTY_LABELS`` order, every value as display text (the labels from
    ``SKU`` on only when the group has a value for them).

    ``State`` is empty when the JSON has no instance view (a list answer): never guessed.
    """
    row = list_frame([group]).iloc[0]
    tags = group.get("tags") or {}
    shown = {
        "Name": row["name"],
        "Resource group": row["resource_group"],
        "Location": row["location"],
        "Provisioning state": row["provisioning_state"],
        "State": row["state"],
        "OS type": row["os_type"],
        "Restart policy": row["restart_policy"],
        "IP address": row["ip"],
        "FQDN": row["fqdn"],
        "Ports": row["ports"],
        "CPU (cores)": f"{row['cpu']:g}",
        "Memory (GB)": f"{row['memory_gb']:g}",
        "Estimated cost": _cost_text(group),
        "Tags": ", ".join(f"{key}={value}" for key, value in tags.items()),
        "SKU": row["sku"],
        "Identity": row["identity"],
        "Volumes": row["volumes"],
        "Mounts": "; ".join(f"{c.get('name')}: {mounts_text(c.get('properties') or _EMPTY)}"
                            for c in (group.get("properties") or _EMPTY).get("containers") or ()
                            if (c.get("properties") or _EMPTY).get("volumeMounts")),
        "Virtual network": row["subnet"],
        "Init containers": ", ".join(init_container_text(c) for c in
                                     (group.get("properties") or _EMPTY).get("initContainers") or ()),
        "Zones": ", ".join(map(str, group.get("zones") or ())),
    }
    # the issue-18 labels appear only when the group has them: a plain group's view stays as it was
    return {label: text for index, (label, text) in enumerate(shown.items()) if index < 14 or text}


# -- helpers ---------------------------------------------------------------------------------------------


def with_cost(frame: pd.DataFrame, groups: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """``frame`` (a list frame of ``groups``, same order) plus a ``cost`` column: the estimate so far.

    Needs each group's instance view (start and finish times), so ``groups`` must come from gets.
    """
    from .cost import estimate_group_cost

    frame = frame.copy()
    frame["cost"] = pd.Series([estimate_group_cost(group) for group in groups], dtype="float64")
    return frame


def _cost_text(group: Mapping[str, Any]) -> str:
    """The detail view's estimate; empty without an instance view (a list answer has none)."""
    from .cost import estimate_group_cost, prices

    if not (group.get("properties") or _EMPTY).get("instanceView"):
        return ""
    table = prices()
    return f"{estimate_group_cost(group, table=table):.5f} {table.currency} (so far; see aci_widgets.cost)"


def _frame(columns: Mapping[str, list[Any]]) -> pd.DataFrame:
    data = {}
    for name, values in columns.items():
        if name in _TIMESTAMPS:
            data[name] = _timestamps(values)
        else:
            data[name] = pd.Series(values, dtype=_NUMERIC.get(name, TEXT))
    return pd.DataFrame(data)


def _timestamps(values: list[Any]) -> pd.Series:
    # ACI writes 7-digit fractions ("11:42:57.2369151Z"); ISO8601 parsing takes them, bad ones become NaT
    parsed = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601", errors="coerce")
    return parsed.astype(TIMESTAMP)


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _resource_group(group_id: str) -> str:
    # /subscriptions/{sub}/resourceGroups/{rg}/providers/...; ARM segments are case-insensitive
    parts = group_id.split("/")
    if len(parts) > 4 and parts[3].lower() == "resourcegroups":
        return parts[4]
    return ""


def _ports_text(ports: Any, host_ports: Any, host_ip: str) -> str:
    if not ports:
        return ""
    mapped: dict[Any, Any] = {}
    for entry in host_ports or ():
        if isinstance(entry, Mapping) and entry.get("hostPort") is not None:
            mapped[(entry.get("port"), (entry.get("protocol") or "TCP").upper())] = entry["hostPort"]
    texts = []
    for port in ports:
        number = port.get("port")
        protocol = (port.get("protocol") or "TCP").upper()
        host_port = mapped.get((number, protocol))
        if host_port is not None:
            label = f"{number}" if protocol == "TCP" else f"{number}/{protocol}"
            texts.append(f"{label}→{host_ip}:{host_port}")
        else:
            texts.append(f"{number}/{protocol}")
    return ", ".join(texts)
