"""``aci-emulator az-env``: the exports and the Azure CLI configuration it writes (without running az; the
Azure CLI itself drives it in tests/clients/test_azure_cli.py)."""

from __future__ import annotations

import configparser
import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from aci_widgets.emulator import azcli
from aci_widgets.emulator.config import EmulatorHome


def test_az_env_starts_the_emulator_and_prints_the_exports(tmp_path: Path, emulator_tools: SimpleNamespace) -> None:
    home = tmp_path / "home"
    port = emulator_tools.free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("ACI_EMULATOR_")}
    env["HOME"] = str(tmp_path / "user")
    result = subprocess.run([sys.executable, "-m", "aci_widgets.emulator.cli", "--home", str(home), "az-env",
                             "--port", str(port)], capture_output=True, text=True, env=env, timeout=120, check=False)
    running = emulator_tools.start_emulator(home, port)  # the server az-env started
    try:
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert all(line.startswith("export ") for line in lines)
        exports = dict(shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in lines)
        folder = home / "azure-cli"
        assert exports == {"AZURE_CONFIG_DIR": str(folder), "REQUESTS_CA_BUNDLE": str(folder / "ca-bundle.pem"),
                           "AZURE_CORE_INSTANCE_DISCOVERY": "false"}
        assert f"https://127.0.0.1:{port}" in result.stderr  # what it did goes to stderr, the exports to stdout
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        for path in folder.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert not (tmp_path / "user" / ".azure").exists()
        auth = running.auth
        clouds = configparser.ConfigParser()
        clouds.read(folder / "clouds.config")
        assert clouds[azcli.CLOUD_NAME]["endpoint_resource_manager"] == running.base_url + "/"
        assert clouds[azcli.CLOUD_NAME]["endpoint_active_directory"] == running.base_url
        config = configparser.ConfigParser()
        config.read(folder / "config")
        assert config["cloud"]["name"] == azcli.CLOUD_NAME and config["core"]["instance_discovery"] == "false"
        profile = json.loads((folder / "azureProfile.json").read_text(encoding="utf-8-sig"))
        [account] = profile["subscriptions"]
        assert (account["id"], account["tenantId"], account["user"]) == (
            auth["subscriptionId"], auth["tenantId"], {"name": auth["clientId"], "type": "servicePrincipal"})
        [entry] = json.loads((folder / "service_principal_entries.json").read_text())
        assert entry == {"client_id": auth["clientId"], "tenant": auth["tenantId"],
                         "client_secret": auth["clientSecret"]}
        bundle = (folder / "ca-bundle.pem").read_text()
        assert running.home.ca_path.read_text().strip() in bundle and bundle.count("BEGIN CERTIFICATE") > 1
    finally:
        assert not emulator_tools.stop_emulator(running)


def test_use_in_this_process_is_undone(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AZURE_CONFIG_DIR", "/users/own/azure")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    home = EmulatorHome(tmp_path / "home")
    env = azcli.use_in_this_process(home, "https://127.0.0.1:1")
    assert os.environ["AZURE_CONFIG_DIR"] == env["AZURE_CONFIG_DIR"] != "/users/own/azure"
    azcli.use_in_this_process(home, "https://127.0.0.1:2")  # again: still undoes to the user's own
    assert azcli.restore_this_process()
    assert os.environ["AZURE_CONFIG_DIR"] == "/users/own/azure" and "REQUESTS_CA_BUNDLE" not in os.environ
    assert not azcli.restore_this_process()
