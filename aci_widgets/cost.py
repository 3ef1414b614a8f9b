"""Estimated cost of container groups: ACI bills per second of the group's requested vCPU and GB.

The default prices are Linux pay-as-you-go list prices for East US, as quoted by third-party write-ups that
cite https://azure.microsoft.com/pricing/details/container-instances/ (read 2026-11; the official page could
not be read from here, and some sources give $0.0000125 per vCPU-second). They are estimates: set your own
with ``set_prices()`` (or ``%config AciMagics.price_per_vcpu_second``) for your region, currency and offer.

The meter runs from the start of the group's first container to the end of its last one (or now, while it
runs); a stopped group costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any


@dataclass(frozen=True)
class PriceTable:
    per_vcpu_second: float = 0.0000135
    per_gb_second: float = 0.0000015
    currency: str = "USD"
    source: str = "ACI Linux pay-as-you-go list price, East US, as cited from azure.microsoft.com (2026-11)"

    def cost(self, cpu: float, memory_gb: float, seconds: float) -> float:
        return max(0.0, seconds) * (cpu * self.per_vcpu_second + memory_gb * self.per_gb_second)


_prices = PriceTable()


def prices() -> PriceTable:
    return _prices


def set_prices(*, per_vcpu_second: float | None = None, per_gb_second: float | None = None,
               currency: str | None = None, source: str = "set by the user") -> PriceTable:
    """Replace the price table used by every estimate (sweeps, ``%aci list --cost``, the browser)."""
    global _prices
    changes: dict[str, Any] = {"source": source}
    for key, value in (("per_vcpu_second", per_vcpu_second), ("per_gb_second", per_gb_second)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                from .errors import InvalidInput

                raise InvalidInput({key: f"{value!r} must be a price of 0 or more per second"})
            changes[key] = float(value)
    if currency:
        changes["currency"] = currency
    _prices = replace(_prices, **changes)
    return _prices


def _parse_time(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def running_seconds(group: Mapping[str, Any], now: datetime | None = None) -> float:
    """Seconds from the first container start to the last finish (or ``now`` while any container runs)."""
    now = now or datetime.now(timezone.utc)
    starts: list[datetime] = []
    ends: list[datetime] = []
    running = False
    for container in (group.get("properties") or {}).get("containers", []):
        current = ((container.get("properties") or {}).get("instanceView") or {}).get("currentState") or {}
        start = _parse_time(current.get("startTime"))
        if start is None:
            continue
        starts.append(start)
        finish = _parse_time(current.get("finishTime"))
        if current.get("state") == "Running" or finish is None:
            running = True
        else:
            ends.append(finish)
    if not starts:
        return 0.0
    end = now if running or not ends else max(ends)
    return max(0.0, (end - min(starts)).total_seconds())


def requested(group: Mapping[str, Any]) -> tuple[float, float]:
    """The group's total requested (vCPU, GB)."""
    cpu = memory = 0.0
    for container in (group.get("properties") or {}).get("containers", []):
        requests = (((container.get("properties") or {}).get("resources") or {}).get("requests") or {})
        cpu += float(requests.get("cpu") or 0)
        memory += float(requests.get("memoryInGB") or 0)
    return cpu, memory


def estimate_group_cost(group: Mapping[str, Any], *, table: PriceTable | None = None,
                        now: datetime | None = None) -> float:
    """Estimated cost so far of a group from a GET (needs the instance view's start and finish times)."""
    cpu, memory = requested(group)
    return (table or _prices).cost(cpu, memory, running_seconds(group, now))
