"""GroupSpec: constructors, every validation problem (a catalogue of bad specs), to_arm, reading JSON back."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from aci_widgets import rules
from aci_widgets.errors import InvalidInput
from aci_widgets.secrets import Secret
from aci_widgets.spec import (
    FIELD_KINDS,
    ContainerSpec,
    EnvVar,
    GroupSpec,
    PortSpec,
    RegistryCredential,
    command_from_line,
    parse_env_pairs,
    parse_ports,
    secure_placeholder,
    shell_command,
    validate_field,
)

RECORDED = Path(__file__).parent / "fixtures" / "recorded"
SENTINEL = "SENTINEL-SECRET-123"


def recorded(name: str) -> dict[str, Any]:
    data = json.loads((RECORDED / name).read_text())
    return data.get("body", data)


def web(name: str = "web", **kwargs: Any) -> ContainerSpec:
    defaults: dict[str, Any] = {"image": "mcr.microsoft.com/azuredocs/aci-helloworld", "ports": [80]}
    return ContainerSpec(name=name, **{**defaults, **kwargs})


def group(**kwargs: Any) -> GroupSpec:
    defaults: dict[str, Any] = {"name": "demo", "containers": [web()]}
    return GroupSpec(**{**defaults, **kwargs})


def with_container(**kwargs: Any) -> GroupSpec:
    return group(containers=[web(**kwargs)])


# -- the catalogue: each bad spec, the field it is reported on, and a fragment of the message ---------------
BAD_SPECS: list[tuple[str, Callable[[], GroupSpec], str, str]] = [
    ("empty name", lambda: group(name=""), "name", "required"),
    ("uppercase name", lambda: group(name="MyGroup"), "name", "lowercase"),
    ("leading hyphen", lambda: group(name="-demo"), "name", "hyphen"),
    ("double hyphen", lambda: group(name="a--b"), "name", "single hyphens"),
    ("name too long", lambda: group(name="a" * 64), "name", "limit is 63"),
    ("name with dot", lambda: group(name="my.group"), "name", "invalid"),
    ("bad resource group", lambda: group(resource_group="bad rg!"), "resource_group", "invalid"),
    ("empty location", lambda: group(location=" "), "location", "must not be empty"),
    ("container name case", lambda: with_container(name="Web_App"), "containers[0].name", "lowercase"),
    ("container name empty", lambda: with_container(name=""), "containers[0].name", "required"),
    ("container name 64", lambda: with_container(name="c" * 64), "containers[0].name", "63"),
    ("duplicate containers", lambda: group(containers=[web(ports=[]), web(ports=[])]),
     "containers[1].name", "duplicate container name 'web'"),
    ("empty image", lambda: with_container(image=""), "containers[0].image", "required"),
    ("image with space", lambda: with_container(image="nginx latest"), "containers[0].image", "no spaces"),
    ("zero cpu", lambda: with_container(cpu=0), "containers[0].cpu", "positive number"),
    ("negative cpu", lambda: with_container(cpu=-1), "containers[0].cpu", "positive number"),
    ("text cpu", lambda: with_container(cpu="lots"), "containers[0].cpu", "positive number"),
    ("nan cpu", lambda: with_container(cpu=float("nan")), "containers[0].cpu", "positive number"),
    ("cpu over group max", lambda: with_container(cpu=5), "containers[0].cpu", "more than the 4"),
    ("zero memory", lambda: with_container(memory_gb=0), "containers[0].memory_gb", "positive number"),
    ("memory over max", lambda: with_container(memory_gb=17), "containers[0].memory_gb", "16 GB"),
    ("group cpu total", lambda: group(containers=[web(cpu=3), web("side", cpu=2, ports=[])]),
     "cpu", "5 cores in total"),
    ("group memory total", lambda: group(containers=[web(memory_gb=10), web("side", memory_gb=8, ports=[])]),
     "memory_gb", "18 GB in total"),
    ("cpu limit below request", lambda: with_container(cpu=1, cpu_limit=0.5), "containers[0].cpu_limit",
     "at least the request"),
    ("cpu limit above total", lambda: with_container(cpu=1, cpu_limit=2), "containers[0].cpu_limit",
     "group's total request"),
    ("memory limit below request", lambda: with_container(memory_gb=2, memory_limit_gb=1),
     "containers[0].memory_limit_gb", "at least the request"),
    ("memory limit text", lambda: with_container(memory_limit_gb="x"), "containers[0].memory_limit_gb",
     "positive number"),
    ("port zero", lambda: with_container(ports=[0]), "containers[0].ports[0]", "out of range"),
    ("port too big", lambda: with_container(ports=[70000]), "containers[0].ports[0]", "out of range"),
    ("port text", lambda: with_container(ports=["http"]), "containers[0].ports[0]", "not a port number"),
    ("port bool", lambda: with_container(ports=[True]), "containers[0].ports[0]", "not a port number"),
    ("bad protocol", lambda: with_container(ports=[PortSpec(80, "SCTP")]), "containers[0].ports[0]",
     "not one of TCP, UDP"),
    ("duplicate container port", lambda: with_container(ports=[80, 80]), "containers[0].ports[1]", "listed twice"),
    ("group port not exposed", lambda: group(ip_address_type="Public", ports=[8080]), "ports[0]",
     "not exposed by any container"),
    ("group port protocol differs", lambda: group(ip_address_type="Public", ports=[PortSpec(80, "UDP")]),
     "ports[0]", "not exposed"),
    ("six ports on one IP", lambda: group(containers=[web(ports=[80, 81, 82, 83, 84, 85])], ip_address_type="Public"),
     "ports", "at most 5"),
    ("IP without ports", lambda: group(containers=[web(ports=[])], ip_address_type="Public"), "ports",
     "at least one port"),
    ("group ports without IP", lambda: group(ports=[80]), "ports", "need an IP address"),
    ("dns label without IP", lambda: group(dns_name_label="demo-label"), "dns_name_label", "needs an IP address"),
    ("dns label too short", lambda: group(ip_address_type="Public", dns_name_label="abc"), "dns_name_label", "5-63"),
    ("dns label starts with digit", lambda: group(ip_address_type="Public", dns_name_label="1abcde"),
     "dns_name_label", "starting with a letter"),
    ("bad IP type", lambda: group(ip_address_type="Elastic"), "ip_address_type", "not one of Public, Private"),
    ("bad restart policy", lambda: group(restart_policy="Sometimes"), "restart_policy", "not one of Always"),
    ("bad OS", lambda: group(os_type="MacOS"), "os_type", "not one of Linux, Windows"),
    ("env name with hyphen", lambda: with_container(env=[EnvVar("MY-VAR", "1")]), "containers[0].env[0].name",
     "invalid"),
    ("env name leading underscore", lambda: with_container(env=[EnvVar("_X", "1")]), "containers[0].env[0].name",
     "underscore"),
    ("env name empty", lambda: with_container(env=[EnvVar("", "1")]), "containers[0].env[0].name", "required"),
    ("env name too long", lambda: with_container(env=[EnvVar("A" * 64, "1")]), "containers[0].env[0].name",
     "invalid"),
    ("duplicate env", lambda: with_container(env=[EnvVar("A", "1"), EnvVar("A", "2", secure=True)]),
     "containers[0].env[1].name", "duplicate environment variable 'A'"),
    ("env value not text", lambda: with_container(env=[EnvVar("A", 3)]), "containers[0].env[0].value",  # type: ignore[arg-type]
     "must be text"),
    ("secure placeholder left", lambda: with_container(env=[EnvVar("S", Secret(secure_placeholder("S")))]),
     "containers[0].env[0].value", "placeholder"),
    # command=[] is ACI's "image default" (its own 2023-05-01 examples send it): accepted since issue 18
    ("blank program", lambda: with_container(command=[""]), "containers[0].command", "must start with the program"),
    ("command as string", lambda: with_container(command="echo hi"), "containers[0].command", "list of strings"),
    ("command with number", lambda: with_container(command=["sleep", 5]), "containers[0].command", "only strings"),
    ("command blank program", lambda: with_container(command=["", "x"]), "containers[0].command", "program"),
    ("no containers", lambda: group(containers=[]), "containers", "at least one container"),
    ("61 containers", lambda: group(containers=[web(f"c{i}", ports=[]) for i in range(61)]), "containers",
     "at most 60"),
    ("registry without username", lambda: group(registry_credentials=[RegistryCredential("r.io", "", "pw")]),
     "registry_credentials[0].username", "required"),
    ("registry without server", lambda: group(registry_credentials=[RegistryCredential("", "u", "pw")]),
     "registry_credentials[0].server", "login server"),
    ("registry password placeholder",
     lambda: group(registry_credentials=[RegistryCredential("r.io", "u", "<password for r.io>")]),
     "registry_credentials[0].password", "placeholder"),
    ("tag name with <", lambda: group(tags={"a<b": "v"}), "tags[a<b]", "does not allow"),
    ("tag value too long", lambda: group(tags={"k": "v" * 257}), "tags[k]", "limit is 256"),
]


def test_catalogue_is_big_enough() -> None:
    assert len(BAD_SPECS) >= 40


@pytest.mark.parametrize(("label", "make", "field", "fragment"), BAD_SPECS, ids=[case[0] for case in BAD_SPECS])
def test_bad_spec_is_reported_on_its_field(label: str, make: Callable[[], GroupSpec], field: str,
                                           fragment: str) -> None:
    spec = make()
    problems = spec.problems()
    assert field in problems, f"{label}: expected a problem on {field}, got {problems}"
    assert fragment in problems[field]
    assert "\n" not in problems[field]
    with pytest.raises(InvalidInput) as raised:
        spec.validate()
    assert raised.value.problems == problems
    assert "\n" not in str(raised.value)


def test_good_specs_have_no_problems() -> None:
    assert group().problems() == {}
    assert GroupSpec.single("demo", "nginx", ip_address="Public", dns_name_label="demo-label").problems() == {}
    sidecar = group(containers=[web(cpu=1, memory_gb=1.5), web("sidecar", image="aci-tutorial-sidecar", ports=[])],
                    ip_address_type="Public")
    assert sidecar.problems() == {}
    two = group(containers=[web(cpu=1, cpu_limit=1.5, memory_gb=1, memory_limit_gb=1.5), web("side", ports=[])])
    assert two.problems() == {}  # a limit may reach the group total (2 cores, 2.5 GB)
    assert with_container(cpu=0.5, memory_gb=0.5).problems() == {}  # one container may ask for less than 1/1


def test_all_problems_are_reported_at_once() -> None:
    spec = GroupSpec(
        name="Bad_Name",
        containers=[web("Web", image="", cpu=0, memory_gb=99, ports=[0], env=[EnvVar("-x", "1")]), web("Web")],
        restart_policy="Sometimes",
        dns_name_label="x",
    )
    problems = spec.problems()
    for field in ("name", "restart_policy", "dns_name_label", "containers[0].name", "containers[0].image",
                  "containers[0].cpu", "containers[0].memory_gb", "containers[0].ports[0]",
                  "containers[0].env[0].name", "containers[1].name"):
        assert field in problems, field
    assert len(problems) >= 10


def test_problems_and_reprs_never_show_secrets() -> None:
    spec = GroupSpec.single("Bad Name", "img", secure_env={"S": SENTINEL, "S ": SENTINEL},
                            registry=("r.io", "", SENTINEL))
    text = repr(spec) + str(spec) + json.dumps(spec.problems())
    with pytest.raises(InvalidInput) as raised:
        spec.validate()
    text += str(raised.value) + repr(raised.value)
    assert SENTINEL not in text
    assert SENTINEL in spec.secrets()


# -- constructors ------------------------------------------------------------------------------------------


def test_single_matches_the_seed_quickstart_body() -> None:
    spec = GroupSpec.single("helloworld", "mcr.microsoft.com/azuredocs/aci-helloworld", cpu=1, memory_gb=1,
                            ports=[80], ip_address="Public", dns_name_label="aci-demo-label", location="westeurope")
    assert spec.to_arm() == {
        "location": "westeurope",
        "tags": {},
        "properties": {
            "containers": [{"name": "helloworld", "properties": {
                "image": "mcr.microsoft.com/azuredocs/aci-helloworld",
                "ports": [{"port": 80, "protocol": "TCP"}],
                "resources": {"requests": {"memoryInGB": 1.0, "cpu": 1.0}},
            }}],
            "osType": "Linux",
            "restartPolicy": "Always",
            "ipAddress": {"type": "Public", "ports": [{"port": 80, "protocol": "TCP"}],
                          "dnsNameLabel": "aci-demo-label", "autoGeneratedDomainNameLabelScope": "Unsecure"},
        },
    }


def test_single_follows_az_defaults() -> None:
    spec = GroupSpec.single("demo", "nginx", dns_name_label="demo-label")
    assert spec.ip_address_type == "Public"  # a DNS label creates a public IP, as in az
    assert spec.ports == [PortSpec(80)] and spec.containers[0].ports == [PortSpec(80)]  # az's --ports default
    no_ip = GroupSpec.single("demo", "nginx")
    assert no_ip.ip_address_type is None and no_ip.ports == [] and "ipAddress" not in no_ip.to_arm()["properties"]
    assert no_ip.containers[0].name == "demo"
    assert GroupSpec.single("demo", "nginx", container_name="app").containers[0].name == "app"
    lower = GroupSpec.single("demo", "nginx", restart_policy="never", os_type="linux", ip_address="public",
                             ports=["53/udp"])
    assert (lower.restart_policy, lower.os_type, lower.ip_address_type) == ("Never", "Linux", "Public")
    assert lower.ports == [PortSpec(53, "UDP")]


def test_single_task_with_command_env_and_secrets() -> None:
    spec = GroupSpec.single("task", "alpine", command="python -c 'print(1)'", restart_policy="Never",
                            env=["NumWords=5", "MinLength=8", "EXPR=a=b c"], secure_env={"TOKEN": SENTINEL})
    container = spec.containers[0]
    assert container.command == ["python", "-c", "print(1)"]
    assert [(v.name, v.value, v.secure) for v in container.env[:3]] == [
        ("NumWords", "5", False), ("MinLength", "8", False), ("EXPR", "a=b c", False)]
    token = container.env[3]
    assert token.secure and isinstance(token.value, Secret) and token.value.reveal() == SENTINEL
    body = spec.to_arm()
    variables = body["properties"]["containers"][0]["properties"]["environmentVariables"]
    assert variables[3] == {"name": "TOKEN", "secureValue": SENTINEL}  # the request carries the real value
    assert body["properties"]["restartPolicy"] == "Never"


def test_single_rejects_unparseable_flags() -> None:
    with pytest.raises(InvalidInput, match="KEY=VALUE") as raised:
        GroupSpec.single("demo", "nginx", env=["GOOD=1", "BAD"])
    assert list(raised.value.problems) == ["env"]
    with pytest.raises(InvalidInput) as raised:
        GroupSpec.single("demo", "nginx", secure_env=["A=1", SENTINEL])
    assert list(raised.value.problems) == ["secure_env"]
    assert "item 2" in str(raised.value) and SENTINEL not in str(raised.value)  # a typo must not echo a secret
    with pytest.raises(InvalidInput, match="closing quotation") as raised:
        GroupSpec.single("demo", "nginx", command="echo 'oops")
    assert list(raised.value.problems) == ["command"]


def test_command_helpers() -> None:
    assert command_from_line("python -c 'print(1)'") == ["python", "-c", "print(1)"]
    assert command_from_line("echo FOO BAR") == ["echo", "FOO", "BAR"]
    assert shell_command("echo FOO BAR && tail -f /dev/null") == [
        "/bin/sh", "-c", "echo FOO BAR && tail -f /dev/null"]
    spec = GroupSpec.single("task", "alpine", command=shell_command("echo a && echo b"))
    assert spec.to_arm()["properties"]["containers"][0]["properties"]["command"][2] == "echo a && echo b"


def test_parse_env_pairs_and_ports() -> None:
    assert parse_env_pairs(["A=1", "B=x=y z", "C="]) == [("A", "1"), ("B", "x=y z"), ("C", "")]
    with pytest.raises(InvalidInput, match="must be in the format KEY=VALUE"):
        parse_env_pairs(["A"])
    assert parse_ports("80, 443/udp") == [PortSpec(80), PortSpec(443, "UDP")]
    assert parse_ports([8080, "9090"]) == [PortSpec(8080), PortSpec(9090)]
    with pytest.raises(InvalidInput) as raised:
        parse_ports("80 0 http")
    assert set(raised.value.problems) == {"ports[1]", "ports[2]"}


def test_group_ports_default_to_the_union_of_container_ports() -> None:
    spec = GroupSpec("app", [web(ports=[80]), web("api", ports=[8080, 80]), web("side", ports=[])],
                     ip_address_type="Public")
    assert spec.ports == [PortSpec(80), PortSpec(8080)]
    edited = GroupSpec("app", [web(ports=[80])])
    edited.ip_address_type = "Public"  # the form edits fields after construction
    assert edited.effective_ports() == [PortSpec(80)]
    assert edited.to_arm()["properties"]["ipAddress"]["ports"] == [{"port": 80, "protocol": "TCP"}]


def test_secure_env_values_are_always_secrets() -> None:
    assert isinstance(EnvVar("A", "x", secure=True).value, Secret)
    assert EnvVar("A", Secret("x")).secure is True
    assert RegistryCredential("r.io", "u", "pw").password == Secret("pw")
    spec = with_container(env={"A": "1"})
    assert spec.containers[0].env == [EnvVar("A", "1")]
    copied = copy.deepcopy(spec)
    assert copied == spec and replace(spec, name="other").name == "other"


def test_to_arm_limits_and_registry() -> None:
    spec = GroupSpec("app", [web(cpu=1, memory_gb=2, cpu_limit=2, memory_limit_gb=3), web("side", ports=[])],
                     registry_credentials=[RegistryCredential("r.azurecr.io", "user", SENTINEL)], tags={"team": "ds"})
    body = spec.to_arm(location_default="westus")
    assert body["location"] == "westus" and body["tags"] == {"team": "ds"}
    resources = body["properties"]["containers"][0]["properties"]["resources"]
    assert resources == {"requests": {"memoryInGB": 2.0, "cpu": 1.0}, "limits": {"memoryInGB": 3.0, "cpu": 2.0}}
    assert body["properties"]["imageRegistryCredentials"] == [
        {"server": "r.azurecr.io", "username": "user", "password": SENTINEL}]
    assert spec.problems() == {}


# -- reading JSON back -------------------------------------------------------------------------------------


def test_to_arm_from_dict_round_trip_keeps_everything() -> None:
    spec = GroupSpec(
        "app", [web(cpu=1, memory_gb=2, cpu_limit=1.5, command=["python", "-m", "http.server"],
                    env=[EnvVar("A", "1"), EnvVar("S", SENTINEL, secure=True)]),
                web("side", image="busybox", ports=[PortSpec(53, "UDP")])],
        resource_group="rg", location="westus", restart_policy="OnFailure", ip_address_type="Public",
        dns_name_label="app-label", registry_credentials=[RegistryCredential("r.io", "u", SENTINEL)],
        tags={"a": "b"},
    )
    back = GroupSpec.from_dict(spec.to_arm(), name="app", resource_group="rg")
    assert back == spec
    assert back.to_arm() == spec.to_arm()


def test_from_group_json_reads_recorded_groups() -> None:
    running = GroupSpec.from_group_json(recorded("azure-cli-container-create-04-get-running.json"))
    assert running.name == "clicontainer000002" and running.resource_group == "clitest.rg000001"
    assert running.location == "westus" and running.restart_policy == "Never"
    assert running.ip_address_type == "Public" and running.dns_name_label == "clicontainer000002"
    assert running.ports == [PortSpec(8000), PortSpec(8001)]
    container = running.containers[0]
    assert container.command == ["/bin/sh", "-c", "while true; do echo hello; sleep 20; done"]
    assert container.env == [EnvVar("KEY1", "VALUE1"), EnvVar("KEY2", "FOO=BAR=")]
    assert (container.cpu, container.memory_gb) == (1.0, 1.0)
    # ACI returned the secret volume as {} (no file names, no values): the spec holds a placeholder to fill
    assert running.volumes[0].name == "secrets" and running.containers[0].volume_mounts[0].mount_path == "/s"
    assert running.problems() == {"volumes[0].secret[<file name>]":
                                  "is still the export placeholder; fill in the real value"}
    task = GroupSpec.from_group_json(recorded("azure-sdk-onfailure-task-get-succeeded.json"))
    assert task.restart_policy == "OnFailure" and task.containers[0].ports == [] and task.containers[0].env == []
    # its Log Analytics workspace key is never returned: a placeholder to fill before re-creating
    assert task.problems() == {"diagnostics.log_analytics.workspace_key":
                               "is still the export placeholder; fill in the real value"}


def test_from_group_json_marks_secure_values_absent() -> None:
    body = recorded("azure-cli-container-create-04-get-running.json")
    body["properties"]["containers"][0]["properties"]["environmentVariables"].append({"name": "TOKEN"})
    spec = GroupSpec.from_group_json(body)
    token = spec.containers[0].env[-1]
    assert token.secure and token.value == Secret(secure_placeholder("TOKEN"))
    assert "placeholder" in spec.problems()["containers[0].env[2].value"]
    assert spec.secrets() == []


def test_from_dict_keeps_the_features_the_cli_sends() -> None:
    # the CLI's recorded PUT uses a secret volume: the spec holds it, and writes back the same body
    body = recorded("azure-cli-container-create-01-put-request.json")
    spec = GroupSpec.from_dict(body, name="clicontainer000002")
    assert [volume.name for volume in spec.volumes] == ["secrets"]
    assert spec.containers[0].volume_mounts[0].mount_path == "/s"
    assert spec.to_arm()["properties"]["volumes"] == body["properties"]["volumes"]


def test_from_dict_ignores_read_only_and_default_keys() -> None:
    body = recorded("azure-sdk-onfailure-task-get-succeeded.json")
    for key in ("volumes", "diagnostics"):
        del body["properties"][key]
    del body["properties"]["containers"][0]["properties"]["volumeMounts"]
    del body["properties"]["containers"][0]["properties"]["livenessProbe"]
    del body["identity"]
    spec = GroupSpec.from_dict(body)  # sku: Standard, initContainers: [], instanceView, id, type: all fine
    assert spec.name == "pycontainer26441510" and spec.containers[0].image == "alpine:latest"


# -- per-field checks: the same rules the whole-spec check uses ----------------------------------------------


@pytest.mark.parametrize(("kind", "good", "bad"), [
    ("group_name", "my-group", "My Group"),
    ("container_name", "web", "Web"),
    ("resource_group", "my_rg.1", "rg."),
    ("dns_name_label", "demo-label", "abc"),
    ("env_name", "MY_VAR", "MY-VAR"),
    ("env_pair", "A=b=c", "A"),
    ("image", "nginx:1.25", "nginx 1.25"),
    ("cpu", "0.5", "0"),
    ("memory_gb", 1.5, -1),
    ("port", 8080, 70000),
    ("ports", "80, 443/udp", "80, x"),
    ("protocol", "udp", "icmp"),
    ("command", ["echo", "hi"], [""]),
    ("command_line", "python -c 'print(1)'", "echo 'oops"),
    ("restart_policy", "OnFailure", "Sometimes"),
    ("os_type", "Windows", "BeOS"),
    ("ip_address_type", "Public", "Elastic"),
])
def test_validate_field(kind: str, good: Any, bad: Any) -> None:
    assert validate_field(kind, good) is None
    message = validate_field(kind, bad)
    assert message and "\n" not in message


def test_validate_field_uses_the_shared_rules() -> None:
    assert validate_field("cpu", "0") == rules.check_cpu("0")
    assert with_container(cpu="0").problems()["containers[0].cpu"] == rules.check_cpu("0")
    assert set(FIELD_KINDS) >= {"group_name", "cpu", "memory_gb", "port", "env_name", "dns_name_label"}
    with pytest.raises(ValueError, match="unknown field kind"):
        validate_field("colour", "red")
