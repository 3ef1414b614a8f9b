"""The group's managed identity (top-level ``identity``): system-assigned, user-assigned (resource ids), both.

``identity.userAssignedIdentities`` is a map from resource id to ``{}`` on a PUT; its values
(``principalId``, ``clientId``) and the system identity's ``principalId``/``tenantId`` are read-only, so the
spec holds the ids alone. ``type`` is a closed enum: ``SystemAssigned``, ``UserAssigned``,
``SystemAssigned, UserAssigned``, ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import Reader, kind_of, unknown_key

IDENTITY_TYPES = ("SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned", "None")
USER_IDENTITY_RE = re.compile(
    r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.managedidentity/userassignedidentities/[^/]+$",
    re.IGNORECASE)
_READ_ONLY = ("principalid", "tenantid")
_OUTSIDE: tuple[str, ...] = ()


@dataclass
class IdentitySpec:
    type: str | None = None
    user_assigned: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.type = canonical_identity_type(self.type) or self.type

    @property
    def system(self) -> bool:
        return bool(self.type) and "SystemAssigned" in str(self.type)


def canonical_identity_type(value: Any) -> str | None:
    """``systemassigned,userassigned`` -> ``SystemAssigned, UserAssigned``; None if it is none of the four."""
    if value is None:
        return None
    squashed = re.sub(r"\s+", "", str(value)).lower()
    for choice in IDENTITY_TYPES:
        if choice.replace(" ", "").lower() == squashed:
            return choice
    return None


def identity_from_flags(values: list[str] | None) -> IdentitySpec | None:
    """az's ``--assign-identity [system] [ID ...]``: no value is the system identity."""
    if values is None:
        return None
    ids = [value for value in values if value.lower() != "[system]"]
    system = not values or len(ids) < len(values)
    kind = "SystemAssigned, UserAssigned" if system and ids else ("SystemAssigned" if system else "UserAssigned")
    return IdentitySpec(kind, ids)


def read_identity(obj: Any, reader: Reader, path: str = "identity") -> IdentitySpec | None:
    if obj is None:
        return None
    if not isinstance(obj, Mapping):
        reader.problem(path, f"must be a mapping with type and userAssignedIdentities, not {kind_of(obj)}")
        return None
    spec = IdentitySpec()
    for raw_key, value in obj.items():
        key = str(raw_key).lower().replace("_", "")
        if key == "type":
            spec.type = canonical_identity_type(value) or reader.text(value, f"{path}.type")
        elif key == "userassignedidentities":
            if value is None:
                continue
            if not isinstance(value, Mapping):
                reader.problem(f"{path}.userAssignedIdentities", "must be a mapping of identity resource ids "
                                                                 f"to {{}}, not {kind_of(value)}")
                continue
            spec.user_assigned = [str(identity) for identity in value]
        elif key in _READ_ONLY:
            continue
        elif reader.strict:
            reader.problem(f"{path}.{raw_key}", unknown_key(str(raw_key), ["type", "userAssignedIdentities"]))
        else:
            spec.extra[str(raw_key)] = value
    return spec


def write_identity(spec: IdentitySpec) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if spec.type is not None:
        body["type"] = spec.type
    if spec.user_assigned:
        body["userAssignedIdentities"] = {identity: {} for identity in spec.user_assigned}
    body.update(spec.extra)
    return body
