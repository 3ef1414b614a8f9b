"""Init containers on both engines, through the real SDK over HTTPS (COVERAGE.md "Init containers").

They run one after another, in order, each to its exit, before any app container starts, and share the
group's volumes; while they run the group is Pending (provisioning Creating) and the app containers Waiting;
a failure ends the group under Never and is retried under OnFailure/Always; a stop kills the one running.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from aci_widgets.emulator.runtime.sandbox import sandbox_kind
from aci_widgets.emulator.runtime.volumes import azure_file_share

from .conftest import EngineEmulator, container, docker_containers_of, group_body, skip_outside_ci, wait_for

MOUNT = [{"name": "work", "mountPath": "/mnt/work"}]
EMPTY_DIR = [{"name": "work", "emptyDir": {}}]


@pytest.fixture(autouse=True)
def _mounts_possible(engine_emulator: EngineEmulator) -> None:
    if engine_emulator.engine == "process" and sandbox_kind() != "bwrap":
        skip_outside_ci("no bubblewrap here: the process engine puts volumes under the working folder (COVERAGE.md)")


def init(name: str, image: str, script: str, mounts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An init container: no ports, no resources (ACI's schema has none for it)."""
    return {"name": name, "properties": {"image": image, "command": ["/bin/sh", "-c", script],
                                         "volumeMounts": mounts if mounts is not None else MOUNT}}


def with_inits(body: dict[str, Any], *inits: dict[str, Any]) -> dict[str, Any]:
    body["properties"]["initContainers"] = list(inits)
    return body


def app(emu: EngineEmulator, script: str, name: str = "app") -> dict[str, Any]:
    return container(name, emu.images.shell, command=["/bin/sh", "-c", script], mounts=MOUNT, cpu=0.5, memory=0.5)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def state(emu: EngineEmulator, rg: str, name: str) -> str:
    return str(emu.ci.container_groups.get(rg, name).instance_view.state)


def init_views(emu: EngineEmulator, rg: str, name: str) -> dict[str, Any]:
    props = emu.group_json(rg, name)["properties"]
    return {c["name"]: c["properties"].get("instanceView") for c in props["initContainers"]}


def app_view(emu: EngineEmulator, rg: str, name: str, container_name: str = "app") -> Any:
    props = emu.group_json(rg, name)["properties"]
    return next(c for c in props["containers"] if c["name"] == container_name)["properties"].get("instanceView")


def ended(emu: EngineEmulator, rg: str, name: str, timeout: float = 60) -> str:
    assert wait_for(lambda: state(emu, rg, name) in ("Succeeded", "Failed", "Stopped"), timeout=timeout), \
        emu.group_json(rg, name)
    return state(emu, rg, name)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_an_init_container_prepares_a_volume_the_app_then_reads(engine_emulator: EngineEmulator, rg: str) -> None:
    emu = engine_emulator
    # The app reads the file without waiting for it: it is there only if the init container ran to its end first.
    body = with_inits(group_body(app(emu, "cat /mnt/work/setting"), policy="Never", volumes=EMPTY_DIR),
                      init("prep", emu.images.shell,
                           "echo preparing; sleep 1; echo from-init > /mnt/work/setting"))
    created = emu.create(rg, "prep", body)
    assert created.provisioning_state == "Succeeded"
    assert ended(emu, rg, "prep") == "Succeeded"
    assert emu.logs(rg, "prep", "app") == "from-init\n"
    assert emu.logs(rg, "prep", "prep") == "preparing\n"  # an init container's log, by its name
    view = init_views(emu, rg, "prep")["prep"]
    assert view["currentState"]["state"] == "Terminated"
    assert view["currentState"]["exitCode"] == 0 and view["currentState"]["detailStatus"] == "Completed"
    assert view["restartCount"] == 0
    assert [event["name"] for event in view["events"]] == ["Pulling", "Pulled", "Created", "Started"]
    app_state = app_view(emu, rg, "prep")["currentState"]
    assert moment(app_state["startTime"]) >= moment(view["currentState"]["finishTime"])
    # The SDK's model carries the init container's instance view too.
    model = emu.ci.container_groups.get(rg, "prep").init_containers[0].instance_view
    assert model.current_state.exit_code == 0 and model.restart_count == 0


def test_init_containers_run_one_after_another_in_order(engine_emulator: EngineEmulator, rg: str) -> None:
    emu = engine_emulator
    body = with_inits(group_body(app(emu, "cat /mnt/work/log"), policy="Never", volumes=EMPTY_DIR),
                      init("first", emu.images.shell, "sleep 1; echo first >> /mnt/work/log"),
                      init("second", emu.images.shell,
                           "[ -s /mnt/work/log ] && echo second >> /mnt/work/log || echo too-early >> /mnt/work/log"),
                      init("third", emu.images.shell, "echo third >> /mnt/work/log"))
    emu.create(rg, "ordered", body)
    assert ended(emu, rg, "ordered") == "Succeeded"
    assert emu.logs(rg, "ordered", "app") == "first\nsecond\nthird\n"
    views = init_views(emu, rg, "ordered")
    assert list(views) == ["first", "second", "third"]
    for earlier, later in (("first", "second"), ("second", "third")):
        assert moment(views[later]["currentState"]["startTime"]) >= moment(views[earlier]["currentState"]["finishTime"])


def test_a_failing_init_container_under_never_fails_the_group(engine_emulator: EngineEmulator, rg: str) -> None:
    emu = engine_emulator
    body = with_inits(group_body(app(emu, "echo the app ran > /mnt/work/app-ran; echo app"), policy="Never",
                                 volumes=EMPTY_DIR),
                      init("broken", emu.images.shell, "echo cannot set up; exit 3"),
                      init("after", emu.images.shell, "echo never > /mnt/work/after"))
    created = emu.create(rg, "broken", body)  # the deployment ran to its end: provisioning Succeeded
    assert created.provisioning_state == "Succeeded"
    assert ended(emu, rg, "broken") == "Failed"
    views = init_views(emu, rg, "broken")
    current = views["broken"]["currentState"]
    assert current["state"] == "Terminated" and current["exitCode"] == 3 and current["detailStatus"] == "Error"
    assert views["broken"]["restartCount"] == 0
    assert views["after"] is None  # never started
    assert emu.logs(rg, "broken", "broken") == "cannot set up\n"
    waiting = app_view(emu, rg, "broken")
    assert waiting["currentState"]["state"] == "Waiting" and waiting["restartCount"] == 0
    assert waiting["events"] == []
    with pytest.raises(HttpResponseError):  # the app container never ran: it has no log
        emu.logs(rg, "broken", "app")
    time.sleep(1.0)
    assert ended(emu, rg, "broken") == "Failed"  # and it stays so


def test_a_failing_init_container_is_retried_under_on_failure(engine_emulator: EngineEmulator, rg: str) -> None:
    emu = engine_emulator
    # Fails on its first run, succeeds on the second: then the app starts.
    script = "if [ -f /mnt/work/tried ]; then echo retried; else touch /mnt/work/tried; exit 1; fi"
    body = with_inits(group_body(app(emu, "echo app after retry"), policy="OnFailure", volumes=EMPTY_DIR),
                      init("flaky", emu.images.shell, script))
    emu.create(rg, "flaky", body)
    assert ended(emu, rg, "flaky") == "Succeeded"
    view = init_views(emu, rg, "flaky")["flaky"]
    assert view["restartCount"] == 1
    assert view["previousState"]["exitCode"] == 1 and view["previousState"]["detailStatus"] == "Error"
    assert view["currentState"]["exitCode"] == 0
    assert {"Killing", "BackOff"} <= {event["name"] for event in view["events"]}
    assert emu.logs(rg, "flaky", "flaky") == "retried\n"
    assert emu.logs(rg, "flaky", "app") == "app after retry\n"


def test_an_always_failing_init_container_crash_loops_under_always(engine_emulator: EngineEmulator, rg: str) -> None:
    emu = engine_emulator
    name = unique("loop")
    body = with_inits(group_body(app(emu, "echo never"), policy="Always", volumes=EMPTY_DIR),
                      init("loop", emu.images.shell, "exit 2"))
    poller = emu.ci.container_groups.begin_create_or_update(rg, name, body)
    try:
        assert wait_for(lambda: ((init_views(emu, rg, name)["loop"] or {}).get("restartCount", 0) >= 2), timeout=30)
        assert not poller.done()  # the deployment waits for its init containers
        props = emu.group_json(rg, name)["properties"]
        assert props["provisioningState"] == "Creating" and props["instanceView"]["state"] == "Pending"
        assert app_view(emu, rg, name)["currentState"]["state"] == "Waiting"
    finally:
        emu.ci.container_groups.begin_delete(rg, name).result()
    with pytest.raises(HttpResponseError):
        poller.result()  # its group was deleted under it


def test_while_an_init_container_runs_the_group_is_pending(engine_emulator: EngineEmulator, rg: str) -> None:
    emu = engine_emulator
    name = unique("slow")
    body = with_inits(group_body(app(emu, "echo app"), app(emu, "echo side", "side"), policy="Never",
                                 volumes=EMPTY_DIR),
                      init("slow", emu.images.shell, "echo working; sleep 120"))
    poller = emu.ci.container_groups.begin_create_or_update(rg, name, body)
    try:
        assert wait_for(lambda: ((init_views(emu, rg, name)["slow"] or {}).get("currentState") or {}).get("state")
                        == "Running", timeout=30)
        assert wait_for(lambda: emu.logs(rg, name, "slow") == "working\n", timeout=10)  # a running init's log
        props = emu.group_json(rg, name)["properties"]
        assert props["provisioningState"] == "Creating"
        assert props["instanceView"]["state"] == "Pending"
        view = props["initContainers"][0]["properties"]["instanceView"]
        assert view["currentState"]["state"] == "Running" and view["currentState"]["detailStatus"] == ""
        assert view["restartCount"] == 0 and "previousState" not in view
        assert [event["name"] for event in view["events"]] == ["Pulling", "Pulled", "Created", "Started"]
        for app_container in props["containers"]:
            waiting = app_container["properties"]["instanceView"]
            assert waiting["currentState"] == {"state": "Waiting", "detailStatus": "PodInitializing"}
            assert waiting["restartCount"] == 0 and waiting["events"] == []
        assert not poller.done()
        with pytest.raises(HttpResponseError):
            emu.logs(rg, name, "app")
        models = emu.ci.container_groups.get(rg, name)
        assert [c.instance_view.current_state.state for c in models.containers] == ["Waiting", "Waiting"]
        assert models.init_containers[0].instance_view.current_state.state == "Running"
    finally:
        emu.ci.container_groups.begin_delete(rg, name).result()


def test_a_stop_during_the_init_phase_kills_the_init_container(engine_emulator: EngineEmulator, rg: str) -> None:
    emu = engine_emulator
    name = unique("stopped")
    account, share = "initacct", unique("beats")
    beats = azure_file_share(emu.running.home.path, account, share) / "beats"
    body = group_body(app(emu, "echo app > /mnt/work/app-ran"), policy="Always", volumes=[
        *EMPTY_DIR, {"name": "share", "azureFile": {"shareName": share, "storageAccountName": account,
                                                    "storageAccountKey": "a2V5"}}])
    with_inits(body, init("beating", emu.images.shell, "while true; do echo beat >> /mnt/share/beats; sleep 0.1; done",
                          mounts=[*MOUNT, {"name": "share", "mountPath": "/mnt/share"}]))
    poller = emu.ci.container_groups.begin_create_or_update(rg, name, body)
    try:
        assert wait_for(lambda: beats.exists() and beats.stat().st_size > 20, timeout=30)
        emu.ci.container_groups.stop(rg, name)
        assert state(emu, rg, name) == "Stopped"
        view = init_views(emu, rg, name)["beating"]
        assert view["currentState"]["state"] == "Terminated" and view["currentState"]["exitCode"] in (137, 143)
        assert "Killing" in [event["name"] for event in view["events"]]
        time.sleep(0.5)
        size = beats.stat().st_size
        time.sleep(1.5)
        assert beats.stat().st_size == size, "the init container still runs after the stop"
        assert app_view(emu, rg, name) is None  # the app container never ran
        assert emu.group_json(rg, name)["properties"]["provisioningState"] == "Succeeded"
        assert poller.result() is not None  # the create settled with the stop
        if emu.engine == "docker":
            running = [c for c in docker_containers_of(emu.running.home.path, running_only=True)
                       if c.labels.get("org.aci-emulator.group-name") == name]
            assert running == []
    finally:
        emu.ci.container_groups.begin_delete(rg, name).result()


def test_a_restart_runs_the_init_containers_again(engine_emulator: EngineEmulator, rg: str) -> None:
    emu = engine_emulator
    body = with_inits(group_body(app(emu, "cat /mnt/work/runs"), policy="Never", volumes=EMPTY_DIR),
                      init("count", emu.images.shell, "echo run >> /mnt/work/runs"))
    emu.create(rg, "again", body)
    assert ended(emu, rg, "again") == "Succeeded"
    assert emu.logs(rg, "again", "app") == "run\n"
    emu.ci.container_groups.begin_restart(rg, "again").result()
    assert wait_for(lambda: emu.logs(rg, "again", "app") == "run\nrun\n", timeout=30)
    assert ended(emu, rg, "again") == "Succeeded"
    view = init_views(emu, rg, "again")["count"]
    assert [event["name"] for event in view["events"]].count("Started") == 2  # appended after the restart
