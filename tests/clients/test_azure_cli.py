"""The Azure CLI (2.91, from scripts/azure-cli.sh) through the ACI quickstart against a fresh emulator.

The emulator is started by the helper alone (``aci-emulator az-env`` in a new home); every ``az`` runs with a
``HOME`` of its own, so the test also sees that the user's ``~/.azure`` is never written. Each step asserts
what Azure's docs show for it (learn.microsoft.com "Quickstart: Deploy a container instance in Azure using the
Azure CLI", "Set environment variables / command line" and "multi-container group with YAML"): exit code,
FQDN (the emulator's documented suffix ``.localhost`` for Azure's ``.azurecontainer.io``), states, log text.
The steps run in file order and share one emulator; a failed step fails the steps that need it.
"""

from __future__ import annotations

import ast
import json
import os
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.slow

RG = "myResourceGroup"
LABEL = "aci-demo-i13"  # the docs' "aci-demo", unique on the emulator
HELLO = "mcr.microsoft.com/azuredocs/aci-helloworld"
WORDCOUNT_LINE = "python wordcount.py http://shakespeare.mit.edu/romeo_juliet/full.html"  # the docs' own
DOCS_YAML = """\
apiVersion: 2019-12-01
location: eastus
name: myContainerGroup
properties:
  containers:
  - name: aci-tutorial-app
    properties:
      image: mcr.microsoft.com/azuredocs/aci-helloworld:latest
      resources:
        requests:
          cpu: 1
          memoryInGb: 1.5
      ports:
      - port: 80
      - port: 8080
  - name: aci-tutorial-sidecar
    properties:
      image: mcr.microsoft.com/azuredocs/aci-tutorial-sidecar
      resources:
        requests:
          cpu: 1
          memoryInGb: 1.5
  osType: Linux
  ipAddress:
    type: Public
    ports:
    - protocol: tcp
      port: 80
    - protocol: tcp
      port: 8080
tags: {exampleTag: tutorial}
type: Microsoft.ContainerInstance/containerGroups
"""


class Az:
    """Runs ``az`` with the helper's environment (or another config dir) and a private HOME."""

    def __init__(self, path: str, home: Path, env: dict[str, str]):
        self.path, self.home, self.env = path, home, env

    def __call__(self, *args: str, config_dir: Path | None = None, check: bool = True,
                 timeout: float = 180) -> subprocess.CompletedProcess[str]:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("AZURE_", "ACI_EMULATOR_")) and key not in ("PYTHONPATH", "REQUESTS_CA_BUNDLE")}
        env.update(self.env, HOME=str(self.home), AZURE_CORE_COLLECT_TELEMETRY="false", AZURE_CORE_NO_COLOR="true")
        if config_dir is not None:
            env["AZURE_CONFIG_DIR"] = str(config_dir)
        result = subprocess.run([self.path, *args], env=env, capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL, check=False)
        if check:
            assert result.returncode == 0, f"az {shlex.join(args)} -> {result.returncode}\n{result.stderr[-3000:]}"
        return result

    def json(self, *args: str, **kwargs: Any) -> Any:
        return json.loads(self(*args, "-o", "json", **kwargs).stdout)


@pytest.fixture(scope="module")
def cli(az_path: str, tmp_path_factory: pytest.TempPathFactory,
        emulator_tools: SimpleNamespace) -> Any:
    home = tmp_path_factory.mktemp("az-emulator-home")
    port = emulator_tools.free_port()
    # The helper alone: it starts the emulator of this new home and prints the exports.
    helper = subprocess.run([sys.executable, "-m", "aci_widgets.emulator.cli", "--home", str(home), "az-env",
                             "--port", str(port)], capture_output=True, text=True, timeout=120, check=False)
    assert helper.returncode == 0, helper.stderr
    exports = {}
    for line in helper.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        exports[name] = shlex.split(value)[0]
    assert set(exports) == {"AZURE_CONFIG_DIR", "REQUESTS_CA_BUNDLE", "AZURE_CORE_INSTANCE_DISCOVERY"}
    running = emulator_tools.start_emulator(home, port)  # finds the server the helper started
    user_home = tmp_path_factory.mktemp("az-user-home")
    state = SimpleNamespace(az=Az(az_path, user_home, exports), emulator=running, auth=running.auth,
                            url=running.base_url, user_home=user_home, exports=exports)
    try:
        yield state
    finally:
        left = emulator_tools.stop_emulator(running)
        assert not left, f"container processes left running: {sorted(left)}"


def wait_for(produce: Any, done: Any, timeout: float = 30.0, interval: float = 0.3) -> Any:
    """``produce()`` again until ``done(value)`` or the timeout; the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = produce()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(interval)


# -- sign-in ----------------------------------------------------------------------------------------
def test_01_cloud_register_discovers_the_endpoints(cli: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    cli.own_config = tmp_path_factory.mktemp("az-own-config")
    az = cli.az
    env_config = {"config_dir": cli.own_config}
    # As the docs write it, with a trailing slash (so the CLI asks for //metadata/endpoints), no token.
    az("cloud", "register", "-n", "emulatorDiscovered", "--endpoint-resource-manager", cli.url + "/", **env_config)
    endpoints = az.json("cloud", "show", "-n", "emulatorDiscovered", "--query", "endpoints", **env_config)
    assert endpoints["resourceManager"] == cli.url + "/"
    assert endpoints["activeDirectory"] == cli.url
    assert endpoints["activeDirectoryResourceId"] == cli.url + "/"
    az("cloud", "set", "-n", "emulatorDiscovered", **env_config)


def test_02_login_with_a_service_principal(cli: Any) -> None:
    auth = cli.auth
    accounts = cli.az.json("login", "--service-principal", "-u", auth["clientId"], "-p", auth["clientSecret"],
                           "--tenant", auth["tenantId"], config_dir=cli.own_config)
    assert [(a["id"], a["state"], a["tenantId"], a["user"]["type"], a["cloudName"]) for a in accounts] == [
        (auth["subscriptionId"], "Enabled", auth["tenantId"], "servicePrincipal", "emulatorDiscovered")]


def test_03_login_without_subscription_discovery(cli: Any) -> None:
    auth = cli.auth
    accounts = cli.az.json("login", "--service-principal", "-u", auth["clientId"], "-p", auth["clientSecret"],
                           "--tenant", auth["tenantId"], "--skip-subscription-discovery", "--subscription",
                           auth["subscriptionId"], config_dir=cli.own_config)
    assert [a["id"] for a in accounts] == [auth["subscriptionId"]]
    assert cli.az.json("account", "show", "--query", "id", config_dir=cli.own_config) == auth["subscriptionId"]


def test_04_the_helper_alone_logs_the_cli_in_and_leaves_the_users_az_alone(cli: Any) -> None:
    account = cli.az.json("account", "show")
    assert (account["id"], account["environmentName"], account["user"]["type"]) == (
        cli.auth["subscriptionId"], "AciEmulator", "servicePrincipal")
    assert Path(cli.exports["AZURE_CONFIG_DIR"]).parent == cli.emulator.home.path
    assert not (cli.user_home / ".azure").exists()  # the user's own configuration was never written
    regions = cli.az.json("account", "list-locations", "--query", "[].name")
    assert "eastus" in regions and "westeurope" in regions


# -- the quickstart --------------------------------------------------------------------------------------
def test_05_group_create(cli: Any) -> None:
    group = cli.az.json("group", "create", "--name", RG, "--location", "eastus")
    assert (group["name"], group["location"], group["properties"]["provisioningState"]) == (RG, "eastus",
                                                                                              "Succeeded")


def test_06_container_create_with_the_quickstart_flags(cli: Any) -> None:
    group = cli.az.json("container", "create", "--resource-group", RG, "--name", "mycontainer", "--image", HELLO,
                        "--dns-name-label", LABEL, "--ports", "80", "--os-type", "Linux", "--cpu", "1",
                        "--memory", "1.5")
    assert group["provisioningState"] == "Succeeded"
    assert group["ipAddress"]["fqdn"] == f"{LABEL}.eastus.localhost"
    assert group["ipAddress"]["ports"] == [{"port": 80, "protocol": "TCP"}]
    assert group["containers"][0]["instanceView"]["currentState"]["state"] == "Running"


def test_07_container_show_fqdn_table(cli: Any) -> None:
    out = cli.az("container", "show", "--resource-group", RG, "--name", "mycontainer", "--query",
                 "{FQDN:ipAddress.fqdn,ProvisioningState:provisioningState}", "--out", "table").stdout
    header, rule, row = out.splitlines()
    assert header.split() == ["FQDN", "ProvisioningState"] and set(rule) <= {"-", " "}
    assert row.split() == [f"{LABEL}.eastus.localhost", "Succeeded"]


def test_08_container_list_table(cli: Any) -> None:
    lines = cli.az("container", "list", "-o", "table").stdout.splitlines()
    assert lines[0].split()[:4] == ["Name", "ResourceGroup", "Status", "Image"]
    rows = [line.split() for line in lines[2:]]
    assert rows == [["mycontainer", RG, "Succeeded", HELLO, "127.0.0.1:80", "Public", "1.0", "core/1.5", "gb",
                     "Linux", "eastus"]]


def test_09_container_logs_show_the_app_listening_on_80(cli: Any) -> None:
    group = cli.az.json("container", "show", "-g", RG, "-n", "mycontainer")
    host_port = group["ipAddress"]["hostPorts"][0]["hostPort"]  # emulator extension: where port 80 listens
    page = urllib.request.urlopen(f"http://127.0.0.1:{host_port}/", timeout=10).read().decode()
    assert "Welcome to Azure Container Instances!" in page
    logs = wait_for(lambda: cli.az("container", "logs", "-g", RG, "-n", "mycontainer").stdout,
                    lambda text: "GET / HTTP/1.1" in text)
    first, request = logs.splitlines()[:2]
    assert first == "listening on port 80"  # as the docs show: the app's port in the group
    assert '"GET / HTTP/1.1" 200' in request


def test_10_wordcount_task_with_the_quickstart_command_line(cli: Any) -> None:
    created = cli.az.json("container", "create", "-g", RG, "--name", "mycontainer2", "--image",
                          "mcr.microsoft.com/azuredocs/aci-wordcount:latest", "--restart-policy", "Never",
                          "--os-type", "Linux", "--cpu", "1", "--memory", "1.5", "--command-line", WORDCOUNT_LINE)
    assert created["containers"][0]["command"] == WORDCOUNT_LINE.split()
    state = wait_for(lambda: cli.az.json("container", "show", "-g", RG, "-n", "mycontainer2", "--query",
                                         "containers[0].instanceView.currentState"),
                     lambda current: bool(current) and current["state"] == "Terminated")
    assert (state["state"], state["exitCode"], state["detailStatus"]) == ("Terminated", 0, "Completed")
    assert cli.az.json("container", "show", "-g", RG, "-n", "mycontainer2", "--query",
                       "instanceView.state") == "Succeeded"


def test_11_wordcount_logs_are_a_word_count(cli: Any) -> None:
    words = ast.literal_eval(cli.az("container", "logs", "-g", RG, "-n", "mycontainer2").stdout.strip())
    assert len(words) == 10 and all(isinstance(word, str) and count > 0 for word, count in words)
    assert [count for _, count in words] == sorted((count for _, count in words), reverse=True)
    assert words[0][0] == "the"


def test_12_container_export(cli: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    cli.exported = tmp_path_factory.mktemp("export") / "mycontainer.yaml"
    cli.az("container", "export", "-g", RG, "--name", "mycontainer", "-f", str(cli.exported))
    data = yaml.safe_load(cli.exported.read_text())
    assert data["name"] == "mycontainer" and data["type"] == "Microsoft.ContainerInstance/containerGroups"
    container = data["properties"]["containers"][0]
    assert container["properties"]["image"] == HELLO and "instanceView" not in container["properties"]
    assert "instanceView" not in data["properties"] and "provisioningState" not in data["properties"]


def test_13_container_create_from_the_exported_file(cli: Any) -> None:
    data = yaml.safe_load(cli.exported.read_text())
    data["name"] = "mycontainer3"
    data["properties"]["ipAddress"]["dnsNameLabel"] = LABEL + "-copy"
    cli.exported.write_text(yaml.safe_dump(data))
    group = cli.az.json("container", "create", "-g", RG, "--file", str(cli.exported))  # a generic resource
    assert group["name"] == "mycontainer3" and group["properties"]["provisioningState"] == "Succeeded"
    assert group["properties"]["ipAddress"]["fqdn"] == f"{LABEL}-copy.eastus.localhost"
    shown = cli.az.json("container", "show", "-g", RG, "-n", "mycontainer3")
    assert shown["instanceView"]["state"] == "Running"


def test_14_container_create_from_the_docs_multi_container_yaml(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "deploy-aci.yaml"
    path.write_text(DOCS_YAML)
    group = cli.az.json("container", "create", "-g", RG, "--file", str(path))  # a generic resource
    assert group["name"] == "myContainerGroup" and group["tags"] == {"exampleTag": "tutorial"}
    assert [c["name"] for c in group["properties"]["containers"]] == ["aci-tutorial-app", "aci-tutorial-sidecar"]
    assert group["properties"]["provisioningState"] == "Succeeded"
    logs = wait_for(lambda: cli.az("container", "logs", "-g", RG, "-n", "myContainerGroup", "--container-name",
                                   "aci-tutorial-sidecar").stdout,
                    lambda text: "HTTP/1.1 200 OK" in text)
    assert "HTTP/1.1 200 OK" in logs  # the sidecar reaches the app on localhost, as the docs show


def test_15_container_stop(cli: Any) -> None:
    assert cli.az("container", "stop", "-g", RG, "-n", "mycontainer").stdout == ""
    assert cli.az.json("container", "show", "-g", RG, "-n", "mycontainer", "--query", "instanceView.state") == "Stopped"


def test_16_container_start(cli: Any) -> None:
    cli.az("container", "start", "-g", RG, "-n", "mycontainer")
    assert cli.az.json("container", "show", "-g", RG, "-n", "mycontainer", "--query", "instanceView.state") == "Running"


def test_17_container_restart(cli: Any) -> None:
    cli.az("container", "restart", "-g", RG, "-n", "mycontainer")
    shown = cli.az.json("container", "show", "-g", RG, "-n", "mycontainer")
    assert shown["instanceView"]["state"] == "Running" and shown["provisioningState"] == "Succeeded"


def test_18_container_delete(cli: Any) -> None:
    cli.az("container", "delete", "-g", RG, "-n", "mycontainer", "--yes")
    missing = cli.az("container", "show", "-g", RG, "-n", "mycontainer", check=False)
    assert missing.returncode != 0 and "ResourceNotFound" in missing.stderr
    names = cli.az.json("container", "list", "-g", RG, "--query", "[].name")
    assert sorted(names) == ["myContainerGroup", "mycontainer2", "mycontainer3"]


def test_19_group_delete(cli: Any) -> None:
    cli.az("group", "delete", "--name", RG, "--yes")
    assert cli.az.json("group", "exists", "--name", RG) is False
    assert cli.az.json("container", "list") == []
