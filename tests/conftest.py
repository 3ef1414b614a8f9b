"""Shared fixtures: one real emulator server per test session, and the stock SDK clients built against it.

Every test drives the real ``azure-mgmt-*`` clients over real HTTPS; nothing Azure is mocked.

- ``emulator`` (session): an ``aci-emulator serve`` process on a free port with a temporary home. Gives
  ``.home``, ``.base_url``, ``.port``, ``.ca_path``, ``.auth_file``, ``.auth`` (the auth file as a dict),
  ``.control`` (``EmulatorControl``), ``.pid`` and ``.container_processes()``. At the end it stops the server
  and fails the session if any container process is left.
- ``ci_client`` / ``rm_client`` (session): the SDK clients, built from the auth file exactly as a user would
  (``polling_interval=0``, ``retry_total=1``, fast backoff); ``make_sdk_clients(**options)`` builds others.
- ``emulator_knobs`` (function): the ``EmulatorControl``; faults, latency and provisioning delay go back to
  the server's values after the test, and the request log is cleared before it.
- ``unique_name`` (function): a fresh valid container-group name; ``make_name`` makes more of them.
- ``resource_group`` (function): a fresh resource group, deleted (with its groups) after the test.
- ``emulator_tools`` (session): the helpers for tests that run a server of their own.

Sub-folders add their own conftest fixtures on top of these.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aci_widgets.emulator import launcher
from aci_widgets.emulator.auth import write_auth_file
from aci_widgets.emulator.config import HOME_ENV, PORT_ENV, EmulatorHome
from aci_widgets.emulator.control import EmulatorControl

DEFAULT_LOCATION = "eastus"
# Every emulator a test starts runs local processes unless it asks for another engine (--engine docker):
# the suite's images are the process engine's catalogue; tests/engines/ runs both engines explicitly.
os.environ["ACI_EMULATOR_ENGINE"] = "process"


# -- processes -------------------------------------------------------------------------------------
def _live_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _stat_fields(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    after_name = text.rsplit(")", 1)[1].split()
    return after_name[0], int(after_name[1])


def process_alive(pid: int) -> bool:
    """True for a running process; a zombie (exited, not yet reaped) counts as gone."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def descendants(root: int) -> set[int]:
    """Every live process below ``root`` in the process tree (children, grandchildren, ...)."""
    children: dict[int, list[int]] = {}
    for pid in _live_pids():
        fields = _stat_fields(pid)
        if fields is not None and fields[0] not in ("Z", "X"):
            children.setdefault(fields[1], []).append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def processes_using(home: Path, exclude: set[int]) -> set[int]:
    """Live processes (outside ``exclude``) whose working directory or environment points into ``home``.

    This finds container processes even after their server died and they were re-parented to init.
    """
    home_text = str(home)
    found: set[int] = set()
    for pid in _live_pids():
        if pid in exclude or pid == os.getpid() or not process_alive(pid):
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            environ = Path(f"/proc/{pid}/environ").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        if cwd == home_text or cwd.startswith(home_text + os.sep) or home_text in environ:
            found.add(pid)
    return found


# -- the emulator ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningEmulator:
    """A running emulator server and everything a test needs to reach it."""

    home: EmulatorHome
    base_url: str
    port: int
    pid: int
    auth_file: Path
    control: EmulatorControl
    seen_processes: set[int] = field(default_factory=set)

    @property
    def ca_path(self) -> Path:
        return self.home.ca_path

    @property
    def auth(self) -> dict[str, str]:
        return json.loads(self.auth_file.read_text(encoding="utf-8"))

    @staticmethod
    def alive(pids: set[int]) -> set[int]:
        """Those of ``pids`` that still run (zombies count as gone)."""
        return {pid for pid in pids if process_alive(pid)}

    def container_processes(self) -> set[int]:
        """Live processes the emulator runs for containers (children of the server, or using its home)."""
        found = descendants(self.pid) | processes_using(self.home.path, exclude={self.pid})
        self.seen_processes |= found
        return found


def start_emulator(home_path: Path, port: int | None = None,
                   extra_args: tuple[str, ...] = ()) -> RunningEmulator:
    """Start (or find) the server of ``home_path`` and write its auth file. Used by fixtures and CLI tests.

    Test servers run with ``--limits=off`` unless ``extra_args`` say otherwise: many tests create hundreds of
    groups or send thousands of requests in seconds. The tests of Azure's limits (tests/limits/) and of sweeps
    under them pass ``--limits=azure`` (with a time scale) explicitly; users get Azure's limits by default.
    """
    home = EmulatorHome(home_path)
    if not any(arg.startswith("--limits") for arg in extra_args):
        extra_args = ("--limits=off", *extra_args)
    base_url, pid = launcher.ensure_running(home, port or free_port(), extra_args=extra_args)
    auth_file = write_auth_file(home, base_url)
    return RunningEmulator(home, base_url, int(base_url.rsplit(":", 1)[1]), pid, auth_file,
                           EmulatorControl(home, base_url))


def stop_emulator(emulator: RunningEmulator, timeout: float = 10.0) -> set[int]:
    """Stop the server; return the container processes still alive afterwards (should be none)."""
    emulator.container_processes()  # remember what runs now, to check it is gone afterwards
    launcher.stop(emulator.home)
    deadline = time.monotonic() + timeout
    while True:
        left = {pid for pid in emulator.seen_processes if process_alive(pid)}
        left |= processes_using(emulator.home.path, exclude=set())
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """One real emulator for the whole session (a detached ``serve`` process on a free port)."""
    home_path = tmp_path_factory.mktemp("aci-emulator-home")
    port = free_port()
    saved = {name: os.environ.get(name) for name in (HOME_ENV, PORT_ENV)}
    # The server and anything a test starts (notebooks, CLI calls) find this home and port by environment.
    os.environ[HOME_ENV] = str(home_path)
    os.environ[PORT_ENV] = str(port)
    running = start_emulator(home_path, port)
    try:
        yield running
    finally:
        left = stop_emulator(running)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        assert not left, f"container processes left running after the emulator stopped: {sorted(left)}"


@pytest.fixture(scope="session", autouse=True)
def _sweep_journals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Sweep journals (aci_widgets/sweep_journal.py) go to a temporary folder, never the user's data dir."""
    from aci_widgets.sweep_journal import SWEEP_DIR_ENV

    saved = os.environ.get(SWEEP_DIR_ENV)
    folder = tmp_path_factory.mktemp("sweep-journals")
    os.environ[SWEEP_DIR_ENV] = str(folder)
    yield folder
    if saved is None:
        os.environ.pop(SWEEP_DIR_ENV, None)
    else:
        os.environ[SWEEP_DIR_ENV] = saved


# -- SDK clients, exactly as a user builds them from the auth file ---------------------------------
def sdk_clients(auth_file: Path, **overrides: Any) -> tuple[Any, Any]:
    """(ContainerInstanceManagementClient, ResourceManagementClient) from an sdk-auth file.

    ``overrides`` replace client options, e.g. ``retry_total=3``.
    """
    from azure.identity import ClientSecretCredential
    from azure.mgmt.containerinstance import ContainerInstanceManagementClient
    from azure.mgmt.resource.resources import ResourceManagementClient

    config = json.loads(auth_file.read_text(encoding="utf-8"))
    ca = config["caCertPath"]
    credential = ClientSecretCredential(
        config["tenantId"], config["clientId"], config["clientSecret"],
        authority=config["activeDirectoryEndpointUrl"], disable_instance_discovery=True, connection_verify=ca)
    arm = config["resourceManagerEndpointUrl"]
    options: dict[str, Any] = dict(  # noqa: C408 - keyword form reads like the SDK call
        base_url=arm, credential_scopes=[arm.rstrip("/") + "/.default"], connection_verify=ca,
        # Fast tests: no 30 s default poll interval, and retries that are exercised but take milliseconds.
        polling_interval=0, retry_total=1, retry_backoff_factor=0.01)
    options.update(overrides)
    return (ContainerInstanceManagementClient(credential, config["subscriptionId"], **options),
            ResourceManagementClient(credential, config["subscriptionId"], **options))


@pytest.fixture(scope="session")
def make_sdk_clients(emulator: RunningEmulator) -> Callable[..., tuple[Any, Any]]:
    """Builds another ``(ci, rm)`` pair with different options: ``make_sdk_clients(retry_total=3)``."""
    return lambda **overrides: sdk_clients(emulator.auth_file, **overrides)


@pytest.fixture(scope="session")
def _sdk_clients(emulator: RunningEmulator) -> tuple[Any, Any]:
    return sdk_clients(emulator.auth_file)


@pytest.fixture(scope="session")
def ci_client(_sdk_clients: tuple[Any, Any]) -> Any:
    """``ContainerInstanceManagementClient`` against the session emulator."""
    return _sdk_clients[0]


@pytest.fixture(scope="session")
def rm_client(_sdk_clients: tuple[Any, Any]) -> Any:
    """``azure.mgmt.resource.resources.ResourceManagementClient`` against the session emulator."""
    return _sdk_clients[1]


@pytest.fixture
def emulator_knobs(emulator: RunningEmulator) -> Iterator[EmulatorControl]:
    """The control plane, with a clean request log; knobs set in the test are undone after it."""
    control = emulator.control
    before = control.settings()
    control.clear_requests()
    try:
        yield control
    finally:
        control.clear_faults()
        control.set_latency(before["latencyMs"])
        control.set_provisioning_delay(before["provisioningDelay"] or 0.0)


@pytest.fixture(scope="session")
def emulator_tools() -> SimpleNamespace:
    """The helpers above for tests that run their own server (tests cannot import a conftest by name):
    ``start_emulator``, ``stop_emulator``, ``sdk_clients``, ``free_port``, ``processes_using``, ``process_alive``,
    ``descendants``."""
    return SimpleNamespace(start_emulator=start_emulator, stop_emulator=stop_emulator, sdk_clients=sdk_clients,
                           free_port=free_port, processes_using=processes_using, process_alive=process_alive,
                           descendants=descendants)


# -- exec and attach websockets (tests/exec, tests/engines) ------------------------------------------
def open_socket(emulator: Any, uri: str) -> Any:
    """A websocket to an exec/attach ``webSocketUri`` that trusts the emulator's CA."""
    import websocket

    return websocket.create_connection(uri, sslopt={"ca_certs": str(emulator.ca_path)}, timeout=10)


def exec_request(command: str, cols: int = 80, rows: int = 24) -> Any:
    """The SDK's exec request body."""
    from azure.mgmt.containerinstance.models import ContainerExecRequest, ContainerExecRequestTerminalSize

    return ContainerExecRequest(command=command,
                                terminal_size=ContainerExecRequestTerminalSize(rows=rows, cols=cols))


def read_until_closed(ws: Any, timeout: float = 10.0) -> bytes:
    """Everything the bridge sends until it closes the socket."""
    import websocket

    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            opcode, data = ws.recv_data(control_frame=False)
        except websocket.WebSocketConnectionClosedException:
            return out
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return out
        out += data
    raise AssertionError(f"the socket did not close; got {out!r}")


def read_until(ws: Any, marker: bytes, timeout: float = 10.0) -> bytes:
    """What the bridge sends until ``marker`` is in it (fails if it closes first)."""
    import websocket

    out = b""
    deadline = time.monotonic() + timeout
    while marker not in out:
        assert time.monotonic() < deadline, f"no {marker!r} in {out!r}"
        opcode, data = ws.recv_data(control_frame=False)
        assert opcode != websocket.ABNF.OPCODE_CLOSE, f"closed before {marker!r}: {out!r}"
        out += data
    return out


@pytest.fixture(scope="session")
def ws_tools() -> SimpleNamespace:
    """websocket-client (the library ``az container exec`` uses) speaking ACI's exec protocol:
    ``open_socket``, ``exec_request``, ``read_until``, ``read_until_closed``."""
    return SimpleNamespace(open_socket=open_socket, exec_request=exec_request, read_until=read_until,
                           read_until_closed=read_until_closed)


# -- exported specs (tests/api/test_full_group.py, tests/test_spec_full.py) -----------------------------------
def _fill_secrets(spec: Any, original: Any) -> None:
    """What the user does with an export's placeholders: each names its field, the real value goes back."""
    import copy

    from aci_widgets.secrets import Secret

    for mine, theirs in zip(spec.containers + spec.init_containers, original.containers + original.init_containers):
        mine.env = copy.deepcopy(theirs.env)
    for mine, theirs in zip(spec.registry_credentials, original.registry_credentials):
        mine.password = theirs.password
    for mine, theirs in zip(spec.volumes, original.volumes):
        mine.secret = copy.deepcopy(theirs.secret)
        if mine.azure_file is not None:
            mine.azure_file.storage_account_key = theirs.azure_file.storage_account_key
    if spec.diagnostics is not None:
        spec.diagnostics.log_analytics.workspace_key = Secret(
            original.diagnostics.log_analytics.workspace_key.reveal())
    for mine, theirs in zip(spec.extensions or [], original.extensions or []):
        mine.protected_settings = copy.deepcopy(theirs.protected_settings)


@pytest.fixture(scope="session")
def fill_secrets() -> Callable[[Any, Any], None]:
    """``fill_secrets(exported_spec, original_spec)``: the secrets an export left as placeholders, put back."""
    return _fill_secrets


# -- names and resource groups ---------------------------------------------------------------------
def _name_prefix(request: pytest.FixtureRequest) -> str:
    prefix = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower().removeprefix("test_")).strip("-")
    return prefix[:40].strip("-") or "t"


@pytest.fixture
def make_name(request: pytest.FixtureRequest) -> Callable[[], str]:
    """Makes fresh valid group names from the test's name: ``seed-flow-3fa9c2``."""
    prefix = _name_prefix(request)
    return lambda: f"{prefix}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def unique_name(make_name: Callable[[], str]) -> str:
    """A fresh valid (lowercase, <= 63 characters) container-group name for this test."""
    return make_name()


@pytest.fixture
def resource_group(rm_client: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh resource group in the emulator (location eastus); deleted with its groups afterwards."""
    name = f"rg-{_name_prefix(request)}-{uuid.uuid4().hex[:6]}"
    rm_client.resource_groups.create_or_update(name, {"location": DEFAULT_LOCATION})
    yield name
    from azure.core.exceptions import ResourceNotFoundError

    try:
        rm_client.resource_groups.begin_delete(name).result()
    except ResourceNotFoundError:
        pass  # the test deleted it itself
