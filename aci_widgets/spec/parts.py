"""The parts of a container-group spec: ports, environment variables, containers, registry credentials.

Value objects and the parsing helpers that the magics, the form and the exports share. ``GroupSpec``
(``group.py``) is built from them; the checks (``checks.py``) and the ARM reader/writer (``arm.py``) use them
too, and none of those three is imported from here, so the layers stand on each other in one direction.

Secure environment values and registry passwords are ``Secret`` objects: they print as ``********``.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import rules
from ..errors import InvalidInput
from ..secrets import Secret, reveal
from .advanced import GpuSpec, ProbeSpec, SecurityContext
from .volumes import VolumeMount

# What exports write instead of a secret; a spec that still holds one is refused by problems().
_PLACEHOLDER_RE = re.compile(r"^<(secure value|password) for .*>$|^<secret: .*>$"
                             r"|^<(storage account key|base64 secret|workspace key)>$")


def secret_placeholder(path: str) -> str:
    """The stand-in for any other secret, named by its field: ``<secret: volumes[outputs].azureFile...>``."""
    return f"<secret: {path}>"


def secure_placeholder(name: str) -> str:
    return f"<secure value for {name}>"


def password_placeholder(server: str) -> str:
    return f"<password for {server}>"


def is_placeholder(value: str | Secret) -> bool:
    """True for the stand-in an export writes where a secret was (``<secure value for NAME>``)."""
    return bool(_PLACEHOLDER_RE.match(reveal(value)))


# -- the model ---------------------------------------------------------------------------------------------


@dataclass
class PortSpec:
    """A port and its protocol (``TCP`` or ``UDP``)."""

    port: int
    protocol: str = "TCP"

    def __post_init__(self) -> None:
        self.protocol = rules.canonical_choice(self.protocol, rules.PROTOCOLS) or self.protocol

    def __str__(self) -> str:
        return f"{self.port}/{self.protocol}"


@dataclass
class EnvVar:
    """An environment variable. ``secure=True`` values are held as ``Secret`` (and a ``Secret`` is always secure)."""

    name: str
    value: str | Secret = ""
    secure: bool = False

    def __post_init__(self) -> None:
        if self.value is None:
            self.value = ""
        if isinstance(self.value, Secret):
            self.secure = True
        elif self.secure:
            self.value = Secret(str(self.value))


@dataclass
class ContainerSpec:
    """One container: image, resources (requests and optional limits), ports, command, environment."""

    name: str
    image: str
    cpu: float = rules.DEFAULT_CPU
    memory_gb: float = rules.DEFAULT_MEMORY_GB
    ports: list[PortSpec] = field(default_factory=list)
    command: list[str] | None = None
    env: list[EnvVar] = field(default_factory=list)
    cpu_limit: float | None = None
    memory_limit_gb: float | None = None
    volume_mounts: list[VolumeMount] | None = None
    liveness_probe: ProbeSpec | None = None
    readiness_probe: ProbeSpec | None = None
    security_context: SecurityContext | None = None
    gpu: GpuSpec | None = None
    gpu_limit: GpuSpec | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Accept the convenient spellings (ports=[80], env={"K": "V"}); anything odd stays as given
        # so that problems() can name it instead of a constructor raising halfway through a form.
        self.ports = [_coerce_port(port) for port in self.ports]
        if isinstance(self.env, Mapping):
            self.env = [EnvVar(str(name), value) for name, value in self.env.items()]
        else:
            self.env = [item if isinstance(item, EnvVar) else EnvVar(*item) for item in self.env]
        if isinstance(self.command, tuple):
            self.command = list(self.command)


@dataclass
class RegistryCredential:
    """Credentials for a private registry: a username and password (a ``Secret``), or a managed identity
    (``identity``, the resource id of one of the group's user-assigned identities, az's ``--acr-identity``)."""

    server: str
    username: str | None = None
    password: Secret | None = field(default_factory=lambda: Secret(""))
    identity: str | None = None
    identity_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.password is None and self.identity is None and self.identity_url is None:
            self.password = Secret("")
        if self.password is not None and not isinstance(self.password, Secret):
            self.password = Secret(str(self.password))


@dataclass
class InitContainerSpec:
    """An init container: runs to completion, in order, before the containers start (no ports, no resources)."""

    name: str
    image: str = ""
    command: list[str] | None = None
    env: list[EnvVar] = field(default_factory=list)
    volume_mounts: list[VolumeMount] | None = None
    security_context: SecurityContext | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.env, Mapping):
            self.env = [EnvVar(str(name), value) for name, value in self.env.items()]
        else:
            self.env = [item if isinstance(item, EnvVar) else EnvVar(*item) for item in self.env]
        if isinstance(self.command, tuple):
            self.command = list(self.command)


class GroupShape(Protocol):
    """What the checks and the ARM writer read of a group: ``GroupSpec`` has it, without their importing it."""

    name: str
    containers: list[ContainerSpec]
    resource_group: str | None
    location: str | None
    os_type: str
    restart_policy: str
    ip_address_type: str | None
    dns_name_label: str | None
    ports: list[PortSpec]
    registry_credentials: list[RegistryCredential]
    tags: dict[str, str]
    init_containers: list[InitContainerSpec]
    volumes: list[Any]
    identity: Any
    zones: list[str] | None
    sku: str | None
    priority: str | None
    subnet_ids: list[Any] | None
    dns_config: Any
    diagnostics: Any
    encryption: Any
    extensions: list[Any] | None
    confidential: Any
    dns_name_label_scope: str | None
    ip: str | None
    extra: dict[str, Any]

    def effective_ports(self) -> list[PortSpec]: ...

    @property
    def total_cpu(self) -> float: ...

    @property
    def total_memory_gb(self) -> float: ...


# -- parsing helpers shared by the magics, the form and the formats--------------------------------------------


def command_from_line(text: str) -> list[str]:
    """Split a command line the way ``az --command-line`` does: ``python -c 'print(1)'`` -> 3 arguments."""
    try:
        return shlex.split(text)
    except ValueError as error:  # "No closing quotation"
        raise InvalidInput({"command": f"cannot split {text!r}: {str(error).lower()}"}) from None


def shell_command(commands: str) -> list[str]:
    """Several commands through a shell: ``['/bin/sh', '-c', 'echo FOO && tail -f /dev/null']``."""
    return ["/bin/sh", "-c", commands]


def parse_env_pairs(pairs: Iterable[str], field: str = "env") -> list[tuple[str, str]]:
    """``["K=V", "A=b=c d"]`` -> ``[("K", "V"), ("A", "b=c d")]``: split at the first ``=`` like az.

    Raises ``InvalidInput`` naming every item without ``=`` (by position only when ``field`` is a secure one).
    """
    result: list[tuple[str, str]] = []
    bad: list[str] = []
    secure = "secure" in field
    for position, pair in enumerate(pairs, start=1):
        name, sep, value = str(pair).partition("=")
        if not sep or not name:
            # a mistyped secure pair may be the bare secret itself: name it by position, never echo it
            bad.append(f"item {position}" if secure else repr(str(pair)))
        else:
            result.append((name, value))
    if bad:
        shown = ", ".join(bad)
        raise InvalidInput({field: f"{shown}: environment variables must be in the format KEY=VALUE"})
    return result


def parse_ports(values: Iterable[int | str | PortSpec] | str, protocol: str = "TCP",
                field: str = "ports") -> list[PortSpec]:
    """``"80, 443/udp"`` or ``[80, "8080"]`` -> ``[PortSpec(80), ...]``; ``InvalidInput`` names bad entries."""
    if isinstance(values, str):
        values = [part for part in re.split(r"[,\s]+", values) if part]
    ports = [_coerce_port(value, protocol) for value in values]
    problems = {}
    for index, port in enumerate(ports):
        message = rules.check_port(port.port) or rules.check_protocol(port.protocol)
        if message:
            problems[f"{field}[{index}]"] = message
    if problems:
        raise InvalidInput(problems)
    return ports


def _coerce_port(value: Any, protocol: str = "TCP") -> PortSpec:
    """A PortSpec from 80, "80", "80/udp", (80, "UDP"), {"port": 80}; unparseable parts are kept for problems()."""
    if isinstance(value, PortSpec):
        return value
    if isinstance(value, Mapping):
        return PortSpec(_int_if_possible(value.get("port")), str(value.get("protocol") or protocol))
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return PortSpec(_int_if_possible(value[0]), str(value[1]))
    if isinstance(value, str) and "/" in value:
        number, _, proto = value.partition("/")
        return PortSpec(_int_if_possible(number.strip()), proto.strip())
    return PortSpec(_int_if_possible(value), protocol)


def _int_if_possible(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _number_or_zero(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if not math.isnan(number) and number > 0 else 0.0  # NaN and negatives count as nothing


def _env_items(env: Mapping[str, Any] | Iterable[Any] | None, field: str) -> list[tuple[str, str]]:
    if env is None:
        return []
    if isinstance(env, Mapping):
        return [(str(k), reveal(v) if isinstance(v, Secret) else str(v)) for k, v in env.items()]
    if isinstance(env, str):
        env = [env]
    items = list(env)
    pairs = [tuple(item) for item in items if isinstance(item, (tuple, list))]
    texts = [item for item in items if not isinstance(item, (tuple, list))]
    return [(str(k), str(v)) for k, v in pairs] + parse_env_pairs(texts, field)


def _registry_list(registry: Any) -> list[RegistryCredential]:
    if registry is None:
        return []
    if isinstance(registry, RegistryCredential):
        return [registry]
    if isinstance(registry, Mapping):
        return [RegistryCredential(str(registry.get("server", "")), str(registry.get("username", "")),
                                   registry.get("password", ""))]
    server, username, password = registry
    return [RegistryCredential(server, username, password)]
