"""Issue 17 case 5: the list table is a real table (itables' ITable): sortable, searchable, wrapping columns,
coloured state badges, selection bound both ways, no cut columns; the sweep monitor's Cancel follows state."""

from __future__ import annotations

import json

import pandas as pd

from aci_widgets.sweep import run_sweep
from aci_widgets.widgets.grid import DataTable
from aci_widgets.widgets.render import Column
from aci_widgets.widgets.sweep import SweepMonitor

COLUMNS = [Column("name", "name", 5), Column("state_shown", "state", 5), Column("fqdn", "fqdn", 5)]
LONG = "a-rather-long-dns-label-that-a-fixed-width-column-would-cut.eastus.azurecontainer.io"


def _rows(*names: str) -> list[dict[str, str]]:
    return [{"name": n, "state_shown": "● Running" if i % 2 == 0 else "✖ Failed", "fqdn": LONG}
            for i, n in enumerate(names)]


def test_a_real_table_sortable_searchable_wrapping_with_badges() -> None:
    table = DataTable()
    table.set_rows(_rows("web", "job"), COLUMNS)
    args = table.grid._dt_args
    assert args["select"]["style"] == "single"
    assert "nowrap" not in table.grid.classes  # cells wrap instead of being cut
    assert "order" in args  # sortable headers (DataTables' default ordering is on)
    assert args["layout"]["topStart"] == "search"  # a search box, even on a short table
    frame = table.frame
    assert list(frame.columns) == ["name", "state", "fqdn"]
    assert frame.loc[0, "fqdn"].replace("<wbr>", "") == LONG  # whole, never "…"; may wrap after . and -
    assert "<wbr>" in frame.loc[0, "fqdn"] and frame.loc[0, "name"] == "web"
    badge = frame.loc[0, "state"]
    assert "aci-badge" in badge and "#1a7f37" in badge and "● Running" in badge
    assert "#cf222e" in frame.loc[1, "state"] and "✖ Failed" in frame.loc[1, "state"]
    assert table.row_texts == [f"web  ● Running  {LONG}", f"job  ✖ Failed  {LONG}"]


def test_selection_is_bound_both_ways_and_survives_a_smaller_update() -> None:
    table = DataTable()
    table.set_rows(_rows("a", "b", "c"), COLUMNS)
    seen: list[str] = []
    table.observe(lambda change: seen.append(change["new"]), names="value")
    table.grid.selected_rows = [2]  # what a click in the front end sends
    assert table.value == "c"
    table.value = "a"  # from Python: the grid highlights the row
    assert table.grid.selected_rows == [0]
    # The itables trap: update() to a smaller frame with a selection out of range raises unless cleared first.
    table.value = "c"
    table.set_rows(_rows("c"), COLUMNS)
    assert table.grid.selected_rows == [0] and table.value == "c"  # kept, at its new index
    table.set_rows(_rows("x"), COLUMNS)
    assert table.grid.selected_rows == [] and table.value == ""  # gone: nothing selected
    assert seen == ["c", "a", "c", ""]
    table.filter_text = "nothing"
    assert table.row_texts == [] and "no row matches" in table.empty.value


def test_the_widget_module_is_itables_own_wrapped_for_keyboard_selection() -> None:
    """The arrow keys (grid_keys.js; tried in a real browser by tests/notebooks/test_table_keyboard.py): the
    module sent with the widget embeds itables' module unchanged and adds the keydown listener."""
    from itables.widget import ITable

    esm = DataTable().grid._esm
    literal = esm.split("const ITABLES_SOURCE = ", 1)[1].split(";\n", 1)[0]
    assert json.loads(literal) == str(ITable._esm)  # offline: the whole of itables' JS, as it ships
    assert 'window.addEventListener("keydown", onKeydown, true)' in esm and "export default { render }" in esm


def test_the_sweep_monitor_shows_the_whole_cost_and_disables_cancel_when_all_finished(session) -> None:
    sweep = run_sweep(session, "grid", pd.DataFrame({"n": [1, 2]}), image="alpine", command="echo {n}")
    monitor = SweepMonitor(sweep, interval=0.1)
    assert monitor.wait(timeout=30)
    monitor._render()
    assert monitor.cancel_button.disabled
    costs = list(monitor.table.frame["est. cost"])
    assert costs and all(cost and "…" not in cost and not cost.endswith("U...") for cost in costs)
    assert all(cost.split()[-1].isalpha() for cost in costs)  # the currency is there, whole
    monitor.close()
