"""``%aci`` in a real Jupyter kernel (nbclient): updating progress display, widgets, one-line errors."""

from __future__ import annotations

import uuid

import nbclient
import nbformat
import pytest

HELLO = "mcr.microsoft.com/azuredocs/aci-helloworld"


@pytest.mark.slow
def test_magics_in_a_kernel(emulator):
    rg = f"rg-kernel-{uuid.uuid4().hex[:6]}"
    name = f"kernel-{uuid.uuid4().hex[:6]}"
    cells = [
        "%load_ext aci_widgets",
        f'%config AciMagics.resource_group = "{rg}"',
        f"%aci use azure --auth-file {emulator.auth_file}",
        f"%aci create-rg {rg}",
        f"%aci create {name} --image {HELLO} --ports 80 --ip-address Public",
        f"%aci show {name}",
        '%aci run alpine --command-line "echo from-kernel"',
        f"%aci show {name}x",
        "%aci form",
        f"%aci delete-rg {rg} --yes",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    nbclient.NotebookClient(nb, timeout=120, allow_errors=True, kernel_name="python3").execute()
    outputs = [cell.outputs for cell in nb.cells]

    # create: the progress is ONE display updated in place, then the detail widget
    create = outputs[4]
    assert [o.output_type for o in create] == ["display_data", "display_data"]
    assert create[0].data["text/plain"].endswith("done")
    assert "application/vnd.jupyter.widget-view+json" in create[1].data
    assert "application/vnd.jupyter.widget-view+json" in outputs[5][0].data  # show: the widget
    run = outputs[6]
    assert "exit 0" in run[-1].data["text/plain"] and "from-kernel" in run[-1].data["text/plain"]
    error = outputs[7]
    assert len(error) == 1 and error[0].name == "stderr"
    assert error[0].text.count("\n") == 1 and f"did you mean '{name}'" in error[0].text
    assert "application/vnd.jupyter.widget-view+json" in outputs[8][0].data  # the form
    assert "deleted resource group" in outputs[9][0].text
