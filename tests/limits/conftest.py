"""Fixtures for the tests of Azure's limits (issue 15): an emulator of their own, started with ``--limits=azure``.

Every other test server runs ``--limits=off`` (tests/conftest.py); here the limits are Azure's, and each test
starts from a clean state: ``limits_emulator.control.reset()`` wipes every group and puts the limits back to
the server's start values with empty windows, buckets and counters. Tests change numbers and the time scale
through the control plane (``control.set_limits``), exactly as a user would.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

API = "api-version=2023-05-01"


@pytest.fixture(scope="module")
def limits_emulator(tmp_path_factory: pytest.TempPathFactory, emulator_tools: SimpleNamespace) -> Iterator[Any]:
    # The sweep tests count each row's runs in a marks file on the host: the process engine's sandbox (a
    # read-only host) would refuse that write, and the sandbox is not what these tests are about.
    before = os.environ.get("ACI_EMULATOR_NO_BWRAP")
    os.environ["ACI_EMULATOR_NO_BWRAP"] = "1"
    try:
        running = emulator_tools.start_emulator(tmp_path_factory.mktemp("limits-emulator"),
                                                emulator_tools.free_port(), ("--limits=azure",))
    finally:
        if before is None:
            os.environ.pop("ACI_EMULATOR_NO_BWRAP", None)
        else:
            os.environ["ACI_EMULATOR_NO_BWRAP"] = before
    try:
        yield running
    finally:
        left = emulator_tools.stop_emulator(running)
        assert not left, f"container processes left after the limits emulator stopped: {sorted(left)}"


@pytest.fixture
def limits(limits_emulator: Any) -> Any:
    """The control plane of a clean limits emulator (Azure's defaults, time scale 1, no groups)."""
    limits_emulator.control.reset()
    return limits_emulator.control


def _token(running: Any) -> str:
    auth = running.auth
    with httpx.Client(base_url=running.base_url, verify=ssl.create_default_context(cafile=str(running.ca_path))) \
            as client:
        answer = client.post(f"/{auth['tenantId']}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": auth["clientId"],
            "client_secret": auth["clientSecret"], "scope": running.base_url + "/.default"})
        answer.raise_for_status()
        return str(answer.json()["access_token"])


class Raw:
    """Raw HTTPS to the limits emulator with a bearer token: every status and header as the wire has it."""

    def __init__(self, running: Any) -> None:
        self.running = running
        self.sub = running.auth["subscriptionId"]
        self.client = httpx.Client(base_url=running.base_url, timeout=60,
                                   verify=ssl.create_default_context(cafile=str(running.ca_path)),
                                   headers={"Authorization": f"Bearer {_token(running)}"})

    def rg(self, name: str, location: str = "eastus") -> str:
        answer = self.client.put(f"/subscriptions/{self.sub}/resourcegroups/{name}?api-version=2022-09-01",
                                 json={"location": location})
        assert answer.status_code in (200, 201), answer.text
        return name

    def group_path(self, rg: str, name: str) -> str:
        return (f"/subscriptions/{self.sub}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/"
                f"containerGroups/{name}?{API}")

    def put_group(self, rg: str, name: str, *, cpu: float = 1.0, location: str = "eastus",
                  **properties: Any) -> httpx.Response:
        body = {"location": location, "properties": {
            "osType": "Linux", "restartPolicy": "Never", **properties,
            "containers": [{"name": "main", "properties": {
                "image": "alpine", "command": ["true"],
                "resources": {"requests": {"cpu": cpu, "memoryInGB": 1.0}}}}]}}
        return self.client.put(self.group_path(rg, name), json=body)

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def delete_group(self, rg: str, name: str) -> httpx.Response:
        return self.client.delete(self.group_path(rg, name))

    def usage(self, location: str = "eastus") -> dict[str, Any]:
        answer = self.client.get(f"/subscriptions/{self.sub}/providers/Microsoft.ContainerInstance/locations/"
                                 f"{location}/usages?{API}")
        assert answer.status_code == 200, answer.text
        return {u["name"]["value"]: u for u in answer.json()["value"]}


@pytest.fixture
def raw(limits_emulator: Any, limits: Any) -> Iterator[Raw]:
    client = Raw(limits_emulator)
    try:
        yield client
    finally:
        client.client.close()
