"""Store: SQLite documents that survive reopening, written private, in WAL mode."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from aci_widgets.emulator.state.store import Store

KEY = ("sub", "rg", "g1")


def test_documents_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    store = Store(path)
    store.put_resource_group("sub", "rg", {"name": "RG", "location": "eastus"})
    store.put_group(KEY, {"name": "g1", "spec": {"x": 1}})
    store.put_group(("sub", "rg", "g0"), {"name": "g0"})
    store.put_operation("op-1", {"status": "InProgress"})
    store.put_operation("op-1", {"status": "Succeeded"})
    store.close()

    reopened = Store(path)
    assert reopened.resource_groups() == [("sub", "rg", {"name": "RG", "location": "eastus"})]
    assert [key for key, _ in reopened.groups()] == [KEY, ("sub", "rg", "g0")]  # creation order
    assert reopened.groups()[0][1] == {"name": "g1", "spec": {"x": 1}}
    assert reopened.operations() == {"op-1": {"status": "Succeeded"}}
    reopened.close()


def test_runs_are_recorded_before_and_after_the_fork(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    store.add_run("r1", KEY, "c")
    assert [(row.run_uid, row.pid, row.live) for row in store.live_runs()] == [("r1", None, True)]
    store.set_run_process("r1", 1234, 5678)
    row = store.live_runs()[0]
    assert (row.pid, row.start_ticks, row.group_key, row.container) == (1234, 5678, "sub/rg/g1", "c")
    store.add_run("r2", KEY, "d")
    store.end_runs(["r1"])
    assert [row.run_uid for row in store.live_runs()] == ["r2"]
    store.delete_group(KEY)  # deleting a group forgets its runs
    assert store.live_runs() == []


def test_delete_and_wipe(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    store.put_resource_group("sub", "rg", {})
    store.put_group(KEY, {})
    store.delete_resource_group("sub", "rg")
    assert store.resource_groups() == []
    store.wipe()
    assert store.groups() == [] and store.operations() == {}


def test_a_failed_transaction_writes_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    with pytest.raises(RuntimeError), store.transaction() as conn:
        conn.execute("INSERT INTO operations VALUES ('op', '{}')")
        raise RuntimeError("boom")
    assert store.operations() == {}


def test_the_database_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    Store(path).put_operation("op", {})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
