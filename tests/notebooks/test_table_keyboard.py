"""Keyboard selection in the table widget, in a real browser: JupyterLab 4 and Notebook 7 (issue 17: "Keep
keyboard selection").

A notebook with a ``DataTable`` of 20 rows (two pages of 15) and a ``GroupBrowser`` over three emulator groups;
next to each, an HTML widget that the *kernel* fills from the selection (``dlink`` in Python), so what it shows
is the kernel-side value. The test clicks a row, then presses ArrowDown/ArrowUp/Home/End/PageDown and checks
that (a) the kernel's value follows, page turns included, (b) the notebook's active cell stays where it is and
the focus stays in the table (in command mode the same keys move the cell selection: the last step shows that
they still do after Escape has moved the focus out of the table, so (b) can fail), and (c) in the group
browser each selection by key makes exactly one get and one logs request. Screenshots go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from aci_widgets.emulator.control import EmulatorControl

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
NOTEBOOK_NAME = "table-keyboard.ipynb"
RESOURCE_GROUP = "aci-keys"
GROUPS = ("alpha", "bravo", "charlie")
IMAGE = "mcr.microsoft.com/azuredocs/aci-helloworld"
STEP_TIMEOUT_MS = 30_000
RUN_ALL_TIMEOUT_MS = 120_000  # the emulator's first start and three creates, on a loaded machine
READY = "KEYBOARD-NOTEBOOK-READY"

CELLS = [
    f"""%load_ext aci_widgets
%config AciMagics.resource_group = "{RESOURCE_GROUP}"
%aci use local
%aci create-rg {RESOURCE_GROUP}""",
    "\n".join(f"%aci create {name} --image {IMAGE} --cpu 1 --memory 1 --ports 80" for name in GROUPS),
    """import ipywidgets as widgets
from aci_widgets.widgets.grid import DataTable
from aci_widgets.widgets.render import Column

rows = DataTable()  # 20 rows: two pages of 15
rows.set_rows([{"name": f"row-{i:02d}", "n": str(i)} for i in range(20)], [Column("name", "name"), Column("n", "n")])
rows_seen = widgets.HTML()
widgets.dlink((rows, "value"), (rows_seen, "value"), lambda v: f"kernel value: <b class='kernel-value'>{v}</b>")
widgets.VBox([rows, rows_seen])""",
    f"""from aci_widgets.widgets.browser import GroupBrowser

browser = GroupBrowser(resource_group="{RESOURCE_GROUP}")
browser_seen = widgets.HTML()
widgets.dlink((browser, "selected"), (browser_seen, "value"),
              lambda v: f"kernel selected: <b class='kernel-value'>{{v}}</b>")
widgets.VBox([browser_seen, browser])""",
    f'print("{READY}")',
]


def _notebook(root: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbformat.write(notebook, root / NOTEBOOK_NAME)


def _wait_until(condition: Any, what: str, timeout: float = STEP_TIMEOUT_MS / 1000) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


def _active_cell(page: Any) -> int:
    """The index of the notebook's active cell (what the notebook's arrow-key shortcuts move)."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'))
                                        .findIndex(c => c.classList.contains('jp-mod-active'))""")


def _focus_is_in(page: Any, cell: Any) -> bool:
    return page.evaluate("(cell) => cell.contains(document.activeElement) && "
                         "document.activeElement.classList.contains('aci-data-table')", cell.element_handle())


@pytest.mark.parametrize(("app", "path"), [("lab", "/lab/tree/"), ("notebook", "/notebooks/")],
                         ids=["jupyterlab", "notebook7"])
def test_arrow_keys_select_rows_and_leave_the_notebook_alone(app: str, path: str, browser: Any,
                                                             start_jupyter: Any, open_notebook: Any,
                                                             notebook_emulator: Any, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    root = tmp_path / "root"
    root.mkdir()
    _notebook(root)
    server = start_jupyter(app, root, tmp_path / "jupyter", notebook_emulator.tools.free_port())
    opened = open_notebook(browser, server, f"{path}{NOTEBOOK_NAME}",
                           lambda step: ARTIFACTS / f"keys-{app}-{step}.png", step_timeout_ms=STEP_TIMEOUT_MS)
    page, page_errors, shot = opened.page, opened.errors, opened.shot
    with opened.guard(app, server, notebook_emulator, RESOURCE_GROUP):
        opened.run_all_cells()
        ready = page.locator(".jp-OutputArea-output", has_text=READY)
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        ready.or_(errors).first.wait_for(timeout=RUN_ALL_TIMEOUT_MS)
        assert ready.count() == 1, f"a cell failed: {errors.all_inner_texts()}"

        # -- a DataTable of 20 rows -----------------------------------------------------------------------
        cell = page.locator(".jp-Notebook .jp-Cell").filter(
            has=page.locator(".jp-InputArea", has_text="rows = DataTable()")).first
        table = cell.locator("table.dataTable").first
        table.scroll_into_view_if_needed()
        seen = cell.locator(".kernel-value").first

        def kernel_value() -> str:
            return seen.inner_text() if seen.count() else ""

        def expect(value: str, after: str) -> None:
            _wait_until(lambda: kernel_value() == value, f"kernel value {value!r} after {after} "
                                                          f"(shows {kernel_value()!r})")
            selected = table.locator("tbody tr.selected td").first.inner_text()
            assert selected == value, f"after {after} the highlighted row is {selected!r}, not {value!r}"

        table.locator("tbody tr td", has_text="row-00").first.click()
        expect("row-00", "the click")
        active = _active_cell(page)
        assert active == 2, f"clicking the table made cell {active} active, not its own cell"
        assert _focus_is_in(page, cell), "clicking a row did not focus the table"
        shot("1-clicked")
        steps = [("ArrowDown", "row-01"), ("ArrowDown", "row-02"), ("ArrowUp", "row-01"),
                 ("End", "row-19"),  # the last row, on the second page
                 ("Home", "row-00"), ("PageDown", "row-15"), ("ArrowUp", "row-14"),  # back over the page break
                 ("ArrowDown", "row-15"), ("ArrowDown", "row-16")]
        for key, value in steps:
            page.keyboard.press(key)
            expect(value, key)
            assert _active_cell(page) == active, f"{key} moved the notebook's active cell"
            assert _focus_is_in(page, cell), f"{key} took the focus away from the table"
            if value == "row-02":
                shot("2-arrow-down-twice")
        # Still a notebook: the page did not scroll the table away and the notebook is in command mode.
        assert page.locator(".jp-Notebook.jp-mod-commandMode").count() == 1
        shot("3-keys-done")

        # -- the group browser: each settled selection makes one get and one logs request -----------------
        cell = page.locator(".jp-Notebook .jp-Cell").filter(
            has=page.locator(".jp-InputArea", has_text="GroupBrowser(")).first
        table = cell.locator("table.dataTable").first
        table.scroll_into_view_if_needed()
        seen = cell.locator(".kernel-value").first
        control = EmulatorControl(notebook_emulator.home)
        log = cell.locator("textarea").first

        def expect_group(name: str, after: str, passed: tuple[str, ...] = ()) -> list[tuple[str, str]]:
            """``name`` selected in the kernel and shown, with exactly one get and one logs request for it; a
            group ``passed`` over in a burst of keys may have had its own (at most one of each), none other."""
            _wait_until(lambda: kernel_value() == name, f"kernel selected {name!r} after {after} "
                                                        f"(shows {kernel_value()!r})")
            header = cell.locator(".widget-html-content", has_text=RESOURCE_GROUP).filter(has_text=name)
            header.first.wait_for()
            log.wait_for()
            _wait_until(lambda: "listening on port" in log.input_value(), f"{name}'s log after {after}")
            sent = [(r["method"], r["path"].lower()) for r in control.requests()]
            assert all(method == "GET" for method, _ in sent), (after, sent)
            for group in (name, *passed):
                gets = [p for _, p in sent if p.endswith(f"/containergroups/{group}")]
                logs = [p for _, p in sent if f"/containergroups/{group}/" in p and p.endswith("/logs")]
                if group == name:
                    assert len(gets) == 1 and len(logs) == 1, (after, sent)
                else:
                    assert len(gets) <= 1 and len(logs) <= len(gets), (after, sent)
            groups = (name, *passed)
            assert all(any(f"/containergroups/{g}" in p for g in groups) for _, p in sent), (after, sent)
            return sent

        for name in GROUPS:
            table.locator("tbody td", has_text=name).first.wait_for()
        control.clear_requests()
        table.locator("tbody tr td", has_text=GROUPS[0]).first.click()
        expect_group(GROUPS[0], "the click")
        active = _active_cell(page)
        for key, name in [("ArrowDown", GROUPS[1]), ("End", GROUPS[2]), ("Home", GROUPS[0])]:
            control.clear_requests()
            page.keyboard.press(key)
            expect_group(name, key)
            assert _active_cell(page) == active, f"{key} moved the notebook's active cell"
            if key == "ArrowDown":
                table.scroll_into_view_if_needed()
                shot("4-browser-arrow-down")

        # A burst (a held key): the browser drops a load that is no longer the latest before its request.
        control.clear_requests()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        burst = expect_group(GROUPS[2], "two quick ArrowDowns", passed=(GROUPS[1],))
        print(f"{app}: requests of the burst: {[path.rsplit('/', 1)[-1] for _, path in burst]}")
        assert _active_cell(page) == active, "the burst moved the notebook's active cell"

        # Escape leaves the table for the notebook, where the same key moves the active cell again: the
        # notebook's shortcuts are untouched, and the "active cell stayed" checks above can fail.
        page.keyboard.press("Escape")
        _wait_until(lambda: not _focus_is_in(page, cell), "Escape to move the focus out of the table")
        control.clear_requests()
        page.keyboard.press("ArrowUp")
        _wait_until(lambda: _active_cell(page) == active - 1, "ArrowUp on the notebook to move the active cell")
        assert kernel_value() == GROUPS[2]
        shot("5-arrow-on-the-notebook")
        if app == "lab":  # Notebook 7 logs one harmless schema error on every load (reference/browser-testing.md)
            assert not page_errors, page_errors
