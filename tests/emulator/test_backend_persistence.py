"""Backend: state survives a restart, and reconcile leaves no container process unmanaged after a crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

from aci_widgets._testing import wait_for
from aci_widgets.emulator.config import EmulatorHome
from aci_widgets.emulator.runtime.process import is_process_alive
from aci_widgets.emulator.runtime.sandbox import sandbox_kind
from aci_widgets.emulator.state.backend import Backend
from aci_widgets.emulator.state.deployments import RUN_MARKER_ENV

SUB, RG = "sub", "rg"


def body(script: str, policy: str) -> dict[str, Any]:
    return {"location": "eastus", "properties": {"osType": "Linux", "restartPolicy": policy, "containers": [
        {"name": "c", "properties": {"image": "alpine", "command": ["/bin/sh", "-c", script],
                                     "resources": {"requests": {"cpu": 1, "memoryInGB": 1}}}}]}}



def new_backend(home: Path) -> Backend:
    return Backend(EmulatorHome(home), backoff_base_seconds=0.1, kill_grace_seconds=1.0)


def own_pids(backend: Backend) -> list[int]:
    return [run.process.pid for run in backend._runtime._runs.values()]


def container_view(backend: Backend, name: str) -> dict[str, Any]:
    return backend.get_group(SUB, RG, name)["properties"]["containers"][0]["properties"]["instanceView"]


def live_processes_under(home: Path) -> list[int]:
    """Pids of live processes whose working directory is inside ``home`` (container processes of that home)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cwd = os.readlink(f"/proc/{entry}/cwd")
            except OSError:
                continue
            if cwd.startswith(str(home)) and is_process_alive(int(entry)):
                pids.append(int(entry))
    return pids


def test_groups_and_operations_survive_a_clean_restart(tmp_path: Path) -> None:
    first = new_backend(tmp_path)
    first.create_or_update_resource_group(SUB, RG, {"location": "eastus", "tags": {"k": "v"}})
    first.create_or_update_group(SUB, RG, "server", body("sleep 30", "Always"))
    _, _, operation_id = first.create_or_update_group(SUB, RG, "task", body("echo done", "Never"))
    first.create_or_update_group(SUB, RG, "paused", body("sleep 30", "Always"))
    first.stop_group(SUB, RG, "paused")
    wait_for(lambda: first.get_group(SUB, RG, "task")["properties"]["instanceView"]["state"] == "Succeeded")
    before = {group["name"]: group for group in first.list_groups(SUB, None)}
    old_pids = own_pids(first)
    first.shutdown(kill_processes=True)
    assert not [pid for pid in old_pids if is_process_alive(pid)]

    second = new_backend(tmp_path)
    try:
        assert {group["name"]: group for group in second.list_groups(SUB, None)} == before
        assert second.get_resource_group(SUB, RG)["tags"] == {"k": "v"}
        second.reconcile()
        assert second.operation_status(SUB, "eastus", operation_id)["status"] == "Succeeded"
        server = wait_for(lambda: (v := container_view(second, "server"))["currentState"]["state"] == "Running" and v)
        assert server["previousState"]["exitCode"] == 137
        assert any(event["name"] == "Killing" for event in server["events"])
        assert second.get_group(SUB, RG, "task")["properties"]["instanceView"]["state"] == "Succeeded"
        assert second.container_logs(SUB, RG, "task", "c", None, False) == "done\n"
        assert second.get_group(SUB, RG, "paused")["properties"]["instanceView"]["state"] == "Stopped"
        assert len(own_pids(second)) == 1
    finally:
        second.shutdown()


def test_reconcile_after_a_crash_kills_and_records_leftover_processes(tmp_path: Path) -> None:
    crashed = new_backend(tmp_path)
    crashed.create_or_update_resource_group(SUB, RG, {"location": "eastus"})
    crashed.create_or_update_group(SUB, RG, "always", body("sleep 30 & sleep 30", "Always"))
    crashed.create_or_update_group(SUB, RG, "never", body("sleep 30", "Never"))
    leftovers = own_pids(crashed)
    crashed.abandon()  # what a kill -9 leaves: processes running, nobody watching
    del crashed
    assert all(is_process_alive(pid) for pid in leftovers)

    restarted = new_backend(tmp_path)
    try:
        restarted.reconcile()
        for pid in leftovers:
            assert not is_process_alive(pid)
            assert not Path(f"/proc/{pid}").exists()  # killed and reaped: no zombie, no orphan
        never = container_view(restarted, "never")
        assert never["currentState"]["state"] == "Terminated" and never["currentState"]["exitCode"] == 137
        assert never["events"][-1]["name"] == "Killing"
        assert restarted.get_group(SUB, RG, "never")["properties"]["instanceView"]["state"] == "Failed"
        always = wait_for(lambda: (v := container_view(restarted, "always"))["currentState"]["state"] == "Running"
                          and v)
        assert always["previousState"]["exitCode"] == 137
        assert restarted.get_group(SUB, RG, "always")["properties"]["instanceView"]["state"] == "Running"
        assert set(live_processes_under(tmp_path)) <= set(own_pids(restarted)) | _children_of(own_pids(restarted))
        restarted.reconcile()  # a second call leaves this emulator's own processes alone
        assert all(is_process_alive(pid) for pid in own_pids(restarted))
    finally:
        restarted.shutdown()
    assert live_processes_under(tmp_path) == []


def _children_of(pids: list[int]) -> set[int]:
    children = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rfind(")") + 2:].split()[2]) in pids:  # field 5: process group
                children.add(int(entry))
    return children


def test_a_run_whose_pid_was_never_recorded_is_found_by_its_marker(tmp_path: Path) -> None:
    crashed = new_backend(tmp_path)
    crashed.create_or_update_resource_group(SUB, RG, {"location": "eastus"})
    crashed.create_or_update_group(SUB, RG, "g", body("sleep 30", "Never"))
    run_uid = uuid.uuid4().hex
    group_key = ("sub", "rg", "g")
    crashed._store.add_run(run_uid, group_key, "c")  # the row is written before the fork...
    stray = subprocess.Popen(["sleep", "30"], env={**os.environ, RUN_MARKER_ENV: run_uid}, start_new_session=True)
    crashed.abandon()  # ...and the emulator died before it could record the pid
    restarted = new_backend(tmp_path)
    try:
        restarted.reconcile()
        assert not is_process_alive(stray.pid)  # killed (and, being our child here, reaped by reconcile)
        stray.wait(timeout=5)
    finally:
        restarted.shutdown()


def test_a_deployment_cut_short_by_a_crash_is_carried_out(tmp_path: Path) -> None:
    crashed = new_backend(tmp_path)
    crashed.create_or_update_resource_group(SUB, RG, {"location": "eastus"})
    crashed.set_provisioning_delay(0.3)
    _, _, operation_id = crashed.create_or_update_group(SUB, RG, "late", body("sleep 30", "Always"))
    crashed.abandon()
    restarted = new_backend(tmp_path)
    try:
        restarted.reconcile()
        wait_for(lambda: restarted.operation_status(SUB, "eastus", operation_id)["status"] == "Succeeded", 3.0)
        assert restarted.get_group(SUB, RG, "late")["properties"]["instanceView"]["state"] == "Running"
    finally:
        restarted.shutdown()


CRASHING_EMULATOR = textwrap.dedent("""
    import json, os, sys, threading
    from pathlib import Path
    from aci_widgets.emulator.state.backend import Backend
    from aci_widgets.emulator.config import EmulatorHome

    backend = Backend(EmulatorHome(Path(sys.argv[1])))
    backend.create_or_update_resource_group("sub", "rg", {"location": "eastus"})
    body = json.loads(sys.argv[2])

    def create(worker):
        for index in range(1000):
            name = f"g-{worker}-{index}"
            backend.create_or_update_group("sub", "rg", name, body)
            # One write() per line: print() writes the name and the newline separately, so three threads'
            # lines can interleave ("g-0-3g-2-2"). A pipe write under PIPE_BUF is atomic.
            os.write(1, f"{name}\\n".encode())  # acknowledged to the "client"

    for worker in range(3):
        threading.Thread(target=create, args=(worker,), daemon=True).start()
    threading.Event().wait()
""")


def test_kill_9_during_concurrent_creates_loses_no_acknowledged_group_and_orphans_nothing(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", CRASHING_EMULATOR, str(tmp_path),
                              json.dumps(body("sleep 60", "Always"))], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    acknowledged = [child.stdout.readline().strip() for _ in range(12)]
    child.send_signal(signal.SIGKILL)
    child.wait()
    acknowledged += [line.strip() for line in child.stdout.read().splitlines() if line.strip()]
    # With bwrap (--die-with-parent) most containers die with the crashed emulator; those that raced it (started
    # just before the kill) are left, and the reconcile below must take them. Without bwrap all are left.
    if sandbox_kind() != "bwrap":
        assert live_processes_under(tmp_path), "the crash should have left container processes behind"

    restarted = new_backend(tmp_path)
    try:
        restarted.reconcile()
        names = {group["name"] for group in restarted.list_groups(SUB, RG)}
        assert set(acknowledged) <= names
        for name in names:
            group = restarted.get_group(SUB, RG, name)
            assert group["properties"]["provisioningState"] in ("Succeeded", "Pending")
            assert group["properties"]["instanceView"]["state"] in ("Running", "Pending")
        wait_for(lambda: all(container_view(restarted, n)["currentState"]["state"] == "Running" for n in names))
        managed = set(own_pids(restarted))
        assert len(managed) == len(names)
        assert set(live_processes_under(tmp_path)) <= managed | _children_of(list(managed))
    finally:
        restarted.shutdown()
    assert live_processes_under(tmp_path) == []
