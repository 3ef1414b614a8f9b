"""Exec, attach and metrics on both engines (issue 16): the SDK's ``execute_command``/``attach``, then a
websocket client speaking ACI's protocol, and Azure Monitor's metrics of a busy container, each against an
emulator started with ``--engine process`` and one with ``--engine docker`` (tests/engines/conftest.py).

On Docker the command runs through the engine's exec (so in the image's filesystem); on the process engine in
the container's environment, cgroup and, with bubblewrap, its mount and PID namespaces: both show the group's
volume at its mount path and only the container's own processes.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

import aci_widgets
from aci_widgets.emulator.runtime.sandbox import sandbox_kind

from .conftest import IMAGES, EngineEmulator, container, group_body, skip_outside_ci, wait_for

# A busy loop holding 120 MiB, in each engine's python image.
BUSY = "block = bytearray(b'\\x01') * (120 << 20)\nwhile True:\n    pass\n"


def start_group(engine: EngineEmulator, rg: str, name: str, command: list[str], *, cpu: float = 1.0,
                image: str | None = None) -> None:
    body = group_body(container("c1", image or engine.images.shell, command=command, cpu=cpu,
                                env=[{"name": "GREETING", "value": "hello-from-env"}],
                                mounts=[{"name": "scratch", "mountPath": "/mnt/scratch"}]),
                      policy="Never", volumes=[{"name": "scratch", "emptyDir": {}}])
    engine.create(rg, name, body)
    assert wait_for(lambda: (engine.container_view(rg, name).current_state.state == "Running"), timeout=60), \
        engine.container_view(rg, name)


@pytest.fixture
def sleeper(engine_emulator: EngineEmulator, rg: str) -> Iterator[str]:
    """A running group whose container wrote a file into its emptyDir volume, then sleeps."""
    name = f"exec-{engine_emulator.engine}"
    start_group(engine_emulator, rg, name, ["/bin/sh", "-c", "echo from-main > /mnt/scratch/seen; sleep 300"])
    yield name


def connect(engine: EngineEmulator, ws_tools: Any, rg: str, name: str, command: str, **size: int) -> Any:
    answer = engine.ci.containers.execute_command(rg, name, "c1", ws_tools.exec_request(command, **size))
    assert answer.web_socket_uri.startswith("wss://127.0.0.1:") and answer.password
    ws = ws_tools.open_socket(engine.running, answer.web_socket_uri)
    ws.send(answer.password)  # a text frame, as az sends it
    return ws


def test_exec_echo_has_the_containers_env_and_terminal_size(engine_emulator, ws_tools, rg, sleeper):
    ws = connect(engine_emulator, ws_tools, rg, sleeper, "/bin/sh -c 'echo $GREETING; stty size'",
                 cols=101, rows=33)
    lines = ws_tools.read_until_closed(ws).decode().replace("\r\n", "\n").splitlines()
    assert lines[:2] == ["hello-from-env", "33 101"], lines


def test_exec_runs_inside_the_container(engine_emulator, ws_tools, rg, sleeper):
    """The volume at its mount path and the container's own processes only: the container's namespaces."""
    if engine_emulator.engine == "process" and sandbox_kind() != "bwrap":
        skip_outside_ci("the process engine has namespaces only with bubblewrap")
    # every process this exec can see, by command line (procps' and busybox's ps differ; /proc does not)
    ws = connect(engine_emulator, ws_tools, rg, sleeper, "/bin/sh -c 'cat /mnt/scratch/seen; "
                 "for p in /proc/[0-9]*; do tr \"\\\\0\" \" \" < $p/cmdline; echo; done | grep -c \"^sleep 300\"'")
    lines = ws_tools.read_until_closed(ws).decode().replace("\r\n", "\n").splitlines()
    assert lines[0] == "from-main", lines  # the file the main process wrote into the group's volume
    assert lines[1] == "1", lines  # the container's sleep, and no other container's


def test_interactive_shell_two_commands_then_exit(engine_emulator, ws_tools, rg, sleeper):
    ws = connect(engine_emulator, ws_tools, rg, sleeper, "/bin/sh")
    ws.send_binary(b"echo one-$((40+2))\n")
    assert b"one-42" in ws_tools.read_until(ws, b"one-42\r\n")
    ws.send_binary(b"export X=kept; echo x=$X\n")
    assert b"x=kept" in ws_tools.read_until(ws, b"x=kept\r\n")
    ws.send_binary(b"exit\n")
    ws_tools.read_until_closed(ws)


def test_wrong_password_and_reused_uri_are_refused(engine_emulator, ws_tools, rg, sleeper):
    import websocket

    answer = engine_emulator.ci.containers.execute_command(rg, sleeper, "c1", ws_tools.exec_request("/bin/sh"))
    ws = ws_tools.open_socket(engine_emulator.running, answer.web_socket_uri)
    ws.send("not-the-password")
    ws.send_binary(b"echo should-not-run\n")
    assert b"should-not-run" not in ws_tools.read_until_closed(ws)
    for uri in (answer.web_socket_uri, answer.web_socket_uri.rsplit("/", 1)[0] + "/forged"):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            ws_tools.open_socket(engine_emulator.running, uri)  # the one connection is spent
        assert refused.value.status_code == 403


def test_attach_streams_the_output(engine_emulator, ws_tools, rg):
    name = f"attach-{engine_emulator.engine}"
    start_group(engine_emulator, rg, name, ["/bin/sh", "-c", "echo first; sleep 1; echo second; sleep 300"])
    answer = engine_emulator.ci.containers.attach(rg, name, "c1")
    ws = ws_tools.open_socket(engine_emulator.running, answer.web_socket_uri)
    ws.send(answer.password)
    out = ws_tools.read_until(ws, b"second", timeout=20)
    assert out.index(b"first") < out.index(b"second")
    ws.close()


def test_exec_into_a_stopped_group(engine_emulator, ws_tools, rg, sleeper):
    engine_emulator.ci.container_groups.stop(rg, sleeper)
    with pytest.raises(HttpResponseError) as stopped:
        engine_emulator.ci.containers.execute_command(rg, sleeper, "c1", ws_tools.exec_request("/bin/sh"))
    assert stopped.value.error.code == "ContainerGroupStopped"
    with pytest.raises(HttpResponseError) as missing:
        engine_emulator.ci.containers.execute_command(rg, sleeper, "nope", ws_tools.exec_request("/bin/sh"))
    assert missing.value.error.code == "ContainerNotFound"


def test_session_exec_gives_output_and_exit_code(engine_emulator, rg, sleeper):
    session = aci_widgets.connect(auth_file=engine_emulator.running.auth_file, resource_group=rg,
                                  location="eastus", quiet=True)
    result = session.exec(sleeper, ["sh", "-c", "echo out-$((2+3)); echo err >&2; exit 7"])
    assert (result.output, result.exit_code) == ("out-5\nerr\n", 7)


def test_metrics_of_a_busy_container(engine_emulator, rg):
    """CPU near the container's quota (0.5 CPU = 500 millicores) and memory near its use, in Azure's units."""
    name = f"busy-{engine_emulator.engine}"
    start_group(engine_emulator, rg, name, ["python3", "-c", BUSY], cpu=0.5, image=engine_emulator.images.python)
    session = aci_widgets.connect(auth_file=engine_emulator.running.auth_file, resource_group=rg,
                                  location="eastus", quiet=True)

    def busy() -> bool:
        frame = session.metrics(name, since="10m", interval="1m", aggregation="average")
        cpu = frame[frame["metric"] == "CpuUsage"]
        return bool(len(cpu) and cpu["value"].max() > 0)

    assert wait_for(busy, timeout=30, interval=1.0), "no CPU sample within 30 s"
    time.sleep(4)  # a few more samples (one a second) with the loop at its quota
    values = {}
    for aggregation in ("average", "minimum", "maximum"):
        frame = session.metrics(name, since="10m", interval="1m", aggregation=aggregation)
        assert set(frame[frame["metric"] == "CpuUsage"]["container"]) == {"c1"}
        values[aggregation] = {metric: frame[frame["metric"] == metric]["value"].max()
                               for metric in ("CpuUsage", "MemoryUsage")}
    cpu, memory = values["average"]["CpuUsage"], values["average"]["MemoryUsage"]
    # The quota caps it at 500; the average includes the interpreter's start and a loaded 2-core machine.
    assert 200 <= cpu <= 560, cpu
    assert values["maximum"]["CpuUsage"] <= 650, values
    assert 120 * 2**20 <= memory <= 260 * 2**20, memory  # bytes: the 120 MiB block + the interpreter
    assert values["minimum"]["MemoryUsage"] <= memory <= values["maximum"]["MemoryUsage"]



def test_the_emulators_home_is_not_visible_inside_a_container(emulator_tools, ws_tools):
    """The home holds the emulator's signing key and client secret (config.json): a container, or a command
    exec'd into one, must not read it. The process engine's sandbox covers the home with an empty tmpfs. The home
    is outside /tmp here, as a user's is (~/.local/share/...): the sandbox's private /tmp would hide it anyway.
    (The Docker engine never mounts the home: only the container's own volume folders.)"""
    if sandbox_kind() != "bwrap":
        skip_outside_ci("the process engine hides the home only with bubblewrap")
    home = Path(tempfile.mkdtemp(prefix="aci-home-", dir="/var/tmp"))
    running = emulator_tools.start_emulator(home, emulator_tools.free_port(), ("--engine=process",))
    try:
        ci, rm = emulator_tools.sdk_clients(running.auth_file)
        rm.resource_groups.create_or_update("rg", {"location": "eastus"})
        engine = EngineEmulator("process", running, ci, rm, IMAGES["process"])
        start_group(engine, "rg", "peek", ["/bin/sh", "-c", "echo from-main > /mnt/scratch/seen; sleep 300"])
        config = home.resolve() / "config.json"
        assert "clientSecret" in config.read_text()  # it is there on the host
        ws = connect(engine, ws_tools, "rg", "peek",
                     f"/bin/sh -c 'cat {config} 2>/dev/null || echo hidden; cat /mnt/scratch/seen'")
        lines = ws_tools.read_until_closed(ws).decode().replace("\r\n", "\n").splitlines()
        assert lines == ["hidden", "from-main"], lines  # the home is hidden, the container's own volume is not
    finally:
        emulator_tools.stop_emulator(running)
        shutil.rmtree(home, ignore_errors=True)
