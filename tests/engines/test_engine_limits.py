"""Resources enforced (issue 14): memory over the limit is killed and reported as ACI reports it (exit 137,
detailStatus OOMKilled, see COVERAGE.md), restarted under Always and not under Never; CPU is a quota.

The process engine enforces them through the run's cgroup where one is writable (this machine: cgroup v1);
with ``RLIMIT_AS`` only (no writable cgroup) an allocation fails instead, so those cases are skipped there.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from aci_widgets.emulator.runtime.tree import RunCgroup

from .conftest import EngineEmulator, container, group_body, skip_outside_ci, wait_for

GROW = "import time; b = [bytearray(10 * 2**20) for _ in range(40)]; time.sleep(60)"  # 400 MiB
BUSY = "sh -c 'while :; do :; done' & sh -c 'while :; do :; done' & wait"


def _needs_memory_cgroup(emu: EngineEmulator) -> None:
    if emu.engine == "process" and not RunCgroup("probe").limits_memory:
        skip_outside_ci("no writable memory cgroup here: the process engine falls back to RLIMIT_AS (COVERAGE.md)")


def test_memory_over_the_limit_is_killed_and_restarted_under_always(engine_emulator: EngineEmulator,
                                                                    rg: str) -> None:
    emu = engine_emulator
    _needs_memory_cgroup(emu)
    emu.create(rg, "oom-always", group_body(container("grow", emu.images.python, command=["python", "-c", GROW],
                                                      memory=0.1), policy="Always"))
    view = wait_for(lambda: (v := emu.container_view(rg, "oom-always")).restart_count >= 1 and v, timeout=30)
    assert view, emu.group_json(rg, "oom-always")
    killed = view.previous_state if view.current_state.state != "Terminated" else view.current_state
    assert killed.state == "Terminated" and killed.exit_code == 137
    assert killed.detail_status == "OOMKilled"
    assert {"Killing", "Started"} <= {e.name for e in view.events} or view.restart_count >= 1


def test_memory_over_the_limit_under_never_fails_the_group(engine_emulator: EngineEmulator, rg: str) -> None:
    emu = engine_emulator
    _needs_memory_cgroup(emu)
    emu.create(rg, "oom-never", group_body(container("grow", emu.images.python, command=["python", "-c", GROW],
                                                     memory=0.1), policy="Never"))
    assert wait_for(lambda: emu.ci.container_groups.get(rg, "oom-never").instance_view.state == "Failed", 30)
    view = emu.container_view(rg, "oom-never")
    assert view.restart_count == 0
    assert view.current_state.exit_code == 137 and view.current_state.detail_status == "OOMKilled"


def test_within_the_limit_runs_normally(engine_emulator: EngineEmulator, rg: str) -> None:
    emu = engine_emulator
    emu.create(rg, "fits", group_body(container(
        "fits", emu.images.python, command=["python", "-c", "b = bytearray(20 * 2**20); print('ok', len(b))"],
        memory=0.5), policy="Never"))
    assert wait_for(lambda: emu.ci.container_groups.get(rg, "fits").instance_view.state == "Succeeded", 30)
    assert emu.logs(rg, "fits", "fits") == f"ok {20 * 2**20}\n"


def test_cpu_quota_is_visible_in_the_engine(engine_emulator: EngineEmulator, rg: str) -> None:
    """Two busy loops at cpu 0.25 use about a quarter of one core (the engine's own counters)."""
    emu = engine_emulator
    if emu.engine == "process" and not RunCgroup("probe").dirs.get("cpu"):
        skip_outside_ci("no writable cpu cgroup here: the process engine cannot cap CPU (COVERAGE.md)")
    emu.create(rg, "busy", group_body(container("busy", emu.images.shell, command=["/bin/sh", "-c", BUSY],
                                                cpu=0.25), policy="Never"))
    if emu.engine == "docker":
        from .conftest import docker_containers_of

        found = docker_containers_of(emu.running.home.path, running_only=True)
        assert [c.attrs["HostConfig"]["NanoCpus"] for c in found] == [250_000_000]
        assert found[0].attrs["HostConfig"]["Memory"] == 1024 ** 3
    usage = _cpu_share(emu, rg, "busy", "busy")
    assert 0.1 < usage < 0.45, usage  # unlimited, two loops would use ~2 cores here


def _cpu_share(emu: EngineEmulator, rg: str, name: str, container_name: str, seconds: float = 3.0) -> float:
    """Cores the container used over ``seconds``: Docker's own counters, or the processes' /proc ticks."""
    first = _cpu_seconds(emu)
    started = time.monotonic()
    time.sleep(seconds)
    return (_cpu_seconds(emu) - first) / (time.monotonic() - started)


def _cpu_seconds(emu: EngineEmulator) -> float:
    if emu.engine == "docker":
        from .conftest import docker_containers_of

        (found,) = docker_containers_of(emu.running.home.path, running_only=True)
        return float(found.stats(stream=False)["cpu_stats"]["cpu_usage"]["total_usage"]) / 1e9
    total = 0
    home = str(emu.running.home.path).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == emu.running.pid:
            continue
        try:
            if home not in Path(f"/proc/{entry}/environ").read_bytes():
                continue
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")
