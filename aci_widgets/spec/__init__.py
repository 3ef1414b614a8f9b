"""Container-group specs: the model (``group.py``, ``parts.py``, and for the rest of the 2023-05-01 group
``volumes.py``, ``identity.py``, ``advanced.py`` on the declarative ``model.py``), its checks (``checks.py``,
``checks_more.py``), ARM JSON in and out (``arm.py``, ``arm_parts.py``), secrets (``secret_fields.py``), az's
flags (``az_flags.py``) and the YAML / Python / ``az`` formats (``formats.py``).

Imports stand in one direction: ``parts`` <- ``checks``, ``arm`` <- ``group`` <- ``formats``. The public names
are re-exported here; ``formats`` (and with it PyYAML) loads only when one of its names is asked for.
"""

from __future__ import annotations

from typing import Any

from .advanced import (
    Confidential,
    Diagnostics,
    DnsConfig,
    Encryption,
    Extension,
    GpuSpec,
    LogAnalytics,
    ProbeSpec,
    SecurityContext,
    SubnetId,
)
from .checks import FIELD_KINDS, validate_field
from .group import GroupSpec
from .identity import IdentitySpec
from .parts import (
    ContainerSpec,
    EnvVar,
    InitContainerSpec,
    PortSpec,
    RegistryCredential,
    command_from_line,
    is_placeholder,
    parse_env_pairs,
    parse_ports,
    password_placeholder,
    secure_placeholder,
    shell_command,
)
from .volumes import AzureFileVolume, GitRepoVolume, VolumeMount, VolumeSpec

__all__ = [
    "FIELD_KINDS",
    "AzureFileVolume",
    "Confidential",
    "ContainerSpec",
    "Diagnostics",
    "DnsConfig",
    "Encryption",
    "EnvVar",
    "Extension",
    "GitRepoVolume",
    "GpuSpec",
    "GroupSpec",
    "IdentitySpec",
    "InitContainerSpec",
    "LogAnalytics",
    "PortSpec",
    "ProbeSpec",
    "RegistryCredential",
    "SecurityContext",
    "SubnetId",
    "VolumeMount",
    "VolumeSpec",
    "command_from_line",
    "export_group_yaml",
    "is_placeholder",
    "parse_env_pairs",
    "parse_ports",
    "password_placeholder",
    "secure_placeholder",
    "shell_command",
    "spec_from_yaml",
    "to_az",
    "to_python",
    "to_yaml",
    "validate_field",
]

_FORMATS = {"spec_from_yaml", "to_yaml", "to_python", "to_az", "export_group_yaml"}


def __getattr__(name: str) -> Any:
    if name in _FORMATS:
        from . import formats

        return getattr(formats, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
