"""Issue 18: a good case for each new ``%aci create`` flag, created on the emulator; the group the service holds
is what az would have sent (names, volume names and meanings from az container create)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from aci_widgets import session as sessions

HELLO = "mcr.microsoft.com/azuredocs/aci-helloworld"
SECRET = "S3NT1NEL-flag-secret-41c7"
UID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
SUBNET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/aci"


def props(group: dict[str, Any]) -> dict[str, Any]:
    return group["properties"]


def mounts(group: dict[str, Any]) -> list[dict[str, Any]]:
    return props(group)["containers"][0]["properties"]["volumeMounts"]


GOOD: list[tuple[str, str, Callable[[dict[str, Any]], bool]]] = [
    ("azure file", (f"--azure-file-volume-share-name outputs --azure-file-volume-account-name acct "
                   f"--azure-file-volume-account-key {SECRET} --azure-file-volume-mount-path /mnt/outputs"),
     lambda g: props(g)["volumes"][0]["name"] == "azurefile"
     and props(g)["volumes"][0]["azureFile"]["shareName"] == "outputs"
     and mounts(g) == [{"name": "azurefile", "mountPath": "/mnt/outputs"}]),
    ("secrets", f"--secrets token={SECRET} b=two --secrets-mount-path /mnt/secrets",
     lambda g: props(g)["volumes"][0]["name"] == "secrets" and set(props(g)["volumes"][0]["secret"]) <= {"token", "b"}
     and mounts(g)[0]["mountPath"] == "/mnt/secrets"),
    ("git repo", ("--gitrepo-url https://github.com/Azure-Samples/aci-helloworld --gitrepo-revision d5ccfce "
                 "--gitrepo-mount-path /src"),
     lambda g: props(g)["volumes"][0] == {"name": "gitrepo", "gitRepo": {
         "repository": "https://github.com/Azure-Samples/aci-helloworld", "directory": ".", "revision": "d5ccfce"}}),
    ("system identity", "--assign-identity", lambda g: g["identity"]["type"] == "SystemAssigned"),
    ("user identity", f"--assign-identity [system] {UID}",
     lambda g: g["identity"]["type"] == "SystemAssigned, UserAssigned"
     and [key.lower() for key in g["identity"]["userAssignedIdentities"]] == [UID.lower()]),
    ("acr identity", f"--assign-identity {UID} --acr-identity {UID} --image-override myreg.azurecr.io/app",
     lambda g: props(g)["imageRegistryCredentials"] == [{"server": "myreg.azurecr.io", "identity": UID}]),
    ("subnet id", f"--subnet {SUBNET} --ports 80",
     lambda g: props(g)["subnetIds"] == [{"id": SUBNET}] and props(g)["ipAddress"]["type"] == "Private"),
    ("vnet and subnet ids", ("--vnet /subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v "
                            "--subnet aci"),
     lambda g: props(g)["subnetIds"] == [{"id": SUBNET}] and "ipAddress" not in props(g)),
    ("log analytics", (f"--log-analytics-workspace 11111111-1111-1111-1111-111111111111 "
                      f"--log-analytics-workspace-key {SECRET}"),
     lambda g: props(g)["diagnostics"]["logAnalytics"]["workspaceId"] == "11111111-1111-1111-1111-111111111111"),
    ("sku confidential with policy", "--sku confidential --cce-policy cGFja2FnZSBwb2xpY3kK",
     lambda g: props(g)["sku"] == "Confidential"
     and props(g)["confidentialComputeProperties"] == {"ccePolicy": "cGFja2FnZSBwb2xpY3kK"}),
    ("sku dedicated", "--sku Dedicated", lambda g: props(g)["sku"] == "Dedicated"),
    ("spot", "--priority Spot --restart-policy Never", lambda g: props(g)["priority"] == "Spot"),
    ("zone", "--zone 2", lambda g: g["zones"] == ["2"]),
]


@pytest.mark.parametrize(("label", "flags", "holds"), GOOD, ids=[case[0] for case in GOOD])
def test_flag_creates_what_az_would(rg, unique_name, run, label: str, flags: str,
                                    holds: Callable[[dict[str, Any]], bool]) -> None:
    image = HELLO
    if "--image-override" in flags:
        flags, _, image = flags.partition(" --image-override ")
    shown = run(f"%aci create {unique_name} --image {image} {flags} --no-wait")
    if image != HELLO:  # a private registry image: the emulator refuses it as ACI does, after our checks passed
        assert "InaccessibleImage" in shown.err or "not accessible" in shown.err, shown.text
        assert SECRET not in shown.text
        return
    assert shown.success, shown.text
    assert SECRET not in shown.text
    group = sessions.current_session().get_group_json(unique_name, rg)
    assert holds(group), group
    assert SECRET not in str(group)
    exported = run(f"%aci export {unique_name}")
    assert exported.success and SECRET not in exported.text
    if SECRET in flags:  # the export holds a placeholder naming the field instead
        assert "<secret: " in exported.out


def test_secrets_flag_base64_encodes_like_az(rg, unique_name, run) -> None:
    from aci_widgets.spec import GroupSpec
    from aci_widgets.spec.az_flags import AzOptions, apply_az_options

    spec = apply_az_options(GroupSpec.single(unique_name, HELLO),
                            AzOptions(secrets=[("token", "héllo")], secrets_mount_path="/s"))
    assert spec.volumes[0].secret["token"].reveal() == base64.b64encode("héllo".encode()).decode()


def test_export_then_cell_create_gives_the_same_group(ip, rg, unique_name, run) -> None:
    """%aci export of a group with az's volumes, identity and diagnostics; the user fills the placeholders;
    %%aci create of that YAML gives the same group back."""
    flags = (f"--azure-file-volume-share-name outputs --azure-file-volume-account-name acct "
             f"--azure-file-volume-account-key {SECRET} --azure-file-volume-mount-path /mnt/outputs "
             f"--assign-identity {UID} --log-analytics-workspace w1 --log-analytics-workspace-key {SECRET}k "
             "--sku Standard --zone 1")
    assert run(f"%aci create {unique_name} --image {HELLO} {flags}").success
    current = sessions.current_session()
    first = current.get_group_json(unique_name, rg)
    assert run(f"exported = %aci export {unique_name}").success
    text = str(ip.user_ns["exported"])
    assert SECRET not in text
    filled = text.replace("<secret: volumes[azurefile].azureFile.storageAccountKey>", SECRET) \
        .replace("<secret: diagnostics.logAnalytics.workspaceKey>", SECRET + "k")
    assert "<secret: " not in filled
    assert run(f"%aci delete {unique_name} --yes").success
    shown = run(f"%%aci create\n{filled}")
    assert shown.success, shown.text
    second = current.get_group_json(unique_name, rg)
    for group in (first, second):
        props = group["properties"]
        props.pop("instanceView", None)
        props.pop("provisioningState", None)
        props["containers"][0]["properties"].pop("instanceView", None)
    assert second == first
