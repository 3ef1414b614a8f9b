"""Sweeps under Azure's default quotas and rates (time-scaled): a 500-row queue, then the same killed half-way.

The time scale 0.005 makes ACI's 5-minute create window 1.5 s and its hourly one 18 s, and ARM's refills 200
times as fast; the quotas (100 groups, 100 standard cores per region) and every count are Azure's. What the
emulator saw (refusals, throttled requests, the most groups that existed at once) comes from its control
plane, not from the client.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

import aci_widgets
from aci_widgets.sweep import Sweep, run_sweep
from aci_widgets.sweep_journal import Journal

SCALE = 0.005
ROWS = 500
CLIENT = Path(__file__).with_name("sweep_client.py")
ROW_COMMAND = "echo {{i}} >> {marks}; sleep 0.2; echo done-{{i}}"


def _session(emulator: Any, rg: str) -> Any:
    session = aci_widgets.connect(auth_file=emulator.auth_file, resource_group=rg, location="eastus", quiet=True)
    session.notify = lambda _message: None
    session.ensure_resource_group(rg)
    return session


def _check_complete(sweep: Sweep, session: Any, limits: Any, marks: Path, max_active: int) -> None:
    states = [task.state for task in sweep.tasks]
    assert states == ["Succeeded"] * ROWS, {state: states.count(state) for state in set(states)}
    assert [task.output for task in sweep.tasks] == [f"done-{i}" for i in range(ROWS)], "every log collected"
    assert all(task.collected and task.deleted for task in sweep.tasks)
    seen = limits.limits()
    assert seen["refused"] == {}, f"no create may meet a quota or a rate limit: {seen['refused']}"
    assert seen["throttled"] == {}, f"no request may be throttled: {seen['throttled']}"
    assert max(seen["peakGroups"].values()) <= max_active, seen["peakGroups"]
    assert session.list_group_json(sweep.resource_group) == [], "no group left"
    runs = sorted(int(line) for line in marks.read_text().split())
    assert runs == list(range(ROWS)), "every row ran exactly once"


def test_a_500_row_sweep_finishes_under_the_default_quotas(limits, limits_emulator, tmp_path):
    limits.set_limits(time_scale=SCALE, clear=True)
    session = _session(limits_emulator, "rg-sweep500")
    marks = tmp_path / "marks"
    sweep = run_sweep(session, "q500", pd.DataFrame({"i": range(ROWS)}), image="alpine", shell=True,
                      command=ROW_COMMAND.format(marks=marks))
    assert sweep.runner.max_active == 100, "the default comes from list_usage's headroom (100 groups, 100 cores)"
    assert sum(task.created for task in sweep.tasks) == 100, "launch returns with the first 100 rows created"
    sweep.wait(timeout=90)
    assert sweep.finished, (sweep, sweep.runner.running, sweep.runner.notice, sweep.runner.rounds)
    _check_complete(sweep, session, limits, marks, 100)
    assert sweep.results()["output"].tolist()[:3] == ["done-0", "done-1", "done-2"]  # no request: collected
    counts = sweep.counts()
    assert (counts["queued"], counts["running"], counts["done"], counts["failed"]) == (0, 0, ROWS, 0)


def test_a_killed_sweep_is_attached_and_resumed_without_running_a_row_twice(limits, limits_emulator, tmp_path):
    limits.set_limits(time_scale=SCALE, clear=True)
    rg, name = "rg-sweepkill", "qkill"
    session = _session(limits_emulator, rg)
    marks = tmp_path / "marks"
    journal = Journal.for_sweep(session.subscription_id, rg, name)
    client = subprocess.Popen([sys.executable, str(CLIENT), str(limits_emulator.auth_file), rg, name, str(ROWS),
                               str(marks)], env=os.environ.copy())
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and client.poll() is None:
            done = sum(1 for event in journal.events() if event.get("e") == "done")
            if done >= ROWS // 2:
                break
            time.sleep(0.05)
        assert client.poll() is None, "the client must still be running when it is killed"
        client.send_signal(signal.SIGKILL)
    finally:
        client.kill()
        client.wait(10)
    killed_at = sum(1 for event in journal.events() if event.get("e") == "done")
    assert ROWS // 2 <= killed_at < ROWS

    sweep = Sweep.attach(session, name)  # finds what ran, what runs and what is left, and resumes
    left = sum(1 for task in sweep.tasks if not task.launched)
    assert 0 < left < ROWS
    sweep.wait(timeout=90)
    assert sweep.finished, (sweep, sweep.runner.running, sweep.runner.notice, sweep.runner.rounds)
    _check_complete(sweep, session, limits, marks, 100)
