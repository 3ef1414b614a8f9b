"""SweepMonitor: live rows per task, bounded polling that stops when all finished, one get per selection."""

from __future__ import annotations

import pandas as pd

from aci_widgets.sweep import run_sweep
from aci_widgets.widgets.sweep import SweepMonitor


def test_monitor_polls_until_every_task_finished(session, capsys):
    grid = pd.DataFrame({"n": [1, 2, 3]})
    sweep = run_sweep(session, "mon", grid, image="alpine", command="sh -c 'sleep 0.3; echo {n}'")
    monitor = SweepMonitor(sweep, interval=0.1)
    assert monitor.wait(timeout=30), "the polling loop should end once every task has finished"
    assert not monitor.polling
    rows = monitor.table.row_texts
    assert len(rows) == 3 and all("Succeeded" in row for row in rows)
    assert "mon-000" in rows[0] and " 0 " in f" {rows[0]} "
    assert "3 Succeeded" in monitor.summary.value and "estimated cost" in monitor.summary.value
    assert monitor.progress_bar.value == 3
    assert capsys.readouterr().out == "", "background threads must not print"


def test_selecting_a_task_makes_one_get_and_shows_details(session, emulator, arm_requests):
    sweep = run_sweep(session, "pick", pd.DataFrame({"n": [7]}), image="alpine", command="echo {n}", keep="all")
    sweep.wait(timeout=30)
    monitor = SweepMonitor(sweep, autostart=False)
    emulator.control.clear_requests()
    monitor.selected = "pick-000"
    monitor.runner.wait(10)
    detail = monitor._detail_view
    assert detail is not None and detail.logs is not None
    detail.logs.wait(10) if hasattr(detail.logs, "wait") else None
    gets = [r for r in arm_requests() if r[0] == "GET" and r[1].lower().endswith("/containergroups/pick-000")]
    assert len(gets) == 1
    assert "pick-000" in detail.header.value and "Succeeded" in detail.header.value


def test_cancel_stops_running_tasks(session):
    sweep = run_sweep(session, "halt", pd.DataFrame({"n": [1, 2]}), image="alpine", command="sleep 60")
    monitor = SweepMonitor(sweep, interval=0.2)
    monitor.cancel()
    assert monitor.runner.wait(20)
    assert monitor.wait(timeout=20)
    assert set(sweep.status()["state"]) == {"Stopped"}
    monitor.close()
