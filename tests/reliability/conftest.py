"""Fixtures for the reliability and security tests (issue 8).

Tests that abuse a server (fuzzing, SIGKILL) get one of their own: ``own_emulator`` starts a detached
server with a fresh home on a free port through the launcher, exactly as ``aci-emulator start`` does, and
at the end stops it and fails if any container process is left. The others use the shared session
emulator from tests/conftest.py.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest


def arm_token(client: httpx.Client, auth: dict[str, str], base_url: str) -> str:
    """A bearer token from the emulator's own token endpoint, as ClientSecretCredential gets one."""
    answer = client.post(f"/{auth['tenantId']}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": auth["clientId"],
        "client_secret": auth["clientSecret"], "scope": base_url + "/.default"})
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def https_client(running: Any, *, token: bool = True, timeout: float = 30.0) -> httpx.Client:
    """Raw HTTPS to ``running`` trusting only its CA; with a bearer token unless ``token=False``."""
    def make() -> httpx.Client:
        return httpx.Client(base_url=running.base_url, timeout=timeout,
                            verify=ssl.create_default_context(cafile=str(running.ca_path)))

    client = make()
    if token:
        with make() as fetcher:  # a client used once cannot be entered with ``with`` any more
            client.headers["Authorization"] = f"Bearer {arm_token(fetcher, running.auth, running.base_url)}"
    return client


@pytest.fixture
def own_emulator(tmp_path_factory: pytest.TempPathFactory,
                 emulator_tools: SimpleNamespace) -> Iterator[Callable[..., Any]]:
    """``own_emulator(extra_args=(), home=None)`` starts a dedicated server; all are stopped afterwards.

    Asserts that stopping each server leaves no container process behind.
    """
    started: list[Any] = []

    def start(extra_args: tuple[str, ...] = (), home: Path | None = None) -> Any:
        home_path = home or tmp_path_factory.mktemp("own-emulator")
        running = emulator_tools.start_emulator(home_path, emulator_tools.free_port(), extra_args)
        started.append(running)
        return running

    yield start
    leftovers: dict[str, list[int]] = {}
    for running in started:
        left = emulator_tools.stop_emulator(running)
        if left:
            leftovers[str(running.home.path)] = sorted(left)
    assert not leftovers, f"container processes left after stopping dedicated emulators: {leftovers}"


@pytest.fixture(scope="session")
def rtools() -> SimpleNamespace:
    """The helpers of this conftest for the test modules (tests cannot import a conftest by name):
    ``https_client(running, token=True)``, ``arm_token(client, auth, base_url)``, ``assert_arm_envelope(r)``."""
    return SimpleNamespace(https_client=https_client, arm_token=arm_token, assert_arm_envelope=assert_arm_envelope)


def assert_arm_envelope(response: httpx.Response) -> dict[str, Any]:
    """An error answer must be ``{"error": {"code": str, "message": str}}`` with a JSON content type."""
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith("application/json"), (response.status_code, content_type, response.text[:300])
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], body
    assert isinstance(error.get("message"), str) and error["message"], body
    return error
