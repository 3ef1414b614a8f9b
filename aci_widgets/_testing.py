"""Helpers for this project's tests (and anyone testing code against the emulator), like jupysql's _testing.

Kept in the package because pytest's importlib mode does not let test modules import one another.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Call ``predicate`` until it returns something truthy, and return that; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {predicate}")
        time.sleep(interval)
