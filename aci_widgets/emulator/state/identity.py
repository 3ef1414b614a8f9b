"""Managed identities as ACI answers them: generated, stable ``principalId`` / ``tenantId`` / ``clientId``.

Azure creates a service principal for a system-assigned identity when the group is created (a new one for a
new group, the same for every read and update of that group) and reports each user-assigned identity's own
ids. Here they are name-based UUIDs: the group's instance id for the system identity, the identity's ARM id
for a user-assigned one (so two groups sharing an identity report the same ids, as in Azure).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from .. import errors

_NAMESPACE = uuid.UUID("6f1f1b0e-7a3c-4b8e-9d51-3c0a1e2f4b5d")  # this emulator's own
IDENTITY_TYPES = ("SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned", "None")


def _id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(part.lower() for part in parts)))


def normalize_type(value: Any) -> str:
    """ACI's identity type (case and spacing are forgiven), or ARM's 400 for another value."""
    text = "" if value is None else str(value)
    wanted = "".join(text.split()).lower()
    for known in IDENTITY_TYPES:
        if "".join(known.split()).lower() == wanted:
            return known
    raise errors.bad_request(  # invented: the deserializer's message for a bad enum value
        "InvalidRequestContent",
        f"The request content was invalid and could not be deserialized: 'Error converting value '{text}' "
        "to type 'ResourceIdentityType'. Path 'identity.type'.'", target="identity.type")


def fill_identity(identity: Any, group_uid: str, tenant_id: str) -> dict[str, Any] | None:
    """The identity block with the ids the service computes (``identity`` as read through the schema)."""
    if not isinstance(identity, dict):
        return None
    result = copy.deepcopy(identity)
    kind = normalize_type(identity.get("type"))
    result["type"] = kind
    if "SystemAssigned" in kind:
        result["principalId"] = _id("system", group_uid)
        result["tenantId"] = tenant_id
    users = identity.get("userAssignedIdentities")
    if "UserAssigned" in kind and isinstance(users, dict):
        result["userAssignedIdentities"] = {
            key: {"principalId": _id("user-principal", key), "clientId": _id("user-client", key)}
            for key in users}
    else:
        result.pop("userAssignedIdentities", None)
    return result
