"""``session.exec``, ``session.open_console`` and ``session.metrics`` against the emulator (real SDK clients:
``containers.execute_command`` + websocket-client, and azure-mgmt-monitor's ``metrics.list``)."""

from __future__ import annotations

import time

import pytest

from aci_widgets import GroupSpec
from aci_widgets.errors import InvalidInput, NotFound, OperationFailed

BUSY = ("import time\nblock = bytearray(b'\\x01') * (150 << 20)\nwhile True:\n    pass\n")


def run_group(session, name, command, cpu=1.0, memory_gb=1.0):
    spec = GroupSpec.single(name, "alpine", command=command, cpu=cpu, memory_gb=memory_gb,
                            restart_policy="Never")
    session.create_group(spec)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if session.get_group_json(name)["properties"]["containers"][0]["properties"].get(
                "instanceView", {}).get("currentState", {}).get("state") == "Running":
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} is not running")


def test_exec_output_and_exit_code(session, unique_name):
    run_group(session, unique_name, ["sleep", "60"])
    result = session.exec(unique_name, ["sh", "-c", "echo out-$((2+3)); echo err >&2; exit 7"])
    assert result.output == "out-5\nerr\n"
    assert result.exit_code == 7
    assert result.container == unique_name
    ok = session.exec(unique_name, "pwd && echo 'a  b'")
    assert ok.exit_code == 0
    assert ok.output.splitlines()[1] == "a  b"


def test_exec_errors_are_one_line(session, unique_name):
    with pytest.raises(InvalidInput):
        session.exec(unique_name, [])
    run_group(session, unique_name, ["sleep", "60"])
    with pytest.raises(NotFound, match="The container 'nope' does not exist"):
        session.exec(unique_name, ["true"], container="nope")
    session.stop(unique_name)
    with pytest.raises(OperationFailed, match="ContainerGroupStopped"):
        session.exec(unique_name, ["true"])


def test_console_interrupts_a_running_command(session, unique_name):
    run_group(session, unique_name, ["sleep", "60"])
    console = session.open_console(unique_name)
    try:
        console.send("sleep 30; echo not-interrupted\r")
        time.sleep(0.3)
        console.interrupt()
        console.send("echo after-$((1+1))\r")
        seen = b""
        deadline = time.monotonic() + 10
        while b"after-2" not in seen:
            assert time.monotonic() < deadline, seen
            seen += console.read(0.5)
        assert b"not-interrupted" not in seen.replace(b"echo not-interrupted", b"")
    finally:
        console.close()


def test_metrics_of_a_busy_container(session, unique_name):
    run_group(session, unique_name, ["python3", "-c", BUSY], cpu=1.0)
    time.sleep(5)  # five samples (one a second)
    client = session.metrics_operations.monitor_client()
    resource = session.calls.group_path(session.resource_group, unique_name).lstrip("/")
    definitions = {d.name.value: d for d in client.metric_definitions.list(resource)}
    assert definitions["CpuUsage"].unit == "Count" and definitions["MemoryUsage"].unit == "Bytes"
    assert [d.value for d in definitions["CpuUsage"].dimensions] == ["containerName"]
    assert definitions["NetworkBytesReceivedPerSecond"].dimensions in (None, [])
    values = {}
    for aggregation in ("average", "minimum", "maximum"):
        frame = session.metrics(unique_name, since="10m", interval="1m", aggregation=aggregation)
        assert list(frame.columns) == ["time", "container", "metric", "value"]
        assert set(frame["metric"]) == {"CpuUsage", "MemoryUsage", "NetworkBytesReceivedPerSecond",
                                        "NetworkBytesTransmittedPerSecond"}
        assert set(frame[frame["metric"] == "CpuUsage"]["container"]) == {unique_name}
        # the busy minute(s): sum over the buckets weighted equally is enough here: take the largest
        values[aggregation] = {metric: frame[frame["metric"] == metric]["value"].max()
                               for metric in ("CpuUsage", "MemoryUsage")}
    cpu, memory = values["average"]["CpuUsage"], values["average"]["MemoryUsage"]
    # millicores; the quota is 1 CPU = 1000. The lower bound allows for a loaded 2-core machine shared by
    # several test runs (measured 540-990 here); an idle container reads ~0.
    assert 400 <= cpu <= 1150, cpu
    assert 150 * 2**20 <= memory <= 260 * 2**20, memory  # bytes: 150 MiB block + the interpreter
    assert values["minimum"]["CpuUsage"] <= cpu <= values["maximum"]["CpuUsage"]
    assert values["minimum"]["MemoryUsage"] <= memory <= values["maximum"]["MemoryUsage"]
    assert values["maximum"]["CpuUsage"] <= 1300


def test_raw_metrics_answer_has_azures_shape(session, unique_name):
    run_group(session, unique_name, ["sleep", "60"])
    time.sleep(2.2)
    client = session.metrics_operations.monitor_client()
    resource = session.calls.group_path(session.resource_group, unique_name).lstrip("/")
    answer = client.metrics.list(resource, timespan="PT1H", interval="PT1M", metricnames="CpuUsage,MemoryUsage",
                                 aggregation="Average,Maximum", filter="containerName eq '*'")
    assert answer.interval == "PT1M" or str(answer.interval) in ("0:01:00", "PT1M")
    assert answer.namespace == "Microsoft.ContainerInstance/containerGroups"
    cpu = answer.value[0]
    assert cpu.name.value == "CpuUsage" and cpu.name.localized_value == "CPU Usage" and cpu.unit == "Count"
    series = cpu.timeseries[0]
    assert series.metadatavalues[0].value == unique_name
    assert 60 <= len(series.data) <= 61  # one point per minute of the hour
    assert any(point.average is not None and point.maximum is not None for point in series.data)
    from azure.core.exceptions import HttpResponseError

    with pytest.raises(HttpResponseError, match="Failed to find metric configuration"):
        client.metrics.list(resource, metricnames="Nope")
    with pytest.raises(HttpResponseError, match="time grain"):
        client.metrics.list(resource, metricnames="CpuUsage", interval="PT2M")


def test_bad_metrics_arguments_are_one_line(session, unique_name):
    with pytest.raises(InvalidInput, match="since"):
        session.metrics(unique_name, since="yesterday")
    with pytest.raises(InvalidInput, match="interval"):
        session.metrics(unique_name, interval="2m")


def test_metrics_plot_renders(session, unique_name):
    from aci_widgets.metrics_plot import plot_metrics

    run_group(session, unique_name, ["sleep", "60"])
    time.sleep(3.5)  # at least two readings: the first CPU point needs two
    frame = session.metrics(unique_name, since="10m")
    figure = plot_metrics(frame, title=unique_name)
    axes = figure.get_axes()
    assert [a.get_ylabel() for a in axes] == ["CPU (millicores)", "Memory (MiB)"]
    assert any(len(line.get_xdata()) >= 1 for line in axes[0].get_lines())
    import io

    png = io.BytesIO()
    figure.savefig(png, format="png")
    assert png.getvalue()[:8] == b"\x89PNG\r\n\x1a\n" and len(png.getvalue()) > 5000
