"""Docker engine only (issue 14): a user's own image runs unchanged; ``command`` replaces entrypoint and cmd; a
missing image is ACI's InaccessibleImage; a restarted emulator adopts its running containers, removes those it
no longer knows, and never touches another home's; exec and stats come from the engine.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from .conftest import (
    IMAGES,
    EngineEmulator,
    container,
    docker_containers_of,
    group_body,
    read_some,
    require_docker,
    wait_for,
)


@pytest.fixture(scope="module")
def docker_client() -> Iterator[Any]:
    require_docker()
    import docker

    client = docker.from_env(version="auto")
    yield client
    client.close()


@pytest.fixture(scope="module")
def docker_emulator(docker_client: Any, tmp_path_factory: pytest.TempPathFactory,
                    emulator_tools: SimpleNamespace) -> Iterator[EngineEmulator]:
    running = emulator_tools.start_emulator(tmp_path_factory.mktemp("docker-only"), emulator_tools.free_port(),
                                            ("--engine=docker",))
    ci, rm = emulator_tools.sdk_clients(running.auth_file)
    rm.resource_groups.create_or_update("rg", {"location": "eastus"})
    try:
        yield EngineEmulator("docker", running, ci, rm, IMAGES["docker"])
    finally:
        emulator_tools.stop_emulator(running)
        assert not docker_containers_of(running.home.path)


def _json_line(emu: EngineEmulator, name: str) -> dict[str, Any]:
    text = wait_for(lambda: emu.logs("rg", name, "own").strip(), timeout=20)
    return dict(json.loads(text.splitlines()[0]))


def test_a_users_own_image_runs_with_its_entrypoint_workdir_and_env(docker_emulator: EngineEmulator,
                                                                    docker_client: Any, tmp_path: Path) -> None:
    emu = docker_emulator
    # An image built here from the user's Dockerfile, as a user does before trying it locally.
    (tmp_path / "Dockerfile").write_text(
        "FROM aci-test/busybox\nWORKDIR /srv/job\nRUN echo data > input.txt\nENV JOB_MODE=image\n"
        'ENTRYPOINT ["/bin/sh", "-c", "echo cwd=$(pwd) mode=$JOB_MODE files=$(ls) args=$0", "from-entrypoint"]\n')
    docker_client.images.build(path=str(tmp_path), tag="aci-test/users-job:1", rm=True, network_mode="none")
    try:
        emu.create("rg", "users-job", group_body(container("job", "aci-test/users-job:1"), policy="Never"))
        assert wait_for(lambda: emu.ci.container_groups.get("rg", "users-job").instance_view.state == "Succeeded")
        assert emu.logs("rg", "users-job", "job") == "cwd=/srv/job mode=image files=input.txt args=from-entrypoint\n"
    finally:
        emu.ci.container_groups.begin_delete("rg", "users-job").result()
        docker_client.images.remove("aci-test/users-job:1", force=True)

    # The prepared image: ENTRYPOINT + CMD as built; the group's env on top of the image's.
    env = [{"name": "OWN_MODE", "value": "from-group"}]
    emu.create("rg", "own-default", group_body(container("own", "aci-test/own-entrypoint", env=env), policy="Never"))
    seen = _json_line(emu, "own-default")
    assert seen["cwd"] == "/opt/own-app"
    assert seen["argv"][-2:] == ["from-entrypoint", "from-cmd"]
    assert seen["env"]["OWN_MODE"] == "from-group" and seen["env"]["OWN_GREETING"]

    # ACI's command replaces both ENTRYPOINT and CMD; working directory and image env stay.
    emu.create("rg", "own-command", group_body(container(
        "own", "aci-test/own-entrypoint", command=["python", "/opt/own-app/own.py", "given"]), policy="Never"))
    seen = _json_line(emu, "own-command")
    assert seen["argv"][-1] == "given" and "from-entrypoint" not in seen["argv"] and "from-cmd" not in seen["argv"]
    assert seen["cwd"] == "/opt/own-app" and seen["env"]["OWN_GREETING"]


def test_a_missing_image_is_inaccessible_image(docker_emulator: EngineEmulator) -> None:
    with pytest.raises(HttpResponseError) as caught:
        docker_emulator.create("rg", "missing", group_body(container("c", "aci-test/no-such-image:9")))
    assert caught.value.error.code == "InaccessibleImage"
    cached = docker_emulator.raw().get(
        f"/subscriptions/{docker_emulator.running.auth['subscriptionId']}/providers/Microsoft.ContainerInstance/"
        "locations/eastus/cachedImages", params={"api-version": "2023-05-01"}).json()
    assert "aci-test/busybox:latest" in {entry["image"] for entry in cached["value"]}


class StallingRegistry:
    """A "registry" on 127.0.0.1 that holds every connection ``delay`` seconds, then hangs up: the Docker
    daemon treats 127.0.0.0/8 as an insecure registry, so its pull of ``127.0.0.1:PORT/...`` is slow, then fails."""

    def __init__(self, delay: float):
        self.delay = delay
        self.connections = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Timer(self.delay, client.close).start()

    def close(self) -> None:
        self._stop.set()
        self._server.close()


def test_a_slow_pull_does_not_stall_other_requests(docker_emulator: EngineEmulator) -> None:
    """The image is pulled before the backend's lock is taken: while one PUT waits on a slow registry, other
    clients' reads answer at once; the PUT then fails as ACI's does (InaccessibleImage)."""
    registry = StallingRegistry(delay=2.0)
    outcome: dict[str, Any] = {}

    def create() -> None:
        try:
            image = f"127.0.0.1:{registry.port}/slow/app:1"
            docker_emulator.create("rg", "slow-pull", group_body(container("c", image)))
        except HttpResponseError as error:
            outcome["code"] = error.error.code if error.error else str(error)

    try:
        creator = threading.Thread(target=create)
        creator.start()
        assert wait_for(lambda: registry.connections > 0, timeout=10), "the daemon never reached the registry"
        slowest = 0.0
        while creator.is_alive():
            started = time.monotonic()
            list(docker_emulator.ci.container_groups.list_by_resource_group("rg"))
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.05)
        creator.join()
    finally:
        registry.close()
    assert outcome.get("code") == "InaccessibleImage", outcome
    assert slowest < 1.0, f"a list took {slowest:.2f} s while the pull was under way"


def test_published_ports_are_on_loopback_only(docker_emulator: EngineEmulator) -> None:
    emu = docker_emulator
    emu.create("rg", "ports", group_body(container("web", "mcr.microsoft.com/azuredocs/aci-helloworld", ports=(80,)),
                                         ports=(80,)))
    (found,) = [c for c in docker_containers_of(emu.running.home.path, running_only=True)
                if c.labels.get("org.aci-emulator.group-name") == "ports"]
    bindings = found.attrs["HostConfig"]["PortBindings"]["80/tcp"]
    assert [b["HostIp"] for b in bindings] == ["127.0.0.1"]
    assert int(bindings[0]["HostPort"]) == emu.host_port("rg", "ports")
    emu.ci.container_groups.begin_delete("rg", "ports").result()


def test_restart_adopts_own_containers_removes_unknown_ones_and_leaves_other_homes(
        docker_client: Any, tmp_path_factory: pytest.TempPathFactory, emulator_tools: SimpleNamespace) -> None:
    home = tmp_path_factory.mktemp("adopt")
    port = emulator_tools.free_port()
    running = emulator_tools.start_emulator(home, port, ("--engine=docker",))
    ci, rm = emulator_tools.sdk_clients(running.auth_file)
    rm.resource_groups.create_or_update("rg", {"location": "eastus"})
    foreign = docker_client.containers.run("aci-test/busybox", ["sleep", "300"], detach=True, labels={
        "org.aci-emulator.home": "another-home-0000", "org.aci-emulator.run": "x" * 32})
    try:
        ci.container_groups.begin_create_or_update("rg", "keep", group_body(container(
            "c", "aci-test/busybox", command=["/bin/sh", "-c", "echo started; sleep 300"]))).result()
        (kept,) = docker_containers_of(home, running_only=True)
        # A crash: the server dies, the containers go on. Then a container of this home that no run knows.
        os.kill(running.pid, signal.SIGKILL)
        wait_for(lambda: not emulator_tools.process_alive(running.pid), timeout=10)
        unknown = docker_client.containers.run("aci-test/busybox", ["sleep", "300"], detach=True,
                                               labels={**kept.labels, "org.aci-emulator.run": "0" * 32})
        time.sleep(0.2)
        again = emulator_tools.start_emulator(home, port, ("--engine=docker",))
        ci, _ = emulator_tools.sdk_clients(again.auth_file)
        view = ci.container_groups.get("rg", "keep").containers[0].instance_view
        assert view.current_state.state == "Running" and view.restart_count == 0  # adopted, not restarted
        assert [c.id for c in docker_containers_of(home, running_only=True)] == [kept.id]
        assert ci.containers.list_logs("rg", "keep", "c").content == "started\n"
        import docker

        with pytest.raises(docker.errors.NotFound):  # removed
            unknown.reload()
        foreign.reload()
        assert foreign.status == "running"  # another home's container: untouched
        ci.container_groups.begin_delete("rg", "keep").result()
        assert docker_containers_of(home) == []
    finally:
        emulator_tools.stop_emulator(running)
        foreign.remove(force=True)
        assert docker_containers_of(home) == []


def test_exec_and_stats_come_from_the_engine(docker_client: Any, tmp_path: Path) -> None:
    """The engine interface i16's exec endpoint and metrics build on (``Backend.container_exec``/``_stats``)."""
    from aci_widgets.emulator.config import EmulatorHome
    from aci_widgets.emulator.runtime.docker_engine import DockerEngine
    from aci_widgets.emulator.runtime.engine import RunSpec, home_id

    home = EmulatorHome(tmp_path / "home").ensure()
    engine = DockerEngine(home, lambda *args: None, kill_grace_seconds=1)
    spec = RunSpec(run_uid="e" * 32, home_id=home_id(home.path), group_uid="g" * 32, group_name="exec",
                   container="c", image="aci-test/busybox", command=["sleep", "120"], env={"GREETING": "hi"},
                   log_path=home.logs_dir / "run.log", work_dir=tmp_path / "work", cpu=0.5, memory_bytes=64 * 2**20)
    try:
        engine.start(spec)
        session = engine.exec(spec.run_uid, ["sh", "-c", "echo $GREETING; exit 3"], tty=False, cols=80, rows=24)
        out = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not out.endswith(b"\n"):
            out += read_some(session)
        session.close()
        assert out == b"hi\n"
        assert wait_for(lambda: session.exit_code == 3, timeout=5)
        tty = engine.exec(spec.run_uid, ["cat"], tty=True, cols=100, rows=30)
        tty.write(b"ping\n")
        echoed = b""
        while time.monotonic() < deadline and b"ping" not in echoed:
            echoed += read_some(tty)
        tty.resize(120, 40)
        tty.close()
        assert b"ping" in echoed
        stats = engine.stats(spec.run_uid)
        assert stats.memory_bytes > 0 and stats.cpu_seconds_total >= 0 and stats.at > 0
        assert engine.kill([spec.run_uid], grace=0) == {spec.run_uid: 137}
    finally:
        engine.remove_group(spec.group_uid)
        engine.abandon()
    assert docker_containers_of(home.path) == []
