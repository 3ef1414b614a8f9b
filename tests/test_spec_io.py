"""YAML in (read the way az reads it), and the three exports: YAML, Python SDK code, az command line."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from aci_widgets.errors import InvalidInput
from aci_widgets.secrets import Secret
from aci_widgets.spec import ContainerSpec, EnvVar, GroupSpec, PortSpec, RegistryCredential
from aci_widgets.spec.formats import (
    export_group_yaml,
    parse_env_pairs,
    python_secret_variables,
    spec_from_yaml,
    to_az,
    to_python,
    to_yaml,
)

RECORDED = Path(__file__).parent / "fixtures" / "recorded"
SENTINEL = "SENTINEL-SECRET-123"

# The reference YAML of `az container create --file` (docs), as written there: memoryInGb, protocol: tcp,
# an unquoted date apiVersion, tags: null, type.
DOC_YAML = """\
apiVersion: 2018-10-01
location: eastus
name: mycontainergroup
properties:
  containers:
  - name: aci-tutorial-app
    properties:
      image: mcr.microsoft.com/azuredocs/aci-helloworld:latest
      resources: {requests: {cpu: 1, memoryInGb: 1.5}}
      ports: [{port: 80}]
      environmentVariables:
      - {name: NOTSECRET, value: my-exposed-value}
      - {name: SECRET, secureValue: my-secret-value}
  osType: Linux
  restartPolicy: Always
  ipAddress: {type: Public, ports: [{protocol: tcp, port: 80}]}
tags: null
type: Microsoft.ContainerInstance/containerGroups
"""


def recorded(name: str) -> dict[str, Any]:
    data = json.loads((RECORDED / name).read_text())
    return data.get("body", data)


def full_spec() -> GroupSpec:
    """A group that uses every field the model has, secrets included."""
    return GroupSpec(
        name="app",
        containers=[
            ContainerSpec("web", "mcr.microsoft.com/azuredocs/aci-helloworld", cpu=1, memory_gb=1.5,
                          ports=[PortSpec(80)], cpu_limit=1.5,
                          env=[EnvVar("MODE", "it's a \"test\" = yes"), EnvVar("TOKEN", SENTINEL, secure=True)]),
            ContainerSpec("sidecar", "mcr.microsoft.com/azuredocs/aci-tutorial-sidecar", cpu=0.5, memory_gb=0.5,
                          ports=[PortSpec(53, "UDP")], command=["/bin/sh", "-c", "echo 'hi' && sleep 5"]),
        ],
        resource_group="rg-demo", location="westeurope", restart_policy="OnFailure", ip_address_type="Public",
        dns_name_label="app-demo", ports=[PortSpec(80)],
        registry_credentials=[RegistryCredential("myreg.azurecr.io", "me", SENTINEL)], tags={"owner": "ds team"},
    )


def single_spec() -> GroupSpec:
    return GroupSpec.single("task", "alpine", command="python -c 'print(1)'", restart_policy="Never",
                            env=["A=x y", "B=1=2"], secure_env={"TOKEN": SENTINEL}, ip_address="Public",
                            dns_name_label="task-label", ports=[8080], location="eastus", resource_group="rg",
                            registry=("myreg.azurecr.io", "me", SENTINEL), tags={"k": "v"})


# -- reading YAML ------------------------------------------------------------------------------------------


def test_reads_the_reference_yaml_like_az() -> None:
    spec = spec_from_yaml(DOC_YAML)
    assert spec.name == "mycontainergroup" and spec.location == "eastus" and spec.tags == {}
    container = spec.containers[0]
    assert (container.cpu, container.memory_gb) == (1.0, 1.5)  # memoryInGb read as memoryInGB
    assert spec.ports == [PortSpec(80, "TCP")]  # protocol: tcp accepted
    assert container.env[0] == EnvVar("NOTSECRET", "my-exposed-value")
    assert container.env[1].secure and container.env[1].value == Secret("my-secret-value")
    assert spec.problems() == {}


def test_keys_match_without_regard_to_case() -> None:
    text = """
NAME: shouty
Location: westus
PROPERTIES:
  OSType: linux
  RESTARTPOLICY: never
  Containers:
  - Name: app
    Properties:
      IMAGE: alpine
      Command: [echo, hi]
      Resources: {Requests: {CPU: 2, MEMORYINGB: 3}, LIMITS: {cpu: 2}}
      EnvironmentVariables: [{NAME: A, VALUE: b}]
      Ports: [{Port: 80, Protocol: Udp}]
  IPAddress: {Type: public, Ports: [{PORT: 80, protocol: udp}], DNSNameLabel: shouty-label}
"""
    spec = spec_from_yaml(text)
    assert (spec.name, spec.location, spec.os_type, spec.restart_policy) == ("shouty", "westus", "Linux", "Never")
    container = spec.containers[0]
    assert (container.cpu, container.memory_gb, container.cpu_limit) == (2.0, 3.0, 2.0)
    assert container.command == ["echo", "hi"] and container.env == [EnvVar("A", "b")]
    assert spec.ip_address_type == "Public" and spec.ports == [PortSpec(80, "UDP")]
    assert spec.dns_name_label == "shouty-label" and spec.problems() == {}


def test_name_argument_fills_in_or_must_match() -> None:
    no_name = DOC_YAML.replace("name: mycontainergroup\n", "")
    assert spec_from_yaml(no_name, name="given").name == "given"
    assert spec_from_yaml(DOC_YAML, name="mycontainergroup").name == "mycontainergroup"
    assert spec_from_yaml(DOC_YAML, resource_group="rg").resource_group == "rg"


BAD_YAML: list[tuple[str, str, str, str]] = [
    ("unclosed flow list", "name: x\nproperties: [\n", "yaml", "line 3"),
    ("tab indentation", "name: x\nproperties:\n\tcontainers: []\n", "yaml", "line 3, column 1"),
    ("bad indentation", "name: x\n  properties: 1\n containers: 2\n", "yaml", "line 2"),
    ("document is a list", "- name: x\n", "yaml", "expected a mapping"),
    ("empty document", "# nothing\n", "yaml", "empty"),
    ("misspelled resource key", DOC_YAML.replace("memoryInGb", "memry"),
     "properties.containers[0].properties.resources.requests.memry", "did you mean 'memoryInGB'"),
    ("misspelled image", DOC_YAML.replace("image:", "imagee:"),
     "properties.containers[0].properties.imagee", "did you mean 'image'"),
    ("misspelled restart policy", DOC_YAML.replace("restartPolicy", "restartPolcy"),
     "properties.restartPolcy", "did you mean 'restartPolicy'"),
    ("misspelled properties", DOC_YAML.replace("properties:\n  containers", "propertes:\n  containers"),
     "propertes", "did you mean 'properties'"),
    ("unknown key far from all", DOC_YAML.replace("osType: Linux", "flavour: vanilla"),
     "properties.flavour", "unknown key 'flavour'"),
    ("name mismatch", DOC_YAML, "name", "must match"),
    ("no name", DOC_YAML.replace("name: mycontainergroup\n", ""), "name", "required"),
    ("volume key misspelt",
     DOC_YAML.replace("  osType: Linux", "  osType: Linux\n  volumes: [{name: v1, emptyDirs: {}}]"),
     "properties.volumes[0].emptyDirs", "did you mean 'emptyDir'"),
    ("containers not a list", "name: x\nproperties: {containers: {name: a}}\n", "properties.containers",
     "must be a list"),
    ("no resources", DOC_YAML.replace("      resources: {requests: {cpu: 1, memoryInGb: 1.5}}\n", ""),
     "properties.containers[0].properties.resources.requests", "is required"),
    ("no memory request", DOC_YAML.replace(", memoryInGb: 1.5", ""),
     "properties.containers[0].properties.resources.requests.memoryInGB", "is required"),
    ("boolean env value", DOC_YAML.replace("value: my-exposed-value", "value: yes"),
     "properties.containers[0].properties.environmentVariables[0].value", "YAML boolean"),
    ("value and secureValue", DOC_YAML.replace("secureValue: my-secret-value", "secureValue: s, value: v"),
     "properties.containers[0].properties.environmentVariables[1]", "both value and secureValue"),
    ("ip without type", DOC_YAML.replace("ipAddress: {type: Public, ", "ipAddress: {"),
     "properties.ipAddress.type", "is required"),
    ("no properties", "name: x\nlocation: eastus\n", "properties", "is required"),
    ("tags not a mapping", DOC_YAML.replace("tags: null", "tags: [a, b]"), "tags", "must be a mapping"),
]


@pytest.mark.parametrize(("label", "text", "field", "fragment"), BAD_YAML, ids=[case[0] for case in BAD_YAML])
def test_bad_yaml_is_named(label: str, text: str, field: str, fragment: str) -> None:
    name = "other" if label == "name mismatch" else None
    with pytest.raises(InvalidInput) as raised:
        spec_from_yaml(text, name=name)
    problems = raised.value.problems
    assert field in problems, f"{label}: expected {field}, got {problems}"
    assert fragment in problems[field]
    assert "\n" not in str(raised.value)


def test_yaml_problems_are_reported_together() -> None:
    text = DOC_YAML.replace("image:", "imagee:").replace("restartPolicy", "restartPolcy").replace("port: 80}]\n",
                                                                                                  "prot: 80}]\n", 1)
    with pytest.raises(InvalidInput) as raised:
        spec_from_yaml(text)
    assert len(raised.value.problems) == 3


def test_value_problems_come_from_validation() -> None:
    spec = spec_from_yaml(DOC_YAML.replace("cpu: 1", "cpu: lots").replace("name: aci-tutorial-app", "name: App"))
    problems = spec.problems()
    assert "positive number" in problems["containers[0].cpu"]
    assert "lowercase" in problems["containers[0].name"]


def test_parse_env_pairs_reexported() -> None:
    assert parse_env_pairs(["K=V W"]) == [("K", "V W")]


# -- round trips -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [full_spec, single_spec])
def test_yaml_round_trip_equals_original_except_secrets(make: Any) -> None:
    spec = make()
    text = to_yaml(spec)
    back = spec_from_yaml(text, resource_group=spec.resource_group)
    assert back == spec.without_secrets()
    assert back != spec  # the secrets did not travel
    assert "placeholder" in " ".join(back.problems().values())


@pytest.mark.parametrize("fixture", ["azure-cli-container-create-04-get-running.json",
                                     "azure-cli-container-create-02-put-response-201.json",
                                     "azure-sdk-onfailure-task-get-succeeded.json"])
def test_recorded_json_to_yaml_and_back(fixture: str) -> None:
    spec = GroupSpec.from_group_json(recorded(fixture))
    back = spec_from_yaml(to_yaml(spec), resource_group=spec.resource_group)
    assert back == spec


def test_recorded_list_entry_round_trips() -> None:
    entry = recorded("azure-cli-container-create-05-list-by-resource-group.json")["value"][0]
    spec = GroupSpec.from_group_json(entry)
    assert GroupSpec.from_dict(spec.to_arm(), name=spec.name, resource_group=spec.resource_group) == spec


# -- no secret in any export ----------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [full_spec, single_spec])
def test_exports_never_contain_secrets(make: Any) -> None:
    spec = make()
    outputs = {"yaml": to_yaml(spec), "python": to_python(spec), "az": to_az(spec), "repr": repr(spec),
               "str": str(spec), "without_secrets": repr(spec.without_secrets().to_arm())}
    for kind, text in outputs.items():
        assert SENTINEL not in text, kind
    assert SENTINEL in json.dumps(spec.to_arm())  # the request body is the one place it goes


def test_export_group_yaml_never_echoes_secrets() -> None:
    body = recorded("azure-cli-container-create-04-get-running.json")
    props = body["properties"]
    props["containers"][0]["properties"]["environmentVariables"].append({"name": "TOKEN", "secureValue": SENTINEL})
    props["imageRegistryCredentials"] = [{"server": "r.io", "username": "u", "password": SENTINEL}]
    props["volumes"][0]["secret"] = {"secret1": SENTINEL}
    props["diagnostics"] = {"logAnalytics": {"workspaceId": "w", "workspaceKey": SENTINEL}}
    assert SENTINEL not in export_group_yaml(body)


# -- az container export -------------------------------------------------------------------------------------


def test_export_group_yaml_is_like_az_container_export() -> None:
    body = recorded("azure-cli-container-create-04-get-running.json")
    text = export_group_yaml(body)
    document = yaml.safe_load(text)
    assert document["apiVersion"] == "2023-05-01"
    assert next(iter(document)) == "apiVersion"
    assert "id" not in document and document["name"] == "clicontainer000002"
    props = document["properties"]
    assert "instanceView" not in props and "provisioningState" not in props
    assert "instanceView" not in props["containers"][0]["properties"]
    assert "fqdn" not in props["ipAddress"] and "ip" not in props["ipAddress"]
    assert props["containers"][0]["properties"]["volumeMounts"] == [{"name": "secrets", "mountPath": "/s"}]
    assert "--resource-group clitest.rg000001" in text  # the header says how to create it
    assert body["properties"]["instanceView"]  # the input was not modified


def test_exported_emulator_group_reads_back() -> None:
    body = recorded("azure-sdk-onfailure-task-get-succeeded.json")
    for key in ("volumes", "diagnostics"):
        del body["properties"][key]
    container = body["properties"]["containers"][0]["properties"]
    del container["volumeMounts"], container["livenessProbe"]
    del body["identity"]
    container["environmentVariables"] = [{"name": "PLAIN", "value": "1"}, {"name": "TOKEN"}]
    body["properties"]["ipAddress"] = {"type": "Public", "ip": "127.0.0.1", "ports": [{"port": 80}],
                                       "hostPorts": [{"port": 80, "hostPort": 54321}], "fqdn": "x.eastus.localhost"}
    container["ports"] = [{"port": 80}]
    spec = spec_from_yaml(export_group_yaml(body))
    assert spec.containers[0].env[0] == EnvVar("PLAIN", "1")
    assert spec.containers[0].env[1].secure
    assert list(spec.problems()) == ["containers[0].env[1].value"]  # fill in the secure value, then create


# -- Python SDK code -----------------------------------------------------------------------------------------


class RecordingClient:
    """Stands in for ContainerInstanceManagementClient at the last line of the generated code; captures the call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.container_groups = self

    def begin_create_or_update(self, resource_group: str, name: str, group: Any) -> Any:
        self.calls.append((resource_group, name, group))
        return type("Poller", (), {"result": lambda _self: group})()


@pytest.mark.parametrize("make", [full_spec, single_spec,
                                  lambda: GroupSpec.single("plain", "nginx"),
                                  lambda: GroupSpec.from_group_json(
                                      recorded("azure-cli-container-create-04-get-running.json"))])
def test_python_code_builds_the_same_body_with_the_real_models(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = make()
    monkeypatch.setenv("TOKEN", SENTINEL)
    monkeypatch.setenv("MYREG_AZURECR_IO_PASSWORD", SENTINEL)
    for variable, value in python_secret_variables(spec).items():
        monkeypatch.setenv(variable, value)
    code = to_python(spec)
    compile(code, "<to_python>", "exec")
    client = RecordingClient()
    namespace: dict[str, Any] = {"client": client}
    exec(code, namespace)  # noqa: S102 - running the generated code is the point of the test
    (resource_group, name, model), = client.calls
    assert name == spec.name and resource_group == (spec.resource_group or "<resource-group>")
    assert type(model).__module__.startswith("azure.mgmt.containerinstance")
    assert model.serialize() == spec.to_arm()


def test_python_code_without_secrets_does_not_need_os() -> None:
    code = to_python(GroupSpec.single("plain", "nginx"))
    assert "import os" not in code and "os.environ" not in code
    assert "os.environ['TOKEN']" in to_python(single_spec())


# -- az command line -----------------------------------------------------------------------------------------


def az_args(command: str) -> list[str]:
    return shlex.split(command.replace("\\\n", " "), comments=True)


def test_az_command_for_a_single_container() -> None:
    spec = single_spec()
    args = az_args(to_az(spec))
    assert args[:3] == ["az", "container", "create"]

    def after(flag: str, count: int = 1) -> list[str]:
        index = args.index(flag)
        return args[index + 1:index + 1 + count]

    assert after("--resource-group") == ["rg"] and after("--name") == ["task"] and after("--image") == ["alpine"]
    assert after("--cpu") == ["1"] and after("--memory") == ["1.5"]
    assert shlex.split(after("--command-line")[0]) == ["python", "-c", "print(1)"]  # az shlex-splits it
    assert after("--environment-variables", 2) == ["A=x y", "B=1=2"]
    assert after("--secure-environment-variables") == ["TOKEN=<secure value for TOKEN>"]
    assert after("--restart-policy") == ["Never"] and after("--ip-address") == ["Public"]
    assert after("--dns-name-label") == ["task-label"] and after("--ports") == ["8080"]
    assert after("--registry-password") == ["<password for myreg.azurecr.io>"]
    assert after("--tags") == ["k=v"] and after("--location") == ["eastus"]


def test_az_defaults_are_left_out() -> None:
    args = az_args(to_az(GroupSpec.single("plain", "nginx")))
    assert args == ["az", "container", "create", "--resource-group", "<resource-group>", "--name", "plain",
                    "--image", "nginx", "--cpu", "1", "--memory", "1.5"]


def test_az_points_to_file_for_what_flags_cannot_say() -> None:
    text = to_az(full_spec())
    assert "2 containers" in text and "--file" in text
    assert az_args(text) == ["az", "container", "create", "--resource-group", "rg-demo", "--file", "app.yaml"]
    limits = GroupSpec.single("lim", "nginx", cpu_limit=1)
    assert "limits" in to_az(limits) and "--file" in to_az(limits)
