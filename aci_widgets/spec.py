"""Container-group specs: the one model that flags, YAML, the form and the exports share.

A ``GroupSpec`` is what the user *asked for*, before any request. It is deliberately lenient to build
(the form builds one from half-typed fields) and strict to check: ``spec.problems()`` returns every
problem at once, keyed by a field path such as ``containers[1].env[2].name``, and ``spec.validate()``
raises ``InvalidInput`` with them. The rules themselves live in ``rules.py`` (shared with the emulator);
this module only walks the spec and names the fields.

Secure environment values and registry passwords are ``Secret`` objects: they print as ``********``
everywhere, and only ``spec.to_arm()`` (the request body) carries the real values.

Reading and writing the ARM JSON body is in ``spec_arm.py``; YAML, Python and ``az`` exports are in
``spec_io.py``. This module imports neither pandas, ipywidgets nor the Azure SDK.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from . import rules
from .errors import InvalidInput
from .secrets import Secret, reveal

__all__ = [
    "FIELD_KINDS",
    "ContainerSpec",
    "EnvVar",
    "GroupSpec",
    "PortSpec",
    "RegistryCredential",
    "command_from_line",
    "is_placeholder",
    "parse_env_pairs",
    "parse_ports",
    "password_placeholder",
    "secure_placeholder",
    "shell_command",
    "validate_field",
]

# What exports write instead of a secret; a spec that still holds one is refused by problems().
_PLACEHOLDER_RE = re.compile(r"^<(secure value|password) for .*>$")


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
    """Credentials for a private registry; the password is a ``Secret``."""

    server: str
    username: str
    password: Secret = field(default_factory=lambda: Secret(""))

    def __post_init__(self) -> None:
        if not isinstance(self.password, Secret):
            self.password = Secret(str(self.password if self.password is not None else ""))


@dataclass
class GroupSpec:
    """A container group to create.

    ``ports`` are the group's (public or private IP) ports. When an IP is requested and no group ports are
    given, they default to the union of the containers' ports (filled in at construction and again by
    ``effective_ports()`` for specs edited afterwards).
    """

    name: str
    containers: list[ContainerSpec] = field(default_factory=list)
    resource_group: str | None = None
    location: str | None = None
    os_type: str = "Linux"
    restart_policy: str = "Always"
    ip_address_type: str | None = None
    dns_name_label: str | None = None
    ports: list[PortSpec] = field(default_factory=list)
    registry_credentials: list[RegistryCredential] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # ARM enums are case-insensitive; keep the canonical spelling so exports and equality are stable.
        self.os_type = rules.canonical_choice(self.os_type, rules.OS_TYPES) or self.os_type
        self.restart_policy = rules.canonical_choice(self.restart_policy, rules.RESTART_POLICIES) or self.restart_policy
        if not self.ip_address_type:
            self.ip_address_type = None
        else:
            self.ip_address_type = (rules.canonical_choice(self.ip_address_type, rules.IP_ADDRESS_TYPES)
                                    or self.ip_address_type)
        self.dns_name_label = self.dns_name_label or None
        self.ports = [_coerce_port(port) for port in self.ports]
        if self.ip_address_type and not self.ports:
            self.ports = self.container_ports()
        self.tags = dict(self.tags or {})

    # -- constructors ----------------------------------------------------------------------------------
    @classmethod
    def single(
        cls,
        name: str,
        image: str,
        *,
        cpu: float = rules.DEFAULT_CPU,
        memory_gb: float = rules.DEFAULT_MEMORY_GB,
        ports: Iterable[int | str | PortSpec] = (),
        protocol: str = "TCP",
        command: str | Sequence[str] | None = None,
        env: Mapping[str, str] | Iterable[str] | None = None,
        secure_env: Mapping[str, str] | Iterable[str] | None = None,
        restart_policy: str = "Always",
        ip_address: str | None = None,
        dns_name_label: str | None = None,
        os_type: str = "Linux",
        location: str | None = None,
        resource_group: str | None = None,
        registry: RegistryCredential | Mapping[str, str] | Sequence[str] | None = None,
        container_name: str | None = None,
        cpu_limit: float | None = None,
        memory_limit_gb: float | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> GroupSpec:
        """A one-container group, the way ``az container create`` (and ``%aci create``) builds it from flags.

        As in az: the container is named after the group unless ``container_name`` is given; a string
        ``command`` is split like ``--command-line`` (shlex); ``env``/``secure_env`` take a mapping or
        ``"KEY=VALUE"`` strings; a ``dns_name_label`` implies a ``Public`` IP; an IP without ports exposes
        port 80. Raises ``InvalidInput`` only for input that cannot be parsed at all (``"KEY"`` without
        ``=``, an unclosed quote); everything else is reported by ``problems()``.
        """
        if isinstance(command, str):
            command = command_from_line(command) if command.strip() else None
        elif command is not None:
            command = list(command)
        if dns_name_label and not ip_address:
            ip_address = "Public"
        port_list = [_coerce_port(port, protocol) for port in ports]
        if ip_address and not port_list:
            port_list = [PortSpec(80, protocol)]
        variables = [EnvVar(k, v) for k, v in _env_items(env, "env")]
        variables += [EnvVar(k, Secret(v), secure=True) for k, v in _env_items(secure_env, "secure_env")]
        container = ContainerSpec(
            name=container_name or name, image=image, cpu=cpu, memory_gb=memory_gb, ports=port_list,
            command=command, env=variables, cpu_limit=cpu_limit, memory_limit_gb=memory_limit_gb,
        )
        return cls(
            name=name, containers=[container], resource_group=resource_group, location=location,
            os_type=os_type, restart_policy=restart_policy, ip_address_type=ip_address,
            dns_name_label=dns_name_label, registry_credentials=_registry_list(registry), tags=dict(tags or {}),
        )

    @classmethod
    def from_dict(cls, body: Mapping[str, Any], *, name: str | None = None,
                  resource_group: str | None = None) -> GroupSpec:
        """A spec from an ARM body or a parsed ``az container create --file`` YAML document.

        Keys match without regard to case, as az/ARM read them. Read-only keys (``id``, ``instanceView``,
        ``provisioningState``, ``fqdn``...) are ignored; unknown keys, and ACI features this model does not
        cover (volumes, probes...), raise ``InvalidInput`` naming the key (with a "did you mean").
        ``name`` is used when the body has none.
        """
        from .spec_arm import spec_from_arm

        return spec_from_arm(body, name=name, resource_group=resource_group, strict=True)

    @classmethod
    def from_group_json(cls, group: Mapping[str, Any]) -> GroupSpec:
        """The spec of a live group from its GET (or list) JSON.

        The resource group comes from the ``id``. Secure values and registry passwords are never returned
        by ACI, so they hold placeholders (``<secure value for NAME>``) that ``problems()`` asks to fill in.
        Features outside this model (volumes, probes, identity...) are dropped.
        """
        from .spec_arm import spec_from_arm

        return spec_from_arm(group, strict=False)

    # -- derived values ------------------------------------------------------------------------------
    def container_ports(self) -> list[PortSpec]:
        """The union of the containers' ports, in order of first appearance."""
        seen: dict[tuple[Any, str], PortSpec] = {}
        for container in self.containers:
            for port in container.ports:
                seen.setdefault((port.port, port.protocol), PortSpec(port.port, port.protocol))
        return list(seen.values())

    def effective_ports(self) -> list[PortSpec]:
        """The group ports a request will carry: ``ports``, or the containers' ports when an IP is requested."""
        if self.ports:
            return list(self.ports)
        return self.container_ports() if self.ip_address_type else []

    @property
    def total_cpu(self) -> float:
        return sum(_number_or_zero(c.cpu) for c in self.containers)

    @property
    def total_memory_gb(self) -> float:
        return sum(_number_or_zero(c.memory_gb) for c in self.containers)

    def secrets(self) -> list[str]:
        """Every secret value in the spec, revealed: pass them to ``secrets.redact`` before showing foreign text."""
        values = [reveal(var.value) for c in self.containers for var in c.env if var.secure]
        values += [cred.password.reveal() for cred in self.registry_credentials]
        return [value for value in values if value and not is_placeholder(value)]

    def without_secrets(self) -> GroupSpec:
        """A copy whose secure values and passwords are export placeholders (what a YAML export reads back as)."""
        containers = [
            replace(c, env=[replace(v, value=Secret(secure_placeholder(v.name))) if v.secure else replace(v)
                            for v in c.env])
            for c in self.containers
        ]
        credentials = [replace(r, password=Secret(password_placeholder(r.server))) for r in self.registry_credentials]
        return replace(self, containers=containers, registry_credentials=credentials)

    # -- validation ----------------------------------------------------------------------------------
    def problems(self) -> dict[str, str]:
        """Every problem at once: ``{field path: one-line message}``; empty when the spec can be sent."""
        from .spec_checks import group_problems

        return group_problems(self)

    def validate(self) -> GroupSpec:
        """Raise ``InvalidInput`` with every problem, or return the spec unchanged."""
        problems = self.problems()
        if problems:
            raise InvalidInput(problems)
        return self

    # -- output --------------------------------------------------------------------------------------
    def to_arm(self, location_default: str = rules.DEFAULT_LOCATION) -> dict[str, Any]:
        """The ARM PUT body (ACI's camelCase JSON), with the REAL secret values: it is what gets sent."""
        from .spec_arm import spec_to_arm

        return spec_to_arm(self, location_default=location_default)


# -- parsing helpers shared by the magics, the form and spec_io -----------------------------------------------


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


# The per-field checks the form calls as the user types live with the whole-spec checks.
from .spec_checks import FIELD_KINDS, validate_field  # noqa: E402
