"""The seed flows through the Python API, against the emulator over real HTTPS with the real SDK clients."""

from __future__ import annotations

import threading
import urllib.request

import pytest

from aci_widgets.errors import InvalidInput, NotFound, OperationFailed
from aci_widgets.results import CreateHandle, GroupDetails
from aci_widgets.spec import ContainerSpec, EnvVar, GroupSpec, PortSpec, shell_command

HELLO = "mcr.microsoft.com/azuredocs/aci-helloworld"
SIDECAR = "mcr.microsoft.com/azuredocs/aci-tutorial-sidecar"
WORDCOUNT = "mcr.microsoft.com/azuredocs/aci-wordcount:latest"
LIST_COLUMNS = ["name", "resource_group", "location", "provisioning_state", "state", "os_type", "restart_policy",
                "containers", "images", "cpu", "memory_gb", "ip", "fqdn", "ports",
                "sku", "identity", "volumes", "subnet"]  # the last four added with issue 18 (add, never rename)
IV_COLUMNS = ["container", "image", "state", "detail_status", "start_time", "finish_time", "exit_code",
              "restart_count", "cpu", "memory_gb", "ports", "mounts", "init"]  # init: init containers' rows


def test_single_container_group_with_public_ip_and_fqdn(session):
    spec = GroupSpec.single("hello", HELLO, cpu=1, memory_gb=1, ports=[80], ip_address="Public",
                            dns_name_label="aci-demo-hello")
    progress = []
    details = session.create_group(spec, progress=progress.append)
    assert isinstance(details, GroupDetails)
    assert details.provisioning_state == "Succeeded"
    assert details.state == "Running"
    assert details.fqdn and details.fqdn.startswith("aci-demo-hello.")
    assert progress and progress[-1].done and "Succeeded" in progress[-1].status
    # The page is really served, through the emulator's host-port mapping.
    host_port = details.properties_json["ipAddress"]["hostPorts"][0]["hostPort"]
    for _ in range(50):
        try:
            page = urllib.request.urlopen(f"http://127.0.0.1:{host_port}/", timeout=2).read().decode()
            break
        except OSError:
            threading.Event().wait(0.1)
    assert "Azure Container Instances" in page


def test_app_and_sidecar_group(session):
    spec = GroupSpec(
        name="app-sidecar",
        containers=[
            ContainerSpec("app", HELLO, cpu=1, memory_gb=1, ports=[PortSpec(80)]),
            ContainerSpec("sidecar", SIDECAR, cpu=0.5, memory_gb=0.5),
        ],
        ip_address_type="Public",
        ports=[PortSpec(80)],
    )
    details = session.create_group(spec)
    assert details.containers == ["app", "sidecar"]
    frame = details.instance_view
    assert list(frame.columns) == IV_COLUMNS
    assert set(frame["state"]) == {"Running"}


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["echo", "FOO", "BAR"], "FOO BAR"),
        (shell_command("echo FOO BAR && echo second line"), "second line"),
    ],
)
def test_task_with_command_override_env_and_restart_never(session, command, expected):
    result = session.run_task("alpine", command=command, env={"GREETING": "hi"}, secure_env={"TOKEN": "s3cr3t-val"})
    assert result.state == "Succeeded"
    assert set(result.exit_codes.values()) == {0}
    assert expected in next(iter(result.logs.values()))
    assert result.details.properties_json["restartPolicy"] == "Never"
    # The secure value reached the process but is never returned.
    assert "s3cr3t-val" not in str(result.details.json)


def test_task_sees_env_and_secure_values(session):
    result = session.run_task("alpine", command=shell_command('echo "$GREETING/$TOKEN"'),
                              env={"GREETING": "hello"}, secure_env={"TOKEN": "visible-to-process"})
    assert "hello/visible-to-process" in next(iter(result.logs.values()))


def test_wordcount_sample_with_parameters(session):
    result = session.run_task(WORDCOUNT, env={"NumWords": "3", "MinLength": "5"})
    assert result.succeeded
    log = next(iter(result.logs.values()))
    assert log.strip(), "wordcount printed nothing"


def test_failing_task_reports_exit_code(session):
    result = session.run_task("alpine", command=shell_command("echo bad >&2; exit 3"))
    assert result.state == "Failed"
    assert list(result.exit_codes.values()) == [3]
    assert "bad" in next(iter(result.logs.values()))


def test_list_has_no_instance_view_unless_live(session):
    session.create_group(GroupSpec.single("long-a", "alpine", command=shell_command("sleep 30")))
    session.create_group(GroupSpec.single("long-b", "alpine", command=shell_command("sleep 30")))
    frame = session.list_groups()
    assert list(frame.columns) == LIST_COLUMNS
    assert sorted(frame["name"]) == ["long-a", "long-b"]
    assert set(frame["state"]) == {""}
    assert set(frame["provisioning_state"]) == {"Succeeded"}
    raw = session.list_group_json()
    assert all("instanceView" not in g["properties"] for g in raw)
    live = session.list_groups(live=True)
    assert set(live["state"]) == {"Running"}


def test_get_shows_instance_view_and_events(session):
    session.create_group(GroupSpec.single("viewed", "alpine", command=shell_command("echo hi; sleep 30")))
    details = session.get_group("viewed")
    row = details.instance_view.iloc[0]
    assert row["state"] == "Running" and row["restart_count"] == 0
    names = set(details.events["name"])
    assert {"Pulling", "Pulled", "Started"} <= names
    assert details.model.containers[0].name == "viewed"  # the SDK model of the same JSON


def test_logs_tail_and_timestamps(session):
    session.run_task("alpine", name="three-lines", command=shell_command("echo one; echo two; echo three"))
    assert session.logs("three-lines").splitlines() == ["one", "two", "three"]
    assert session.logs("three-lines", tail=1).splitlines() == ["three"]
    stamped = session.logs("three-lines", timestamps=True).splitlines()
    assert stamped[0].endswith(" one") and stamped[0][:4].isdigit()
    with pytest.raises(InvalidInput, match="tail"):
        session.logs("three-lines", tail=-1)


def test_follow_logs_yields_each_line_once_and_stops(session):
    session.create_group(GroupSpec.single(
        "follow-me", "alpine", restart_policy="Never",
        command=shell_command("for i in 1 2 3 4 5; do echo line-$i; sleep 0.2; done")))
    lines = list(session.follow_logs("follow-me", interval=0.1, timeout=30))
    assert lines == [f"line-{i}" for i in range(1, 6)]


def test_follow_logs_can_be_stopped(session):
    session.create_group(GroupSpec.single("forever", "alpine", command=shell_command("while true; do sleep 1; done")))
    stop = threading.Event()
    stop.set()
    assert list(session.follow_logs("forever", stop=stop)) == []


def test_stop_start_restart(session):
    session.create_group(GroupSpec.single("cycle", "alpine", command=shell_command("sleep 60")))
    session.stop("cycle")
    assert session.get_group("cycle").state == "Stopped"
    session.start("cycle")
    assert session.get_group("cycle").state == "Running"
    session.restart("cycle")
    assert session.get_group("cycle").state == "Running"


def test_delete_groups_reports_missing_after_deleting_the_rest(session):
    session.create_group(GroupSpec.single("doomed", "alpine", command=shell_command("sleep 60")))
    with pytest.raises(NotFound, match="'ghost'.*deleted doomed"):
        session.delete_groups("doomed", "ghost")
    assert session.list_groups().empty


def test_create_without_waiting_returns_a_handle(session):
    handle = session.create_group(GroupSpec.single("later", "alpine", command=shell_command("sleep 30")), wait=False)
    assert isinstance(handle, CreateHandle)
    details = handle.wait()
    assert details.provisioning_state == "Succeeded"


def test_invalid_spec_makes_no_request(session, emulator):
    emulator.control.clear_requests()
    bad = GroupSpec.single("Bad_Name", "alpine", cpu=9, ports=[70000])
    with pytest.raises(InvalidInput) as info:
        session.create_group(bad)
    assert {"name", "containers[0].cpu"} <= set(info.value.problems)
    assert emulator.control.requests() == []


def test_inaccessible_image_is_acis_error(session):
    with pytest.raises(OperationFailed) as info:
        session.create_group(GroupSpec.single("noimage", "example.invalid/nope:1"))
    assert info.value.code == "InaccessibleImage"
    assert "not accessible" in str(info.value)


def test_not_found_is_one_line(session):
    with pytest.raises(NotFound) as info:
        session.get_group("missing-group")
    assert "missing-group" in str(info.value) and "\n" not in str(info.value)


def test_export_round_trips_through_yaml(session):
    from aci_widgets.spec.formats import spec_from_yaml

    session.create_group(GroupSpec.single("exported", "alpine", command=["sleep", "30"], env={"A": "1"},
                                          secure_env={"B": "hidden-value"}))
    text = session.export_group("exported")
    assert "hidden-value" not in text
    again = spec_from_yaml(text)
    assert again.name == "exported" and again.containers[0].command == ["sleep", "30"]


def test_retries_are_announced(session, emulator):
    notes: list[str] = []
    session.notify = notes.append
    emulator.control.inject_faults(status=503, count=2)
    assert session.list_groups().empty
    assert any("503" in n and "retrying" in n for n in notes)


def test_environment_variables_with_secure_toggle_are_not_listed(session):
    spec = GroupSpec(name="envs", containers=[ContainerSpec(
        "envs", "alpine", command=["sleep", "30"],
        env=[EnvVar("PLAIN", "visible"), EnvVar("HIDDEN", "never-shown", secure=True)])])
    session.create_group(spec)
    assert "never-shown" not in session.list_groups().to_string()
    assert "never-shown" not in str(session.get_group_json("envs"))
