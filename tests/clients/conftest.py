"""Clients nobody here wrote, against a fresh emulator of their own (issue 13).

``ACI_TEST_AZ`` names the ``az`` that ``scripts/azure-cli.sh`` installed into its own cached environment
(``scripts/test.sh`` sets it). Without it the Azure CLI tests skip, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

AZ_ENV = "ACI_TEST_AZ"
# The quickstart and the seed sample give aci-wordcount a shakespeare.mit.edu URL: tests stay on 127.0.0.1,
# so the emulators they start (which inherit this environment) count the bundled text without trying.
os.environ.setdefault("ACI_EMULATOR_OFFLINE", "1")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def az_path() -> str:
    path = os.environ.get(AZ_ENV, "")
    if path and os.access(path, os.X_OK):
        return path
    reason = (f"the Azure CLI is needed: set {AZ_ENV} to the az that scripts/azure-cli.sh prints "
              f"(scripts/test.sh does); got {path!r}")
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def fresh_emulator(tmp_path_factory: pytest.TempPathFactory, emulator_tools: SimpleNamespace) -> Iterator[Any]:
    """A new emulator with its own home and port (nothing another test left), stopped afterwards."""
    home = tmp_path_factory.mktemp("fresh-emulator-home")
    running = emulator_tools.start_emulator(home, emulator_tools.free_port())
    try:
        yield running
    finally:
        left = emulator_tools.stop_emulator(running)
        assert not left, f"container processes left running: {sorted(left)}"
