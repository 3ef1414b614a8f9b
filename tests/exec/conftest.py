"""Fixtures for the exec and metrics tests: a session on the shared emulator (as tests/api has)."""

from __future__ import annotations

import uuid

import pytest

import aci_widgets


@pytest.fixture
def session(emulator):
    """A fresh resource group per test, deleted afterwards (with its container groups and processes)."""
    rg = f"rg-exec-{uuid.uuid4().hex[:8]}"
    s = aci_widgets.connect(auth_file=emulator.auth_file, resource_group=rg, location="eastus", quiet=True)
    s.notify = lambda message: None
    s.ensure_resource_group(rg)
    yield s
    s.delete_resource_group(rg)
