"""``GroupSpec.problems()`` and ``validate_field()``: ``rules.py`` applied to a whole spec or to one field.

``group_problems`` walks a spec and collects every problem. Paths name the spec's fields
(``containers[0].cpu``, ``containers[1].env[2].name``, ``ports[0]``) so the
form can put each message next to its widget and the magics can print ``field: message``.
``validate_field(kind, value)`` is the same check for one widget as the user types (re-exported by the spec package).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import rules
from ..errors import InvalidInput
from ..secrets import Secret, reveal
from .checks_more import more_problems
from .parts import (
    ContainerSpec,
    GroupShape,
    PortSpec,
    command_from_line,
    is_placeholder,
    parse_env_pairs,
    parse_ports,
)


class _Problems(dict[str, str]):
    def add(self, path: str, message: str | None) -> None:
        # the first problem of a field is the one to fix first; later ones would only repeat it
        if message and path not in self:
            self[path] = message


def group_problems(spec: GroupShape) -> dict[str, str]:
    problems = _Problems()
    problems.add("name", rules.check_group_name(spec.name))
    if spec.resource_group is not None:
        problems.add("resource_group", rules.check_resource_group_name(spec.resource_group))
    if spec.location is not None and (not isinstance(spec.location, str) or not spec.location.strip()):
        problems.add("location", "must not be empty (leave it unset for the default)")
    problems.add("os_type", rules.check_os_type(spec.os_type))
    problems.add("restart_policy", rules.check_restart_policy(spec.restart_policy))
    _check_containers(spec, problems)
    _check_network(spec, problems)
    _check_registries(spec, problems)
    for key, value in spec.tags.items():
        problems.add(f"tags[{key}]", rules.check_tag(key, value))
    more_problems(spec, problems)
    return dict(problems)


def _check_containers(spec: GroupShape, problems: _Problems) -> None:
    if not spec.containers:
        problems.add("containers", "a container group needs at least one container")
        return
    if len(spec.containers) > rules.MAX_CONTAINERS_PER_GROUP:
        problems.add("containers", f"{len(spec.containers)} containers; a group may have at most "
                                   f"{rules.MAX_CONTAINERS_PER_GROUP}")
    first_index: dict[str, int] = {}
    for index, container in enumerate(spec.containers):
        path = f"containers[{index}]"
        name_problem = rules.check_container_name(container.name)
        problems.add(f"{path}.name", name_problem)
        if not name_problem:
            if container.name in first_index:
                problems.add(f"{path}.name", f"duplicate container name '{container.name}' "
                                             f"(also containers[{first_index[container.name]}])")
            first_index.setdefault(container.name, index)
        problems.add(f"{path}.image", rules.check_image(container.image))
        if container.command is not None:
            problems.add(f"{path}.command", rules.check_command(container.command))
        _check_ports(container.ports, f"{path}.ports", problems)
        _check_env(container, path, problems)
    _check_resources(spec, problems)


def _check_resources(spec: GroupShape, problems: _Problems) -> None:
    cpu_ok = memory_ok = True
    for index, container in enumerate(spec.containers):
        cpu_problem = rules.check_cpu(container.cpu)
        memory_problem = rules.check_memory_gb(container.memory_gb)
        problems.add(f"containers[{index}].cpu", cpu_problem)
        problems.add(f"containers[{index}].memory_gb", memory_problem)
        cpu_ok = cpu_ok and cpu_problem is None
        memory_ok = memory_ok and memory_problem is None
    # Totals and limits only make sense once every request is a number.
    if cpu_ok:
        total_cpu = spec.total_cpu
        if total_cpu > rules.MAX_GROUP_CPU + 1e-9:
            problems.add("cpu", f"the containers request {total_cpu:g} cores in total; a group may have at most "
                                f"{rules.MAX_GROUP_CPU:g}")
        for index, container in enumerate(spec.containers):
            if container.cpu_limit is not None:
                problems.add(f"containers[{index}].cpu_limit",
                             rules.check_limit(container.cpu_limit, float(container.cpu), total_cpu, "cores"))
    if memory_ok:
        total_memory = spec.total_memory_gb
        if total_memory > rules.MAX_GROUP_MEMORY_GB + 1e-9:
            problems.add("memory_gb", f"the containers request {total_memory:g} GB in total; a group may have at "
                                      f"most {rules.MAX_GROUP_MEMORY_GB:g} GB")
        for index, container in enumerate(spec.containers):
            if container.memory_limit_gb is not None:
                problems.add(f"containers[{index}].memory_limit_gb",
                             rules.check_limit(container.memory_limit_gb, float(container.memory_gb),
                                               total_memory, "GB"))


def _check_ports(ports: list[PortSpec], path: str, problems: _Problems) -> None:
    seen: dict[tuple[Any, str], int] = {}
    for index, port in enumerate(ports):
        message = rules.check_port(port.port) or rules.check_protocol(port.protocol)
        key = (port.port, port.protocol)
        if not message and key in seen:
            message = f"{port} is listed twice (also {path}[{seen[key]}])"
        seen.setdefault(key, index)
        problems.add(f"{path}[{index}]", message)


def _check_env(container: ContainerSpec, path: str, problems: _Problems) -> None:
    first_index: dict[str, int] = {}
    for index, variable in enumerate(container.env):
        var_path = f"{path}.env[{index}]"
        name_problem = rules.check_env_name(variable.name)
        problems.add(f"{var_path}.name", name_problem)
        if not name_problem:
            if variable.name in first_index:
                problems.add(f"{var_path}.name", f"duplicate environment variable '{variable.name}' "
                                                 f"(also env[{first_index[variable.name]}])")
            first_index.setdefault(variable.name, index)
        if not isinstance(variable.value, (str, Secret)):
            problems.add(f"{var_path}.value", "must be text")
        elif variable.secure and _is_placeholder(variable.value):
            problems.add(f"{var_path}.value", f"secure value of '{variable.name}' is still the export "
                                              "placeholder; fill in the real value")


def _check_network(spec: GroupShape, problems: _Problems) -> None:
    if spec.ip_address_type is not None:
        problems.add("ip_address_type", rules.check_ip_address_type(spec.ip_address_type))
    if spec.dns_name_label is not None:
        problems.add("dns_name_label", rules.check_dns_label(spec.dns_name_label))
        if spec.ip_address_type is None:
            problems.add("dns_name_label", "a DNS name label needs an IP address: set ip_address_type to Public")
    ports = spec.effective_ports()
    if spec.ip_address_type is None:
        if spec.ports:
            problems.add("ports", "group ports need an IP address: set ip_address_type to Public")
        return
    if not ports:
        problems.add("ports", "an IP address needs at least one port; give the group or a container a port")
        return
    if len(ports) > rules.MAX_PORTS_PER_IP:
        problems.add("ports", f"{len(ports)} ports; an IP address may expose at most {rules.MAX_PORTS_PER_IP}")
    _check_ports(ports, "ports", problems)
    # ACI has no port mapping: a group port reaches the container listening on the same port.
    exposed = {(p.port, p.protocol) for c in spec.containers for p in c.ports}
    for index, port in enumerate(ports):
        if f"ports[{index}]" not in problems and (port.port, port.protocol) not in exposed:
            problems.add(f"ports[{index}]", f"{port} is not exposed by any container; add it to a container's ports")


def _check_registries(spec: GroupShape, problems: _Problems) -> None:
    for index, credential in enumerate(spec.registry_credentials):
        path = f"registry_credentials[{index}]"
        if not credential.server or any(ch.isspace() for ch in credential.server):
            problems.add(f"{path}.server", "a registry login server such as myregistry.azurecr.io is required")
        if credential.identity is not None or credential.identity_url is not None:
            continue  # [A2] a managed identity logs in instead of a username and password
        if not credential.username:
            problems.add(f"{path}.username", "is required (or log in with an identity: --acr-identity)")
        if not credential.password:
            problems.add(f"{path}.password", "is required")
        elif _is_placeholder(credential.password):
            problems.add(f"{path}.password", "is still the export placeholder; fill in the real password")


def _is_placeholder(value: str | Secret) -> bool:

    return is_placeholder(reveal(value))


# -- per-field checks for the form (one source of truth: rules.py) -----------------------------------------


def _check_ports_text(text: str) -> str | None:

    try:
        parse_ports(text)
    except InvalidInput as error:
        return "; ".join(error.problems.values())
    return None


def _check_env_pair(text: str) -> str | None:

    try:
        (name, _value), = parse_env_pairs([text])
    except InvalidInput as error:
        return next(iter(error.problems.values()))
    return rules.check_env_name(name)


def _check_command_line(text: str) -> str | None:

    if not text.strip():
        return None  # empty means "the image's default command"
    try:
        return rules.check_command(command_from_line(text))
    except InvalidInput as error:
        return next(iter(error.problems.values()))


def _optional(check: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    return lambda value: None if value in (None, "") else check(value)


FIELD_KINDS: dict[str, Callable[[Any], str | None]] = {
    "group_name": rules.check_group_name,
    "container_name": rules.check_container_name,
    "resource_group": rules.check_resource_group_name,
    "dns_name_label": _optional(rules.check_dns_label),
    "env_name": rules.check_env_name,
    "env_pair": _check_env_pair,
    "image": rules.check_image,
    "cpu": rules.check_cpu,
    "memory_gb": rules.check_memory_gb,
    "port": rules.check_port,
    "ports": _check_ports_text,
    "protocol": rules.check_protocol,
    "command": _optional(rules.check_command),
    "command_line": _check_command_line,
    "restart_policy": rules.check_restart_policy,
    "os_type": rules.check_os_type,
    "ip_address_type": _optional(rules.check_ip_address_type),
}


def validate_field(kind: str, value: Any) -> str | None:
    """The message for one field as the user types (``None`` when fine), e.g. ``validate_field("cpu", "0")``.

    ``kind`` is one of ``FIELD_KINDS``: the same checks ``problems()`` applies to a whole spec.
    """
    try:
        check = FIELD_KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown field kind {kind!r}; expected one of {', '.join(FIELD_KINDS)}") from None
    return check(value)
