"""Exec and attach against the emulator: the SDK's ``execute_command``/``attach``, then a websocket client
(websocket-client, the library ``az container exec`` uses) speaking ACI's protocol: the password as the
first text frame, stdin as binary frames, output back, the socket closed when the command ends.

The interactive shell session, the volume and PID namespace checks and metrics run on both engines in
tests/engines/test_engine_exec.py."""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websocket
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError


def group_body(command: list[str], *, name: str = "c1", cpu: float = 1.0, env: dict[str, str] | None = None,
               restart: str = "Never") -> dict[str, Any]:
    variables = [{"name": k, "value": v} for k, v in (env or {}).items()]
    return {"location": "eastus", "properties": {
        "osType": "Linux", "restartPolicy": restart,
        "containers": [{"name": name, "properties": {
            "image": "alpine", "command": command, "environmentVariables": variables,
            "resources": {"requests": {"cpu": cpu, "memoryInGB": 1.0}}}}]}}


def wait_running(ci: Any, rg: str, name: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        group = ci.container_groups.get(rg, name)
        states = [c.instance_view.current_state.state for c in group.containers
                  if c.instance_view and c.instance_view.current_state]
        if states and all(state == "Running" for state in states):
            return
        time.sleep(0.05)
    raise AssertionError(f"group {name} did not run: {states}")


@pytest.fixture
def running_group(ci_client: Any, resource_group: str, unique_name: str) -> Iterator[str]:
    ci_client.container_groups.begin_create_or_update(
        resource_group, unique_name, group_body(["sleep", "60"], env={"GREETING": "hello-from-env"})).result()
    wait_running(ci_client, resource_group, unique_name)
    yield unique_name


def test_exec_echo_runs_in_the_container(ws_tools, emulator, ci_client, resource_group, running_group):
    answer = ci_client.containers.execute_command(resource_group, running_group, "c1",
                                                  ws_tools.exec_request("/bin/sh -c 'echo $GREETING; pwd; stty size'",
                                                               cols=101, rows=33))
    assert answer.web_socket_uri.startswith("wss://127.0.0.1:")
    assert answer.password and answer.password not in answer.web_socket_uri
    ws = ws_tools.open_socket(emulator, answer.web_socket_uri)
    ws.send(answer.password)  # a text frame, as az sends it
    out = ws_tools.read_until_closed(ws).decode()
    lines = out.replace("\r\n", "\n").splitlines()
    assert lines[0] == "hello-from-env"  # the container's environment
    assert lines[1].endswith(f"/{'c1'}")  # the container's working directory
    assert lines[2] == "33 101"  # the requested terminal size


def test_wrong_password_closes_and_burns_the_uri(ws_tools, emulator, ci_client, resource_group, running_group):
    answer = ci_client.containers.execute_command(resource_group, running_group, "c1", ws_tools.exec_request("/bin/sh"))
    ws = ws_tools.open_socket(emulator, answer.web_socket_uri)
    ws.send("not-the-password")
    ws.send_binary(b"echo should-not-run\n")
    assert b"should-not-run" not in ws_tools.read_until_closed(ws)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        ws_tools.open_socket(emulator, answer.web_socket_uri)  # the one connection is spent
    assert refused.value.status_code == 403


def test_reused_uri_is_refused(ws_tools, emulator, ci_client, resource_group, running_group):
    answer = ci_client.containers.execute_command(resource_group, running_group, "c1", ws_tools.exec_request("echo hi"))
    ws = ws_tools.open_socket(emulator, answer.web_socket_uri)
    ws.send(answer.password)
    assert b"hi" in ws_tools.read_until_closed(ws)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        ws_tools.open_socket(emulator, answer.web_socket_uri)
    assert refused.value.status_code == 403
    forged = answer.web_socket_uri.rsplit("/", 1)[0] + "/not-a-token"
    with pytest.raises(websocket.WebSocketBadStatusException):
        ws_tools.open_socket(emulator, forged)


def test_plain_tls_check_applies(ws_tools, emulator, ci_client, resource_group, running_group):
    """The bridge is the emulator's TLS port: a client that does not trust its CA cannot connect."""
    answer = ci_client.containers.execute_command(resource_group, running_group, "c1", ws_tools.exec_request("echo hi"))
    with pytest.raises(ssl.SSLError):
        websocket.create_connection(answer.web_socket_uri, sslopt={"cert_reqs": ssl.CERT_REQUIRED,
                                                                   "ca_certs": ssl.get_default_verify_paths().cafile
                                                                   or "/etc/ssl/certs/ca-certificates.crt"},
                                    timeout=5)


def test_exec_into_stopped_group_and_missing_container(ws_tools, ci_client, resource_group, running_group):
    with pytest.raises(HttpResponseError) as missing:
        ci_client.containers.execute_command(resource_group, running_group, "nope", ws_tools.exec_request("/bin/sh"))
    assert missing.value.error.code == "ContainerNotFound"
    assert "The container 'nope' does not exist in container group" in missing.value.error.message
    ci_client.container_groups.stop(resource_group, running_group)
    with pytest.raises(HttpResponseError) as stopped:
        ci_client.containers.execute_command(resource_group, running_group, "c1", ws_tools.exec_request("/bin/sh"))
    assert stopped.value.error.code == "ContainerGroupStopped"
    assert stopped.value.error.message == (f"Container Group '{running_group}' in resource group "
                                           f"'{resource_group}' is stopped.")
    with pytest.raises(HttpResponseError) as attach_stopped:
        ci_client.containers.attach(resource_group, running_group, "c1")
    assert attach_stopped.value.error.code == "ContainerGroupStopped"
    with pytest.raises(ResourceNotFoundError):
        ci_client.containers.execute_command(resource_group, running_group + "x", "c1",
                                             ws_tools.exec_request("/bin/sh"))


def test_unknown_command_says_so(ws_tools, emulator, ci_client, resource_group, running_group):
    answer = ci_client.containers.execute_command(resource_group, running_group, "c1",
                                                  ws_tools.exec_request("/no/such/program"))
    ws = ws_tools.open_socket(emulator, answer.web_socket_uri)
    ws.send(answer.password)
    assert b"no such file or directory" in ws_tools.read_until_closed(ws).lower()


def processes_running(command_line: str) -> list[int]:
    """Host pids whose command line is ``command_line`` (an exec'd process's pid inside the sandbox's PID
    namespace is not its pid here, so the test finds it by what it runs)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if handle.read().replace(b"\0", b" ").strip() == command_line.encode():
                        found.append(int(entry))
            except OSError:
                continue
    return found


def test_closing_the_socket_ends_the_command(ws_tools, emulator, ci_client, resource_group, running_group):
    answer = ci_client.containers.execute_command(resource_group, running_group, "c1", ws_tools.exec_request("/bin/sh"))
    ws = ws_tools.open_socket(emulator, answer.web_socket_uri)
    ws.send(answer.password)
    ws.send_binary(b"echo P$((1+1))D; sleep 4321\n")  # the echoed input does not hold "P2D"
    ws_tools.read_until(ws, b"P2D\r\n")
    deadline = time.monotonic() + 5
    while not processes_running("sleep 4321"):
        assert time.monotonic() < deadline, "the exec'd shell did not start its command"
        time.sleep(0.05)
    ws.close()
    deadline = time.monotonic() + 5
    while processes_running("sleep 4321"):  # the shell's foreground job, in a process group of its own
        assert time.monotonic() < deadline, "the exec'd command still runs after the client left"
        time.sleep(0.05)


def test_attach_streams_the_output(ws_tools, emulator, ci_client, resource_group, unique_name):
    ci_client.container_groups.begin_create_or_update(
        resource_group, unique_name,
        group_body(["/bin/sh", "-c", "echo first; sleep 0.6; echo second; sleep 30"])).result()
    wait_running(ci_client, resource_group, unique_name)
    answer = ci_client.containers.attach(resource_group, unique_name, "c1")
    ws = ws_tools.open_socket(emulator, answer.web_socket_uri)
    ws.send(answer.password)
    out = ws_tools.read_until(ws, b"second")
    assert out.index(b"first") < out.index(b"second")
    ws.close()
