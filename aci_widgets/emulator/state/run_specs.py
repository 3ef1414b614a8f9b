"""What one run of a container gets from its group: host ports, resources, env, mounts (``RunSpec``).

An init container (``init_phase.py``) gets what ACI documents for it: no ports (no published ports, no
``PORT`` / ``ACI_PORT_<n>``), the group's volumes and its own env (secure values included), and, as it has no
``resources`` of its own, "the total resources such as CPUs and memory available to the container group"
(Microsoft docs, container-instances-init-container): the sum of the app containers' CPU and memory, the CPU
capped at what the engine's machine has (Docker refuses a quota above it). On Docker it gets a network
namespace of its own (``first_in_group``, nothing published): no other container of the group runs beside it,
and it may not use the group's IP address, so sharing the app's namespace would show no difference.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from ..runtime import volumes
from ..runtime.engine import RunSpec
from .instance_view import ContainerRecord, GroupRecord


def allocate_ports(group: GroupRecord, taken: set[int]) -> None:
    """A free 127.0.0.1 port for every port of the group (group and container ports alike), ``taken`` aside.

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
    group.host_ports = {str(port): group.host_ports.get(str(port)) or _free_port(taken) for port in wanted}


def _wanted(spec: dict[str, Any]) -> tuple[float, float]:
    """(CPU, memory in GB) a container runs with: its limits, else its requests, else 1 and 1."""
    resources = spec["properties"].get("resources") or {}
    wanted = {**(resources.get("requests") or {}), **(resources.get("limits") or {})}
    return float(wanted.get("cpu") or 1.0), float(wanted.get("memoryInGB") or 1.0)


def init_resources(group: GroupRecord, machine_cpus: float) -> tuple[float, float]:
    """An init container's (CPU, memory in GB): the group's total, the CPU capped at the machine's."""
    totals = [_wanted(spec) for spec in group.container_specs()]
    cpu = sum(cpu for cpu, _memory in totals) or 1.0
    return min(cpu, max(0.01, machine_cpus)), sum(memory for _cpu, memory in totals) or 1.0


def run_spec(home_path: Path, home_id: str, group: GroupRecord, record: ContainerRecord, spec: dict[str, Any],
             run_uid: str, log_path: Path, work_dir: Path, machine_cpus: float) -> RunSpec:
    props = spec["properties"]
    init = group.is_init(record)
    cpu, memory = init_resources(group, machine_cpus) if init else _wanted(spec)
    env = {variable["name"]: variable.get("secureValue", variable.get("value")) or ""
           for variable in props.get("environmentVariables", [])}
    prepared = volumes.prepare(home_path, group.uid, group.properties.get("volumes") or [])
    first = init or group.container_specs()[0]["name"] == record.name
    return RunSpec(
        run_uid=run_uid, home_id=home_id, group_uid=group.uid, group_name=group.name,
        container=record.name, image=props["image"], command=props.get("command") or None, env=env,
        log_path=log_path, work_dir=work_dir, cpu=cpu, memory_bytes=int(memory * 1024 ** 3),
        first_in_group=first,
        host_ports={} if init else {int(port): host for port, host in group.host_ports.items()},
        group_port_env={} if init else _port_env(group, spec), mounts=volumes.mounts_for(spec, prepared),
        credentials=group.properties.get("imageRegistryCredentials") or [])


def _port_env(group: GroupRecord, spec: dict[str, Any]) -> dict[str, str]:
    """The process engine's port variables: ``PORT`` (the container's first port) and ``ACI_PORT_<n>``."""
    env: dict[str, str] = {}
    own_ports = [port["port"] for port in spec["properties"].get("ports", [])]
    group_ports = [port["port"] for port in (group.properties.get("ipAddress") or {}).get("ports", [])]
    first = (own_ports or group_ports or [None])[0]
    if first is not None and str(first) in group.host_ports:
        env["PORT"] = str(group.host_ports[str(first)])
    for port, host_port in group.host_ports.items():
        env[f"ACI_PORT_{port}"] = str(host_port)
    return env


def _free_port(taken: set[int]) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in taken:
            taken.add(port)
            return port
