"""Display text for the parts of a group beyond containers and ports (issue 18), read from raw ARM JSON for the
DataFrames and the detail view: volumes, mounts, identity, subnet, sku. Never a secret: only names, kinds and
ids (a gitRepo URL is shown without its user:token part)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_EMPTY: Mapping[str, Any] = {}
_KINDS = (("azureFile", "azureFile"), ("emptyDir", "emptyDir"), ("secret", "secret"), ("gitRepo", "gitRepo"))


def volumes_text(props: Mapping[str, Any]) -> str:
    """``"outputs (azureFile outputs@acct), work (emptyDir)"``."""
    parts = []
    for volume in props.get("volumes") or ():
        if not isinstance(volume, Mapping):
            continue
        kind = next((label for key, label in _KINDS if volume.get(key) is not None), "?")
        detail = ""
        if kind == "azureFile":
            share = volume.get("azureFile") or _EMPTY
            detail = f" {share.get('shareName') or '?'}@{share.get('storageAccountName') or '?'}"
        elif kind == "gitRepo":
            detail = " " + _without_userinfo(str((volume.get("gitRepo") or _EMPTY).get("repository") or ""))
        parts.append(f"{volume.get('name') or '?'} ({kind}{detail})")
    return ", ".join(parts)


def mounts_text(container_props: Mapping[str, Any]) -> str:
    """``"outputs:/mnt/outputs, secrets:/mnt/secrets (ro)"``."""
    return ", ".join(f"{mount.get('name') or '?'}:{mount.get('mountPath') or '?'}"
                     + (" (ro)" if mount.get("readOnly") else "")
                     for mount in container_props.get("volumeMounts") or () if isinstance(mount, Mapping))


def identity_text(group: Mapping[str, Any]) -> str:
    """``"SystemAssigned, UserAssigned: id-pull"`` (user identities by name)."""
    identity = group.get("identity") or _EMPTY
    kind = identity.get("type") or ""
    users = [str(key).rsplit("/", 1)[-1] for key in identity.get("userAssignedIdentities") or ()]
    return f"{kind}: {', '.join(users)}" if users else str(kind)


def subnet_text(props: Mapping[str, Any]) -> str:
    """``"vnet/subnet"`` of the group's subnet ids."""
    names = []
    for subnet in props.get("subnetIds") or ():
        parts = str((subnet or _EMPTY).get("id") or "").split("/")
        names.append("/".join(parts[-3::2]) if len(parts) >= 3 else "/".join(parts))
    return ", ".join(names)


def _without_userinfo(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}{sep}{host.rpartition('@')[2]}{slash}{path}" if sep else url
