"""Backend: restart policies, crash-loop back-off, instance views and group states as ACI reports them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aci_widgets._testing import wait_for
from aci_widgets.emulator.config import EmulatorHome
from aci_widgets.emulator.runtime.process import is_process_alive
from aci_widgets.emulator.state.backend import Backend

SUB, RG = "sub", "rg"


def task(name: str, script: str, *, cpu: float = 1.0) -> dict[str, Any]:
    return {"name": name, "properties": {"image": "alpine", "command": ["/bin/sh", "-c", script],
                                         "resources": {"requests": {"cpu": cpu, "memoryInGB": 1}}}}


def body(*containers: dict[str, Any], policy: str) -> dict[str, Any]:
    return {"location": "eastus", "properties": {"containers": list(containers), "osType": "Linux",
                                                 "restartPolicy": policy}}



@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    instance = Backend(EmulatorHome(tmp_path), backoff_base_seconds=0.1, backoff_cap_seconds=0.4,
                       kill_grace_seconds=1.0)
    instance.create_or_update_resource_group(SUB, RG, {"location": "eastus"})
    yield instance
    pids = [run.process.pid for run in instance._runtime._runs.values()]
    instance.shutdown()
    assert not [pid for pid in pids if is_process_alive(pid)]


def group(backend: Backend, name: str) -> dict[str, Any]:
    return backend.get_group(SUB, RG, name)


def instance_view(backend: Backend, name: str, index: int = 0) -> dict[str, Any]:
    return group(backend, name)["properties"]["containers"][index]["properties"]["instanceView"]


def events(backend: Backend, name: str) -> dict[str, dict[str, Any]]:
    return {event["name"]: event for event in instance_view(backend, name)["events"]}


def test_always_restarts_a_container_that_exits_0(backend: Backend) -> None:
    backend.create_or_update_group(SUB, RG, "loop", body(task("c", "echo ran"), policy="Always"))
    wait_for(lambda: instance_view(backend, "loop")["restartCount"] >= 2)
    view = instance_view(backend, "loop")
    assert view["previousState"]["state"] == "Terminated"
    assert view["previousState"]["exitCode"] == 0 and view["previousState"]["detailStatus"] == "Completed"
    by_name = events(backend, "loop")
    assert by_name["Started"]["count"] >= 3 and by_name["Killing"]["count"] >= 2
    assert by_name["BackOff"]["type"] == "Warning"
    assert by_name["Started"]["firstTimestamp"] <= by_name["Started"]["lastTimestamp"]
    assert group(backend, "loop")["properties"]["instanceView"]["state"] == "Running"  # never Succeeded


def test_crash_loop_shows_waiting_with_back_off(backend: Backend) -> None:
    backend.create_or_update_group(SUB, RG, "crash", body(task("c", "exit 1"), policy="Always"))
    waiting = wait_for(lambda: (v := instance_view(backend, "crash"))["currentState"]["state"] == "Waiting" and v)
    assert waiting["currentState"] == {"state": "Waiting",
                                       "detailStatus": "CrashLoopBackOff: Back-off restarting failed"}
    assert waiting["previousState"]["exitCode"] == 1 and waiting["previousState"]["detailStatus"] == "Error"
    assert group(backend, "crash")["properties"]["instanceView"]["state"] == "Running"


def test_on_failure_with_exit_0_succeeds_without_restarting(backend: Backend) -> None:
    backend.create_or_update_group(SUB, RG, "ok", body(task("c", "echo done"), policy="OnFailure"))
    wait_for(lambda: group(backend, "ok")["properties"]["instanceView"]["state"] == "Succeeded")
    time.sleep(0.3)  # longer than a back-off: nothing restarts it
    view = instance_view(backend, "ok")
    assert view["restartCount"] == 0 and "previousState" not in view
    assert view["currentState"]["state"] == "Terminated" and view["currentState"]["detailStatus"] == "Completed"
    assert [event["name"] for event in view["events"]] == ["Pulling", "Pulled", "Created", "Started"]
    assert group(backend, "ok")["properties"]["provisioningState"] == "Succeeded"


def test_on_failure_restarts_a_failing_container(backend: Backend) -> None:
    backend.create_or_update_group(SUB, RG, "retry", body(task("c", "exit 3"), policy="OnFailure"))
    wait_for(lambda: instance_view(backend, "retry")["restartCount"] >= 1)
    view = instance_view(backend, "retry")
    assert view["previousState"]["exitCode"] == 3 and view["previousState"]["detailStatus"] == "Error"
    assert group(backend, "retry")["properties"]["instanceView"]["state"] == "Running"


def test_never_with_a_non_zero_exit_fails_the_group(backend: Backend) -> None:
    backend.create_or_update_group(SUB, RG, "once", body(task("c", "echo oops >&2; exit 2"), policy="Never"))
    wait_for(lambda: group(backend, "once")["properties"]["instanceView"]["state"] == "Failed")
    view = instance_view(backend, "once")
    assert view["currentState"]["exitCode"] == 2 and view["restartCount"] == 0
    assert backend.container_logs(SUB, RG, "once", "c", None, False) == "oops\n"  # stderr is in the log
    backend.stop_group(SUB, RG, "once")  # no effect on an ended group
    assert group(backend, "once")["properties"]["instanceView"]["state"] == "Failed"


def test_multi_container_group_ends_when_every_container_ends(backend: Backend) -> None:
    backend.create_or_update_group(SUB, RG, "pair", body(
        task("fast", "exit 0", cpu=0.5), task("slow", "sleep 0.5; exit 4", cpu=0.5), policy="Never"))
    wait_for(lambda: instance_view(backend, "pair", 0)["currentState"]["state"] == "Terminated")
    assert group(backend, "pair")["properties"]["instanceView"]["state"] == "Running"
    wait_for(lambda: group(backend, "pair")["properties"]["instanceView"]["state"] == "Failed")


def test_start_after_success_runs_the_task_again(backend: Backend) -> None:
    backend.create_or_update_group(SUB, RG, "rerun", body(task("c", "echo run"), policy="Never"))
    wait_for(lambda: group(backend, "rerun")["properties"]["instanceView"]["state"] == "Succeeded")
    operation_id = backend.start_group(SUB, RG, "rerun")
    assert operation_id is not None
    wait_for(lambda: backend.operation_status(SUB, "eastus", operation_id)["status"] == "Succeeded")
    wait_for(lambda: group(backend, "rerun")["properties"]["instanceView"]["state"] == "Succeeded")
    assert backend.container_logs(SUB, RG, "rerun", "c", None, False) == "run\n"


def test_stop_during_back_off_cancels_the_restart(backend: Backend) -> None:
    backend.create_or_update_group(SUB, RG, "halt", body(task("c", "exit 1"), policy="Always"))
    wait_for(lambda: instance_view(backend, "halt")["currentState"]["state"] == "Waiting")
    backend.stop_group(SUB, RG, "halt")
    count = instance_view(backend, "halt")["restartCount"]
    time.sleep(0.6)
    view = instance_view(backend, "halt")
    assert view["restartCount"] == count and view["currentState"]["state"] == "Terminated"
    assert group(backend, "halt")["properties"]["instanceView"]["state"] == "Stopped"


def test_killed_container_reports_the_signal_exit_code(backend: Backend) -> None:
    backend.create_or_update_group(SUB, RG, "term", body(task("c", "sleep 30"), policy="Never"))
    backend.stop_group(SUB, RG, "term")
    current = instance_view(backend, "term")["currentState"]
    assert current["exitCode"] == 143 and current["detailStatus"] == "Error"  # SIGTERM, as Docker reports
