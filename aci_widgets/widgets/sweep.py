"""``SweepMonitor``: a live table of a sweep's tasks; selecting one shows the group as the browser does.

Polling is bounded: one round every ``interval`` seconds makes one get per *unfinished* task (finished
tasks are not fetched again), and the loop ends when every task has finished, when ``stop()`` or
``close()`` is called, or after ``max_duration``. The loop runs in a daemon thread and only sets widget
values. Selecting a row makes one get and shows the same detail view as ``GroupBrowser`` (with its log).
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import traitlets

from ..cost import prices
from ..results import GroupDetails
from .browser import GroupDetailView
from .grid import DataTable
from .progress import BackgroundRunner, StatusLine, one_line_error
from .render import Column, state_text

if TYPE_CHECKING:
    import pandas as pd

    from ..sweep import Sweep

COLUMNS = [
    Column("task", "task", 40),
    Column("state_shown", "state", 14),
    Column("exit_code", "exit", 5),
    Column("start", "start (UTC)", 19),
    Column("duration", "duration", 9),
    Column("cost", "est. cost", 10),
    Column("error", "error", 60),
]


def status_records(frame: pd.DataFrame, currency: str) -> list[dict[str, Any]]:
    """The sweep's status frame as table rows: state with its symbol, times and cost as short text."""
    records = []
    for row in frame.to_dict(orient="records"):
        start = row.get("start_time")
        records.append({
            "task": row["task"],
            "state_shown": state_text(str(row["state"]), row.get("exit_code")),
            "exit_code": "" if row.get("exit_code") is None or str(row.get("exit_code")) == "<NA>"
            else str(row["exit_code"]),
            "start": "" if start is None or str(start) == "NaT" else start.strftime("%Y-%m-%d %H:%M:%S"),
            "duration": f"{row['duration_s']:.1f} s",
            "cost": f"{row['cost']:.5f} {currency}",
            "error": row.get("error") or "",
        })
    return records


def summary_html(frame: pd.DataFrame, name: str, currency: str, progress: Mapping[str, Any] | None = None) -> str:
    counts = frame["state"].value_counts().to_dict() if len(frame) else {}
    parts = ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))
    total = float(frame["cost"].sum()) if len(frame) else 0.0
    text = (f"<b>sweep {name}</b>: {len(frame)} tasks ({parts or 'none'}); "
            f"estimated cost so far {total:.5f} {currency}")
    if progress:
        text += "<br>" + html.escape(progress_text(progress))
    return text


def progress_text(progress: Mapping[str, Any]) -> str:
    """"queued 400 · running 100 · done 0 · failed 0 · 12.5 rows/min · ETA 32 min" (+ what it waits for)."""
    eta = progress.get("eta_s")
    eta_text = "-" if eta is None else (f"{eta:.0f} s" if eta < 120 else f"{eta / 60:.0f} min")
    text = (f"queued {progress['queued']} · running {progress['running']} · done {progress['done']} · "
            f"failed {progress['failed']} · {progress['per_minute']:.1f} rows/min · ETA {eta_text}")
    return text + (f" · {progress['notice']}" if progress.get("notice") else "")


class SweepMonitor(widgets.VBox):
    """Watch a :class:`~aci_widgets.sweep.Sweep`: live table, totals, details of a selected task, cancel."""

    selected = traitlets.Unicode("", help="Name of the selected task group; '' for none.")

    def __init__(self, sweep: Sweep, *, interval: float | None = None, max_duration: float = 3600.0,
                 autostart: bool = True) -> None:
        self.sweep = sweep
        self.interval = interval if interval is not None else max(0.5, sweep.session.tuning.poll_interval)
        self.max_duration = max_duration
        self.summary = widgets.HTML(value="")
        self.progress_bar = widgets.IntProgress(value=0, min=0, max=max(1, len(sweep.tasks)),
                                                description="finished", layout=widgets.Layout(width="60%"))
        self.table = DataTable(empty_message="no tasks")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.cancel_button = widgets.Button(description="Cancel running", icon="stop", button_style="warning")
        self.status_line = StatusLine()
        self.runner = BackgroundRunner(self.status_line)
        self.detail = widgets.VBox()
        self._detail_view: GroupDetailView | None = None
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._lock = threading.Lock()
        super().__init__(children=[
            self.summary, self.progress_bar, self.table,
            widgets.HBox([self.refresh_button, self.cancel_button]), self.status_line.widget, self.detail,
        ])
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.table.observe(self._on_table_value, names="value")
        self.observe(self._on_selected, names="selected")
        self._render()
        if autostart and not sweep.finished:
            self.start()

    # -- polling ----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the bounded polling loop (a no-op if it already runs)."""
        if self._poller is not None and self._poller.is_alive():
            return
        self._stop.clear()
        self._poller = threading.Thread(target=self._poll, name="aci-widgets sweep monitor", daemon=True)
        self._poller.start()

    def stop(self) -> None:
        self._stop.set()

    @property
    def polling(self) -> bool:
        return self._poller is not None and self._poller.is_alive()

    def _poll(self) -> None:
        started = time.monotonic()
        while not self._stop.is_set() and time.monotonic() - started < self.max_duration:
            try:
                self.sweep.refresh()
                self._render()
            except Exception as exc:  # noqa: BLE001 - shown, not lost in the thread
                self.status_line.error(f"refresh failed: {one_line_error(exc)}")
            if self.sweep.finished:
                self.status_line.ok("every task has finished")
                return
            self._stop.wait(self.interval * self.sweep.session.calls.slowdown())  # slower as ARM's reads fall

    def wait(self, timeout: float | None = None) -> bool:
        """Block until polling ended (every task finished); True if it did within ``timeout``."""
        if self._poller is not None:
            self._poller.join(timeout)
        self.runner.wait(timeout)
        return not self.polling

    def refresh(self) -> None:
        self.runner.run("refresh", lambda _progress: self.sweep.refresh(), on_success=lambda _r: self._render())

    def cancel(self) -> None:
        self.runner.run("cancel", lambda _progress: self.sweep.cancel(), on_success=lambda _r: self._render())

    # -- rendering --------------------------------------------------------------------------------------
    def _render(self) -> None:
        with self._lock:
            frame = self.sweep.status()
            currency = prices().currency
            self.summary.value = summary_html(frame, self.sweep.name, currency, self.sweep.counts())
            self.progress_bar.value = sum(task.finished for task in self.sweep.tasks)
            self.table.set_rows(status_records(frame, currency), COLUMNS, key="task", filter_field="task")
            self.cancel_button.disabled = self.sweep.finished  # nothing left to cancel (issue 17 case 5)

    def _on_table_value(self, change: Mapping[str, Any]) -> None:
        self.selected = change["new"] or ""

    def _on_selected(self, change: Mapping[str, Any]) -> None:
        name = change["new"]
        if self.table.value != name:
            self.table.value = name
        if not name:
            self._show(None)
            return
        session, rg = self.sweep.session, self.sweep.resource_group
        task = next((t for t in self.sweep.tasks if t.name == name), None)
        if task is not None and task.deleted and task.json:
            # Its group is gone; what was collected is shown without a request (sweep.logs(name) has its log).
            self._show(GroupDetails(task.json), logs=False)
            self.status_line.ok(f"{name}: group deleted after its log was collected; sweep.logs('{name}') shows it")
            return
        self.runner.run(f"show {name}", lambda _p: GroupDetails(session.get_group_json(name, rg)),
                        on_success=self._show)

    def _show(self, details: GroupDetails | None, logs: bool | None = None) -> None:
        if self._detail_view is not None:
            self._detail_view.close()
        self._detail_view = GroupDetailView(details, self.sweep.session, logs=logs) if details is not None else None
        self.detail.children = [self._detail_view] if self._detail_view is not None else []

    def close(self) -> None:
        self.stop()
        if self._detail_view is not None:
            self._detail_view.close()
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = repr(self.sweep)
        return bundle
