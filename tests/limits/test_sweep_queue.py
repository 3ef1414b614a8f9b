"""The sweep queue's decisions under the limits: headroom, quota refusals, what is kept; the serve knobs."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

import aci_widgets
from aci_widgets.sweep import run_sweep

GENEROUS_RATES = {"ContainerGroupCreatesPer5Minutes": 10_000, "ContainerGroupCreatesPerHour": 10_000,
                  "ContainerGroupDeletesPer5Minutes": 10_000, "ContainerGroupDeletesPerHour": 10_000}


def _session(emulator, rg):
    session = aci_widgets.connect(auth_file=emulator.auth_file, resource_group=rg, location="eastus", quiet=True)
    session.notify = lambda _message: None
    session.ensure_resource_group(rg)
    return session


def test_max_active_follows_the_quota_headroom_for_the_tasks_cores(raw, limits, limits_emulator):
    limits.set_limits(values={**GENEROUS_RATES, "StandardCores": 7})
    rg = raw.rg("rg-headroom")
    assert raw.put_group(rg, "other", cpu=1).status_code == 201  # someone else's group: 6 cores left
    session = _session(limits_emulator, rg)
    sweep = run_sweep(session, "wide", pd.DataFrame({"i": range(6)}), image="alpine", command="echo {i}", cpu=2)
    assert sweep.runner.max_active == 3
    sweep.wait(timeout=60)
    assert [t.state for t in sweep.tasks] == ["Succeeded"] * 6
    assert max(limits.limits()["peakGroups"].values()) <= 4  # 3 tasks + the other group
    assert limits.limits()["refused"] == {}


def test_a_quota_refusal_requeues_the_row_instead_of_failing_it(raw, limits, limits_emulator):
    limits.set_limits(values={**GENEROUS_RATES, "ContainerGroups": 4})
    rg = raw.rg("rg-requeue")
    assert raw.put_group(rg, "other").status_code == 201
    session = _session(limits_emulator, rg)
    # max_active says 4 but only 3 fit: the 4th create is refused, the row waits for a slot.
    sweep = run_sweep(session, "tight", pd.DataFrame({"i": range(8)}), image="alpine", shell=True,
                      command="sleep 0.3; echo {i}", max_active=4)
    sweep.wait(timeout=60)
    assert [t.state for t in sweep.tasks] == ["Succeeded"] * 8
    assert [t.output for t in sweep.tasks] == list(range(8))
    assert limits.limits()["refused"].get("ContainerGroups", 0) >= 1
    assert sweep.runner.refused >= 1 and sweep.runner.slots == 3
    assert [g["name"] for g in session.list_group_json(rg)] == ["other"]


def test_keep_failed_keeps_only_the_groups_of_failed_rows(raw, limits, limits_emulator):
    limits.set_limits(values=GENEROUS_RATES)
    rg = raw.rg("rg-keep")
    session = _session(limits_emulator, rg)
    sweep = run_sweep(session, "kf", pd.DataFrame({"code": [0, 3, 0]}), image="alpine", shell=True,
                      command="echo row; exit {code}", keep="failed")
    sweep.wait(timeout=60)
    assert sweep.status()["exit_code"].tolist() == [0, 3, 0]
    assert [g["name"] for g in session.list_group_json(rg)] == ["kf-001"]
    counts = sweep.counts()
    assert (counts["done"], counts["failed"], counts["queued"], counts["running"]) == (2, 1, 0, 0)
    assert sweep.logs(0) == "row\n" and sweep.logs("kf-001").strip() == "row"


def test_serve_help_names_every_limit_knob():
    shown = subprocess.run([sys.executable, "-m", "aci_widgets.emulator.cli", "serve", "--help"],
                           capture_output=True, text=True, check=True).stdout
    for text in ("--limits {azure,off}", "--time-scale F", "--limit NAME=VALUE", "ACI_EMULATOR_LIMITS",
                 "ACI_EMULATOR_TIME_SCALE", "ACI_EMULATOR_LIMIT_VALUES", "ContainerGroupCreatesPerHour",
                 "readsRefillPerSecond", "StandardSpotCores"):
        assert text in shown, text
