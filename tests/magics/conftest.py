"""Fixtures for the ``%aci`` tests: one IPython shell with the extension loaded, a session per test.

The shell is a plain ``InteractiveShell`` (no kernel: the terminal-style code paths) with an in-memory
history. Each test gets a fresh resource group in the shared emulator and a default session connected
through the emulator's auth file, the way a user calls ``aci_widgets.connect(auth_file=...)``; the magics
pick that session up. ``run(cell)`` runs a cell and returns what a user would see.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import aci_widgets
from aci_widgets import session as sessions


@dataclass
class CellRun:
    """What running one cell showed: stdout, stderr, success, and the shell's result object."""

    success: bool
    out: str
    err: str
    result: Any

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture(scope="session")
def ip() -> Iterator[Any]:
    """An IPython shell with ``%load_ext aci_widgets`` done (history in memory, no kernel)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    shell.run_line_magic("load_ext", "aci_widgets")
    yield shell
    shell.run_line_magic("unload_ext", "aci_widgets")


@pytest.fixture
def magics(ip: Any) -> Iterator[Any]:
    """The registered ``AciMagics`` instance, with its options back to their defaults after the test."""
    from aci_widgets.magics import AciMagics

    found = [c for c in ip.configurables if isinstance(c, AciMagics)]
    assert len(found) == 1
    instance = found[0]
    saved = {name: getattr(instance, name) for name in ("resource_group", "location", "backend",
                                                         "poll_interval", "show_tracebacks")}
    yield instance
    sessions.set_default_session(None)  # do not let the restore below touch a test's session
    for name, value in saved.items():
        setattr(instance, name, value)
    # %config also records values in the shell's config, where a reload would read them again
    ip.config.pop("AciMagics", None)


@pytest.fixture
def rg(emulator: Any, magics: Any) -> Iterator[str]:
    """A fresh resource group, and a default session on the emulator using it (as connect() makes one)."""
    name = f"rg-magic-{uuid.uuid4().hex[:8]}"
    current = aci_widgets.connect(auth_file=emulator.auth_file, resource_group=name, quiet=True)
    current.ensure_resource_group(name)
    yield name
    current = sessions.default_session() if sessions._default_session is not None else current
    try:
        current.delete_resource_group(name)
    except aci_widgets.NotFound:
        pass  # the test deleted it
    sessions.set_default_session(None)


@pytest.fixture
def run(ip: Any, capsys: pytest.CaptureFixture[str]) -> Callable[[str], CellRun]:
    """Run a cell in the shell; return its output as a user would see it."""
    def run_cell(cell: str) -> CellRun:
        capsys.readouterr()
        result = ip.run_cell(cell, store_history=True)
        captured = capsys.readouterr()
        return CellRun(result.success, captured.out, captured.err, result.result)

    return run_cell


@pytest.fixture
def requests(emulator: Any, rg: str) -> Any:
    """The emulator's ARM request log, cleared: ``requests.requests()`` lists what was sent since."""
    emulator.control.clear_requests()
    return emulator.control
