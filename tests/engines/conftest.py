"""Fixtures for the container engine tests (issue 14): one real emulator per engine and module.

``engine_emulator`` is parametrized by engine (``process``, ``docker``): an ``aci-emulator serve --engine X``
with a fresh home, and its SDK clients. The Docker engine needs a Docker API (``DOCKER_HOST``; CI starts a
private dockerd and builds the test images: scripts/test.sh, scripts/docker/). Outside CI a missing Docker
skips the docker half with the reason; with ``CI=true`` it fails.

Images differ by engine only where the process engine has no equivalent: ``images.shell`` (``alpine`` for
processes, ``aci-test/busybox`` on Docker) and ``images.python`` (``python:3`` / ``aci-test/python:3``).
"""

from __future__ import annotations

import json
import os
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from aci_widgets.emulator.runtime.docker_engine import docker_answers

LOCATION = "eastus"
IMAGES = {
    "process": SimpleNamespace(shell="alpine", python="python:3"),
    "docker": SimpleNamespace(shell="aci-test/busybox", python="aci-test/python:3"),
}


def skip_outside_ci(reason: str) -> None:
    """Skip on a user's machine that lacks what the test needs; in CI (which installs it) that is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


def require_docker() -> None:
    if docker_answers():
        return
    skip_outside_ci(f"no Docker API answers (DOCKER_HOST={os.environ.get('DOCKER_HOST') or 'unset'}); "
                    "see scripts/docker/")


@dataclass
class EngineEmulator:
    engine: str
    running: Any           # tests/conftest.py RunningEmulator
    ci: Any
    rm: Any
    images: SimpleNamespace

    def raw(self) -> httpx.Client:
        """Raw HTTPS to the emulator with a bearer token (for fields the SDK models drop, like hostPorts)."""
        auth = self.running.auth
        verify = ssl.create_default_context(cafile=str(self.running.ca_path))
        with httpx.Client(base_url=self.running.base_url, verify=verify, timeout=30) as fetcher:
            token = fetcher.post(f"/{auth['tenantId']}/oauth2/v2.0/token", data={
                "grant_type": "client_credentials", "client_id": auth["clientId"],
                "client_secret": auth["clientSecret"], "scope": self.running.base_url + "/.default"}).json()
        client = httpx.Client(base_url=self.running.base_url, verify=verify, timeout=30)
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        return client

    def group_json(self, rg: str, name: str) -> dict[str, Any]:
        with self.raw() as client:
            answer = client.get(f"/subscriptions/{self.running.auth['subscriptionId']}/resourceGroups/{rg}/providers/"
                                f"Microsoft.ContainerInstance/containerGroups/{name}",
                                params={"api-version": "2023-05-01"})
            answer.raise_for_status()
            return dict(answer.json())

    def host_port(self, rg: str, name: str, port: int = 80) -> int:
        ports = self.group_json(rg, name)["properties"]["ipAddress"]["hostPorts"]
        return int(next(p["hostPort"] for p in ports if p["port"] == port))

    def create(self, rg: str, name: str, body: dict[str, Any]) -> Any:
        return self.ci.container_groups.begin_create_or_update(rg, name, body).result()

    def container_view(self, rg: str, name: str, container: str | None = None) -> Any:
        group = self.ci.container_groups.get(rg, name)
        found = next(c for c in group.containers if container is None or c.name == container)
        return found.instance_view

    def logs(self, rg: str, name: str, container: str) -> str:
        return self.ci.containers.list_logs(rg, name, container).content or ""


def start_engine_emulator(engine: str, home: Path, emulator_tools: SimpleNamespace) -> Any:
    return emulator_tools.start_emulator(home, emulator_tools.free_port(), (f"--engine={engine}",))


@pytest.fixture(scope="module", params=["process", "docker"])
def engine_emulator(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                    emulator_tools: SimpleNamespace) -> Iterator[EngineEmulator]:
    engine = request.param
    if engine == "docker":
        require_docker()
    running = start_engine_emulator(engine, tmp_path_factory.mktemp(f"engine-{engine}"), emulator_tools)
    ci, rm = emulator_tools.sdk_clients(running.auth_file)
    try:
        yield EngineEmulator(engine, running, ci, rm, IMAGES[engine])
    finally:
        left = emulator_tools.stop_emulator(running)
        assert not left, f"container processes left after the emulator stopped: {sorted(left)}"
        if engine == "docker":
            assert not docker_containers_of(running.home.path), "the emulator's Docker containers outlived it"


@pytest.fixture
def rg(engine_emulator: EngineEmulator) -> Iterator[str]:
    name = f"rg-eng-{uuid.uuid4().hex[:6]}"
    engine_emulator.rm.resource_groups.create_or_update(name, {"location": LOCATION})
    yield name
    engine_emulator.rm.resource_groups.begin_delete(name).result()


def docker_containers_of(home: Path, *, running_only: bool = False) -> list[Any]:
    import docker

    from aci_widgets.emulator.runtime.engine import home_id

    client = docker.from_env(version="auto")
    try:
        return list(client.containers.list(all=not running_only,
                                            filters={"label": f"org.aci-emulator.home={home_id(home)}"}))
    finally:
        client.close()


def group_body(*containers: dict[str, Any], policy: str = "Always", ports: tuple[int, ...] = (),
               dns_label: str | None = None, volumes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"osType": "Linux", "restartPolicy": policy, "containers": list(containers)}
    if ports:
        props["ipAddress"] = {"type": "Public", "ports": [{"port": p, "protocol": "TCP"} for p in ports]}
        if dns_label:
            props["ipAddress"]["dnsNameLabel"] = dns_label
    if volumes:
        props["volumes"] = volumes
    return {"location": LOCATION, "properties": props}


def container(name: str, image: str, *, command: list[str] | None = None, ports: tuple[int, ...] = (),
              env: list[dict[str, str]] | None = None, cpu: float = 1.0, memory: float = 1.0,
              mounts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"image": image, "resources": {"requests": {"cpu": cpu, "memoryInGB": memory}}}
    if command:
        props["command"] = command
    if ports:
        props["ports"] = [{"port": p} for p in ports]
    if env:
        props["environmentVariables"] = env
    if mounts:
        props["volumeMounts"] = mounts
    return {"name": name, "properties": props}


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def read_some(session: Any) -> bytes:
    """One read of an exec session's output: empty when nothing came within half a second."""
    try:
        return bytes(session.read(0.5))
    except TimeoutError:
        return b""


def dumps(value: Any) -> str:
    return json.dumps(value, indent=1, default=str)[:3000]
