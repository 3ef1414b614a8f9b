"""A selectable list table from core ipywidgets: a header line above a ``Select`` of fixed-width rows.

Why a ``Select`` and not a grid widget: it is a core widget, so it renders offline in JupyterLab 4,
Notebook 7, VS Code and nbclient without a CDN or a front-end extension (ipydatagrid and friends need
one and are unmaintained, see reference/ux-anchors.md B). Click and keyboard selection (arrows, Home/End)
come free, and the rows are plain text that tests read from ``select.options``. The price: no colour
inside rows (a ``<select>`` shows text), so states are drawn with symbols (● ✔ ✖ ■ …); the detail view
below the table has the colours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import ipywidgets as widgets
import traitlets

from .render import Column, fixed_width_rows

# A monospace font is what makes fixed-width rows line up with the header. Select has no font
# setting, so a CSS class carries it; the rule travels with the widget in an HTML value.
_CSS = """<style>
.aci-select-table select, .aci-select-table option, .aci-table-header pre {
  font-family: var(--jp-code-font-family, SFMono-Regular, Menlo, Consolas, monospace) !important;
  font-size: 12px !important; white-space: pre;
}
.aci-table-header pre { margin: 0 0 0 4px; padding: 0; background: none; overflow: hidden; }
</style>"""

MAX_VISIBLE_ROWS = 12


class RowData:
    """The rows a table shows: ``set_rows`` replaces them, ``filter_text`` hides rows without touching them.

    Shared by ``SelectTable`` and ``grid.DataTable``; the table supplies ``filter_text`` and ``_render()``.
    """

    filter_text: str
    _records: list[Mapping[str, Any]]
    _columns: list[Column]
    _key: str
    _filter_field: str

    def _render(self) -> None:  # pragma: no cover - each table draws its own way
        raise NotImplementedError

    def set_rows(self, records: Sequence[Mapping[str, Any]], columns: Sequence[Column], *,
                 key: str = "name", filter_field: str = "name") -> None:
        self._records = list(records)
        self._columns = list(columns)
        self._key = key
        self._filter_field = filter_field
        self._render()

    @property
    def records(self) -> list[Mapping[str, Any]]:
        return list(self._records)

    def visible_records(self) -> list[Mapping[str, Any]]:
        needle = self.filter_text.strip().lower()
        if not needle:
            return list(self._records)
        return [r for r in self._records if needle in str(r.get(self._filter_field, "")).lower()]


class SelectTable(widgets.VBox, RowData):
    """Rows of records with one selectable row. ``value`` is the selected row's key ("" for none).

    ``set_rows(records, columns, key=...)`` replaces the rows (keeps the selection if its key is still
    there); ``filter_text`` hides rows whose filter field does not contain it, without touching data.
    """

    value = traitlets.Unicode("", help="Key of the selected row; '' when nothing is selected.")
    filter_text = traitlets.Unicode("", help="Show only rows whose filter field contains this (case-insensitive).")

    def __init__(self, *, empty_message: str = "no rows", **kwargs: Any) -> None:
        self.header = widgets.HTML(value="")
        self.header.add_class("aci-table-header")
        self.select = widgets.Select(options=[], rows=1, layout=widgets.Layout(width="100%"))
        self.select.add_class("aci-select-table")
        self.empty = widgets.HTML(value="")
        self.empty_message = empty_message
        self._records: list[Mapping[str, Any]] = []
        self._columns: list[Column] = []
        self._key = "name"
        self._filter_field = "name"
        self._syncing = False
        self._header_text = ""
        super().__init__(children=[self.header, self.select, self.empty], **kwargs)
        self.select.observe(self._on_select, names="value")


    @property
    def row_texts(self) -> list[str]:
        """The rows exactly as the user sees them."""
        return [label for label, _key in self.select.options]

    @property
    def header_text(self) -> str:
        return self._header_text

    # -- rendering ------------------------------------------------------------------------------------
    def _render(self) -> None:
        visible = self.visible_records()
        header, rows = fixed_width_rows(visible if visible else self._records, self._columns)
        if not visible:
            rows = []
        self._header_text = header
        self.header.value = f"{_CSS}<div class='aci-table-header'><pre>{escape(header)}</pre></div>"
        options = [(row, str(record.get(self._key, ""))) for row, record in zip(rows, visible)]
        keys = {key for _row, key in options}
        keep = self.value if self.value in keys else ""
        self._syncing = True
        try:
            # Clear the selection first: a Select whose value vanishes from new options jumps to the
            # first row, and that would look like a click (and make a request) nobody asked for.
            self.select.index = None
            self.select.options = options
            self.select.rows = max(2, min(MAX_VISIBLE_ROWS, len(options)))  # size=1 draws a blank drop-down
            self.select.index = None
            if keep:
                self.select.value = keep
        finally:
            self._syncing = False
        if not keep and self.value:
            # The selected row is gone (deleted, or filtered out): nothing is selected any more.
            self.value = ""
        if options:
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
        new = change["new"] or None
        keys = [key for _label, key in self.select.options]
        self._syncing = True
        try:
            if new in keys:
                self.select.value = new
            else:
                self.select.index = None
        finally:
            self._syncing = False

    def _on_select(self, change: Mapping[str, Any]) -> None:
        if self._syncing:
            return
        self.value = change["new"] or ""
