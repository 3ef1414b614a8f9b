"""The real ``az container exec --exec-command /bin/sh`` in a pseudo-terminal (pexpect) against the emulator.

The az path comes from ``ACI_TEST_AZ`` (scripts/test.sh sets it from scripts/azure-cli.sh); without it the
test runs scripts/azure-cli.sh itself. It skips only outside CI when the CLI cannot be installed.

Set-up as /work/notes/azcli-trial.md measured it for azure-cli 2.91: the cloud registered with explicit
endpoints, a service-principal login (which stores the secret and token cache), and, while the emulator has
no ``GET /subscriptions`` (issue 13), the profile's subscription written as a successful login writes it.
``WEBSOCKET_CLIENT_CA_BUNDLE`` makes websocket-client (az's websocket library) trust the emulator's CA, as
``REQUESTS_CA_BUNDLE`` does for its HTTP calls.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pexpect
import pytest

from .test_exec_protocol import group_body, wait_running

REPO = Path(__file__).resolve().parents[2]


def _az_path() -> str:
    given = os.environ.get("ACI_TEST_AZ") or os.environ.get("ACI_WIDGETS_AZ")
    if given and Path(given).is_file():
        return given
    try:
        done = subprocess.run(["bash", str(REPO / "scripts" / "azure-cli.sh")], capture_output=True, text=True,
                              timeout=900, check=True)
        return done.stdout.strip().splitlines()[-1]
    except (subprocess.SubprocessError, IndexError) as error:
        if os.environ.get("CI") == "true":
            raise AssertionError(f"the Azure CLI is required in CI: {error}") from error
        pytest.skip(f"the Azure CLI could not be installed here: {error}")


@pytest.fixture(scope="module")
def az(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    az_path = _az_path()
    auth = emulator.auth
    url = emulator.base_url.rstrip("/")
    config_dir = tmp_path_factory.mktemp("azure-config")
    env = {**os.environ, "AZURE_CONFIG_DIR": str(config_dir), "REQUESTS_CA_BUNDLE": str(emulator.ca_path),
           "WEBSOCKET_CLIENT_CA_BUNDLE": str(emulator.ca_path), "AZURE_CORE_INSTANCE_DISCOVERY": "false",
           "AZURE_CORE_COLLECT_TELEMETRY": "false", "AZURE_CORE_NO_COLOR": "true"}

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([az_path, *args], check=False, env=env, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        if check and done.returncode != 0:
            raise AssertionError(f"az {' '.join(args[:3])} failed ({done.returncode}): {done.stderr[-1500:]}")
        return done

    run("cloud", "register", "-n", "aciemu", "--skip-endpoint-discovery", "--endpoint-resource-manager",
        f"{url}/", "--endpoint-active-directory", url, "--endpoint-active-directory-resource-id", f"{url}/",
        "--endpoint-management", f"{url}/", "--endpoint-active-directory-graph-resource-id", f"{url}/graph/",
        "--endpoint-sql-management", f"{url}/sql/", "--endpoint-gallery", f"{url}/gallery/")
    run("cloud", "set", "-n", "aciemu")
    login = run("login", "--service-principal", "-u", auth["clientId"], "-p", auth["clientSecret"], "--tenant",
                auth["tenantId"], check=False)
    if run("account", "show", check=False).returncode != 0:
        # Until the emulator serves GET /subscriptions (issue 13): what a successful login would have written.
        assert (config_dir / "service_principal_entries.json").exists() or login.returncode == 0, login.stderr
        profile = {"installationId": str(uuid.uuid4()), "subscriptions": [{
            "id": auth["subscriptionId"], "name": "ACI emulator", "state": "Enabled", "isDefault": True,
            "tenantId": auth["tenantId"], "homeTenantId": auth["tenantId"], "environmentName": "aciemu",
            "managedByTenants": [], "user": {"name": auth["clientId"], "type": "servicePrincipal"}}]}
        (config_dir / "azureProfile.json").write_text(json.dumps(profile), encoding="utf-8-sig")
    run("account", "show")
    return {"path": az_path, "env": env, "run": run}


def test_az_container_exec_shell_in_a_terminal(az, ci_client, resource_group, unique_name):
    ci_client.container_groups.begin_create_or_update(
        resource_group, unique_name, group_body(["sleep", "120"], env={"WHO": "emulated"})).result()
    wait_running(ci_client, resource_group, unique_name)
    child = pexpect.spawn(az["path"], ["container", "exec", "-g", resource_group, "-n", unique_name,
                                       "--exec-command", "/bin/sh"], env=az["env"], dimensions=(30, 100),
                          timeout=60)
    try:
        # Type only once the remote shell's prompt is there: az puts its terminal in raw mode with
        # TCSAFLUSH after it connects, which drops anything typed before.
        child.expect("# ")
        child.send("echo who=$WHO-$((6*7))\r")
        child.expect("who=emulated-42")
        child.send("stty size\r")
        child.expect("30 100")  # az sent its terminal's size; the shell's pty has it
        child.send("exit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
