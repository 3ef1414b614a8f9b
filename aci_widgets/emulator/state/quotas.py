"""Azure's limits as the emulator enforces them: the settings, ACI's quotas and its create/delete rates.

Facts (reference runtime-and-limits.md section 3, aci-rest-behaviour.md): per region and subscription ACI
allows 100 standard container groups and 100 standard cores (spot, dedicated and GPU cores have their own
quotas), 100 creates per 5 minutes and 300 per hour, and the same for deletes. Over a quota ACI answers 400
``ContainerGroupQuotaReached``: "Resource type 'Microsoft.ContainerInstance/containerGroups' container group
quota 'StandardCores' exceeded in region 'eastus'. Limit: '10', Usage: '10' Requested: '1'.".

``LimitSettings`` holds every number (Azure's by default), the on/off switch and the time scale (0.01 makes
5 minutes 3 s and a refill of 25/s 2,500/s). ``Quotas`` is called by ``Backend`` under its lock on each
create and delete; the ARM token buckets live in ``arm/throttling.py`` and read the same settings.
"""

from __future__ import annotations

import collections
import math
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ArmError

LIMITS_ENV = "ACI_EMULATOR_LIMITS"
TIME_SCALE_ENV = "ACI_EMULATOR_TIME_SCALE"
LIMIT_VALUES_ENV = "ACI_EMULATOR_LIMIT_VALUES"
MODES = ("azure", "off")

# name -> (Azure's default, what it is); the quota names are those ACI's usage API and errors use.
QUOTAS: dict[str, tuple[float, str]] = {
    "ContainerGroups": (100, "Container Groups"),
    "StandardCores": (100, "Standard Cores"),
    "StandardSpotCores": (100, "Standard Spot Cores"),
    "DedicatedCores": (0, "Dedicated Cores"),
    "K80Cores": (0, "K80 GPU Cores"),
    "P100Cores": (0, "P100 GPU Cores"),
    "V100Cores": (0, "V100 GPU Cores"),
}
RATES: dict[str, tuple[float, float, str]] = {  # name -> (Azure's default, window in Azure seconds, what)
    "ContainerGroupCreatesPer5Minutes": (100, 300, "creates"),
    "ContainerGroupCreatesPerHour": (300, 3600, "creates"),
    "ContainerGroupDeletesPer5Minutes": (100, 300, "deletes"),
    "ContainerGroupDeletesPerHour": (300, 3600, "deletes"),
}
BUCKETS: dict[str, tuple[float, float]] = {  # ARM's token buckets: operation type -> (size, refill per s)
    "reads": (250, 25),
    "writes": (200, 10),
    "deletes": (200, 10),
}


def azure_defaults() -> dict[str, float]:
    values = {name: float(default) for name, (default, _what) in QUOTAS.items()}
    values.update({name: float(default) for name, (default, _window, _what) in RATES.items()})
    for kind, (size, refill) in BUCKETS.items():
        values[f"{kind}Bucket"] = float(size)
        values[f"{kind}RefillPerSecond"] = float(refill)
    return values


LIMIT_NAMES = tuple(azure_defaults())


@dataclass
class LimitSettings:
    """Every limit, on or off, and the time scale for windows and refill rates."""

    enabled: bool = True
    time_scale: float = 1.0
    values: dict[str, float] = field(default_factory=azure_defaults)

    @classmethod
    def from_env(cls, mode: str | None = None, time_scale: float | None = None,
                 overrides: Iterable[str] = ()) -> LimitSettings:
        """From flags (when given) else ``ACI_EMULATOR_LIMITS`` / ``_TIME_SCALE`` / ``_LIMIT_VALUES``."""
        mode_text = mode if mode is not None else (os.environ.get(LIMITS_ENV) or "azure")
        if mode_text.strip().lower() not in MODES:
            raise ValueError(f"limits {mode_text!r} must be one of {', '.join(MODES)}")
        scale_text = os.environ.get(TIME_SCALE_ENV)
        scale = time_scale if time_scale is not None else (float(scale_text) if scale_text else 1.0)
        settings = cls(enabled=mode_text.strip().lower() == "azure", time_scale=check_time_scale(scale))
        pairs = list(overrides) or [p for p in (os.environ.get(LIMIT_VALUES_ENV) or "").split(",") if p.strip()]
        for pair in pairs:
            name, sep, value = pair.partition("=")
            if not sep:
                raise ValueError(f"limit {pair!r} is not NAME=VALUE (e.g. ContainerGroups=10)")
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"limit {pair!r}: {value!r} is not a number") from None
            settings.set_value(name.strip(), number)
        return settings

    def set_value(self, name: str, value: float) -> None:
        match = next((known for known in LIMIT_NAMES if known.lower() == name.lower()), None)
        if match is None:
            raise ValueError(f"unknown limit {name!r}; the limits are {', '.join(LIMIT_NAMES)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"limit {match} must be a non-negative number, not {value!r}")
        self.values[match] = float(value)

    def copy(self) -> LimitSettings:
        return LimitSettings(self.enabled, self.time_scale, dict(self.values))

    def window(self, azure_seconds: float) -> float:
        """A window of Azure's clock in this emulator's seconds."""
        return azure_seconds * self.time_scale

    def to_json(self) -> dict[str, Any]:
        return {"mode": "azure" if self.enabled else "off", "timeScale": self.time_scale,
                "values": {name: _number(value) for name, value in self.values.items()}}


def check_time_scale(scale: float) -> float:
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"the time scale must be a positive number (0.01 makes 5 minutes 3 s), not {scale!r}")
    return float(scale)


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def retry_after_text(seconds: float, time_scale: float) -> str:
    """``Retry-After`` as ARM sends it (whole seconds); fractions when the clock is scaled down."""
    if time_scale >= 1:
        return str(max(1, math.ceil(seconds)))
    return f"{max(0.001, math.ceil(seconds * 1000) / 1000):g}"


def normal_location(location: str) -> str:
    return str(location or "").replace(" ", "").lower()


def group_needs(spec: Mapping[str, Any]) -> tuple[str, float]:
    """(the cores quota a group counts against, its cores): GPU, spot, dedicated or standard."""
    props = spec.get("properties") or {}
    cores = 0.0
    gpu_sku = ""
    for container in props.get("containers") or []:
        requests = ((container.get("properties") or {}).get("resources") or {}).get("requests") or {}
        cores += float(requests.get("cpu") or 0)
        gpu = requests.get("gpu") or {}
        if isinstance(gpu, dict) and gpu.get("count"):
            gpu_sku = str(gpu.get("sku") or "K80")
    if gpu_sku:
        return f"{gpu_sku.upper()}Cores", cores
    if str(props.get("priority") or "") == "Spot":
        return "StandardSpotCores", cores
    if str(props.get("sku") or "Standard") == "Dedicated":
        return "DedicatedCores", cores
    return "StandardCores", cores


def quota_reached(quota: str, location: str, limit: float, usage: float, requested: float, *,
                  status: int = 400, retry_after: str | None = None) -> ArmError:
    error = ArmError(status, "ContainerGroupQuotaReached",
                     f"Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota "
                     f"'{quota}' exceeded in region '{location}'. Limit: '{_number(limit)}', "
                     f"Usage: '{_number(usage)}' Requested: '{_number(requested)}'.")
    if retry_after is not None:
        error.headers = {"Retry-After": retry_after}
    return error


class Quotas:
    """ACI's quotas and create/delete rates per (subscription, region), plus what a test wants to know."""

    def __init__(self, settings: LimitSettings, clock: Any = time.monotonic):
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._events: dict[tuple[str, str, str], collections.deque[float]] = {}
        self.refused: dict[str, int] = collections.Counter()
        self.peak_groups: dict[str, int] = {}

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
            self.refused.clear()
            self.peak_groups.clear()

    # -- usage -------------------------------------------------------------------------------------------
    def usage(self, specs: Iterable[Mapping[str, Any]]) -> dict[str, float]:
        """Current use of each quota by ``specs`` (the groups of one subscription and region)."""
        used = dict.fromkeys(QUOTAS, 0.0)
        for spec in specs:
            quota, cores = group_needs(spec)
            used["ContainerGroups"] += 1
            used[quota] = used.get(quota, 0.0) + cores
        return used

    def usage_json(self, specs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        used = self.usage(specs)
        return [{"id": name, "unit": "Count", "currentValue": _number(used.get(name, 0.0)),
                 "limit": _number(self.settings.values[name]), "name": {"value": name, "localizedValue": what}}
                for name, (_default, what) in QUOTAS.items()]

    # -- the create path ---------------------------------------------------------------------------------
    def check_create(self, sub: str, location: str, spec: Mapping[str, Any],
                     others: Iterable[Mapping[str, Any]], *, new: bool) -> None:
        """Raise ``ContainerGroupQuotaReached`` when ``spec`` would not fit; record a new group's create."""
        if not self.settings.enabled:
            return
        values = self.settings.values
        others = list(others)
        used = self.usage(others)
        quota, cores = group_needs(spec)
        if new and used["ContainerGroups"] + 1 > values["ContainerGroups"]:
            self._count("ContainerGroups")
            raise quota_reached("ContainerGroups", location, values["ContainerGroups"], used["ContainerGroups"], 1)
        limit = values.get(quota, 0.0)
        if used.get(quota, 0.0) + cores > limit + 1e-9:
            self._count(quota)
            raise quota_reached(quota, location, limit, used.get(quota, 0.0), cores)
        if new:
            self._take_rate(sub, location, "creates")

    def check_delete(self, sub: str, location: str) -> None:
        if self.settings.enabled:
            self._take_rate(sub, location, "deletes")

    def note_groups(self, sub: str, location: str, count: int) -> None:
        """Remember the most groups a (subscription, region) ever held at once (tests check it)."""
        key = f"{sub.lower()}/{normal_location(location)}"
        with self._lock:
            if count > self.peak_groups.get(key, 0):
                self.peak_groups[key] = count

    def _take_rate(self, sub: str, location: str, what: str) -> None:
        now = self._clock()
        key = (sub.lower(), normal_location(location), what)
        with self._lock:
            events = self._events.setdefault(key, collections.deque())
            longest = max(self.settings.window(window) for _d, window, kind in RATES.values() if kind == what)
            while events and events[0] <= now - longest:
                events.popleft()
            for name, (_default, window_seconds, kind) in RATES.items():
                if kind != what:
                    continue
                window = self.settings.window(window_seconds)
                limit = int(self.settings.values[name])
                recent = [t for t in events if t > now - window]
                if len(recent) >= limit:
                    self.refused[name] += 1
                    wait = (recent[len(recent) - limit] + window - now) if limit > 0 else window
                    raise quota_reached(name, location, limit, len(recent), 1, status=429,
                                        retry_after=retry_after_text(wait, self.settings.time_scale))
            events.append(now)

    def _count(self, quota: str) -> None:
        with self._lock:
            self.refused[quota] += 1

    def counters(self) -> dict[str, Any]:
        with self._lock:
            return {"refused": dict(self.refused), "peakGroups": dict(self.peak_groups)}
