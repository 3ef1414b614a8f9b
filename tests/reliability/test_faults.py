"""Injected 429/503 are retried and announced; failed operations carry ACI's code (issue 8, item 4).

Through the Python API as a user calls it (``aci_widgets.connect(auth_file=...)``), against the shared
emulator with faults injected on its control plane.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import aci_widgets
from aci_widgets.emulator.runtime.images import register_image, unregister_image
from aci_widgets.errors import OperationFailed
from aci_widgets.session import Tuning
from aci_widgets.spec import GroupSpec


@pytest.fixture
def api(emulator: Any, emulator_knobs: Any) -> Iterator[tuple[Any, list[str]]]:
    """A session whose notices are collected, on a fresh resource group."""
    rg = f"rg-faults-{uuid.uuid4().hex[:8]}"
    session = aci_widgets.connect(auth_file=emulator.auth_file, resource_group=rg, quiet=True)
    notes: list[str] = []
    session.notify = notes.append
    session.ensure_resource_group(rg)
    yield session, notes
    emulator_knobs.clear_faults()
    session.delete_resource_group(rg)


FAULTS = [pytest.param(429, None, 2, id="429"), pytest.param(429, 0, 2, id="429-retry-after-0"),
          pytest.param(429, 1, 1, id="429-retry-after-1"), pytest.param(503, None, 2, id="503")]


@pytest.mark.parametrize(("status", "retry_after", "count"), FAULTS)
def test_every_operation_gets_through_injected_faults(api: tuple[Any, list[str]], emulator_knobs: Any,
                                                      status: int, retry_after: float | None, count: int) -> None:
    session, notes = api
    name = f"faulty-{uuid.uuid4().hex[:6]}"
    spec = GroupSpec.single(name, "alpine", command=["echo", "through the storm"], restart_policy="Never")

    def under_faults(operation: Any) -> Any:
        notes.clear()
        emulator_knobs.inject_faults(status, count, retry_after=retry_after)
        started = time.monotonic()
        result = operation()
        elapsed = time.monotonic() - started
        assert any("retrying" in note for note in notes), notes
        assert any(f"answered {status}" in note for note in notes), notes
        assert emulator_knobs.settings()["faults"] == []  # every injected fault was consumed by a retry
        if retry_after:
            assert elapsed >= retry_after * count * 0.9  # Retry-After was honoured
        return result

    details = under_faults(lambda: session.create_group(spec))
    assert details.provisioning_state == "Succeeded"
    frame = under_faults(lambda: session.list_groups())
    assert name in list(frame["name"])
    assert under_faults(lambda: session.get_group(name)).name == name
    deadline = time.monotonic() + 10
    while "through the storm" not in session.logs(name) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "through the storm" in under_faults(lambda: session.logs(name))
    assert under_faults(lambda: session.delete_groups(name)) == [name]


def test_too_many_faults_end_in_one_line_naming_the_status(api: tuple[Any, list[str]], emulator_knobs: Any) -> None:
    session, notes = api
    emulator_knobs.inject_faults(503, 20)
    with pytest.raises(aci_widgets.AciError) as caught:
        session.list_groups()
    message = str(caught.value)
    assert "\n" not in message and ("503" in message or "ServiceUnavailable" in message or "unavailable" in message)
    assert sum("retrying" in note for note in notes) == session.tuning.retry_total


def test_an_inaccessible_image_is_acis_code_and_message(api: tuple[Any, list[str]]) -> None:
    session, _ = api
    spec = GroupSpec.single(f"noimage-{uuid.uuid4().hex[:6]}", "contoso.azurecr.io/nope:1")
    with pytest.raises(OperationFailed) as caught:
        session.create_group(spec)
    assert caught.value.code == "InaccessibleImage"
    assert "contoso.azurecr.io/nope:1" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_provisioning_failure_surfaces_the_operation_error(api: tuple[Any, list[str]], emulator: Any,
                                                             emulator_knobs: Any) -> None:
    """The image is accepted at PUT time, then leaves the catalogue before the delayed deployment pulls it:
    the long-running operation ends Failed and the error names ACI's code."""
    session, _ = api
    image = f"vanishing-{uuid.uuid4().hex[:6]}"
    register_image(emulator.home, image, ["sleep", "30"])
    emulator_knobs.set_provisioning_delay(1.0)
    try:
        handle = session.create_group(GroupSpec.single(f"vanish-{uuid.uuid4().hex[:6]}", image), wait=False)
        unregister_image(emulator.home, image)
        with pytest.raises(OperationFailed) as caught:
            handle.wait()
    finally:
        unregister_image(emulator.home, image)
    assert caught.value.code == "InaccessibleImage", caught.value
    assert image in str(caught.value) and "\n" not in str(caught.value)
    assert session.get_group(handle.name).provisioning_state == "Failed"


def test_documented_tuning_defaults_are_sane() -> None:
    """The defaults SECURITY.md / the README promise: bounded retries with back-off, sensible polls."""
    azure = Tuning()
    assert (azure.poll_interval, azure.retry_total, azure.retry_backoff_factor) == (5.0, 4, 0.8)
    local = Tuning.for_endpoint("https://127.0.0.1:47211")
    assert (local.poll_interval, local.retry_total, local.retry_backoff_factor) == (0.05, 3, 0.05)
    assert Tuning.for_endpoint("https://management.azure.com") == azure
    for tuning in (azure, local):
        assert 0 < tuning.poll_interval <= 30
        assert 1 <= tuning.retry_total <= 10
        # azure-core sleeps backoff * 2**(n-1) (capped at 120 s): the worst case stays under a minute.
        assert sum(tuning.retry_backoff_factor * 2 ** n for n in range(tuning.retry_total)) < 60
        assert 1 <= tuning.max_parallel_gets <= 32
