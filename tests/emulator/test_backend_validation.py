"""Backend: ACI's server-side validation. Bad bodies get 4xx ARM errors with ACI's codes, never an exception."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aci_widgets.emulator.config import EmulatorHome
from aci_widgets.emulator.errors import ArmError
from aci_widgets.emulator.state.backend import Backend
from aci_widgets.emulator.state.validation import canonicalize, validate_group

SUB, RG = "sub", "rg"

VALID: dict[str, Any] = {
    "location": "eastus",
    "properties": {
        "osType": "Linux",
        "restartPolicy": "Never",
        "containers": [{"name": "app", "properties": {
            "image": "alpine", "command": ["true"], "ports": [{"port": 80}],
            "environmentVariables": [{"name": "A", "value": "1"}],
            "resources": {"requests": {"cpu": 1, "memoryInGB": 1.5}}}}],
        "ipAddress": {"type": "Public", "ports": [{"port": 80, "protocol": "TCP"}], "dnsNameLabel": "valid-label"},
    },
}


def changed(mutate: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    body = copy.deepcopy(VALID)
    mutate(body)
    return body


def c0(body: dict[str, Any]) -> dict[str, Any]:
    return body["properties"]["containers"][0]["properties"]


def second_container(body: dict[str, Any], name: str = "app", port: int | None = None) -> None:
    extra = copy.deepcopy(body["properties"]["containers"][0])
    extra["name"] = name
    extra["properties"]["ports"] = [{"port": port}] if port else []
    body["properties"]["containers"].append(extra)


UID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
SUBNET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/a"


def no_ip(body: dict[str, Any]) -> None:
    body["properties"].pop("ipAddress")


def windows(body: dict[str, Any]) -> None:
    body["properties"]["osType"] = "Windows"


def gpu(body: dict[str, Any], count: Any = 1, sku: str = "V100") -> None:
    c0(body)["resources"]["requests"]["gpu"] = {"count": count, "sku": sku}


# issue 18: the rest of the group, with ACI's codes ([seen]) or the reference's proposed ones
FEATURE_CASES: list[tuple[str, Any, int, str]] = [
    ("volume with two kinds", changed(lambda b: b["properties"].update(
        volumes=[{"name": "v", "emptyDir": {}, "secret": {"a": "YQ=="}}])), 400, "InvalidVolume"),
    ("azure file without account", changed(lambda b: b["properties"].update(
        volumes=[{"name": "v", "azureFile": {"shareName": "s", "storageAccountKey": "k"}}])), 400,
     "InvalidAzureFileVolume"),
    ("secret not base64", changed(lambda b: b["properties"].update(volumes=[{"name": "v", "secret": {"a": "!!"}}])),
     400, "InvalidSecretVolume"),
    ("git repo dir ..", changed(lambda b: b["properties"].update(volumes=[{"name": "v", "gitRepo": {
        "repository": "https://github.com/a/b", "directory": "../x"}}])), 400, "InvalidGitRepoVolume"),
    ("windows volume", changed(lambda b: (windows(b), b["properties"].update(volumes=[{"name": "v", "emptyDir": {}}]))),
     400, "WindowsContainersVolumeNotSupported"),
    ("mount path with colon", changed(lambda b: (b["properties"].update(volumes=[{"name": "v", "emptyDir": {}}]),
                                                 c0(b).update(volumeMounts=[{"name": "v", "mountPath": "C:/x"}]))),
     400, "InvalidVolumeMountPath"),
    ("relative mount path", changed(lambda b: (b["properties"].update(volumes=[{"name": "v", "emptyDir": {}}]),
                                               c0(b).update(volumeMounts=[{"name": "v", "mountPath": "x"}]))),
     400, "InvalidVolumeMountPath"),
    ("two mounts at one path", changed(lambda b: (b["properties"].update(volumes=[
        {"name": "v", "emptyDir": {}}, {"name": "w", "emptyDir": {}}]), c0(b).update(volumeMounts=[
            {"name": "v", "mountPath": "/x"}, {"name": "w", "mountPath": "/x"}]))), 400, "DuplicateVolumeMountPath"),
    ("init mounts a missing volume", changed(lambda b: b["properties"].update(initContainers=[
        {"name": "init", "properties": {"image": "alpine", "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}}])),
     400, "VolumesNotFound"),
    ("public ip in a vnet", changed(lambda b: b["properties"].update(subnetIds=[{"id": SUBNET}])), 400,
     "PublicIPAddressNotSupported"),
    ("bad subnet id", changed(lambda b: (no_ip(b), b["properties"].update(subnetIds=[{"id": "subnet"}]))), 400,
     "InvalidSubnetId"),
    ("two zones", changed(lambda b: b.update(zones=["1", "2"])), 400, "ResourceTypeNotSupportMultiZones"),
    ("zone 7", changed(lambda b: b.update(zones=["7"])), 400, "InvalidAvailabilityZone"),
    ("spot with public ip", changed(lambda b: b["properties"].update(priority="Spot")), 400,
     "SpotPriorityNotSupported"),
    ("gpu count 3", changed(lambda b: gpu(b, 3)), 400, "InvalidGpuResource"),
    ("gpu bad sku", changed(lambda b: gpu(b, 1, "A100")), 400, "InvalidRequestContent"),
    ("gpu on windows", changed(lambda b: (windows(b), gpu(b))), 400, "InvalidGpuResource"),
    ("identity bad type", changed(lambda b: b.update(identity={"type": "Both"})), 400, "InvalidRequestContent"),
    ("user identity without ids", changed(lambda b: b.update(identity={"type": "UserAssigned"})), 400,
     "InvalidIdentity"),
    ("system identity on windows", changed(lambda b: (windows(b), b.update(identity={"type": "SystemAssigned"}))),
     400, "MsiNotSupportedForWindows"),
    ("acr identity not assigned", changed(lambda b: b["properties"].update(imageRegistryCredentials=[
        {"server": "r.azurecr.io", "identity": UID}])), 400, "InvalidImageRegistryCredentialIdentity"),
    ("probe without action", changed(lambda b: c0(b).update(livenessProbe={"periodSeconds": 3})), 400,
     "InvalidProbe"),
    ("windows two containers", changed(lambda b: (windows(b), second_container(b, "two"))), 400,
     "WindowsMultiContainerNotSupported"),
    ("cce policy without confidential", changed(lambda b: b["properties"].update(
        confidentialComputeProperties={"ccePolicy": "YQ=="})), 400, "InvalidCcePolicy"),
    ("confidential on windows", changed(lambda b: (windows(b), b["properties"].update(sku="Confidential"))), 400,
     "ConfidentialSkuNotSupportedForWindows"),
    ("dns config without servers", changed(lambda b: b["properties"].update(dnsConfig={"options": "ndots:2"})),
     400, "InvalidRequestContent"),
    ("encryption without key name", changed(lambda b: b["properties"].update(encryptionProperties={
        "vaultBaseUrl": "https://v.vault.azure.net", "keyVersion": "1"})), 400, "InvalidRequestContent"),
    ("log analytics without key", changed(lambda b: b["properties"].update(
        diagnostics={"logAnalytics": {"workspaceId": "w"}})), 400, "InvalidRequestContent"),
    ("extension without version", changed(lambda b: b["properties"].update(extensions=[
        {"name": "kube-proxy", "properties": {"extensionType": "kube-proxy"}}])), 400, "InvalidRequestContent"),
]


BAD_BODIES: list[tuple[str, Any, int, str]] = [
    ("not an object", "garbage", 400, "InvalidRequestContent"),
    ("a list", [1, 2], 400, "InvalidRequestContent"),
    ("no properties", {"location": "eastus"}, 400, "InvalidRequestContent"),
    ("properties not an object", {"properties": "x"}, 400, "InvalidRequestContent"),
    ("no containers", changed(lambda b: b["properties"].pop("containers")), 400, "InvalidRequestContent"),
    ("containers not a list", changed(lambda b: b["properties"].update(containers={"a": 1})), 400,
     "InvalidRequestContent"),
    ("container not an object", changed(lambda b: b["properties"].update(containers=[7])), 400,
     "InvalidRequestContent"),
    ("no os type", changed(lambda b: b["properties"].pop("osType")), 400, "InvalidOsType"),
    ("bad os type", changed(lambda b: b["properties"].update(osType="Plan9")), 400, "InvalidOsType"),
    ("bad restart policy", changed(lambda b: b["properties"].update(restartPolicy="Sometimes")), 400,
     "InvalidRestartPolicy"),
    ("uppercase container name", changed(lambda b: b["properties"]["containers"][0].update(name="App")), 400,
     "InvalidContainerName"),
    ("container name too long", changed(lambda b: b["properties"]["containers"][0].update(name="a" * 64)), 400,
     "InvalidContainerName"),
    ("duplicate container names", changed(lambda b: second_container(b)), 400, "DuplicateContainerNames"),
    ("no resources", changed(lambda b: c0(b).pop("resources")), 400, "ResourceRequestsNotSpecified"),
    ("no requests", changed(lambda b: c0(b).update(resources={})), 400, "ResourceRequestsNotSpecified"),
    ("empty requests", changed(lambda b: c0(b).update(resources={"requests": {}})), 400,
     "ResourceRequestsNotSpecified"),
    ("cpu only", changed(lambda b: c0(b)["resources"]["requests"].pop("memoryInGB")), 400,
     "ResourceSomeRequestsNotSpecified"),
    ("memory only", changed(lambda b: c0(b)["resources"]["requests"].pop("cpu")), 400,
     "ResourceSomeRequestsNotSpecified"),
    ("cpu not a number", changed(lambda b: c0(b)["resources"]["requests"].update(cpu="lots")), 400,
     "InvalidRequestContent"),
    ("cpu is a bool", changed(lambda b: c0(b)["resources"]["requests"].update(cpu=True)), 400,
     "InvalidRequestContent"),
    ("zero cpu", changed(lambda b: c0(b)["resources"]["requests"].update(cpu=0)), 400, "InvalidResourceRequests"),
    ("limit below request", changed(lambda b: c0(b)["resources"].update(limits={"cpu": 0.5})), 400,
     "ResourceLimitsLessThanRequests"),
    ("memory limit below request", changed(lambda b: c0(b)["resources"].update(limits={"memoryInGB": 1})), 400,
     "ResourceLimitsLessThanRequests"),
    ("limit above group total", changed(lambda b: c0(b)["resources"].update(limits={"cpu": 2})), 400,
     "ContainerLimitGreaterThanContainerGroupTotalRequest"),
    ("5 cpu", changed(lambda b: c0(b)["resources"]["requests"].update(cpu=5)), 409, "ServiceUnavailable"),
    ("17 GB", changed(lambda b: c0(b)["resources"]["requests"].update(memoryInGB=17)), 409, "ServiceUnavailable"),
    ("ip without ports", changed(lambda b: b["properties"]["ipAddress"].update(ports=[])), 400,
     "MissingIpAddressPorts"),
    ("ip port not exposed", changed(lambda b: b["properties"]["ipAddress"].update(ports=[{"port": 8080}])), 400,
     "InvalidContainerGroupPorts"),
    ("port out of range", changed(lambda b: c0(b).update(ports=[{"port": 70000}])), 400, "InvalidPort"),
    ("port not a number", changed(lambda b: c0(b).update(ports=[{"port": "eighty"}])), 400,
     "InvalidRequestContent"),
    ("bad protocol", changed(lambda b: c0(b).update(ports=[{"port": 80, "protocol": "SCTP"}])), 400,
     "InvalidRequestContent"),
    ("two containers on one port", changed(lambda b: second_container(b, "other", 80)), 400,
     "DuplicateContainerPorts"),
    ("bad ip type", changed(lambda b: b["properties"]["ipAddress"].update(type="Elastic")), 400,
     "InvalidRequestContent"),
    ("private ip without vnet", changed(lambda b: b["properties"]["ipAddress"].update(type="Private")), 400,
     "PrivateIPAddressNotSupported"),
    ("dns label too short", changed(lambda b: b["properties"]["ipAddress"].update(dnsNameLabel="node")), 400,
     "InvalidDnsNameLabel"),
    ("dns label starting with a digit", changed(lambda b: b["properties"]["ipAddress"].update(dnsNameLabel="1abcd")),
     400, "InvalidDnsNameLabel"),
    ("duplicate volumes", changed(lambda b: b["properties"].update(
        volumes=[{"name": "vol-1", "emptyDir": {}}, {"name": "vol-1", "emptyDir": {}}])), 400, "DuplicateVolumes"),
    ("bad volume name", changed(lambda b: b["properties"].update(volumes=[{"name": "V_1", "emptyDir": {}}])), 400,
     "InvalidVolumeName"),
    ("mount of an unknown volume", changed(lambda b: c0(b).update(volumeMounts=[{"name": "nope1", "mountPath": "/m"}])),
     400, "VolumesNotFound"),
    ("bad env name", changed(lambda b: c0(b).update(environmentVariables=[{"name": "_BAD"}])), 400,
     "InvalidEnvironmentVariable"),
    ("env not a list", changed(lambda b: c0(b).update(environmentVariables={"A": "1"})), 400,
     "InvalidRequestContent"),
    ("env value an object", changed(lambda b: c0(b).update(environmentVariables=[{"name": "A", "value": {}}])), 400,
     "InvalidRequestContent"),
    ("command a string", changed(lambda b: c0(b).update(command="echo hi")), 400, "InvalidRequestContent"),
    ("no image", changed(lambda b: c0(b).pop("image")), 400, "InvalidRequestContent"),
    ("unknown image", changed(lambda b: c0(b).update(image="contoso.azurecr.io/app:v1")), 400,
     "InaccessibleImage"),
    ("tags not an object", changed(lambda b: b.update(tags=["a"])), 400, "InvalidRequestContent"),
    ("bad tag name", changed(lambda b: b.update(tags={"a/b": "c"})), 400, "InvalidTag"),
    ("bad sku", changed(lambda b: b["properties"].update(sku="Gold")), 400, "InvalidRequestContent"),
    ("bad priority", changed(lambda b: b["properties"].update(priority="Urgent")), 400, "PriorityNotSpecified"),
] + FEATURE_CASES


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    instance = Backend(EmulatorHome(tmp_path))
    instance.create_or_update_resource_group(SUB, RG, {"location": "eastus"})
    yield instance
    instance.shutdown()


@pytest.mark.parametrize(("case", "body", "status", "code"), BAD_BODIES, ids=[case[0] for case in BAD_BODIES])
def test_bad_body_gets_acis_error(backend: Backend, case: str, body: Any, status: int, code: str) -> None:
    with pytest.raises(ArmError) as error:
        backend.create_or_update_group(SUB, RG, "cg", body)
    assert (error.value.status, error.value.code) == (status, code), error.value.message
    assert error.value.message
    assert backend.list_groups(SUB, RG) == []  # nothing was created
    assert "error" in error.value.to_body()


@pytest.mark.parametrize("name", ["-lead", "trail-", "dou--ble", "a" * 64, "under_score", "Dou--Ble"])
def test_bad_group_names(backend: Backend, name: str) -> None:
    with pytest.raises(ArmError) as error:
        backend.create_or_update_group(SUB, RG, name, VALID)
    assert (error.value.status, error.value.code) == (400, "InvalidResourceName")


def test_mixed_case_group_names_are_accepted_as_aci_accepts_the_docs_own(backend: Backend) -> None:
    body, _created, _op = backend.create_or_update_group(SUB, RG, "myContainerGroup", VALID)
    assert body["name"] == "myContainerGroup"


def test_the_valid_body_is_accepted_and_keys_match_without_regard_to_case(backend: Backend) -> None:
    yaml_style = json.loads(json.dumps(VALID).replace("memoryInGB", "memoryInGb").replace('"TCP"', '"tcp"')
                            .replace("restartPolicy", "RestartPolicy").replace('"Never"', '"never"'))
    group, created, _ = backend.create_or_update_group(SUB, RG, "cg", yaml_style)
    assert created
    props = group["properties"]
    assert props["restartPolicy"] == "Never"
    assert props["containers"][0]["properties"]["resources"]["requests"] == {"memoryInGB": 1.5, "cpu": 1.0}
    assert props["ipAddress"]["ports"] == [{"protocol": "TCP", "port": 80}]
    assert props["containers"][0]["properties"]["ports"] == [{"port": 80}]  # protocol echoed only if given


def test_dns_label_taken_in_the_same_location(backend: Backend) -> None:
    backend.create_or_update_group(SUB, RG, "first", VALID)
    with pytest.raises(ArmError) as error:
        backend.create_or_update_group(SUB, RG, "second", VALID)
    assert error.value.code == "DnsNameLabelNotAvailable"
    backend.create_or_update_group(SUB, RG, "first", VALID)  # the group itself may keep its label


def test_secrets_are_stripped_from_every_response(backend: Backend) -> None:
    body = changed(lambda b: b["properties"].update(
        imageRegistryCredentials=[{"server": "myregistry.azurecr.io", "username": "u", "password": "REG-PASSWORD"}],
        volumes=[{"name": "secrets", "secret": {"s1": "U0VDUkVULUZJTEU="}},
                 {"name": "share", "azureFile": {"shareName": "s", "storageAccountName": "a",
                                                 "storageAccountKey": "STORAGE-KEY"}}],
        diagnostics={"logAnalytics": {"workspaceId": "w", "workspaceKey": "WORKSPACE-KEY"}}))
    c0(body)["environmentVariables"] = [{"name": "S", "secureValue": "SECURE-VALUE"}]
    responses = [backend.create_or_update_group(SUB, RG, "cg", body)[0], backend.get_group(SUB, RG, "cg"),
                 backend.list_groups(SUB, RG), backend.delete_group(SUB, RG, "cg")]
    text = json.dumps(responses)
    for secret in ("REG-PASSWORD", "U0VDUkVULUZJTEU=", "STORAGE-KEY", "WORKSPACE-KEY", "SECURE-VALUE"):
        assert secret not in text
    assert '"secret": {}' in text and '"workspaceId": "w"' in text


def test_tag_update_validates(backend: Backend) -> None:
    backend.create_or_update_group(SUB, RG, "cg", VALID)
    assert backend.update_group_tags(SUB, RG, "cg", {"tags": {"team": "ml"}})["tags"] == {"team": "ml"}
    for bad in ("x", {"tags": "x"}, {"tags": {"a": {"b": 1}}}):
        with pytest.raises(ArmError) as error:
            backend.update_group_tags(SUB, RG, "cg", bad)
        assert error.value.status == 400


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["properties", "containers", "name", "image", "resources", "requests", "cpu",
                         "memoryInGB", "osType", "ports", "port", "ipAddress", "type", "command", "volumes",
                         "environmentVariables", "value", "secureValue", "tags", "location", "x"]),
        children, max_size=5),
    max_leaves=25)


def _mutations() -> st.SearchStrategy[dict[str, Any]]:
    paths = [("properties",), ("properties", "containers"), ("properties", "osType"),
             ("properties", "ipAddress"), ("properties", "ipAddress", "ports"),
             ("properties", "containers", 0, "properties"), ("properties", "containers", 0, "name"),
             ("properties", "containers", 0, "properties", "resources"),
             ("properties", "containers", 0, "properties", "ports"),
             ("properties", "containers", 0, "properties", "command"),
             ("properties", "containers", 0, "properties", "environmentVariables")]

    def apply(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
        body = copy.deepcopy(VALID)
        target: Any = body
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        return body

    return st.builds(apply, st.sampled_from(paths), JSON)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=JSON | _mutations())
def test_fuzzed_bodies_only_ever_raise_arm_4xx(body: Any) -> None:
    try:
        validate_group("cg", body, default_location="eastus", image_is_runnable=lambda image: image == "alpine")
    except ArmError as error:
        assert 400 <= error.status < 500
        json.dumps(error.to_body())


def test_canonicalize_keeps_map_keys() -> None:
    assert canonicalize({"Tags": {"MemoryInGB": "x"}, "PROPERTIES": {"osTYPE": "Linux"}}) == {
        "tags": {"MemoryInGB": "x"}, "properties": {"osType": "Linux"}}


def test_an_error_never_echoes_a_secure_value(backend: Backend) -> None:
    body = changed(lambda b: c0(b).update(environmentVariables=[{"name": "S", "secureValue": {"pw": "TOPSECRET"}}]))
    with pytest.raises(ArmError) as error:
        backend.create_or_update_group(SUB, RG, "cg", body)
    assert error.value.code == "InvalidRequestContent" and "TOPSECRET" not in json.dumps(error.value.to_body())


def test_a_group_with_every_feature_is_accepted_and_echoed(backend: Backend) -> None:
    """Issue 18: volumes of each kind, mounts, init containers, probes, identity, diagnostics, DNS config, zone,
    encryption, extensions and priority in one (valid) group."""
    body = changed(lambda b: b["properties"].update(
        volumes=[{"name": "share", "azureFile": {"shareName": "s", "storageAccountName": "a",
                                                 "storageAccountKey": "STORAGE-KEY"}},
                 {"name": "work", "emptyDir": {}}, {"name": "secrets", "secret": {"a.txt": "YQ=="}},
                 {"name": "src", "gitRepo": {"repository": "https://github.com/a/b", "directory": "."}}],
        initContainers=[{"name": "init", "properties": {"image": "alpine", "command": ["true"],
                                                        "volumeMounts": [{"name": "work", "mountPath": "/w"}]}}],
        imageRegistryCredentials=[{"server": "r.azurecr.io", "identity": UID}],
        diagnostics={"logAnalytics": {"workspaceId": "w", "workspaceKey": "WORKSPACE-KEY"}},
        dnsConfig={"nameServers": ["10.0.0.10"], "searchDomains": "a.b c.d"},
        encryptionProperties={"vaultBaseUrl": "https://v.vault.azure.net", "keyName": "k", "keyVersion": "1",
                              "identity": UID},
        extensions=[{"name": "kube-proxy", "properties": {"extensionType": "kube-proxy", "version": "1.0",
                                                          "settings": {"a": "b"}}}],
        priority="Regular", sku="Standard"))
    body.update(zones=["1"], identity={"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {UID: {}}})
    c0(body).update(volumeMounts=[{"name": "share", "mountPath": "/mnt/share"}, {"name": "work", "mountPath": "/w"},
                                  {"name": "secrets", "mountPath": "/s", "readOnly": True},
                                  {"name": "src", "mountPath": "/src"}],
                    livenessProbe={"exec": {"command": ["true"]}, "periodSeconds": 5},
                    readinessProbe={"httpGet": {"port": 80, "path": "/"}})
    _group, created, _ = backend.create_or_update_group(SUB, RG, "cg", body)
    assert created
    got = backend.get_group(SUB, RG, "cg")
    props = got["properties"]
    assert [volume["name"] for volume in props["volumes"]] == ["share", "work", "secrets", "src"]
    assert props["initContainers"][0]["name"] == "init"
    assert props["dnsConfig"]["nameServers"] == ["10.0.0.10"] and props["priority"] == "Regular"
    assert got["zones"] == ["1"] and props["extensions"][0]["name"] == "kube-proxy"
    assert len(props["containers"][0]["properties"]["volumeMounts"]) == 4
    assert "STORAGE-KEY" not in json.dumps(got) and "WORKSPACE-KEY" not in json.dumps(got)
