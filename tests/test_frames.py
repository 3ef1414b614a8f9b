"""The DataFrame shapes, on recorded ACI JSON and on empty and large inputs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from aci_widgets.frames import (
    EVENTS_COLUMNS,
    INSTANCE_VIEW_COLUMNS,
    LIST_COLUMNS,
    PROPERTY_LABELS,
    events_frame,
    group_properties,
    instance_view_frame,
    list_frame,
)

RECORDED = Path(__file__).parent / "fixtures" / "recorded"
SENTINEL = "SENTINEL-SECRET-123"


def recorded(name: str) -> dict[str, Any]:
    data = json.loads((RECORDED / name).read_text())
    return data.get("body", data)


def running() -> dict[str, Any]:
    return recorded("azure-cli-container-create-04-get-running.json")


def finished_task() -> dict[str, Any]:
    return recorded("azure-sdk-onfailure-task-get-succeeded.json")


def listed() -> list[dict[str, Any]]:
    return recorded("azure-cli-container-create-05-list-by-resource-group.json")["value"]


def is_text(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series.dtype) or series.dtype == object


def assert_list_dtypes(frame: pd.DataFrame) -> None:
    assert tuple(frame.columns) == LIST_COLUMNS
    assert frame["containers"].dtype == "int64"
    assert frame["cpu"].dtype == "float64" and frame["memory_gb"].dtype == "float64"
    for column in set(LIST_COLUMNS) - {"containers", "cpu", "memory_gb"}:
        assert is_text(frame[column]), column


def assert_time_dtype(series: pd.Series) -> None:
    assert isinstance(series.dtype, pd.DatetimeTZDtype) and str(series.dtype.tz) == "UTC"


# -- list ------------------------------------------------------------------------------------------------


def test_list_frame_on_recorded_list() -> None:
    frame = list_frame(listed())
    assert_list_dtypes(frame)
    row = frame.iloc[0].to_dict()
    assert row == {
        "name": "clicontainer000002", "resource_group": "clitest.rg000001", "location": "westus",
        "provisioning_state": "Succeeded", "state": "", "os_type": "Linux", "restart_policy": "Never",
        "containers": 1, "images": "alpine:latest", "cpu": 1.0, "memory_gb": 1.0, "ip": "13.83.249.21",
        "fqdn": "clicontainer000002.westus.azurecontainer.io", "ports": "8000/TCP, 8001/TCP",
        # issue 18: the recorded group has az's --secrets volume (its values are never returned, nor shown)
        "sku": "", "identity": "", "volumes": "secrets (secret)", "subnet": "",
    }


def test_list_state_is_empty_unless_known() -> None:
    groups = listed()
    assert list_frame(groups)["state"].tolist() == [""]  # a list has no instance view: never pretend
    by_id = {groups[0]["id"]: "Running"}
    assert list_frame(groups, live_states=by_id)["state"].tolist() == ["Running"]
    assert list_frame(groups, live_states={"clicontainer000002": "Stopped"})["state"].tolist() == ["Stopped"]
    assert list_frame([running()])["state"].tolist() == ["Running"]  # a GET body carries its own state


def test_list_totals_images_and_host_ports() -> None:
    group = copy.deepcopy(listed()[0])
    second = copy.deepcopy(group["properties"]["containers"][0])
    second["name"] = "sidecar"
    second["properties"]["image"] = "mcr.microsoft.com/azuredocs/aci-tutorial-sidecar"
    second["properties"]["resources"]["requests"] = {"cpu": 0.5, "memoryInGB": 2.5}
    group["properties"]["containers"].append(second)
    group["properties"]["ipAddress"].update(ip="127.0.0.1", hostPorts=[{"port": 8000, "hostPort": 54321}])
    row = list_frame([group]).iloc[0]
    assert row["containers"] == 2 and row["cpu"] == 1.5 and row["memory_gb"] == 3.5
    assert row["images"] == "alpine:latest, mcr.microsoft.com/azuredocs/aci-tutorial-sidecar"
    assert row["ports"] == "8000→127.0.0.1:54321, 8001/TCP"


def test_list_frame_of_a_group_without_ip_or_id() -> None:
    row = list_frame([{"name": "bare", "properties": {"containers": []}}]).iloc[0]
    assert (row["resource_group"], row["ip"], row["ports"], row["containers"], row["cpu"]) == ("", "", "", 0, 0.0)


def test_list_frame_on_2000_groups() -> None:
    template = listed()[0]
    groups = []
    for index in range(2000):
        group = copy.deepcopy(template)
        group["name"] = f"group-{index}"
        group["id"] = group["id"].replace("clicontainer000002", f"group-{index}")
        groups.append(group)
    frame = list_frame(groups)
    assert frame.shape == (2000, len(LIST_COLUMNS))
    assert frame["name"].iloc[-1] == "group-1999" and frame["cpu"].sum() == 2000.0
    assert_list_dtypes(frame)


# -- instance view ---------------------------------------------------------------------------------------


def assert_instance_view_dtypes(frame: pd.DataFrame) -> None:
    assert tuple(frame.columns) == INSTANCE_VIEW_COLUMNS
    assert_time_dtype(frame["start_time"])
    assert_time_dtype(frame["finish_time"])
    assert frame["exit_code"].dtype == "Int64" and frame["restart_count"].dtype == "Int64"
    assert frame["cpu"].dtype == "float64" and frame["memory_gb"].dtype == "float64"
    for column in ("container", "image", "state", "detail_status", "ports"):
        assert is_text(frame[column]), column


def test_instance_view_of_a_running_group() -> None:
    frame = instance_view_frame(running())
    assert_instance_view_dtypes(frame)
    row = frame.iloc[0]
    assert (row["container"], row["image"], row["state"], row["detail_status"]) == (
        "clicontainer000002", "alpine:latest", "Running", "")
    assert row["start_time"] == pd.Timestamp("2019-10-21T11:43:06Z")
    assert pd.isna(row["finish_time"]) and pd.isna(row["exit_code"])
    assert row["restart_count"] == 0 and row["ports"] == "8000/TCP, 8001/TCP"


def test_instance_view_of_a_finished_task() -> None:
    frame = instance_view_frame(finished_task())
    assert_instance_view_dtypes(frame)
    row = frame.iloc[0]
    assert (row["state"], row["detail_status"], row["exit_code"]) == ("Terminated", "Completed", 0)
    assert row["finish_time"] == pd.Timestamp("2021-03-15T07:11:38Z") and row["ports"] == ""


def test_instance_view_of_list_json_has_no_state() -> None:
    frame = instance_view_frame(listed()[0])
    assert frame["state"].tolist() == [""] and pd.isna(frame["restart_count"].iloc[0])
    assert_instance_view_dtypes(frame)


def test_instance_view_parses_aci_fractions() -> None:
    group = running()
    state = group["properties"]["containers"][0]["properties"]["instanceView"]["currentState"]
    state.update(startTime="2019-10-21T11:42:57.2369151Z", finishTime="not a time", exitCode=137)
    row = instance_view_frame(group).iloc[0]
    assert row["start_time"] == pd.Timestamp("2019-10-21T11:42:57.236915100Z")
    assert pd.isna(row["finish_time"]) and row["exit_code"] == 137


# -- events ----------------------------------------------------------------------------------------------


def test_events_of_a_running_group_sorted_with_group_events() -> None:
    group = running()
    group["properties"]["instanceView"]["events"] = [{
        "count": 2, "firstTimestamp": "2019-10-21T11:43:04Z", "lastTimestamp": "2019-10-21T11:43:04Z",
        "name": "FailedMount", "message": "mount error(2): Permission denied", "type": "Warning"}]
    frame = events_frame(group)
    assert tuple(frame.columns) == EVENTS_COLUMNS
    assert frame["name"].tolist() == ["Pulling", "FailedMount", "Pulled", "Created", "Started"]
    assert frame["container"].tolist() == ["clicontainer000002", "", "clicontainer000002", "clicontainer000002",
                                           "clicontainer000002"]
    assert frame["count"].dtype == "Int64" and frame["count"].tolist() == [1, 2, 1, 1, 1]
    assert_time_dtype(frame["first_timestamp"])
    assert_time_dtype(frame["last_timestamp"])
    assert frame["last_timestamp"].is_monotonic_increasing
    assert frame["message"].iloc[0] == 'pulling image "alpine:latest"'


# -- empty inputs ----------------------------------------------------------------------------------------


def test_empty_inputs_give_the_same_columns_and_dtypes() -> None:
    pairs = [(list_frame([]), list_frame(listed())),
             (instance_view_frame({}), instance_view_frame(running())),
             (instance_view_frame({"properties": {"containers": []}}), instance_view_frame(finished_task())),
             (events_frame({}), events_frame(running()))]
    for empty, full in pairs:
        assert len(empty) == 0
        assert list(empty.columns) == list(full.columns)
        assert empty.dtypes.to_dict() == full.dtypes.to_dict()


# -- properties ------------------------------------------------------------------------------------------


def test_group_properties_in_order() -> None:
    group = running()
    group["tags"] = {"owner": "ds", "env": "dev"}
    properties = group_properties(group)
    # the recorded group has a secrets volume mounted at /s: the issue-18 labels it has a value for follow
    assert tuple(properties) == (*PROPERTY_LABELS[:14], "Volumes", "Mounts")
    assert properties["Mounts"] == "clicontainer000002: secrets:/s"
    assert properties["Name"] == "clicontainer000002" and properties["Resource group"] == "clitest.rg000001"
    assert properties["State"] == "Running" and properties["FQDN"].endswith("azurecontainer.io")
    assert properties["CPU (cores)"] == "1" and properties["Memory (GB)"] == "1"
    assert properties["Tags"] == "owner=ds, env=dev"
    assert all(isinstance(value, str) for value in properties.values())
    assert group_properties(listed()[0])["State"] == ""


# -- secrets ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("build", [lambda g: list_frame([g]), instance_view_frame, events_frame,
                                   lambda g: pd.Series(group_properties(g))])
def test_no_environment_value_in_any_frame(build: Any) -> None:
    group = running()
    variables = group["properties"]["containers"][0]["properties"]["environmentVariables"]
    variables += [{"name": "PLAIN", "value": SENTINEL}, {"name": "S", "secureValue": SENTINEL}]
    assert SENTINEL not in build(group).to_csv()


def test_init_containers_show_how_they_ended() -> None:
    """An init container that failed is visible: a row of the instance view, its events, the properties line."""
    from aci_widgets.frames import events_frame, group_properties, instance_view_frame

    ended = {"currentState": {"state": "Terminated", "exitCode": 5, "detailStatus": "Error",
                              "startTime": "2026-12-01T10:00:00Z", "finishTime": "2026-12-01T10:00:01Z"},
             "restartCount": 2, "events": [{"name": "Started", "type": "Normal", "count": 3,
                                            "lastTimestamp": "2026-12-01T10:00:00Z", "message": "Started container"}]}
    group = {"name": "g", "properties": {
        "initContainers": [{"name": "setup", "properties": {"image": "alpine", "instanceView": ended}}],
        "containers": [{"name": "app", "properties": {"image": "alpine", "instanceView": {
            "currentState": {"state": "Waiting", "detailStatus": "PodInitializing"}, "restartCount": 0}}}]}}
    view = instance_view_frame(group)
    setup = view[view["init"]].iloc[0]
    assert (setup["container"], setup["state"], setup["exit_code"], setup["restart_count"]) == (
        "setup", "Terminated", 5, 2)
    assert view[~view["init"]]["state"].tolist() == ["Waiting"]
    assert events_frame(group)["container"].tolist() == ["setup"]
    assert group_properties(group)["Init containers"] == "setup (Terminated, exit 5, 2 restarts)"


def test_volumes_mounts_and_identity_are_where_users_look() -> None:
    from aci_widgets.frames import group_properties, instance_view_frame

    uid = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-pull"
    group = {"name": "g", "id": "/subscriptions/s/resourceGroups/rg/providers/x/g", "zones": ["1"],
             "identity": {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {uid: {}}},
             "properties": {"sku": "Standard", "containers": [{"name": "app", "properties": {
                 "image": "alpine", "volumeMounts": [{"name": "out", "mountPath": "/mnt/out"},
                                                     {"name": "src", "mountPath": "/src", "readOnly": True}]}}],
                 "initContainers": [{"name": "init", "properties": {"image": "alpine"}}],
                 "subnetIds": [{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/"
                                      "virtualNetworks/vnet1/subnets/aci"}],
                 "volumes": [{"name": "out", "azureFile": {"shareName": "share", "storageAccountName": "acct"}},
                             {"name": "src", "gitRepo": {"repository": "https://user:TOKEN@github.com/a/b"}}]}}
    row = list_frame([group]).iloc[0]
    assert row["volumes"] == "out (azureFile share@acct), src (gitRepo https://github.com/a/b)"
    assert row["identity"] == "SystemAssigned, UserAssigned: id-pull" and row["sku"] == "Standard"
    assert row["subnet"] == "vnet1/aci"
    view = instance_view_frame(group)
    assert list(view["container"]) == ["init", "app"] and list(view["init"]) == [True, False]  # init runs first
    assert view["mounts"].iloc[1] == "out:/mnt/out, src:/src (ro)"
    shown = group_properties(group)
    assert shown["Mounts"] == "app: out:/mnt/out, src:/src (ro)" and shown["Init containers"] == "init"
    assert shown["Zones"] == "1" and "TOKEN" not in str(shown)


def test_metrics_plot_leaves_headroom_and_a_real_time_axis() -> None:
    """A container at its CPU quota is not drawn on the top edge; an empty frame's axis is not at 1970."""
    import matplotlib.dates as mdates
    import pandas as pd

    from aci_widgets.metrics_plot import plot_metrics

    times = pd.to_datetime(["2026-12-01T10:00:00Z", "2026-12-01T10:01:00Z"], utc=True)
    frame = pd.DataFrame({"time": list(times) * 2, "container": ["c"] * 4,
                          "metric": ["CpuUsage", "CpuUsage", "MemoryUsage", "MemoryUsage"],
                          "value": [999.0, 1000.0, 200 * 2**20, 200 * 2**20]})
    cpu_axis, memory_axis = plot_metrics(frame).get_axes()
    assert cpu_axis.get_ylim()[1] >= 1100 and memory_axis.get_ylim()[1] >= 220  # MiB
    empty = plot_metrics(frame.iloc[0:0]).get_axes()[-1]
    assert mdates.num2date(empty.get_xlim()[0]).year >= 2026
