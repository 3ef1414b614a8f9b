"""Backend: the init phase across an emulator restart, an update and a start, and what an init container gets.

In-process with the process engine (tests/engines/test_init_containers.py runs the flows on both engines over
HTTPS). A clean shutdown with ``kill_processes`` leaves the store as a crash does: the next start reconciles.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aci_widgets._testing import wait_for
from aci_widgets.emulator.config import EmulatorHome
from aci_widgets.emulator.state.backend import Backend
from aci_widgets.emulator.state.instance_view import GroupRecord
from aci_widgets.emulator.state.run_specs import init_resources

SUB, RG = "sub", "rg"


def new_backend(home: Path) -> Backend:
    return Backend(EmulatorHome(home), backoff_base_seconds=0.1, kill_grace_seconds=1.0, engine="process")


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    instance = new_backend(tmp_path / "home")
    instance.create_or_update_resource_group(SUB, RG, {"location": "eastus"})
    yield instance
    instance.shutdown(kill_processes=True)


def body(policy: str, *inits: tuple[str, str], app: str = "echo app") -> dict[str, Any]:
    return {"location": "eastus", "properties": {
        "osType": "Linux", "restartPolicy": policy,
        "containers": [{"name": "app", "properties": {"image": "alpine", "command": ["/bin/sh", "-c", app],
                                                      "resources": {"requests": {"cpu": 1, "memoryInGB": 1}}}}],
        "initContainers": [{"name": name, "properties": {"image": "alpine", "command": ["/bin/sh", "-c", script]}}
                           for name, script in inits]}}


def props(backend: Backend, name: str) -> dict[str, Any]:
    return backend.get_group(SUB, RG, name)["properties"]


def init_view(backend: Backend, name: str, index: int = 0) -> dict[str, Any]:
    return props(backend, name)["initContainers"][index]["properties"].get("instanceView") or {}


def running(view: dict[str, Any]) -> bool:
    return (view.get("currentState") or {}).get("state") == "Running"


# Sleeps on its first run, exits 0 at once on the next (the marker is in its own working folder, kept per group).
FIRST_RUN_SLOW = "if [ -f tried ]; then echo resumed; else touch tried; sleep 60; fi"


def test_an_init_phase_cut_by_a_restart_retries_the_init_container(tmp_path: Path) -> None:
    first = new_backend(tmp_path)
    first.create_or_update_resource_group(SUB, RG, {"location": "eastus"})
    _, _, operation_id = first.create_or_update_group(SUB, RG, "resumed", body("OnFailure", ("prep", FIRST_RUN_SLOW)))
    assert wait_for(lambda: running(init_view(first, "resumed")), timeout=15)
    # Running is said when the process starts, not when its shell has run `touch tried`: on a loaded machine the
    # kill could come first, and the retry would then sleep too. Wait for the marker itself.
    assert wait_for(lambda: any(tmp_path.rglob("tried")), timeout=15)
    first.shutdown(kill_processes=True)

    second = new_backend(tmp_path)
    try:
        assert props(second, "resumed")["instanceView"]["state"] == "Pending"
        second.reconcile()
        assert wait_for(lambda: props(second, "resumed")["instanceView"]["state"] == "Succeeded", timeout=15)
        view = init_view(second, "resumed")
        assert view["restartCount"] == 1 and view["previousState"]["exitCode"] == 137
        assert view["currentState"]["exitCode"] == 0
        assert second.container_logs(SUB, RG, "resumed", "prep", None, False) == "resumed\n"
        assert second.container_logs(SUB, RG, "resumed", "app", None, False) == "app\n"
        assert second.operation_status(SUB, "eastus", operation_id)["status"] == "Succeeded"
    finally:
        second.shutdown(kill_processes=True)


def test_under_never_an_init_container_killed_by_a_restart_fails_the_group(tmp_path: Path) -> None:
    first = new_backend(tmp_path)
    first.create_or_update_resource_group(SUB, RG, {"location": "eastus"})
    first.create_or_update_group(SUB, RG, "cut", body("Never", ("prep", FIRST_RUN_SLOW)))
    assert wait_for(lambda: running(init_view(first, "cut")), timeout=15)
    first.shutdown(kill_processes=True)

    second = new_backend(tmp_path)
    try:
        second.reconcile()
        got = props(second, "cut")
        assert got["instanceView"]["state"] == "Failed" and got["provisioningState"] == "Succeeded"
        assert init_view(second, "cut")["currentState"]["exitCode"] == 137
        assert got["containers"][0]["properties"]["instanceView"]["currentState"]["state"] == "Waiting"
    finally:
        second.shutdown(kill_processes=True)


def test_start_during_the_init_phase_is_a_no_op_and_an_update_replaces_the_init_containers(backend: Backend) -> None:
    backend.create_or_update_group(SUB, RG, "changing", body("Never", ("old", "sleep 60")))
    assert wait_for(lambda: running(init_view(backend, "changing")), timeout=15)
    assert backend.start_group(SUB, RG, "changing") is None  # starting already
    backend.create_or_update_group(SUB, RG, "changing", body("Never", ("new", "echo new")))
    assert wait_for(lambda: props(backend, "changing")["instanceView"]["state"] == "Succeeded", timeout=15)
    assert [c["name"] for c in props(backend, "changing")["initContainers"]] == ["new"]
    assert backend.container_logs(SUB, RG, "changing", "new", None, False) == "new\n"
    with pytest.raises(Exception, match="old"):
        backend.container_logs(SUB, RG, "changing", "old", None, False)


def test_a_failed_group_starts_again_from_its_first_init_container(backend: Backend) -> None:
    backend.create_or_update_group(SUB, RG, "again", body("Never", ("ok", "echo ok"), ("bad", "exit 4")))
    assert wait_for(lambda: props(backend, "again")["instanceView"]["state"] == "Failed", timeout=15)
    assert backend.start_group(SUB, RG, "again") is not None
    assert wait_for(lambda: props(backend, "again")["instanceView"]["state"] == "Failed", timeout=15)
    views = [init_view(backend, "again", index) for index in (0, 1)]
    assert [view["currentState"]["exitCode"] for view in views] == [0, 4]
    assert all(view["restartCount"] == 0 for view in views)  # a start is a new deployment: fresh views


def test_an_init_container_gets_the_groups_total_resources() -> None:
    spec = body("Never", ("prep", "true"))
    spec["properties"]["containers"].append({"name": "side", "properties": {
        "image": "alpine", "resources": {"requests": {"cpu": 0.5, "memoryInGB": 1.5}, "limits": {"cpu": 0.25}}}})
    group = GroupRecord(sub=SUB, rg=RG, name="g", uid="u", spec=spec)
    assert init_resources(group, machine_cpus=8) == (1.25, 2.5)  # each app container's limits, else requests
    assert init_resources(group, machine_cpus=1) == (1.0, 2.5)  # never more CPU than the machine has
