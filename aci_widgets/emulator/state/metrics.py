"""Azure Monitor metrics for container groups: a sampler thread and the ``Microsoft.Insights/metrics`` answers.

The sampler reads every running container's counters (the engine's ``stats_many``: Docker's stats API, or the
process engine's cgroups and ``/proc``) every ``SAMPLE_SECONDS`` and keeps derived points for
``RETENTION_SECONDS``: CPU in millicores (the CPU seconds used since the previous reading, per second, times
1000), resident memory in bytes, network bytes per second. A query groups the points of its ``timespan`` into
``interval`` buckets aligned to the interval (as Azure Monitor's time grains are) and aggregates each bucket:
average, minimum, maximum, total, count.

Names, units, descriptions, dimensions and time grains are Azure's for
``Microsoft.ContainerInstance/containerGroups`` (the supported-metrics reference): CpuUsage (Count,
millicores) and MemoryUsage (Bytes) by ``containerName``; NetworkBytesReceivedPerSecond and
NetworkBytesTransmittedPerSecond (Bytes) with no dimension.
"""

from __future__ import annotations

import bisect
import logging
import math
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from .. import errors

logger = logging.getLogger(__name__)

SAMPLE_SECONDS = float(os.environ.get("ACI_EMULATOR_METRICS_SAMPLE_SECONDS") or 1.0)
RETENTION_SECONDS = 3 * 3600.0
NAMESPACE = "Microsoft.ContainerInstance/containerGroups"
TIME_GRAINS = ("PT1M", "PT5M", "PT15M", "PT30M", "PT1H", "PT6H", "PT12H")
AGGREGATIONS = ("average", "minimum", "maximum", "total", "count")
# name -> (display name, unit, description, by container, index in a point)
METRICS: dict[str, tuple[str, str, str, bool, int]] = {
    "CpuUsage": ("CPU Usage", "Count", "CPU usage on all cores in millicores.", True, 1),
    "MemoryUsage": ("Memory Usage", "Bytes", "Total memory usage in byte.", True, 2),
    "NetworkBytesReceivedPerSecond": ("Network Bytes Received Per Second", "Bytes",
                                      "The network bytes received per second.", False, 3),
    "NetworkBytesTransmittedPerSecond": ("Network Bytes Transmitted Per Second", "Bytes",
                                         "The network bytes transmitted per second.", False, 4),
}
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE)
_FILTER_VALUE = re.compile(r"containername\s+eq\s+'([^']*)'", re.IGNORECASE)

Point = tuple[float, float, float, float, float]  # (time, cpu millicores, memory bytes, rx/s, tx/s)
Targets = Callable[[], dict[tuple[str, str], str]]  # (group uid, container) -> run uid


class MetricsSampler:
    """Samples running containers in a daemon thread; ``points(group_uid, container)`` answers queries."""

    def __init__(self, targets: Targets, stats: Callable[[dict[tuple[str, str], str]], dict[Any, Any]],
                 period: float = SAMPLE_SECONDS, retention: float = RETENTION_SECONDS):
        self._targets = targets
        self._stats = stats
        self.period = period
        self.retention = retention
        self._lock = threading.Lock()
        self._points: dict[tuple[str, str], deque[Point]] = {}
        self._last: dict[tuple[str, str], Any] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="aci-emulator-metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def points(self, group_uid: str, container: str) -> list[Point]:
        with self._lock:
            return list(self._points.get((group_uid, container), ()))

    def sample_once(self) -> None:
        targets = self._targets()
        readings = self._stats(targets) if targets else {}
        with self._lock:
            for key, reading in readings.items():
                previous = self._last.get(key)
                self._last[key] = reading
                if previous is None or reading.at <= previous.at:
                    continue
                elapsed = reading.at - previous.at
                cpu = max(0.0, reading.cpu_seconds_total - previous.cpu_seconds_total) / elapsed * 1000.0
                rx = max(0, reading.rx_bytes - previous.rx_bytes) / elapsed
                tx = max(0, reading.tx_bytes - previous.tx_bytes) / elapsed
                series = self._points.setdefault(key, deque())
                series.append((reading.at, cpu, float(reading.memory_bytes), rx, tx))
            for key in [k for k in self._last if k not in readings]:
                del self._last[key]  # stopped: the next run starts a new counter
            horizon = time.time() - self.retention
            for key in list(self._points):
                series = self._points[key]
                while series and series[0][0] < horizon:
                    series.popleft()
                if not series:
                    del self._points[key]

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.sample_once()
            except Exception:  # a sampler must survive anything /proc or the engine throws; never prints
                logger.exception("metrics sampling failed")


# -- queries ---------------------------------------------------------------------------------------
def parse_duration(text: str) -> float | None:
    match = _DURATION.match(text.strip())
    if not match or text.strip().upper() in ("P", "PT"):
        return None
    days, hours, minutes, seconds = match.groups()
    return (int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0))


def _parse_time(text: str) -> float | None:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def parse_timespan(text: str | None, now: float) -> tuple[float, float]:
    """Azure Monitor's ``timespan``: ``start/end``, ``start/duration``, ``duration/end`` or a duration back
    from now; the last hour when absent."""
    if not text:
        return now - 3600, now
    first, sep, second = text.partition("/")
    if not sep:
        span = parse_duration(first)
        if span is not None:
            return now - span, now
    else:
        start, end = _parse_time(first), _parse_time(second)
        if start is not None and end is None and parse_duration(second) is not None:
            end = start + (parse_duration(second) or 0)
        if end is not None and start is None and parse_duration(first) is not None:
            start = end - (parse_duration(first) or 0)
        if start is not None and end is not None and start < end:
            return start, end
    raise errors.bad_request("BadRequest", f"Invalid timespan '{text}'. Expected 'start/end' (ISO 8601).",
                             target="timespan")


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def metric_definitions(resource_id: str) -> dict[str, Any]:
    value = []
    for name, (display, unit, description, by_container, _) in METRICS.items():
        value.append({
            "id": f"{resource_id}/providers/microsoft.insights/metricdefinitions/{name}",
            "resourceId": resource_id, "namespace": NAMESPACE,
            "name": {"value": name, "localizedValue": display}, "displayDescription": description,
            "isDimensionRequired": False, "unit": unit, "primaryAggregationType": "Average",
            "supportedAggregationTypes": ["Maximum", "Minimum", "Average"],
            "metricAvailabilities": [{"timeGrain": grain, "retention": "P93D"} for grain in TIME_GRAINS],
            "dimensions": [{"value": "containerName", "localizedValue": "containerName"}] if by_container else [],
        })
    return {"value": value}


def _aggregate(values: list[float], wanted: list[str]) -> dict[str, float]:
    if not values:
        return {}
    result: dict[str, float] = {}
    for aggregation in wanted:
        if aggregation == "average":
            result["average"] = sum(values) / len(values)
        elif aggregation == "minimum":
            result["minimum"] = min(values)
        elif aggregation == "maximum":
            result["maximum"] = max(values)
        elif aggregation == "total":
            result["total"] = sum(values)
        elif aggregation == "count":
            result["count"] = float(len(values))
    return result


def _series(points: list[Point], index: int, buckets: list[float], grain: float, wanted: list[str]) -> list[dict]:
    times = [point[0] for point in points]
    data = []
    for start in buckets:
        low, high = bisect.bisect_left(times, start), bisect.bisect_left(times, start + grain)
        entry: dict[str, Any] = {"timeStamp": _iso(start)}
        entry.update(_aggregate([points[i][index] for i in range(low, high)], wanted))
        data.append(entry)
    return data


def query_metrics(resource_id: str, location: str, points_by_container: dict[str, list[Point]],
                  query: dict[str, str], now: float | None = None) -> dict[str, Any]:
    """The answer to ``GET {group id}/providers/Microsoft.Insights/metrics`` for these containers' points."""
    now = time.time() if now is None else now
    start, end = parse_timespan(query.get("timespan"), now)
    interval_text = (query.get("interval") or "PT1M").upper()
    grain = parse_duration(interval_text)
    if interval_text not in TIME_GRAINS or grain is None:
        raise errors.bad_request("BadRequest", f"Invalid time grain '{query.get('interval')}'. Supported time "
                                 f"grains: {', '.join(TIME_GRAINS)}.", target="interval")
    names = [n.strip() for n in (query.get("metricnames") or "CpuUsage").split(",") if n.strip()]
    by_lower = {name.lower(): name for name in METRICS}
    unknown = [n for n in names if n.lower() not in by_lower]
    if unknown:
        raise errors.bad_request("BadRequest", "Failed to find metric configuration for provider: "
                                 f"Microsoft.ContainerInstance, resource Type: containerGroups, metric: {unknown[0]}, "
                                 f"Valid metrics: {','.join(METRICS)}", target="metricnames")
    wanted = [a.strip().lower() for a in (query.get("aggregation") or "average").split(",") if a.strip()]
    if any(a not in AGGREGATIONS for a in wanted):
        raise errors.bad_request("BadRequest", f"Invalid aggregation '{query.get('aggregation')}'. Valid values: "
                                 "Average, Minimum, Maximum, Total, Count.", target="aggregation")
    filter_text = query.get("$filter") or ""
    selected = _FILTER_VALUE.findall(filter_text)
    first_bucket = math.floor(start / grain) * grain
    buckets = [first_bucket + i * grain for i in range(math.ceil((end - first_bucket) / grain))]
    window = {name: [p for p in points if start <= p[0] < end] for name, points in points_by_container.items()}
    value = []
    for name in (by_lower[n.lower()] for n in names):
        display, unit, description, by_container, index = METRICS[name]
        timeseries = []
        if by_container and selected:
            for container in sorted(window):
                if "*" in selected or container in selected:
                    timeseries.append({"metadatavalues": [{"name": {"value": "containername",
                                                                    "localizedValue": "containername"},
                                                           "value": container}],
                                       "data": _series(window[container], index, buckets, grain, wanted)})
        else:
            merged = sorted(p for points in window.values() for p in points)
            timeseries.append({"metadatavalues": [], "data": _series(merged, index, buckets, grain, wanted)})
        value.append({"id": f"{resource_id}/providers/Microsoft.Insights/metrics/{name}",
                      "type": "Microsoft.Insights/metrics",
                      "name": {"value": name, "localizedValue": display}, "displayDescription": description,
                      "unit": unit, "timeseries": timeseries, "errorCode": "Success"})
    return {"cost": 0, "timespan": f"{_iso(start)}/{_iso(end)}", "interval": interval_text, "value": value,
            "namespace": NAMESPACE, "resourceregion": location}
