"""``GroupSpec``: the one model of a container group that flags, YAML, the form and the exports share.

A ``GroupSpec`` is what the user *asked for*, before any request. It is deliberately lenient to build
(the form builds one from half-typed fields) and strict to check: ``spec.problems()`` returns every
problem at once, keyed by a field path such as ``containers[1].env[2].name``, and ``spec.validate()``
raises ``InvalidInput`` with them. The rules themselves live in ``rules.py`` (shared with the emulator);
``checks.py`` walks the spec and names the fields.

Secure environment values and registry passwords are ``Secret`` objects: they print as ``********``
everywhere, and only ``spec.to_arm()`` (the request body) carries the real values.

The parts (containers, ports, env) are in ``parts.py``; reading and writing ARM JSON in ``arm.py``; YAML,
Python and ``az`` exports in ``formats.py``. This module imports neither pandas, ipywidgets nor the Azure SDK.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import rules
from ..errors import InvalidInput
from ..secrets import Secret
from .advanced import (
    LABEL_SCOPES,
    PRIORITIES,
    SKUS,
    Confidential,
    Diagnostics,
    DnsConfig,
    Encryption,
    Extension,
    SubnetId,
)
from .arm import group_fields_from_arm, spec_to_arm
from .checks import group_problems
from .identity import IdentitySpec
from .parts import (
    ContainerSpec,
    EnvVar,
    InitContainerSpec,
    PortSpec,
    RegistryCredential,
    _coerce_port,
    _env_items,
    _number_or_zero,
    _registry_list,
    command_from_line,
    is_placeholder,
)
from .secret_fields import carried_keys, fill_missing_secrets, masked_copy, secret_values
from .volumes import VolumeSpec


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
    # the rest of the 2023-05-01 group (spec/volumes.py, spec/identity.py, spec/advanced.py)
    init_containers: list[InitContainerSpec] = field(default_factory=list)
    volumes: list[VolumeSpec] = field(default_factory=list)
    identity: IdentitySpec | None = None
    zones: list[str] | None = None
    sku: str | None = None
    priority: str | None = None
    subnet_ids: list[SubnetId] | None = None
    dns_config: DnsConfig | None = None
    diagnostics: Diagnostics | None = None
    encryption: Encryption | None = None
    extensions: list[Extension] | None = None
    confidential: Confidential | None = None
    dns_name_label_scope: str | None = None
    ip: str | None = None
    # keys of other api-versions (``properties.networkProfile``...), carried through unchanged
    extra: dict[str, Any] = field(default_factory=dict)

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
        self.volumes = list(self.volumes or [])
        self.init_containers = list(self.init_containers or [])
        if self.sku is not None:
            self.sku = rules.canonical_choice(self.sku, SKUS) or self.sku
        if self.priority is not None:
            self.priority = rules.canonical_choice(self.priority, PRIORITIES) or self.priority
        if self.dns_name_label_scope is not None:
            self.dns_name_label_scope = (rules.canonical_choice(self.dns_name_label_scope, LABEL_SCOPES)
                                         or self.dns_name_label_scope)

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
        ``provisioningState``, ``fqdn``...) are ignored; unknown keys raise ``InvalidInput`` naming the key
        (with a "did you mean").
        Keys of another api-version (``networkProfile``, ``configMap``...) are carried through unchanged.
        ``name`` is used when the body has none.
        """
        return cls(**group_fields_from_arm(body, name=name, resource_group=resource_group, strict=True))

    @classmethod
    def from_group_json(cls, group: Mapping[str, Any]) -> GroupSpec:
        """The spec of a live group from its GET (or list) JSON.

        The resource group comes from the ``id``. Secure values and registry passwords are never returned
        by ACI, so they hold placeholders (``<secure value for NAME>``) that ``problems()`` asks to fill in.
        So do the other secrets ACI never returns (storage account keys, secret volume values, the workspace
        key). Keys of other api-versions are carried through unchanged in ``extra`` (see ``carried()``).
        """
        return fill_missing_secrets(cls(**group_fields_from_arm(group, strict=False)))

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
        return [value for value in secret_values(self) if value and not is_placeholder(value)]

    def without_secrets(self) -> GroupSpec:
        """A copy whose secrets are export placeholders (what a YAML export reads back as): secure values,
        registry passwords, storage account keys, secret volume values, the workspace key, protected settings
        and a token in a gitRepo URL."""
        return masked_copy(self)

    def carried(self) -> list[str]:
        """The paths of the keys carried through unchanged (outside api-version 2023-05-01)."""
        return carried_keys(self)

    # -- validation ----------------------------------------------------------------------------------
    def problems(self) -> dict[str, str]:
        """Every problem at once: ``{field path: one-line message}``; empty when the spec can be sent."""
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
        return spec_to_arm(self, location_default=location_default)
