"""``%aci sweep``: launch a grid from a notebook DataFrame, re-attach by name, and refuse bad input up front."""

from __future__ import annotations

import pandas as pd
import pytest


def test_sweep_launches_reattaches_and_collects(ip, rg, run):
    ip.user_ns["grid"] = pd.DataFrame({"n": [1, 2]})
    shown = run('%aci sweep sq --params grid --image alpine --shell --command-line "echo $(({n} * {n}))" '
                "--concurrency 2 --out sw")
    assert shown.success, shown.text
    assert "launched 2/2" in shown.out
    sweep = ip.user_ns["sw"]
    sweep.wait(timeout=30)
    assert sweep.results()["output"].tolist() == [1, 4]
    # After a kernel restart the sweep is found again by its name (its groups carry tags).
    again = run("%aci sweep sq --attach --out back")
    assert again.success, again.text
    assert [t.name for t in ip.user_ns["back"].tasks] == ["sq-000", "sq-001"]
    table = run("%aci sweep sq --attach")  # no widgets in a plain shell: the status table as text
    assert "sq-000" in table.out and "Succeeded" in table.out
    # Finished: its groups are gone (deleted once their logs were collected); the journal still has it all.
    looked = run("%aci sweep sq --attach --no-resume --out seen")
    assert looked.success, looked.text
    assert ip.user_ns["seen"].results()["output"].tolist() == [1, 4]


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("%aci sweep s --image alpine", "--params is required"),
        ("%aci sweep s --params grid", "--image is required"),
        ("%aci sweep s --params nothing_here --image alpine", "'nothing_here' is not a pandas DataFrame"),
        ("%aci sweep s --params grid --image alpine --concurrency 0", "--concurrency: '0' must be a whole number"),
        ('%aci sweep s --params grid --image alpine --command-line "echo {missing}"', "missing column 'missing'"),
        ("%aci sweep s --params grid --image alpine --env X={nope}", "missing column 'nope'"),
        ("%aci sweep Bad_S --params grid --image alpine", "is invalid"),
        ("%aci sweep s --params 1grid --image alpine", "not a valid Python variable name"),
        ("%aci sweep s --params grid --image alpine --max-active 0", "--max-active: '0' must be a whole number"),
        ("%aci sweep s --params grid --image alpine --keep some", "--keep"),
    ],
)
def test_bad_sweeps_are_one_line_and_send_nothing(ip, run, requests, line, fragment):
    ip.user_ns["grid"] = pd.DataFrame({"n": [1, 2]})
    shown = run(line)
    assert not shown.success
    message = shown.err.strip()
    assert message.count("\n") == 0 and message.startswith("UsageError: aci: sweep: "), shown.text
    assert fragment in message
    assert requests.requests() == []


def test_list_with_cost_column(ip, rg, run):
    assert run("%aci run alpine --name priced --command-line 'sleep 0.2' --out t").success
    shown = run("%aci list --cost --out frame")
    assert shown.success, shown.text
    frame = ip.user_ns["frame"]
    assert frame.loc[0, "cost"] > 0 and frame.loc[0, "state"] == "Succeeded"
