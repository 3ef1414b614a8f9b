"""No process outlives its container, whatever it forks (issue 12 case 6), and leftovers after a crash are
killed all at once with one short grace (issue 12 case 7, the runtime side).

Case 6 at HTTP level against a real emulator: a container runs ``setsid sleep`` and a double fork
(``(sleep &)``), then DELETE, stop, restart and emulator shutdown must each leave none of them. Before the
engine work, cleanup killed only the process group, so the ``setsid`` child survived all four. The process
engine runs with bubblewrap and without it (``ACI_EMULATOR_NO_BWRAP=1``: cgroup and marker tracking only);
Docker's containers are PID namespaces of their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from aci_widgets.emulator.runtime.tree import MARKER_ENV, kill_leftover_runs

from .conftest import IMAGES, EngineEmulator, container, docker_containers_of, group_body, require_docker, wait_for

FORKER = "setsid sleep 600 & (sleep 601 &) ; sh -c 'sleep 602 & exec sleep 603' & exec sleep 604"
SLEEPS = {"600", "601", "602", "603", "604"}
_SEEN_IDS: dict[str, set[str]] = {}


@pytest.fixture(params=["process", "process-nobwrap", "docker"])
def tree_emulator(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                  emulator_tools: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> Iterator[EngineEmulator]:
    engine = "docker" if request.param == "docker" else "process"
    if engine == "docker":
        require_docker()
    if request.param == "process-nobwrap":
        monkeypatch.setenv("ACI_EMULATOR_NO_BWRAP", "1")
    running = emulator_tools.start_emulator(tmp_path_factory.mktemp(f"tree-{request.param}"),
                                            emulator_tools.free_port(), (f"--engine={engine}",))
    ci, rm = emulator_tools.sdk_clients(running.auth_file)
    emu = EngineEmulator(engine, running, ci, rm, IMAGES[engine])
    rm.resource_groups.create_or_update("rg", {"location": "eastus"})
    try:
        yield emu
    finally:
        emulator_tools.stop_emulator(running)
        assert not _sleepers(emu), "a forked process outlived the emulator"


def _sleepers(emu: EngineEmulator) -> set[int]:
    """Live ``sleep 60x`` processes of this emulator's containers (host pids; Docker's too, by their cgroup)."""
    found = set()
    home = str(emu.running.home.path).encode()
    ids = _SEEN_IDS.setdefault(str(emu.running.home.path), set())  # removed containers' ids stay suspects
    if emu.engine == "docker":
        ids |= {c.id for c in docker_containers_of(emu.running.home.path)}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            stat = Path(f"/proc/{entry}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                continue
            if cmdline[:1] != [b"sleep"] or cmdline[1].decode() not in SLEEPS:
                continue
            if emu.engine == "docker":
                cgroup = Path(f"/proc/{entry}/cgroup").read_text()
                if not any(cid in cgroup for cid in ids):
                    continue
            elif home not in Path(f"/proc/{entry}/environ").read_bytes():
                continue
        except (OSError, IndexError, UnicodeDecodeError):
            continue
        found.add(int(entry))
    return found


def _all_sleepers(emu: EngineEmulator) -> set[int] | None:
    found = _sleepers(emu)
    return found if len(found) >= len(SLEEPS) else None


def _start_forker(emu: EngineEmulator, name: str) -> set[int]:
    emu.create("rg", name, group_body(container("c", emu.images.shell, command=["/bin/sh", "-c", FORKER]),
                                      policy="Always"))
    sleepers = wait_for(lambda: _all_sleepers(emu), timeout=15)
    assert sleepers, f"expected {len(SLEEPS)} sleeps, found {_sleepers(emu)}"
    return set(sleepers)


def test_delete_stop_restart_and_shutdown_leave_no_forked_process(tree_emulator: EngineEmulator,
                                                                  emulator_tools: SimpleNamespace) -> None:
    emu = tree_emulator
    first = _start_forker(emu, "forks")
    emu.ci.container_groups.begin_delete("rg", "forks").result()
    assert wait_for(lambda: not (first & _sleepers(emu)), timeout=10), "DELETE left forked processes"

    second = _start_forker(emu, "forks2")
    emu.ci.container_groups.stop("rg", "forks2")
    assert wait_for(lambda: not (second & _sleepers(emu)), timeout=10), "stop left forked processes"

    emu.ci.container_groups.begin_start("rg", "forks2").result()
    third = wait_for(lambda: _all_sleepers(emu), timeout=15)
    emu.ci.container_groups.begin_restart("rg", "forks2").result()
    assert wait_for(lambda: not (set(third) & _sleepers(emu)), timeout=10), "restart left forked processes"

    wait_for(lambda: len(_sleepers(emu)) >= len(SLEEPS), timeout=15)
    emulator_tools.stop_emulator(emu.running)
    assert wait_for(lambda: not _sleepers(emu), timeout=10), "emulator shutdown left forked processes"


IGNORE_TERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); " \
              "time.sleep(600)"


def test_leftovers_of_a_crash_are_killed_in_parallel_with_one_short_grace() -> None:
    """Eight runs that ignore SIGTERM, left by a "crashed" emulator: killed together within ~one grace
    (before: one at a time, 2 s grace each, 16 s)."""
    leftovers = []
    children = []
    for _ in range(8):
        uid = uuid.uuid4().hex
        child = subprocess.Popen([sys.executable, "-c", IGNORE_TERM], env={**os.environ, MARKER_ENV: uid},
                                 stdout=subprocess.PIPE, start_new_session=True)
        children.append(child)
        leftovers.append((uid, child.pid, None))
    for child in children:
        assert child.stdout is not None and child.stdout.readline() == b"up\n"
    started = time.monotonic()
    kill_leftover_runs(leftovers, grace=0.5)
    elapsed = time.monotonic() - started
    assert not any(Path(f"/proc/{child.pid}").exists() for child in children)  # killed and reaped
    assert elapsed < 3.0, f"8 leftovers took {elapsed:.1f} s to kill"
