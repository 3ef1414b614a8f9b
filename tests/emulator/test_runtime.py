"""Runtime: processes in their own session, timestamped logs, exits reported, groups killed, children reaped."""

from __future__ import annotations

import os
import queue
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from aci_widgets.emulator.runtime import process as runtime
from aci_widgets.emulator.runtime.process import (
    CommandNotRunnable,
    ProcessRuntime,
    exit_code_of,
    is_process_alive,
    kill_leftover_process,
    read_log,
    read_start_ticks,
)

Exit = tuple[str, int, datetime]


@pytest.fixture
def exits() -> queue.Queue[Exit]:
    return queue.Queue()


@pytest.fixture
def rt(exits: queue.Queue[Exit]) -> Iterator[ProcessRuntime]:
    instance = ProcessRuntime(on_exit=lambda *item: exits.put(item), kill_grace_seconds=0.5)
    yield instance
    instance.shutdown(kill_processes=True)


def start(rt: ProcessRuntime, tmp_path: Path, script: str, uid: str = "run") -> tuple[int, Path]:
    log = tmp_path / f"{uid}.log"
    handle = rt.start(uid, ["/bin/sh", "-c", script], {"PATH": os.environ["PATH"]}, tmp_path / "work", log)
    return handle.pid, log


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2:].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry))
    return members


def test_output_is_logged_line_by_line_with_timestamps_and_the_exit_reported(
        rt: ProcessRuntime, tmp_path: Path, exits: queue.Queue[Exit]) -> None:
    pid, log = start(rt, tmp_path, "echo out; echo err >&2; printf partial; exit 3")
    uid, code, finished = exits.get(timeout=5)
    assert (uid, code) == ("run", 3)
    assert finished.tzinfo is not None
    assert read_log(log, running=False) == "out\nerr\npartial\n"
    stamped = read_log(log, running=False, timestamps=True).splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == ["out", "err", "partial"]
    datetime.strptime(stamped[0].split(" ", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert not Path(f"/proc/{pid}").exists()  # reaped
    assert not rt.is_running("run")


def test_the_process_runs_in_its_own_session_with_only_the_given_env(rt: ProcessRuntime, tmp_path: Path,
                                                                       exits: queue.Queue[Exit]) -> None:
    log = tmp_path / "env.log"
    handle = rt.start("env", ["/bin/sh", "-c", "echo $ONLY-$HOME; pwd"],
                      {"ONLY": "this", "PATH": os.environ["PATH"]}, tmp_path / "cwd", log)
    exits.get(timeout=5)
    assert read_log(log, running=False) == f"this-\n{tmp_path / 'cwd'}\n"
    assert handle.start_ticks is not None


def test_kill_stops_the_whole_process_group_and_reaps_it(rt: ProcessRuntime, tmp_path: Path,
                                                         exits: queue.Queue[Exit]) -> None:
    pid, _ = start(rt, tmp_path, "sleep 30 & sleep 30 & wait")
    runtime_wait = time.monotonic() + 5
    while len(group_members(pid)) < 3 and time.monotonic() < runtime_wait:
        time.sleep(0.01)
    assert len(group_members(pid)) == 3
    assert rt.kill(["run"]) == {"run": 143}
    assert group_members(pid) == []
    assert not Path(f"/proc/{pid}").exists()
    with pytest.raises(queue.Empty):
        exits.get(timeout=0.2)  # a kill asked for is not reported as an exit


def test_a_process_ignoring_sigterm_gets_sigkill_after_the_grace(rt: ProcessRuntime, tmp_path: Path) -> None:
    log = tmp_path / "stubborn.log"
    script = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
              "print('ready', flush=True); time.sleep(30)")
    handle = rt.start("stubborn", ["python3", "-c", script], {"PATH": os.environ["PATH"]}, tmp_path, log)
    deadline = time.monotonic() + 5
    while "ready" not in read_log(log, running=True) and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    assert rt.kill(["stubborn"], grace=0.3) == {"stubborn": 137}
    assert 0.25 < time.monotonic() - started < 3
    assert not is_process_alive(handle.pid)


def test_stragglers_of_a_finished_container_are_killed(rt: ProcessRuntime, tmp_path: Path,
                                                       exits: queue.Queue[Exit]) -> None:
    pid, _ = start(rt, tmp_path, "sleep 30 & echo bye")
    assert exits.get(timeout=5)[1] == 0
    deadline = time.monotonic() + 2
    while group_members(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert group_members(pid) == []


def test_a_missing_program_cannot_run(rt: ProcessRuntime, tmp_path: Path) -> None:
    with pytest.raises(CommandNotRunnable) as missing:
        rt.start("x", ["definitely-not-a-program"], {"PATH": "/usr/bin"}, tmp_path, tmp_path / "x.log")
    assert missing.value.exit_code == 127 and "definitely-not-a-program" in missing.value.message
    not_executable = tmp_path / "data.txt"
    not_executable.write_text("hi")
    with pytest.raises(CommandNotRunnable) as denied:
        rt.start("y", [str(not_executable)], {}, tmp_path, tmp_path / "y.log")
    assert denied.value.exit_code == 126


def test_shutdown_kills_every_process(exits: queue.Queue[Exit], tmp_path: Path) -> None:
    instance = ProcessRuntime(on_exit=lambda *item: exits.put(item), kill_grace_seconds=0.5)
    pids = [start(instance, tmp_path, "sleep 30", f"r{index}")[0] for index in range(3)]
    instance.shutdown(kill_processes=True)
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def test_start_ticks_identify_a_process(tmp_path: Path) -> None:
    process = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        ticks = read_start_ticks(process.pid)
        assert ticks is not None and ticks > 0
        assert not kill_leftover_process(process.pid, ticks + 1)  # a recycled pid is not ours: left alone
        assert is_process_alive(process.pid)
        assert kill_leftover_process(process.pid, ticks, grace=1.0)
        assert not is_process_alive(process.pid)
    finally:
        process.kill()
        process.wait()
    assert read_start_ticks(process.pid) is None


def test_exit_codes_of_signals() -> None:
    assert exit_code_of(0) == 0 and exit_code_of(2) == 2
    assert exit_code_of(-9) == 137 and exit_code_of(-15) == 143


def _write_log(path: Path, lines: list[str]) -> None:
    path.write_text("".join(f"2024-01-01T00:00:00.000000Z {line}\n" for line in lines))


def test_read_log_applies_acis_limits_and_tail(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    _write_log(log, [f"line {index}" for index in range(1500)])
    running = read_log(log, running=True).splitlines()
    assert len(running) == 1500
    stopped = read_log(log, running=False)
    assert len(stopped.encode()) <= 16 * 1024 and stopped.endswith("line 1499\n")
    _write_log(log, ["x"] * 1500)
    assert len(read_log(log, running=False).splitlines()) == 1000
    assert read_log(log, running=True, tail=2) == "x\nx\n"
    assert read_log(log, running=True, tail=0) == ""
    assert read_log(log, running=True, tail=5000).count("\n") == 1500
    assert read_log(tmp_path / "missing.log", running=True) == ""


def test_a_running_log_stays_bounded(rt: ProcessRuntime, tmp_path: Path, exits: queue.Queue[Exit],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "RUNNING_LOG_LIMIT_BYTES", 64 * 1024)
    _, log = start(rt, tmp_path, "i=0; while [ $i -lt 5000 ]; do echo line-$i; i=$((i+1)); done")
    exits.get(timeout=20)
    assert log.stat().st_size <= 64 * 1024 + 65536
    assert read_log(log, running=True).endswith("line-4999\n")
