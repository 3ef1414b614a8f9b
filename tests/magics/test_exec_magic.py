"""``%aci exec NAME -- CMD ARGS`` and ``%aci metrics NAME``: output, exit code, DataFrame; bad lines are one line."""

from __future__ import annotations

import time

import pytest


def _running(ip, run, name):
    shown = run(f'%aci create {name} --image alpine --command-line "sleep 60" --restart-policy Never')
    assert shown.success, shown.text
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if ip.run_line_magic("aci", f"show {name}").state == "Running":
            return
        time.sleep(0.1)


def test_exec_prints_output_and_exit_code(ip, rg, run):
    _running(ip, run, "ex1")
    shown = run("%aci exec ex1 -- sh -c 'echo hello-$((20+22)); exit 3'")
    assert shown.success, shown.text
    assert shown.out == "hello-42\nexit code 3\n"
    stored = run("%aci exec ex1 --out r -- ls -d /")
    assert stored.success and ip.user_ns["r"].exit_code == 0 and ip.user_ns["r"].output == "/\n"


def test_metrics_returns_a_frame(ip, rg, run):
    _running(ip, run, "mx1")
    # The sampler takes a sample a second; on a loaded machine the first ones come late: ask until they do.
    deadline = time.monotonic() + 30
    while True:
        shown = run("%aci metrics mx1 --since 10m --interval 1m --out m")
        assert shown.success, shown.text
        frame = ip.user_ns["m"]
        if {"CpuUsage", "MemoryUsage"} <= set(frame["metric"]) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert list(frame.columns) == ["time", "container", "metric", "value"]
    assert {"CpuUsage", "MemoryUsage"} <= set(frame["metric"])


@pytest.mark.parametrize(("line", "fragment"), [
    ("%aci exec ex1", "a command is needed after --"),
    ("%aci exec Bad_Name -- ls", "NAME"),
    ("%aci metrics mx1 --since soon", "since"),
    ("%aci metrics mx1 --interval 2m", "interval"),
])
def test_bad_lines_are_one_line(ip, rg, run, line, fragment):
    shown = run(line)
    assert not shown.success
    assert fragment in shown.err and len(shown.err.strip().splitlines()) == 1, shown.err
