"""``DataTable``: the list table of the browser and the sweep monitor, on itables' ``ITable`` widget.

Why itables (issue 17, evidence in docs/table-choice.md): a real table (DataTables: sortable columns, a search
box, paging, cells that wrap instead of being cut, HTML cells for coloured state badges) whose row selection is
a synced trait (``selected_rows``), released often (2.9.1, 2026-07), with its JavaScript bundled in the wheel
(``itables/widget/static/widget.js``, no CDN) and rendered by anywidget, whose front end is in its wheel too
(a JupyterLab 4 / Notebook 7 extension and a classic nbextension that VS Code loads locally).

The interface is ``SelectTable``'s (``value`` = the selected row's key, ``filter_text``, ``set_rows``,
``records``, ``visible_records``, ``row_texts``, ``header_text``, ``empty``), so the browser and the sweep
monitor swap one for the other. ``row_texts`` are the rows as plain text (symbols for states), for tests
and text front ends; the grid shows the same cells with badges.

Keyboard selection (arrow keys, Home/End, PageUp/PageDown) is front-end only: ``grid_keys.js`` wraps itables'
module and selects a row as a click does, so nothing here tells a key from a click (docs/table-choice.md).

The trap seen while choosing: ``ITable.update()`` to a smaller frame raises "Selected rows out of range"
unless the selection is cleared first; ``_render`` always clears it, then selects the kept row again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import traitlets

from .render import Column, cell_text, state_style
from .table import RowData

STATE_KEYS = ("state_shown", "state")
# DataTables options: one selected row at a time, a search box, sortable headers, cells that wrap ("nowrap"
# is left out of the classes), 15 rows a page; the index is not a column.
_OPTIONS: dict[str, Any] = {
    "select": {"style": "single", "info": False},
    "classes": "display compact cell-border",
    "style": "width:100%;table-layout:auto;font-size:12px",
    "allow_html": True,
    "showIndex": False,
    "pageLength": 15,
    "lengthMenu": [15, 50, 200],
    "autoWidth": False,
    # Always a search box: itables hides every control of a table that fits one page when the layout is its
    # default one, so ours differs (search first, no page-length menu above).
    "layout": {"topStart": "search", "topEnd": None, "bottomStart": "info", "bottomEnd": "paging"},
}


# Long words (image names, FQDNs) may break after / . - : , (``<wbr>`` in the cells) instead of pushing the
# table wider than the output area; a badge in the highlighted row takes the row's text colour.
_EXTRA_CSS = """
.aci-data-table table.dataTable td { overflow-wrap: break-word; vertical-align: top; }
.aci-data-table table.dataTable tbody tr.selected .aci-badge {
  color: inherit !important; border-color: currentColor !important; background: transparent !important; }
.aci-data-table table.dataTable { width: 100% !important; }
.aci-data-table table.dataTable tbody tr { cursor: pointer; }
.aci-data-table:focus { outline: none; }
.aci-data-table:focus-visible { outline: 2px solid var(--jp-brand-color1, #1976d2); outline-offset: 2px; }
"""
# Keyboard selection (arrow keys, Home/End, PageUp/PageDown): a small ES module around itables' own, whose
# source takes the place of this name in it. Why it is JavaScript and how it keeps the keys from the notebook:
# the comments in grid_keys.js.
_KEYS_MODULE = Path(__file__).with_name("grid_keys.js")
_ITABLES_PLACEHOLDER = "__ITABLES_ESM__"
_GRID_CLASS: Any = None


def _source(asset: Any) -> str:
    """An anywidget asset (``_esm``/``_css``) as text: a path to a file, or the text itself."""
    if isinstance(asset, Path) or (isinstance(asset, str) and "\n" not in asset and len(asset) < 4096
                                   and Path(asset).is_file()):
        return Path(asset).read_text(encoding="utf-8")
    return str(asset or "")


def keys_module(itables_esm: str) -> str:
    """Our ES module with ``itables_esm`` embedded as a string literal (JSON is valid JavaScript; ASCII only,
    so no U+2028 surprises)."""
    template = _KEYS_MODULE.read_text(encoding="utf-8")
    if template.count(_ITABLES_PLACEHOLDER) != 1:
        raise RuntimeError(f"{_KEYS_MODULE.name} must name {_ITABLES_PLACEHOLDER} exactly once")
    return template.replace(_ITABLES_PLACEHOLDER, json.dumps(itables_esm))


def _grid_class() -> Any:
    """``ITable`` with our few CSS rules added to its own and its module wrapped for keyboard selection
    (anywidget sends both with the widget: offline)."""
    global _GRID_CLASS
    if _GRID_CLASS is None:
        from itables.widget import ITable

        _GRID_CLASS = type("AciITable", (ITable,), {
            "_css": _source(ITable._css) + _EXTRA_CSS,
            "_esm": keys_module(_source(ITable._esm)),
            "__module__": __name__,
        })
    return _GRID_CLASS


def badge_html(state: str) -> str:
    """A state as a coloured pill: symbol and word (colour-blind users lose nothing), tinted background."""
    style = state_style(state)
    if style is None:
        return escape(state)
    return (f"<span class='aci-badge' style='color:{style.colour};border:1px solid {style.colour};"
            f"background:{style.colour}14;border-radius:9px;padding:0 7px;white-space:nowrap;"
            f"font-weight:600'>{escape(style.symbol)} {escape(state)}</span>")


_BREAK_AFTER = re.compile(r"([/.\-:,])(?=\w)")


def _breakable(text: str) -> str:
    """Escaped text with a line-break opportunity after / . - : , so "Linux" stays whole but
    "mcr.microsoft.com/azuredocs/aci-helloworld" can wrap."""
    return _BREAK_AFTER.sub(r"\1<wbr>", escape(text))


def _plain_state(text: str) -> str:
    """``"● Running"`` -> ``"Running"`` (the list records carry the state with its symbol)."""
    head, _, rest = text.partition(" ")
    return rest if rest and len(head) == 1 else text


class DataTable(widgets.VBox, RowData):
    """Rows of records with one selectable row. ``value`` is the selected row's key ("" for none)."""

    value = traitlets.Unicode("", help="Key of the selected row; '' when nothing is selected.")
    filter_text = traitlets.Unicode("", help="Show only rows whose filter field contains this (case-insensitive).")

    def __init__(self, *, empty_message: str = "no rows", state_keys: Iterable[str] = STATE_KEYS,
                 **kwargs: Any) -> None:
        self.empty_message = empty_message
        self.state_keys = tuple(state_keys)
        self._records: list[Mapping[str, Any]] = []
        self._visible: list[Mapping[str, Any]] = []
        self._columns: list[Column] = []
        self._key = "name"
        self._filter_field = "name"
        self._syncing = False
        self.grid = _grid_class()(self._frame([], []), **_OPTIONS)
        self.grid.add_class("aci-data-table")
        self.empty = widgets.HTML(value="")
        super().__init__(children=[self.grid, self.empty], **kwargs)
        self.grid.observe(self._on_grid_selection, names="selected_rows")


    @property
    def row_keys(self) -> list[str]:
        """The keys of the rows shown, in the order of the grid's row indices (what ``selected_rows`` counts)."""
        return [str(record.get(self._key, "")) for record in self._visible]

    @property
    def row_texts(self) -> list[str]:
        """The rows shown, as plain text (states with their symbols)."""
        return ["  ".join(cell_text(record.get(c.key)) for c in self._columns) for record in self._visible]

    @property
    def header_text(self) -> str:
        return "  ".join(c.title for c in self._columns)

    @property
    def frame(self) -> Any:
        """The DataFrame the grid shows (HTML badges in the state columns)."""
        return self.grid.df

    # -- rendering ------------------------------------------------------------------------------------
    def _frame(self, records: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> Any:
        import pandas as pd

        data: dict[str, list[str]] = {}
        for column in columns:
            values = [cell_text(record.get(column.key)) for record in records]
            if column.key in self.state_keys:
                data[column.title] = [badge_html(_plain_state(v)) if v else "" for v in values]
            else:
                data[column.title] = [_breakable(v) for v in values]
        return pd.DataFrame(data, columns=[c.title for c in columns])

    def _render(self) -> None:
        visible = self.visible_records()
        keys = [str(record.get(self._key, "")) for record in visible]
        keep = self.value if self.value in keys else ""
        self._syncing = True
        try:
            self.grid.selected_rows = []  # first: update() to a smaller frame refuses a selection out of range
            self._visible = visible
            # Every option again: update() recomputes the DataTables arguments from what it is given.
            self.grid.update(self._frame(visible, self._columns), selected_rows=[keys.index(keep)] if keep else [],
                             **_OPTIONS)
        finally:
            self._syncing = False
        if not keep and self.value:
            self.value = ""  # the selected row is gone (deleted, or filtered out)
        if visible:
            self.empty.value = ""
        elif self._records:
            self.empty.value = f"<i style='color:#6e7781'>no row matches '{escape(self.filter_text)}'</i>"
        else:
            self.empty.value = f"<i style='color:#6e7781'>{escape(self.empty_message)}</i>"

    @traitlets.observe("filter_text")
    def _on_filter(self, _change: Mapping[str, Any]) -> None:
        self._render()

    @traitlets.observe("value")
    def _on_value(self, change: Mapping[str, Any]) -> None:
        if self._syncing:
            return
        keys = self.row_keys
        self._syncing = True
        try:
            self.grid.selected_rows = [keys.index(change["new"])] if change["new"] in keys else []
        finally:
            self._syncing = False

    def _on_grid_selection(self, change: Mapping[str, Any]) -> None:
        if self._syncing:
            return
        rows = [i for i in change["new"] if 0 <= i < len(self._visible)]
        self.value = self.row_keys[rows[0]] if rows else ""
