"""The Console and Metrics tabs (no browser: widget values), against the emulator."""

from __future__ import annotations

import time

from aci_widgets.widgets.browser import GroupDetailView
from aci_widgets.widgets.console import ConsoleView, terminal_text
from aci_widgets.widgets.metrics import MetricsView

from ..exec.test_exec_api import run_group


def test_terminal_text_drops_escapes_and_backspaces():
    assert terminal_text("a\x1b[1;32mb\x1b[0m\r\nab\bc\x07\r\n") == "ab\nac\n"


def test_console_runs_commands_interrupts_and_keeps_history(session, unique_name):
    run_group(session, unique_name, ["sleep", "60"])
    console = ConsoleView(session, unique_name, containers=[unique_name])
    try:
        console.connect()
        deadline = time.monotonic() + 10
        while console.input.disabled:
            assert time.monotonic() < deadline, console.status.value
            time.sleep(0.05)
        console.input.value = "echo hi-$((40+2))"  # what Enter in the input line does
        assert console.wait_for("hi-42\n"), console.text
        assert console.input.value == ""
        console.send("sleep 20; echo late")
        time.sleep(0.3)
        console.interrupt_button.click()
        console.send("echo back-$((1+1))")
        assert console.wait_for("back-2\n"), console.text
        assert console.history[:2] == ["echo back-$((1+1))", "sleep 20; echo late"]
        console.history_box.value = "echo hi-$((40+2))"  # picking a line puts it back in the input
        assert console.input.value == "echo hi-$((40+2))"
        console.send_button.click()
        deadline = time.monotonic() + 10
        while console.text.count("hi-42\n") < 2:
            assert time.monotonic() < deadline, console.text
            time.sleep(0.05)
        assert "late" not in console.text.replace("echo late", "")  # Ctrl-C ended the sleep
        assert "hi-42" in console.output.value and "column-reverse" in console.output.value
        console.send("exit")
        deadline = time.monotonic() + 10
        while not console.input.disabled:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert "disconnected" in console.status.value
    finally:
        console.close()


def test_metrics_view_draws_and_refreshes(session, unique_name):
    run_group(session, unique_name, ["sleep", "60"])
    time.sleep(2.2)
    view = MetricsView(session, unique_name, interval_seconds=0.5)
    try:
        view.start()
        deadline = time.monotonic() + 15
        while view.refreshes < 2:
            assert time.monotonic() < deadline, view.status.value
            time.sleep(0.1)
        assert view.image.value[:4] == b"\x89PNG"
        assert set(view.frame["metric"]) >= {"CpuUsage", "MemoryUsage"}
        assert "updated" in view.status.value
    finally:
        view.close()


def test_detail_view_tabs_make_no_request_until_shown(session, unique_name, emulator):
    run_group(session, unique_name, ["sleep", "60"])
    details = session.get_group(unique_name)
    emulator.control.clear_requests()
    view = GroupDetailView(details, session)
    try:
        titles = [view.tabs.get_title(i) for i in range(len(view.tabs.children))]
        assert titles == ["Logs", "Events", "Properties", "Console", "Metrics"]
        time.sleep(0.3)
        paths = [r["path"] for r in emulator.control.requests()]
        assert not any(p.endswith("/exec") or "insights" in p.lower() for p in paths), paths
        view.tabs.selected_index = 3
        assert view.console.wait_for("# ", timeout=10), view.console.status.value
        view.tabs.selected_index = 4
        deadline = time.monotonic() + 10
        while view.metrics.refreshes < 1:
            assert time.monotonic() < deadline, view.metrics.status.value
            time.sleep(0.1)
    finally:
        view.close()
