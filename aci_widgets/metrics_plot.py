"""Plot a metrics DataFrame (``session.metrics``): CPU in millicores and memory in MiB over time, per container.

A ``matplotlib.figure.Figure`` built without pyplot (no global state, no GUI backend, safe on a background
thread); ``png_bytes`` renders it for a widget or ``IPython.display.Image``.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

PANELS = (("CpuUsage", "CPU (millicores)", 1.0), ("MemoryUsage", "Memory (MiB)", 1.0 / 2**20))


def value_limits(values: Any) -> tuple[float, float]:
    """(0, top) with 15% headroom over the largest value, so that a line at its maximum (a container at its
    CPU quota) is not drawn on the frame's top edge; (0, 1) with no values."""
    top = float(values.max()) if values is not None and len(values) else 0.0
    return 0.0, (top * 1.15 if top > 0 else 1.0)


def plot_metrics(frame: pd.DataFrame, *, title: str | None = None, width: float = 8.0, height: float = 4.5,
                 window: tuple[Any, Any] | None = None) -> Figure:
    """``window`` (start, end) fixes the time axis (the query's span); else it spans the points, at least
    two minutes around a single one."""
    from datetime import timedelta

    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots(2, 1, sharex=True)
    for ax, (metric, label, scale) in zip(axes, PANELS):
        rows = frame[frame["metric"] == metric] if not frame.empty else frame
        for container, part in (rows.groupby("container", sort=True) if not rows.empty else []):
            ax.plot(part["time"], part["value"] * scale, marker="o", markersize=3, label=container or "group")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.set_ylim(*value_limits(rows["value"] * scale if not rows.empty else None))
        if ax.get_lines():
            ax.legend(loc="upper left", fontsize="small")
        else:
            ax.text(0.5, 0.5, "no samples yet", transform=ax.transAxes, ha="center", va="center", alpha=0.6)
    if window is None and frame.empty:
        import pandas

        now = pandas.Timestamp.now(tz="UTC")  # not 1970: an empty axis still shows the last minutes
        window = (now - timedelta(minutes=10), now)
    if window is None and not frame.empty:
        first, last = frame["time"].min(), frame["time"].max()
        window = (first - timedelta(minutes=1), last + timedelta(minutes=1)) if first == last else (first, last)
    if window is not None:
        axes[-1].set_xlim(*window)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    if title:
        figure.suptitle(title)
    return figure


def png_bytes(figure: Any, dpi: int = 80) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
