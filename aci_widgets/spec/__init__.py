"""Container-group specs: the model (``group.py``, ``parts.py``), its checks (``checks.py``), ARM JSON in and
out (``arm.py``) and the YAML / Python / ``az`` formats (``formats.py``).

Imports stand in one direction: ``parts`` <- ``checks``, ``arm`` <- ``group`` <- ``formats``. The public names
are re-exported here; ``formats`` (and with it PyYAML) loads only when one of its names is asked for.
"""

from __future__ import annotations

from typing import Any

from .checks import FIELD_KINDS, validate_field
from .group import GroupSpec
from .parts import (
    ContainerSpec,
    EnvVar,
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

__all__ = [
    "FIELD_KINDS",
    "ContainerSpec",
    "EnvVar",
    "GroupSpec",
    "PortSpec",
    "RegistryCredential",
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
