"""``aci-emulator`` as a user runs it: in a subprocess, on its own home and port (not the session emulator)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aci_widgets.emulator import launcher
from aci_widgets.emulator.config import EmulatorHome

SDK_AUTH_KEYS = {"clientId", "clientSecret", "subscriptionId", "tenantId", "activeDirectoryEndpointUrl",
                 "resourceManagerEndpointUrl", "activeDirectoryGraphResourceId", "sqlManagementEndpointUrl",
                 "galleryEndpointUrl", "managementEndpointUrl", "caCertPath"}


def cli(*args: str, home: Path, port: int | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ACI_EMULATOR_HOME": str(home)}
    env.pop("ACI_EMULATOR_PORT", None)
    if port is not None:
        env["ACI_EMULATOR_PORT"] = str(port)
    result = subprocess.run([sys.executable, "-m", "aci_widgets.emulator.cli", *args], env=env, text=True, check=False,
                            capture_output=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def main(*args: str, home: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``aci-emulator ARGS`` in this process (faster than a subprocess where isolation does not matter)."""
    from aci_widgets.emulator.cli import main as cli_main

    capsys.readouterr()
    code = cli_main(["--home", str(home), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def fresh_home(tmp_path: Path) -> Path:
    return tmp_path / "not-yet" / "emulator-home"


def test_auth_file_prints_its_path_alone_and_creates_the_home(fresh_home: Path) -> None:
    result = cli("auth-file", home=fresh_home, port=45678)
    path = Path(result.stdout.strip())
    assert result.stdout == f"{path}\n" and path == fresh_home / "auth.json"
    data = json.loads(path.read_text())
    assert set(data) == SDK_AUTH_KEYS
    assert data["resourceManagerEndpointUrl"] == "https://127.0.0.1:45678/"
    assert data["activeDirectoryEndpointUrl"] == "https://127.0.0.1:45678"
    assert Path(data["caCertPath"]).exists()
    assert stat.S_IMODE(fresh_home.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not launcher.status(EmulatorHome(fresh_home)).running  # made without starting a server
    custom = cli("auth-file", "--output", str(fresh_home.parent / "mine.json"), home=fresh_home)
    assert custom.stdout.strip() == str(fresh_home.parent / "mine.json")


def test_ca_prints_its_path_alone_and_creates_the_home(fresh_home: Path, capsys) -> None:
    code, out, _ = main("ca", home=fresh_home, capsys=capsys)
    assert code == 0 and out == f"{fresh_home / 'ca.pem'}\n"
    assert (fresh_home / "ca.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert main("ca", home=fresh_home, capsys=capsys)[1] == out  # the same CA, not a new one


def test_status_of_a_home_without_a_server(fresh_home: Path, capsys) -> None:
    code, out, _ = main("status", home=fresh_home, capsys=capsys)
    assert code == 3 and "not running" in out
    assert json.loads(main("status", "--json", home=fresh_home, capsys=capsys)[1])["running"] is False
    assert "was not running" in main("stop", home=fresh_home, capsys=capsys)[1]


def test_help_documents_the_flags_and_environment() -> None:
    text = subprocess.run([sys.executable, "-m", "aci_widgets.emulator.cli", "serve", "--help"],
                          capture_output=True, text=True, check=True).stdout
    for flag in ("--port", "--home", "--latency-ms", "--provisioning-delay", "--fault", "ACI_EMULATOR_HOME",
                 "ACI_EMULATOR_PORT", "ACI_EMULATOR_FAULTS", "ACI_EMULATOR_LATENCY_MS"):
        assert flag in text, flag


def test_a_bad_fault_flag_is_one_clear_line(fresh_home: Path, capsys) -> None:
    code, _, err = main("serve", "--fault", "oops", home=fresh_home, capsys=capsys)
    assert code == 2 and "STATUS:COUNT" in err and "Traceback" not in err


def test_image_commands(fresh_home: Path, capsys) -> None:
    main("image", "add", "my-job", "--env", "MODE=fast", "--", sys.executable, "-c", "print('hi')",
         home=fresh_home, capsys=capsys)
    listed = main("image", "list", home=fresh_home, capsys=capsys)[1]
    assert "my-job" in listed and "aci-helloworld" in listed
    assert "removed" in main("image", "remove", "my-job", home=fresh_home, capsys=capsys)[1]
    assert main("image", "remove", "my-job", home=fresh_home, capsys=capsys)[0] == 1


# -- a real server's lifecycle -------------------------------------------------------------------------
@pytest.fixture
def server_home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "server-home"
    yield home
    launcher.stop(EmulatorHome(home))  # whatever the test left running


def test_start_is_idempotent_status_reports_and_stop_kills_every_container(
        server_home: Path, emulator_tools: Any, capsys) -> None:
    port = emulator_tools.free_port()
    processes_using = emulator_tools.processes_using
    started = cli("start", home=server_home, port=port)
    assert started.stdout.startswith(f"aci-emulator started: https://127.0.0.1:{port} (pid ")
    again = cli("start", home=server_home, port=port)
    assert again.stdout.startswith("aci-emulator already running: ")
    pid = launcher.status(EmulatorHome(server_home)).pid
    assert f"pid {pid}" in again.stdout
    status = json.loads(main("status", "--json", home=server_home, capsys=capsys)[1])
    engine = status.pop("engine")
    assert status == {"running": True, "healthy": True, "pid": pid, "url": f"https://127.0.0.1:{port}",
                      "home": str(server_home)}
    assert engine.startswith(("process", "docker"))  # which engine runs the containers
    assert main("auth-file", home=server_home, capsys=capsys)[1] == f"{server_home / 'auth.json'}\n"

    ci, rm = emulator_tools.sdk_clients(server_home / "auth.json")
    rm.resource_groups.create_or_update("rg-persist", {"location": "eastus"})
    spec = {"location": "eastus", "properties": {"osType": "Linux", "containers": [{"name": "sleeper", "properties": {
        "image": "alpine", "command": ["sleep", "300"], "resources": {"requests": {"cpu": 1, "memoryInGB": 1}}}}]}}
    for name in ("keep-one", "keep-two"):
        ci.container_groups.begin_create_or_update("rg-persist", name, spec).result()
    assert processes_using(server_home, exclude={pid}), "the sleeping containers run as local processes"

    stopped = cli("stop", home=server_home)
    assert f"stopped (pid {pid})" in stopped.stdout
    assert not launcher.status(EmulatorHome(server_home)).running
    assert not processes_using(server_home, exclude=set()), "no container process outlives `aci-emulator stop`"

    # persistence: the same home, started again, still has both groups (and the token still works)
    cli("start", home=server_home, port=port)
    assert sorted(g.name for g in ci.container_groups.list_by_resource_group("rg-persist")) == ["keep-one", "keep-two"]
    got = ci.container_groups.get("rg-persist", "keep-one")
    assert got.provisioning_state and got.instance_view is not None  # settled in a state its view explains
    cli("stop", home=server_home)
    assert not processes_using(server_home, exclude=set())


def test_a_second_server_on_the_same_home_is_refused(server_home: Path, emulator_tools: Any) -> None:
    cli("start", home=server_home, port=emulator_tools.free_port())
    first = launcher.status(EmulatorHome(server_home))
    second = cli("serve", "--port", str(emulator_tools.free_port()), home=server_home, check=False)
    assert second.returncode == 1 and "already serving" in second.stderr
    assert launcher.status(EmulatorHome(server_home)) == first  # the refused one left the first one's files
    assert launcher.stop(EmulatorHome(server_home)) == first.pid
