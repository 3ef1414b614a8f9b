"""The teaching notebooks: committed clean, and each runs top to bottom on the local emulator.

Each notebook runs in a real ``python3`` kernel through nbclient, as "Run All" would, against a dedicated
emulator (``notebook_emulator``: its own home and port, started on demand by the notebook's ``%aci use``).
A cell that raises fails the test with the cell and its error; an output that contains a traceback fails
it too (a magic must report expected failures in one line). After each notebook its resource group must
be gone and no container process of its groups may still run: the notebooks clean up after themselves.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
EXPECTED = ["01-quickstart.ipynb", "02-seed-walkthrough.ipynb", "03-data-science-jobs.ipynb"]
# The resource group each notebook creates and deletes (unique per notebook, so that they never collide).
RESOURCE_GROUPS = {"01-quickstart": "aci-quickstart", "02-seed-walkthrough": "aci-seed",
                   "03-data-science-jobs": "aci-jobs"}
CELL_TIMEOUT = 120
TRACEBACK_MARKERS = ("Traceback (most recent call last)", "---------------------------------------------------------")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _read(path: Path) -> Any:
    return nbformat.read(path, as_version=4)


# -- what is committed -------------------------------------------------------------------------------------


def test_the_three_notebooks_are_there() -> None:
    assert [path.name for path in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_clean(path: Path) -> None:
    notebook = _read(path)
    nbformat.validate(notebook)
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3"
    dirty = [index for index, cell in enumerate(notebook.cells)
             if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} hold outputs or execution counts; commit notebooks clean"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_switches_to_azure_in_one_cell(path: Path) -> None:
    """Local by default, and the markdown names the one cell to change for Azure."""
    notebook = _read(path)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    prose = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "%load_ext aci_widgets" in code and "%aci use local" in code
    assert "%aci use azure --auth-file" in prose + code
    assert re.search(r"change (only )?(this|the next) cell", prose, re.IGNORECASE), "say which cell to change"
    assert RESOURCE_GROUPS[path.stem] in code


def test_quickstart_has_a_clean_up_parameter() -> None:
    """The browser test runs a copy with CLEAN_UP = False: the flag lives in a cell tagged `parameters`."""
    notebook = _read(NOTEBOOKS_DIR / "01-quickstart.ipynb")
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1 and re.search(r"^CLEAN_UP = True$", tagged[0].source, re.MULTILINE)
    clean_up = [cell for cell in notebook.cells if cell.cell_type == "code" and "delete-rg" in cell.source]
    assert clean_up and clean_up[-1].source.startswith("if CLEAN_UP:")


# -- they run ------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_top_to_bottom(path: Path, notebook_emulator: Any, tmp_path: Path) -> None:
    notebook = _read(path)
    client = NotebookClient(notebook, kernel_name="python3", timeout=CELL_TIMEOUT,
                            resources={"metadata": {"path": str(tmp_path)}})
    started = time.monotonic()
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} failed:\n{ANSI.sub('', str(exc))[-3000:]}")
    finally:
        nbformat.write(notebook, tmp_path / path.name)  # the executed copy, for a look after a failure
    elapsed = time.monotonic() - started

    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        assert all(output.get("output_type") != "error" for output in cell.outputs), (path.name, index)
        for text in (ANSI.sub("", text) for text in notebook_emulator.output_texts(cell)):
            assert not any(marker in text for marker in TRACEBACK_MARKERS), \
                f"{path.name} cell {index} shows a traceback:\n{text[-2000:]}"

    # It cleaned up: its resource group is gone, and with it every container process.
    assert RESOURCE_GROUPS[path.stem] not in notebook_emulator.resource_groups()
    left = notebook_emulator.wait_for_no_containers()
    assert not left, f"{path.name} left processes running:\n{notebook_emulator.describe_processes(left)}"
    print(f"{path.name}: {elapsed:.1f} s")
