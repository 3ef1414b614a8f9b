"""Issue 18: the GroupForm's collapsed sections (volumes and mounts, identity, networking, registry,
diagnostics, advanced). For each, a good case (the spec and the previews carry it; created on the emulator)
and the bad cases ACI refuses (a message under the field, Create disabled, no request)."""

from __future__ import annotations

import html
from typing import Any

import pytest

from aci_widgets.widgets.form import GroupForm
from aci_widgets.widgets.form_features import SECTIONS, FeatureState, apply_features, features_from_spec

SECRET = "S3NT1NEL-form-section-5b2a"
UID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
SUBNET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/aci"


def fill(form: GroupForm, **values: Any) -> None:
    for name, value in values.items():
        form.sections.controls[name].value = value


def task_form(session: Any) -> GroupForm:
    form = GroupForm(session, template="task: shell commands")
    return form


GOOD: list[tuple[str, dict[str, Any], str]] = [
    ("azure file", {"azure_file_share": "outputs", "azure_file_account": "acct", "azure_file_key": SECRET,
                    "azure_file_mount_path": "/mnt/outputs"}, "shareName: outputs"),
    ("secrets", {"secrets": f"token={SECRET}\nb=two", "secrets_mount_path": "/mnt/secrets"}, "name: secrets"),
    ("git repo", {"gitrepo_url": "https://github.com/Azure-Samples/aci-helloworld", "gitrepo_dir": ".",
                  "gitrepo_mount_path": "/src"},
     "repository: https://github.com/Azure-Samples/aci-helloworld"),
    ("empty dir", {"empty_dir_mount_path": "/work"}, "emptyDir: {}"),
    ("identity", {"system_identity": True, "user_identities": UID}, "type: SystemAssigned, UserAssigned"),
    ("networking", {"zone": "1", "dns_servers": "10.0.0.10, 10.0.0.11"}, "- 10.0.0.11"),
    ("registry", {"registry_server": "myreg.azurecr.io", "registry_username": "u", "registry_password": SECRET},
     "server: myreg.azurecr.io"),
    ("diagnostics", {"workspace_id": "11111111-1111-1111-1111-111111111111", "workspace_key": SECRET,
                     "log_type": "ContainerInstanceLogs"}, "logType: ContainerInstanceLogs"),
    ("advanced", {"sku": "Confidential", "cce_policy": "cGFja2FnZSBwb2xpY3kK"}, "ccePolicy: cGFja2FnZSBwb2xpY3kK"),
]


def test_every_section_starts_collapsed(session: Any) -> None:
    form = GroupForm(session)
    assert form.sections.accordion.selected_index is None
    assert [form.sections.accordion.get_title(i) for i in range(len(SECTIONS))] == list(SECTIONS)


@pytest.mark.parametrize(("label", "values", "in_yaml"), GOOD, ids=[case[0] for case in GOOD])
def test_good_section_values_reach_the_spec_and_previews(session: Any, arm_requests: Any, label: str,
                                                         values: dict[str, Any], in_yaml: str) -> None:
    form = task_form(session)
    fill(form, **values)
    assert form.problems == {}, form.problems
    assert not form.create_button.disabled
    assert in_yaml in form.preview["YAML"].value
    for kind, widget in form.preview.items():
        assert SECRET not in widget.value, kind
    # the form's values and the spec agree both ways
    assert features_from_spec(form.spec()) == form.sections.state()


def test_a_form_with_volumes_and_identity_is_created(session: Any, unique_name: str) -> None:
    form = task_form(session)
    form.name.value = unique_name
    fill(form, azure_file_share="outputs", azure_file_account="acct", azure_file_key=SECRET,
         azure_file_mount_path="/mnt/outputs", empty_dir_mount_path="/work", system_identity=True,
         workspace_id="w", workspace_key=SECRET)
    form.create()
    assert form.wait(60)
    assert form.result is not None, form.status_text
    group = session.get_group_json(unique_name)
    assert [v["name"] for v in group["properties"]["volumes"]] == ["azurefile", "workdir"]
    assert group["identity"]["type"] == "SystemAssigned" and SECRET not in str(group)


BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("share without key", {"azure_file_share": "s", "azure_file_account": "a", "azure_file_mount_path": "/m"},
     "azure_file_key", "Please specify --azure-file-volume-account-key"),
    ("share without account", {"azure_file_share": "s", "azure_file_mount_path": "/m"}, "azure_file_account",
     "account-name"),
    ("relative mount path", {"empty_dir_mount_path": "work"}, "empty_dir_mount_path", "absolute"),
    ("colon in mount path", {"gitrepo_url": "https://github.com/a/b", "gitrepo_mount_path": "C:/src"},
     "gitrepo_mount_path", "can't contain ':'"),
    ("two volumes one path", {"empty_dir_mount_path": "/x", "secrets": "a=bcdef", "secrets_mount_path": "/x"},
     "empty_dir_mount_path", "already a mount path"),
    ("secret without =", {"secrets": f"{SECRET}", "secrets_mount_path": "/s"}, "secrets", "key=value"),
    ("secrets without path", {"secrets": "a=bcdef"}, "secrets", "--secrets-mount-path"),
    ("git url not a url", {"gitrepo_url": "github", "gitrepo_mount_path": "/src"}, "gitrepo_url", "http"),
    ("git dir ..", {"gitrepo_url": "https://github.com/a/b", "gitrepo_dir": "../x", "gitrepo_mount_path": "/src"},
     "gitrepo_dir", "'..'"),
    ("bad identity id", {"user_identities": "id1"}, "user_identities", "resource id"),
    ("subnet name only", {"subnet": "aci"}, "subnet", "full subnet resource id"),
    ("bad subnet id", {"subnet": "/subscriptions/s/x"}, "subnet", "subnet resource id"),
    ("zone 5", {"zone": "5"}, "zone", "1, 2 or 3"),
    ("registry without password", {"registry_server": "r.azurecr.io", "registry_username": "u"},
     "registry_password", "required"),
    ("acr identity not assigned", {"registry_server": "r.azurecr.io", "acr_identity": UID}, "acr_identity",
     "user-assigned"),
    ("workspace without key", {"workspace_id": "w"}, "workspace_key", "is required"),
    ("key without workspace", {"workspace_key": SECRET}, "workspace_key", "requires"),
    ("policy without confidential", {"cce_policy": "cGFja2FnZQ=="}, "cce_policy", "--sku Confidential"),
    ("policy not base64", {"sku": "Confidential", "cce_policy": "not base64"}, "cce_policy", "base64"),
    ("spot with zone", {"priority": "Spot", "zone": "1"}, "priority", "availability zone"),
]


@pytest.mark.parametrize(("label", "values", "slot", "fragment"), BAD, ids=[case[0] for case in BAD])
def test_bad_section_value_shows_under_its_field(session: Any, emulator: Any, label: str, values: dict[str, Any],
                                                 slot: str, fragment: str) -> None:
    form = task_form(session)
    emulator.control.clear_requests()
    fill(form, **values)
    message = html.unescape(form.sections.messages[slot].value)
    assert fragment in message, (form.problems, {k: v.value for k, v in form.sections.messages.items() if v.value})
    assert form.create_button.disabled
    assert form.sections.accordion.selected_index is not None  # the section opened to show it
    assert SECRET not in str(form.problems) and SECRET not in message
    form.create()  # refused before any request
    assert emulator.control.requests() == []


def test_apply_features_on_an_empty_state_changes_nothing() -> None:
    from aci_widgets.spec import GroupSpec

    spec = GroupSpec.single("g", "alpine")
    before = spec.to_arm()
    assert apply_features(spec, FeatureState()) == {}
    assert spec.to_arm() == before


def test_a_loaded_group_keeps_what_no_field_shows(session: Any) -> None:
    from pathlib import Path

    from aci_widgets.spec.formats import spec_from_yaml

    text = (Path(__file__).parent.parent / "fixtures" / "full-group.yaml").read_text()
    spec = spec_from_yaml(text)
    # the fixture combines what ACI refuses together: keep the parts a valid group may have
    spec.subnet_ids, spec.confidential, spec.dns_config = None, None, None
    form = GroupForm(session, spec=spec)
    built = form.evaluation.spec
    assert built is not None
    assert [c.name for c in built.init_containers] == ["init-fetch"]
    assert built.containers[0].liveness_probe == spec.containers[0].liveness_probe
    assert built.containers[0].gpu == spec.containers[0].gpu
    assert built.containers[0].cpu_limit == spec.containers[0].cpu_limit == 4.0
    assert {v.name for v in built.volumes} == {v.name for v in spec.volumes}
    assert {m.name for m in built.containers[0].volume_mounts} == {m.name for m in spec.containers[0].volume_mounts}
    assert built.extensions == spec.extensions and built.encryption == spec.encryption
    assert built.identity == spec.identity and built.zones == spec.zones and built.sku == spec.sku
    assert [r.server for r in built.registry_credentials] == [r.server for r in spec.registry_credentials]
    assert not any(path.startswith("features.") for path in form.problems), form.problems
