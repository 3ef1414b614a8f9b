"""Pure rendering for the widgets: states as colour + symbol, frames and properties as HTML, list rows
as fixed-width text.

No ipywidgets here: every function takes plain data (mappings, DataFrames, strings) and returns a
string, so it is tested without a kernel or a browser. The widgets only put these strings into
``HTML.value`` or ``Select.options``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class StateStyle:
    symbol: str
    colour: str


RUNNING = StateStyle("●", "#1a7f37")  # green
SUCCEEDED = StateStyle("✔", "#0969da")  # blue
FAILED = StateStyle("✖", "#cf222e")  # red
STOPPED = StateStyle("■", "#6e7781")  # grey
PENDING = StateStyle("…", "#bc4c00")  # orange
UNKNOWN = StateStyle("?", "#6e7781")

# Group states, provisioning states and container states share one vocabulary of looks. Anything
# in flight (Pending, Creating, Waiting, Repairing ...) is "pending": the user should wait and look again.
_STYLES: dict[str, StateStyle] = {
    "running": RUNNING,
    "succeeded": SUCCEEDED,
    "completed": SUCCEEDED,
    "failed": FAILED,
    "unhealthy": FAILED,
    "canceled": FAILED,
    "stopped": STOPPED,
    "deleting": STOPPED,
    "pending": PENDING,
    "creating": PENDING,
    "accepted": PENDING,
    "updating": PENDING,
    "repairing": PENDING,
    "waiting": PENDING,
}


def state_style(state: str | None, exit_code: Any = None) -> StateStyle | None:
    """How a state looks; ``None`` for an empty state (nothing known: show nothing, not a guess).

    A container's ``Terminated`` depends on its exit code: 0 reads as success, anything else as failure.
    """
    if not state:
        return None
    key = str(state).strip().lower()
    if key == "terminated":
        return SUCCEEDED if _is_zero(exit_code) else FAILED
    return _STYLES.get(key, UNKNOWN)


def _is_zero(value: Any) -> bool:
    try:
        return int(value) == 0
    except (TypeError, ValueError):
        return False


def state_text(state: str | None, exit_code: Any = None) -> str:
    """``"● Running"``: the symbol alone carries the state where colour is impossible (Select options)."""
    style = state_style(state, exit_code)
    return f"{style.symbol} {state}" if style else ""


def state_badge(state: str | None, exit_code: Any = None) -> str:
    """The state as coloured HTML: symbol and word, so colour-blind users lose nothing."""
    style = state_style(state, exit_code)
    if style is None:
        return "<span style='color:#6e7781'>–</span>"
    return (f"<span class='aci-state' style='color:{style.colour};font-weight:600'>"
            f"{style.symbol} {html.escape(str(state))}</span>")


# -- cells, tables -------------------------------------------------------------------------------------

def cell_text(value: Any) -> str:
    """A frame cell as text: lists joined, NaN/None/NaT empty, whole floats without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(cell_text(v) for v in value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:g}"
    text = str(value)
    if text in ("nan", "NaT", "None", "<NA>"):
        return ""
    if hasattr(value, "strftime"):  # a pandas/datetime timestamp: seconds are enough to read
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return text


_TABLE_STYLE = ("border-collapse:collapse;font-size:12px;margin:2px 0 8px 0")
_CELL_STYLE = "text-align:left;padding:2px 8px;border-bottom:1px solid #d0d7de;vertical-align:top"


def records_html(records: Sequence[Mapping[str, Any]], columns: Sequence[str], *,
                 state_columns: Iterable[str] = ("state",), exit_code_column: str | None = "exit_code",
                 empty: str = "none") -> str:
    """An HTML table of ``records`` (escaped), with state columns drawn as coloured badges."""
    if not records:
        return f"<div style='color:#6e7781;font-style:italic'>{html.escape(empty)}</div>"
    badges = set(state_columns)
    head = "".join(f"<th style='{_CELL_STYLE}'>{html.escape(c)}</th>" for c in columns)
    body = []
    for record in records:
        cells = []
        for column in columns:
            value = record.get(column)
            if column in badges:
                exit_code = record.get(exit_code_column) if exit_code_column else None
                text = state_badge(cell_text(value), exit_code) if cell_text(value) else ""
            else:
                text = html.escape(cell_text(value))
            cells.append(f"<td style='{_CELL_STYLE}'>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table class='aci-table' style='{_TABLE_STYLE}'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def frame_html(frame: pd.DataFrame, *, state_columns: Iterable[str] = ("state",), empty: str = "none") -> str:
    """A DataFrame (instance view, events) as an HTML table; see :func:`records_html`."""
    records = frame.to_dict(orient="records")
    return records_html(records, [str(c) for c in frame.columns], state_columns=state_columns,
                        exit_code_column="exit_code" if "exit_code" in frame.columns else None, empty=empty)


def properties_html(properties: Mapping[str, Any]) -> str:
    """A two-column key/value table (the group's properties)."""
    rows = "".join(
        f"<tr><th style='{_CELL_STYLE};color:#57606a;font-weight:500'>{html.escape(str(key))}</th>"
        f"<td style='{_CELL_STYLE}'>{html.escape(cell_text(value))}</td></tr>"
        for key, value in properties.items()
    )
    return f"<table class='aci-properties' style='{_TABLE_STYLE}'><tbody>{rows}</tbody></table>"


def detail_header_html(name: str, resource_group: str, state: str, provisioning_state: str,
                       fqdn: str | None = None) -> str:
    """``name`` big, its live state as a badge, provisioning state and FQDN beside it."""
    extra = [f"provisioning {html.escape(provisioning_state or '-')}"]
    if fqdn:
        extra.append(f"<code>{html.escape(fqdn)}</code>")
    return (f"<div style='font-size:15px;margin:4px 0'><b>{html.escape(name)}</b> "
            f"<span style='color:#57606a'>in {html.escape(resource_group)}</span> &nbsp; "
            f"{state_badge(state or provisioning_state)} &nbsp; "
            f"<span style='color:#57606a;font-size:12px'>{' · '.join(extra)}</span></div>")


def section_html(title: str, body: str) -> str:
    return f"<div style='font-weight:600;margin-top:6px'>{html.escape(title)}</div>{body}"


# -- status lines ------------------------------------------------------------------------------------------

def status_html(message: str, kind: str = "info") -> str:
    """One status line. ``kind``: info (grey), busy (orange), ok (green), error (red)."""
    colour, symbol = {
        "busy": (PENDING.colour, "⏳"),
        "ok": (RUNNING.colour, "✔"),
        "error": (FAILED.colour, "✖"),
    }.get(kind, ("#57606a", ""))
    prefix = f"{symbol} " if symbol else ""
    return f"<span class='aci-status aci-status-{kind}' style='color:{colour}'>{prefix}{html.escape(message)}</span>"


def field_message_html(message: str | None) -> str:
    """The validation message under a form field; empty when the field is fine."""
    if not message:
        return ""
    return f"<span class='aci-problem' style='color:{FAILED.colour};font-size:12px'>{html.escape(message)}</span>"


# -- fixed-width rows for the list table -------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str
    title: str
    max_width: int = 24


def _fit(text: str, width: int) -> str:
    text = " ".join(text.split())  # no newlines or tabs inside a row
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def fixed_width_rows(records: Sequence[Mapping[str, Any]], columns: Sequence[Column],
                     *, gap: str = "  ") -> tuple[str, list[str]]:
    """``(header, rows)`` as plain text padded into aligned columns.

    Each column is as wide as its widest cell (or title), capped at ``max_width`` with an ellipsis.
    Cells are ``str`` already (callers put state symbols in); None/NaN become empty.
    """
    texts = [[_fit(cell_text(record.get(c.key)), c.max_width) for c in columns] for record in records]
    widths = [max([len(c.title)] + [len(row[i]) for row in texts]) for i, c in enumerate(columns)]
    header = gap.join(c.title.ljust(w) for c, w in zip(columns, widths)).rstrip()
    rows = [gap.join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in texts]
    return header, rows
