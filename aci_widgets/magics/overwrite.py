"""``%aci create`` over a group that exists: say so and what changes (``--no-overwrite`` refuses instead),
and ``%aci delete`` that checks the names exist before it asks.

Azure's create is a PUT: over an existing group it replaces it (ports, IP, DNS label gone unless given
again). ``az container create`` says nothing; we name what the group was and what the new spec changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..session import Session
    from ..spec import GroupSpec


def group_summary(body: Mapping[str, Any]) -> dict[str, str]:
    """The fields a user recognises a group by, as text, from an ARM body (a get answer or a PUT body)."""
    props = body.get("properties") or {}
    containers = props.get("containers") or []
    ip = props.get("ipAddress") or {}

    def each(read: Any) -> str:
        return ", ".join(str(read(c.get("properties") or {})) for c in containers)

    def requests(p: Mapping[str, Any]) -> Mapping[str, Any]:
        return (p.get("resources") or {}).get("requests") or {}

    summary = {
        "image": each(lambda p: p.get("image", "")),
        "cpu": each(lambda p: _num(requests(p).get("cpu"))),
        "memory": each(lambda p: f"{_num(requests(p).get('memoryInGB'))} GB"),
        "command": each(lambda p: " ".join(p.get("command") or []) or "(image default)"),
        "env": each(lambda p: " ".join(sorted(e.get("name", "") for e in p.get("environmentVariables") or []))
                    or "(none)"),
        "restart policy": str(props.get("restartPolicy") or ""),
        "ports": ", ".join(str(p.get("port")) for p in ip.get("ports") or []) or "(none)",
        "ip": str(ip.get("type") or "(none)") + (f" {ip['ip']}" if ip.get("ip") else ""),
        "dns label": str(ip.get("dnsNameLabel") or "(none)"),
    }
    if len(containers) > 1:
        summary["containers"] = ", ".join(str(c.get("name", "")) for c in containers)
    return summary


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "-" if value is None else str(value)


def update_notice(name: str, old: Mapping[str, Any], spec: GroupSpec) -> str:
    """``updating existing group web (was: image X, ports 80, ip Public 127.0.0.1, dns label web); changes:
    ports 80 -> (none), ip Public -> (none)``."""
    before = group_summary(old)
    after = group_summary(spec.to_arm())
    was = ", ".join(f"{key} {before[key]}" for key in ("image", "ports", "ip", "dns label"))
    before["ip"] = before["ip"].split(" ")[0]  # the new spec has no address yet: compare the IP type
    changes = [f"{key} {value} -> {after.get(key, '(none)')}" for key, value in before.items()
               if after.get(key, "(none)") != value]
    changes += [f"{key} {value}" for key, value in after.items() if key not in before]
    changed = "; changes: " + ", ".join(changes) if changes else "; nothing changes"
    return f"aci: updating existing group {name} (was: {was}){changed}"


def existing_group(current: Session, name: str, resource_group: str | None) -> dict[str, Any] | None:
    """The group's get answer, or None when it (or its resource group) does not exist yet."""
    from ..errors import NotFound

    try:
        return current.get_group_json(name, resource_group)
    except NotFound:
        return None


def missing_groups(current: Session, names: list[str], resource_group: str | None) -> list[str]:
    """Those of ``names`` that do not exist (one list request; a missing resource group raises NotFound)."""
    existing = {str(g.get("name", "")).lower() for g in current.list_group_json(resource_group)}
    return [name for name in names if name.lower() not in existing]
