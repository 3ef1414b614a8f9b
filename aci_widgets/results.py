"""What operations hand back: a group's details, a task's result, a handle on a running create.

Each keeps the raw ARM JSON it came from (fast, exact) and builds DataFrames and SDK models only when
asked. ``_repr_html_`` makes them readable in a notebook without widgets.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

TERMINAL_GROUP_STATES = ("Succeeded", "Failed", "Stopped")


@dataclass(frozen=True)
class Progress:
    """One progress report of a long operation: shown as a line by the magics, a label by the widgets."""

    operation: str
    name: str
    elapsed: float
    status: str
    done: bool = False

    def line(self) -> str:
        mark = "done" if self.done else "…"
        return f"{self.operation} {self.name}: {self.status} ({self.elapsed:.1f} s) {mark}"


ProgressCallback = Callable[[Progress], None]


@dataclass
class GroupDetails:
    """One container group as a single GET returned it."""

    json: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.json.get("name", ""))

    @property
    def resource_group(self) -> str:
        parts = str(self.json.get("id", "")).split("/")
        lowered = [p.lower() for p in parts]
        return parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered else ""

    @property
    def properties_json(self) -> dict[str, Any]:
        return self.json.get("properties") or {}

    @property
    def provisioning_state(self) -> str:
        return str(self.properties_json.get("provisioningState", ""))

    @property
    def state(self) -> str:
        """The group's instance-view state (Running, Succeeded, Failed, Stopped, Pending)."""
        return str((self.properties_json.get("instanceView") or {}).get("state", ""))

    @property
    def containers(self) -> list[str]:
        return [c.get("name", "") for c in self.properties_json.get("containers", [])]

    @property
    def fqdn(self) -> str | None:
        return (self.properties_json.get("ipAddress") or {}).get("fqdn")

    @property
    def exit_codes(self) -> dict[str, int | None]:
        return self._exit_codes("containers")

    @property
    def init_exit_codes(self) -> dict[str, int | None]:
        """The init containers' exit codes (None while one runs or has not run): a non-zero one stopped the group."""
        return self._exit_codes("initContainers")

    def _exit_codes(self, kind: str) -> dict[str, int | None]:
        codes: dict[str, int | None] = {}
        for container in self.properties_json.get(kind, []):
            current = ((container.get("properties") or {}).get("instanceView") or {}).get("currentState") or {}
            codes[container.get("name", "")] = current.get("exitCode")
        return codes

    @cached_property
    def instance_view(self) -> pd.DataFrame:
        from .frames import instance_view_frame

        return instance_view_frame(self.json)

    @cached_property
    def events(self) -> pd.DataFrame:
        from .frames import events_frame

        return events_frame(self.json)

    @cached_property
    def properties(self) -> dict[str, str]:
        from .frames import group_properties

        return group_properties(self.json)

    @cached_property
    def model(self) -> Any:
        """The SDK's ``ContainerGroup`` model of the same JSON (built on first use: models are slow)."""
        from azure.mgmt.containerinstance.models import ContainerGroup

        return ContainerGroup.deserialize(self.json)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
            f"{html.escape(str(v))}</td></tr>"
            for k, v in self.properties.items()
        )
        return (
            f"<h4>{html.escape(self.name)}</h4><table>{rows}</table>"
            f"<h5>Containers</h5>{self.instance_view.to_html(index=False)}"
            f"<h5>Events</h5>{self.events.to_html(index=False)}"
        )

    def __repr__(self) -> str:
        return f"<GroupDetails {self.name}: provisioning {self.provisioning_state}, state {self.state or '-'}>"


@dataclass
class TaskResult:
    """A task group that ran to the end (or to the timeout): its state, exit codes and logs."""

    details: GroupDetails
    logs: dict[str, str]
    elapsed: float
    timed_out: bool = False

    @property
    def name(self) -> str:
        return self.details.name

    @property
    def state(self) -> str:
        return self.details.state

    @property
    def exit_codes(self) -> dict[str, int | None]:
        return self.details.exit_codes

    @property
    def succeeded(self) -> bool:
        return self.state == "Succeeded"

    def failure_reasons(self) -> dict[str, str]:
        """For each container (init containers too) that failed (exit code not 0): the message of its last
        Warning event (``exec: "nosuchbinary": no such file or directory``), else its state's detail status
        (``Error``), so the reason sits beside the exit code."""
        reasons: dict[str, str] = {}
        codes = {**self.details.init_exit_codes, **self.exit_codes}
        failed = [c for c, code in codes.items() if code not in (0, None)]
        if not failed:
            return reasons
        events, view = self.details.events, self.details.instance_view
        for container in failed:
            warnings = events[(events["container"] == container) & (events["type"] == "Warning")
                              & (events["message"].astype(str).str.strip() != "")] if len(events) else events
            detail = view[view["container"] == container]["detail_status"] if len(view) else view
            if len(warnings):
                reasons[container] = str(warnings.iloc[-1]["message"]).strip()
            elif len(detail) and str(detail.iloc[0]).strip():
                reasons[container] = str(detail.iloc[0]).strip()
        return reasons

    def summary(self) -> str:
        reasons = self.failure_reasons()
        failed_init = [(c, code) for c, code in self.details.init_exit_codes.items() if code not in (0, None)]
        codes = ", ".join([f"init {c}: exit {code}" + (f" ({reasons[c]})" if c in reasons else "")
                           for c, code in failed_init] +
                          [f"{c}: exit {code}" + (f" ({reasons[c]})" if c in reasons else "")
                           for c, code in self.exit_codes.items()])
        late = " (still running at the timeout)" if self.timed_out else ""
        return f"{self.name} {self.state or 'unknown'} in {self.elapsed:.1f} s{late}; {codes}"

    def _repr_html_(self) -> str:
        parts = [f"<p><b>{html.escape(self.summary())}</b></p>"]
        for container, text in self.logs.items():
            parts.append(f"<h5>logs of {html.escape(container)}</h5><pre>{html.escape(text)}</pre>")
        return "".join(parts)

    def __repr__(self) -> str:
        return f"<TaskResult {self.summary()}>"


@dataclass
class CreateHandle:
    """A create that is still running (``wait=False``): ``wait()`` blocks and returns the details."""

    finish: Callable[..., GroupDetails]  # (handle, *, timeout, progress): the operations' wait loop
    name: str
    resource_group: str
    poller: Any
    started: float = field(default_factory=time.monotonic)

    def done(self) -> bool:
        return bool(self.poller.done())

    def status(self) -> str:
        return str(self.poller.status())

    def wait(self, timeout: float | None = None, progress: ProgressCallback | None = None) -> GroupDetails:
        return self.finish(self, timeout=timeout, progress=progress)

    def __repr__(self) -> str:
        return f"<CreateHandle {self.name}: {self.status()} after {time.monotonic() - self.started:.1f} s>"
