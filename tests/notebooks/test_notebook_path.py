"""Issue 17 case 3: notebook 02 runs in a kernel whose PATH lacks the environment's ``bin`` (a venv used
without activating it, VS Code, nbclient): the notebook gets its auth file from the Python API, and no cell
needs a console script."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "02-seed-walkthrough.ipynb"


def _path_without_console_scripts() -> str:
    """PATH minus every folder that holds ``aci-emulator`` (the env's bin, pyenv shims...)."""
    kept = [folder for folder in os.environ.get("PATH", "").split(os.pathsep)
            if folder and not (Path(folder) / "aci-emulator").exists()]
    return os.pathsep.join(kept)


def test_the_notebook_uses_no_shell_command() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [line.strip() for cell in notebook.cells if cell.cell_type == "code" for line in cell.source.splitlines()]
    assert not [line for line in code if line.startswith("!") or "= !" in line or "%sx" in line]
    assert any("aci_widgets.local_auth_file()" in line for line in code)


@pytest.mark.slow
def test_notebook_02_runs_with_the_environments_bin_off_path(notebook_emulator: Any, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = _path_without_console_scripts()
    assert shutil.which("aci-emulator", path=path) is None
    monkeypatch.setenv("PATH", path)  # the kernel inherits it (it starts as sys.executable -m ipykernel)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    check = nbformat.v4.new_code_cell("import shutil; print('aci-emulator on PATH:', shutil.which('aci-emulator'))")
    notebook.cells.insert(1, check)
    client = NotebookClient(notebook, kernel_name="python3", timeout=180,
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{NOTEBOOK.name} failed with the env's bin off PATH:\n{str(exc)[-3000:]}")
    finally:
        nbformat.write(notebook, tmp_path / NOTEBOOK.name)
    assert "aci-emulator on PATH: None" in notebook.cells[1].outputs[0]["text"]
    for cell in notebook.cells:
        assert all(output.get("output_type") != "error" for output in cell.get("outputs", []))
        for text in notebook_emulator.output_texts(cell):
            assert "command not found" not in text
    assert "aci-seed" not in notebook_emulator.resource_groups()
