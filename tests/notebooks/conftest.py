"""Fixtures for the notebook tests: a dedicated emulator home and port that kernels find by environment.

The teaching notebooks start the emulator themselves (``%aci use local`` starts it on demand), exactly as a
user's first run does. They must not touch the session emulator of the other tests, so this module points
``ACI_EMULATOR_HOME`` / ``ACI_EMULATOR_PORT`` at a fresh folder and port; every kernel or Jupyter server
started while the fixture is active inherits them. At the end the emulator is stopped and no container
process may be left.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aci_widgets.emulator import launcher
from aci_widgets.emulator.config import HOME_ENV, PORT_ENV, EmulatorHome

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO / "notebooks"
ARTIFACTS_DIR = REPO / "test-artifacts"

# Variables that would send a notebook to Azure, or change its defaults: never inherited by a test kernel.
_CLEARED = ("AZURE_AUTH_LOCATION", "AZURE_SUBSCRIPTION_ID", "ACI_RESOURCE_GROUP", "ACI_LOCATION",
            "ACI_SHOW_TRACEBACKS", "REQUESTS_CA_BUNDLE")


@dataclass
class NotebookEmulator:
    """Where the notebooks' emulator lives; ``server_pid()`` is None until a notebook has started it."""

    home: EmulatorHome
    port: int
    tools: SimpleNamespace

    def server_pid(self) -> int | None:
        return launcher.status(self.home).pid

    def container_processes(self) -> set[int]:
        """Live processes using the home other than the server itself (kernels and Jupyter servers too,
        since they inherit the home in their environment: call this once those are gone)."""
        server = self.server_pid()
        return self.tools.processes_using(self.home.path, exclude={server} if server else set())

    def wait_for_no_containers(self, timeout: float = 10.0) -> set[int]:
        """The leftover processes after waiting up to ``timeout`` for them to go (deletes are asynchronous)."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.container_processes()
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.1)

    def resource_groups(self) -> list[str]:
        """Resource groups in this emulator (through the stock SDK client, built from its auth file)."""
        _ci, rm = self.tools.sdk_clients(self.home.auth_file_path)
        return [group.name for group in rm.resource_groups.list()]

    # helpers for the test modules (which cannot import this conftest by name)
    @staticmethod
    def describe_processes(pids: set[int]) -> str:
        return describe_processes(pids)

    @staticmethod
    def output_texts(cell: Any) -> list[str]:
        return output_texts(cell)

    def delete_resource_group(self, name: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        _ci, rm = self.tools.sdk_clients(self.home.auth_file_path)
        try:
            rm.resource_groups.begin_delete(name).result()
        except ResourceNotFoundError:
            pass


@pytest.fixture(scope="module")
def notebook_emulator(tmp_path_factory: pytest.TempPathFactory, emulator_tools: SimpleNamespace
                      ) -> Iterator[NotebookEmulator]:
    home = EmulatorHome(tmp_path_factory.mktemp("notebook-emulator-home"))
    port = emulator_tools.free_port()
    patch = pytest.MonkeyPatch()
    patch.setenv(HOME_ENV, str(home.path))
    patch.setenv(PORT_ENV, str(port))
    patch.setenv("ACI_WIDGETS_BACKEND", "local")
    # Headless kernels: matplotlib must not look for a display.
    patch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for name in _CLEARED:
        patch.delenv(name, raising=False)
    running = NotebookEmulator(home, port, emulator_tools)
    try:
        yield running
    finally:
        patch.undo()
        launcher.stop(home)
        left = emulator_tools.processes_using(home.path, exclude=set())
        deadline = time.monotonic() + 10
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = emulator_tools.processes_using(home.path, exclude=set())
        assert not left, f"processes left running after the notebooks' emulator stopped: {sorted(left)}"


def describe_processes(pids: set[int]) -> str:
    """``pid: command line`` for each pid, for failure messages."""
    lines = []
    for pid in sorted(pids):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            command = "(gone)"
        lines.append(f"{pid}: {command.strip()}")
    return "\n".join(lines)


def output_texts(cell: Any) -> list[str]:
    """Every text an executed code cell showed (streams, plain text, HTML, error fields)."""
    texts: list[str] = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            texts.append(output.get("text", ""))
        elif output.get("output_type") == "error":
            texts.append("\n".join([output.get("ename", ""), output.get("evalue", ""), *output.get("traceback", [])]))
        else:
            for mime in ("text/plain", "text/html"):
                value = output.get("data", {}).get(mime)
                if value:
                    texts.append(value if isinstance(value, str) else "".join(value))
    return texts
