"""Issue 17 in a real kernel (nbclient, no widget front end): a failed create finishes its progress line
(case 10) and a failed task shows the failing event's message beside its exit code (case 6)."""

from __future__ import annotations

import uuid

import nbclient
import nbformat
import pytest


@pytest.mark.slow
def test_a_failed_create_finishes_its_progress_line_in_a_kernel(emulator):
    rg = f"rg-kernel17-{uuid.uuid4().hex[:6]}"
    name = f"bad-{uuid.uuid4().hex[:6]}"
    cells = [
        "%load_ext aci_widgets",
        f'%config AciMagics.resource_group = "{rg}"',
        f"%aci use azure --auth-file {emulator.auth_file}",
        f"%aci create-rg {rg}",
        f"%aci create {name} --image registry.invalid/nothing/here:1",
        '%aci run alpine --command-line "nosuchbinary --x"',
        f"%aci delete-rg {rg} --yes",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    nbclient.NotebookClient(nb, timeout=120, allow_errors=True, kernel_name="python3").execute()
    create = nb.cells[4].outputs
    displays = [o for o in create if o.output_type == "display_data"]
    errors = [o for o in create if o.output_type == "stream" and o.name == "stderr"]
    assert len(displays) == 1, create  # ONE progress line, updated in place
    line = displays[0].data["text/plain"]
    assert "sending" not in line and line.endswith(": failed (the error is below)"), line
    assert line.startswith(f"create {name} in resource group {rg}")
    assert len(errors) == 1 and errors[0].text.count("\n") == 1 and "registry.invalid" in errors[0].text
    run = nb.cells[5].outputs
    shown = run[-1].data["text/plain"]
    assert "Failed" in shown and 'exit 127 (' in shown and 'exec: \\"nosuchbinary\\"' not in shown
    assert 'exec: "nosuchbinary": no such file or directory' in shown
    assert "deleted resource group" in nb.cells[6].outputs[0].text
