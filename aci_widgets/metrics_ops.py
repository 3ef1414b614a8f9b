"""Container group metrics from Azure Monitor: ``session.metrics(name, since="1h", interval="1m")``.

Client: ``azure-mgmt-monitor``'s ``MonitorManagementClient`` (``metrics.list``, api-version 2024-02-01),
built with the session's credential, TLS verification, retry policy and ARM endpoint. It takes any ARM
``base_url``, so the emulator and Azure are one code path, it is small (one api-version since 7.0, no new
transitive dependencies) and it is what ``az monitor metrics list`` uses. ``azure-monitor-query`` was not
chosen: since 2.0 its metrics clients moved out (``azure-monitor-querymetrics``), and ``MetricsClient``
talks to the regional ``metrics.monitor.azure.com`` data plane, not to an ARM endpoint.

The answer is a long DataFrame ``time, container, metric, value``: CpuUsage in millicores and MemoryUsage in
bytes per container (the ``containerName`` dimension), the two network metrics per group (Azure gives them
no dimension; ``container`` is empty).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .arm_calls import ArmCalls
from .errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

CONTAINER_METRICS = ("CpuUsage", "MemoryUsage")
GROUP_METRICS = ("NetworkBytesReceivedPerSecond", "NetworkBytesTransmittedPerSecond")
ALL_METRICS = CONTAINER_METRICS + GROUP_METRICS
AGGREGATIONS = ("average", "minimum", "maximum")
# Azure Monitor's time grains for container groups, by the short form the magic takes.
GRAINS = {"1m": "PT1M", "5m": "PT5M", "15m": "PT15M", "30m": "PT30M", "1h": "PT1H", "6h": "PT6H", "12h": "PT12H"}
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
COLUMNS = ["time", "container", "metric", "value"]


def parse_since(text: str | float | timedelta) -> timedelta:
    """``"1h"``, ``"30m"``, ``"2d"``, ``"90s"``, a number of seconds or a timedelta -> timedelta (max 30 days)."""
    if isinstance(text, timedelta):
        span = text
    elif isinstance(text, (int, float)) and not isinstance(text, bool):
        span = timedelta(seconds=float(text))
    else:
        match = _SPAN.match(str(text))
        if not match:
            raise InvalidInput({"since": f"{text!r}: a span such as 90s, 30m, 1h or 2d"})
        span = timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()])
    if span <= timedelta(0) or span > timedelta(days=30):
        raise InvalidInput({"since": f"{text!r}: more than 0 and at most 30 days"})
    return span


def parse_interval(text: str) -> str:
    grain = GRAINS.get(str(text).strip().lower()) or (str(text).upper() if str(text).upper() in GRAINS.values()
                                                      else None)
    if grain is None:
        raise InvalidInput({"interval": f"{text!r}: one of Azure Monitor's time grains: {', '.join(GRAINS)}"})
    return grain


class MetricsOperations:
    """``metrics`` over one connection (offered as ``Session.metrics``)."""

    def __init__(self, calls: ArmCalls) -> None:
        self.calls = calls
        self._client: Any = None

    def monitor_client(self) -> Any:
        """The ``MonitorManagementClient`` for this connection (built once)."""
        if self._client is None:
            from azure.mgmt.monitor import MonitorManagementClient

            from .exec_ops import _verify_of

            ci = self.calls.ci
            config = ci._config
            self._client = MonitorManagementClient(
                config.credential, self.calls.connection.subscription_id, base_url=ci._client._base_url,
                credential_scopes=list(config.credential_scopes), connection_verify=_verify_of(ci),
                retry_policy=config.retry_policy)
        return self._client

    def metrics(self, name: str, *, resource_group: str | None = None, since: str | float | timedelta = "1h",
                interval: str = "1m", metrics: Sequence[str] = ALL_METRICS, aggregation: str = "average",
                end: datetime | None = None) -> pd.DataFrame:
        """The group's metrics over the last ``since``, one row per (time, container, metric)."""
        import pandas as pd

        rg = self.calls.resource_group(resource_group)
        span = parse_since(since)
        grain = parse_interval(interval)
        if aggregation.lower() not in AGGREGATIONS:
            raise InvalidInput({"aggregation": f"{aggregation!r}: one of {', '.join(AGGREGATIONS)}"})
        unknown = [m for m in metrics if m not in ALL_METRICS]
        if unknown:
            raise InvalidInput({"metrics": f"{unknown[0]!r}: one of {', '.join(ALL_METRICS)}"})
        finish = (end or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
        timespan = f"{(finish - span).strftime('%Y-%m-%dT%H:%M:%SZ')}/{finish.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        resource = self.calls.group_path(rg, name).lstrip("/")
        rows: list[tuple[Any, str, str, float]] = []
        client = self.monitor_client()
        for names, by_container in (([m for m in metrics if m in CONTAINER_METRICS], True),
                                    ([m for m in metrics if m in GROUP_METRICS], False)):
            if not names:
                continue
            with self.calls.errors(f"metrics of {name}"):
                answer = client.metrics.list(resource, timespan=timespan, interval=grain,
                                             metricnames=",".join(names), aggregation=aggregation.capitalize(),
                                             filter="containerName eq '*'" if by_container else None)
            rows.extend(_rows(answer, aggregation.lower()))
        frame = pd.DataFrame(rows, columns=COLUMNS)
        if not frame.empty:
            frame["time"] = pd.to_datetime(frame["time"], utc=True)
            frame = frame.sort_values(["metric", "container", "time"], kind="stable").reset_index(drop=True)
        return frame


def _rows(answer: Any, aggregation: str) -> list[tuple[Any, str, str, float]]:
    rows = []
    for metric in answer.value or []:
        metric_name = metric.name.value
        for series in metric.timeseries or []:
            container = ""
            for item in series.metadatavalues or []:
                if (item.name.value or "").lower() == "containername":
                    container = item.value or ""
            for point in series.data or []:
                value = getattr(point, aggregation, None)
                if value is not None:
                    rows.append((point.time_stamp, container, metric_name, float(value)))
    return rows
