"""The seed flows through ``connect("local")``: the emulator started on demand, reached like any other backend."""

from __future__ import annotations

import socket

import pytest

import aci_widgets
from aci_widgets.emulator import launcher
from aci_widgets.emulator.config import EmulatorHome
from aci_widgets.logtail import RESTART_MARKER
from aci_widgets.spec import ContainerSpec, GroupSpec, PortSpec, shell_command


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def local_session(tmp_path, monkeypatch):
    home = tmp_path / "local-home"
    monkeypatch.setenv("ACI_EMULATOR_HOME", str(home))
    monkeypatch.setenv("ACI_EMULATOR_PORT", str(_free_port()))
    for variable in ("AZURE_AUTH_LOCATION", "AZURE_SUBSCRIPTION_ID", "ACI_WIDGETS_BACKEND"):
        monkeypatch.delenv(variable, raising=False)
    notes: list[str] = []
    session = aci_widgets.connect("local", resource_group="rg-local", quiet=True)
    session.notify = notes.append
    yield session
    launcher.stop(EmulatorHome(home))
    assert not launcher.status(EmulatorHome(home)).running


def test_seed_flows_on_the_local_backend(local_session):
    session = local_session
    assert session.backend == "local" and "local emulator" in session.description
    session.ensure_resource_group("rg-local")
    single = session.create_group(GroupSpec.single(
        "hello", "mcr.microsoft.com/azuredocs/aci-helloworld", cpu=1, memory_gb=1, ports=[80],
        ip_address="Public", dns_name_label="hello-local"))
    assert single.state == "Running" and single.fqdn.startswith("hello-local.")
    pair = session.create_group(GroupSpec(
        name="app-sidecar", ip_address_type="Public", ports=[PortSpec(80)],
        containers=[ContainerSpec("app", "mcr.microsoft.com/azuredocs/aci-helloworld", ports=[PortSpec(80)]),
                    ContainerSpec("sidecar", "mcr.microsoft.com/azuredocs/aci-tutorial-sidecar", cpu=0.5,
                                  memory_gb=0.5)]))
    assert pair.containers == ["app", "sidecar"]
    task = session.run_task("alpine", command=["echo", "FOO", "BAR"], env={"GREETING": "hi"})
    assert task.state == "Succeeded" and "FOO BAR" in next(iter(task.logs.values()))
    chained = session.run_task("alpine", command=shell_command("echo FOO BAR && echo done"))
    assert next(iter(chained.logs.values())).splitlines() == ["FOO BAR", "done"]
    frame = session.list_groups()
    assert set(frame["state"]) == {""}  # the list API has no instance view
    assert len(frame) == 4
    assert list(session.get_group("app-sidecar").instance_view["state"]) == ["Running", "Running"]
    assert sorted(session.delete_groups(*frame["name"])) == sorted(frame["name"])
    session.delete_resource_group("rg-local")
    assert "rg-local" not in session.list_resource_groups()


def test_follow_logs_survives_a_container_restart(local_session):
    session = local_session
    session.ensure_resource_group("rg-local")
    # Restart policy Always: the container exits and is started again, and its log starts again with it.
    session.create_group(GroupSpec.single(
        "flaky", "alpine", command=shell_command("echo run-start; sleep 0.3; echo run-end; exit 1")))
    lines = list(session.follow_logs("flaky", interval=0.1, timeout=4))
    assert RESTART_MARKER in lines, lines
    first_restart = lines.index(RESTART_MARKER)
    assert lines[:first_restart].count("run-start") == 1  # each line of a run once, never repeated
    assert "run-start" in lines[first_restart + 1:]
    assert session.get_group("flaky").instance_view.loc[0, "restart_count"] >= 1
