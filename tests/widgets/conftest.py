"""Fixtures for the widget tests: a session on the shared emulator, in a fresh resource group."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import aci_widgets
from aci_widgets import session as sessions


@pytest.fixture
def session(emulator: Any, resource_group: str) -> Iterator[Any]:
    """The default session, as a notebook user has it after ``aci_widgets.connect(auth_file=...)``."""
    s = aci_widgets.connect(auth_file=emulator.auth_file, resource_group=resource_group, quiet=True)
    s.notify = lambda message: None
    yield s
    sessions.set_default_session(None)


@pytest.fixture
def arm_requests(emulator: Any) -> Callable[[], list[tuple[str, str]]]:
    """``arm_requests()``: (method, path) of the ARM requests the emulator got since ``clear_requests()``."""
    return lambda: [(r["method"], r["path"]) for r in emulator.control.requests()]
