"""Sweeps: a parameter grid launched as task groups, watched, collected, re-attached, cleaned up."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from aci_widgets import cost
from aci_widgets.errors import InvalidInput
from aci_widgets.sweep import Sweep, parse_output, plan_sweep, run_sweep, template_fields

WORDCOUNT = "mcr.microsoft.com/azuredocs/aci-wordcount:latest"


def grid() -> pd.DataFrame:
    return pd.DataFrame({"num_words": [2, 3, 4], "min_length": [3, 4, 5]})


def test_sweep_runs_each_row_and_collects_results(session):
    notes = []
    sweep = run_sweep(session, "wc", grid(), image="alpine", shell=True,
                      command='echo "{{\\"words\\": {num_words}, \\"min\\": {min_length}}}"',
                      concurrency=2, progress=lambda done, total, msg: notes.append((done, total)))
    assert [n for n, _ in notes] == [1, 2, 3] and {t for _, t in notes} == {3}
    sweep.wait(timeout=30)
    assert sweep.finished
    results = sweep.results()
    assert list(results.columns[:2]) == ["num_words", "min_length"]
    assert list(results["exit_code"]) == [0, 0, 0]
    assert list(results["state"]) == ["Succeeded"] * 3
    assert results["output"].tolist() == [{"words": 2, "min": 3}, {"words": 3, "min": 4}, {"words": 4, "min": 5}]
    assert (results["cost"] >= 0).all()


def test_env_templates_reach_the_wordcount_image(session):
    sweep = run_sweep(session, "wcenv", grid().head(1), image=WORDCOUNT, keep="all",
                      env={"NumWords": "{num_words}", "MinLength": "{min_length}"})
    sweep.wait(timeout=30)
    assert sweep.status()["state"].tolist() == ["Succeeded"]
    group = session.get_group_json("wcenv-000")
    env = group["properties"]["containers"][0]["properties"]["environmentVariables"]
    assert {"name": "NumWords", "value": "2"} in env


def test_attach_finds_the_sweep_again_by_tags(session):
    run_sweep(session, "again", grid(), image="alpine", command="echo {num_words}").wait(timeout=30)
    attached = Sweep.attach(session, "again")
    assert [t.name for t in attached.tasks] == ["again-000", "again-001", "again-002"]
    assert attached.tasks[1].params == {"num_words": 3, "min_length": 4}
    assert attached.results()["output"].tolist() == [2, 3, 4]


def test_cancel_stops_running_tasks_and_clean_up_needs_confirmation(session):
    sweep = run_sweep(session, "slow", grid().head(2), image="alpine", command="sleep 60")
    assert sorted(sweep.cancel()) == ["slow-000", "slow-001"]
    assert set(sweep.status()["state"]) == {"Stopped"}
    with pytest.raises(InvalidInput, match="confirm=True"):
        sweep.clean_up()
    assert sorted(sweep.clean_up(confirm=True)) == ["slow-000", "slow-001"]
    assert session.list_groups().empty


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"command": "echo {missing}"}, "command", "missing column 'missing'"),
        ({"env": {"X": "{nope}"}}, "env.X", "missing column 'nope'"),
        ({"command": "echo {}"}, "command", "positional field"),
        ({"concurrency": 0}, "concurrency", "1 or more"),
        ({"concurrency": 2.5}, "concurrency", "whole number"),
        ({"name": "Bad_Sweep"}, "name", "sweep name 'Bad_Sweep'"),
        ({"name": "x" * 62}, "name", "limit is 63"),
        ({"cpu": 99}, "row 0: containers[0].cpu", "cores"),
    ],
)
def test_bad_sweeps_fail_before_anything_is_launched(session, emulator, kwargs, field, fragment):
    emulator.control.clear_requests()
    args = {"name": "ok", "image": "alpine", "command": "echo {num_words}", **kwargs}
    name = args.pop("name")
    with pytest.raises(InvalidInput) as info:
        run_sweep(session, name, grid(), **args)
    assert fragment in info.value.problems.get(field, ""), info.value.problems
    assert "\n" not in str(info.value)
    assert emulator.control.requests() == []


def test_empty_parameter_frame_is_refused():
    with pytest.raises(InvalidInput, match="no rows"):
        plan_sweep("empty", pd.DataFrame({"a": []}), image="alpine")


def test_plan_derives_valid_names_and_tags():
    plan = plan_sweep("grid", pd.DataFrame({"lr": [0.1, 0.01]}), image="python:3.11",
                      command=["python", "-c", "print({lr})"])
    assert plan.task_names == ["grid-000", "grid-001"]
    assert plan.specs[1].containers[0].command == ["python", "-c", "print(0.01)"]
    assert plan.specs[0].tags["aci-sweep"] == "grid" and plan.specs[0].restart_policy == "Never"


def test_template_fields_and_output_parsing():
    assert template_fields("a {x} {{literal}} {y:.2f}") == ["x", "y"]
    assert parse_output("noise\n{\"loss\": 0.5}\n\n") == {"loss": 0.5}
    assert parse_output("plain last line\n") == "plain last line"
    assert parse_output("") == ""
    assert parse_output("[('the', 75),\n ('of', 57)]\n") == [("the", 75), ("of", 57)]  # aci-wordcount's pprint


def test_cost_estimate_uses_requested_resources_and_running_time():
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    group = {"properties": {"containers": [{"properties": {
        "resources": {"requests": {"cpu": 2, "memoryInGB": 4}},
        "instanceView": {"currentState": {"state": "Terminated", "startTime": start.isoformat(),
                                          "finishTime": (start + timedelta(hours=1)).isoformat()}}}}]}}
    table = cost.PriceTable(per_vcpu_second=0.0000135, per_gb_second=0.0000015)
    assert cost.estimate_group_cost(group, table=table) == pytest.approx(3600 * (2 * 0.0000135 + 4 * 0.0000015))
    with pytest.raises(InvalidInput, match="per_vcpu_second"):
        cost.set_prices(per_vcpu_second=-1)


def test_list_cost_column_and_detail_estimate(session):
    session.run_task("alpine", name="costed", command=["sleep", "0.3"])
    frame = session.list_groups(cost=True)
    assert list(frame.columns)[-1] == "cost"
    assert frame.loc[0, "state"] == "Succeeded" and frame.loc[0, "cost"] > 0
    assert "cost" not in session.list_groups().columns
    assert "USD" in session.get_group("costed").properties["Estimated cost"]


def test_attaching_in_the_process_that_runs_the_queue_returns_that_sweep(session):
    sweep = run_sweep(session, "same", grid(), image="alpine", command="sleep 1")
    assert Sweep.attach(session, "same") is sweep  # never a second runner on the same groups
    sweep.wait(timeout=30)
    assert sweep.finished and [t.state for t in sweep.tasks] == ["Succeeded"] * 3
    again = Sweep.attach(session, "same")  # finished: read back from the journal
    assert again is not sweep and [t.state for t in again.tasks] == ["Succeeded"] * 3
    assert session.list_group_json() == []


def test_the_journal_never_holds_secure_values_and_a_resume_asks_for_them(session):
    from aci_widgets.sweep_journal import Journal

    secret = "s3cr3t-sweep-value-941"
    sweep = run_sweep(session, "sec", grid(), image="alpine", command="sleep 5", secure_env={"TOKEN": secret},
                      max_active=1)
    sweep.detach()  # as if the kernel died with two rows left
    journal = Journal.for_sweep(session.subscription_id, sweep.resource_group, "sec")
    text = journal.path.read_text(encoding="utf-8")
    assert secret not in text and '"secure":["TOKEN"]' in text
    with pytest.raises(InvalidInput, match="secure variables TOKEN"):
        Sweep.attach(session, "sec")
    resumed = Sweep.attach(session, "sec", secure_env={"TOKEN": secret})
    assert resumed.runner.running
    resumed.cancel()
    resumed.clean_up(confirm=True)
