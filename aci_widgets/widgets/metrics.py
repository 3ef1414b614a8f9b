"""``MetricsView``: CPU and memory of a group over time (the browser's "Metrics" tab), updating while it runs.

One ``session.metrics`` query (Azure Monitor's metrics API, two requests: container and group metrics) per
refresh, drawn by ``metrics_plot`` into a PNG ``Image`` widget (no front-end code: works offline). It starts
only when asked (``start()``: the browser calls it when the tab is first shown), refreshes every
``interval`` seconds on a daemon thread (5 s locally, 60 s on Azure, whose metrics arrive per minute) and
stops after ``max_seconds``, when the group no longer runs, or on ``close()``. The thread only sets widget
values.
"""

from __future__ import annotations

import html
import threading
import time
from typing import TYPE_CHECKING

import ipywidgets as widgets

from .progress import one_line_error

if TYPE_CHECKING:
    import pandas as pd

    from ..session import Session

MAX_SECONDS = 1800.0


class MetricsView(widgets.VBox):
    def __init__(self, session: Session, group: str, *, resource_group: str | None = None, since: str = "30m",
                 interval_seconds: float | None = None, max_seconds: float = MAX_SECONDS) -> None:
        self.session = session
        self.group = group
        self.resource_group = resource_group
        self.since = since
        self.interval = interval_seconds or (5.0 if getattr(session, "backend", "") == "local" else 60.0)
        self.max_seconds = max_seconds
        self.frame: pd.DataFrame | None = None
        self.refreshes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="720px"))
        self.status = widgets.HTML(value="<span style='color:#666'>metrics load when this tab is shown</span>")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh",
                                             layout=widgets.Layout(width="100px"))
        self.refresh_button.on_click(lambda _b: threading.Thread(target=self.refresh, daemon=True).start())
        super().__init__(children=[widgets.HBox([self.refresh_button, self.status]), self.image])
        self.add_class("aci-metrics")

    def start(self) -> None:
        """Load now, then keep refreshing in the background (a no-op once started)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="aci-metrics-view", daemon=True)
        self._thread.start()

    def refresh(self) -> bool:
        """One query and a new plot; False (and the reason in the status) when it failed."""
        from datetime import datetime, timezone

        from ..metrics_ops import parse_since
        from ..metrics_plot import plot_metrics, png_bytes

        try:
            end = datetime.now(timezone.utc)
            frame = self.session.metrics(self.group, resource_group=self.resource_group, since=self.since,
                                         interval="1m", end=end)
            window = (end - parse_since(self.since), end)
            self.image.value = png_bytes(plot_metrics(frame, title=f"{self.group}: last {self.since}",
                                                      window=window))
        except Exception as error:  # noqa: BLE001 - shown, never raised on a thread
            self.status.value = f"<span style='color:#b00'>{html.escape(one_line_error(error))}</span>"
            return False
        self.frame = frame
        self.refreshes += 1
        stamp = time.strftime("%H:%M:%S")
        self.status.value = (f"<span style='color:#666'>{len(frame)} points, updated {stamp}; every "
                             f"{self.interval:g} s while the group runs</span>")
        return True

    def _loop(self) -> None:
        started = time.monotonic()
        while not self._stop.is_set():
            self.refresh()
            if time.monotonic() - started > self.max_seconds or not self._running():
                break
            self._stop.wait(self.interval)

    def _running(self) -> bool:
        try:
            return self.session.get_group(self.group, self.resource_group).state in ("Running", "Pending")
        except Exception:  # noqa: BLE001 - a group that went away: nothing more to draw
            return False

    def close(self) -> None:
        self._stop.set()
        super().close()
