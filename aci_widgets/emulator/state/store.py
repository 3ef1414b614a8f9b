"""The emulator's durable state in SQLite: resource groups, container groups, operations, container runs.

Write-through: the backend writes every change before it answers, so whatever a client was told survives
a ``kill -9`` of the emulator at any moment. WAL mode with ``synchronous=NORMAL`` keeps commits cheap and
durable across a process crash (only a power loss can drop the last commits). Documents are JSON; the
backend keeps them in memory too and reads SQLite only at start-up.

One connection, guarded by a lock: the backend already serializes its changes, and SQLite connections
must not be shared between threads without one.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import errors

SCHEMA = """
CREATE TABLE IF NOT EXISTS resource_groups (
    sub_key TEXT NOT NULL,
    rg_key TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (sub_key, rg_key)
);
CREATE TABLE IF NOT EXISTS container_groups (
    sub_key TEXT NOT NULL,
    rg_key TEXT NOT NULL,
    name_key TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (sub_key, rg_key, name_key)
);
CREATE TABLE IF NOT EXISTS operations (
    op_id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS write_probe (
    id INTEGER PRIMARY KEY,
    filler BLOB
);
CREATE TABLE IF NOT EXISTS container_runs (
    run_uid TEXT PRIMARY KEY,
    group_key TEXT NOT NULL,
    container TEXT NOT NULL,
    pid INTEGER,
    start_ticks INTEGER,
    live INTEGER NOT NULL DEFAULT 1
);
"""

GroupKey = tuple[str, str, str]  # (subscription, resource group, name), all lowercased


@dataclass(frozen=True)
class RunRow:
    """A container process as recorded: enough for a later emulator to find (and kill) it."""

    run_uid: str
    group_key: str
    container: str
    pid: int | None
    start_ticks: int | None
    live: bool


def group_key_text(key: GroupKey) -> str:
    return "/".join(key)


class StoreCorrupted(Exception):
    """The state file cannot be read: one line naming it and the way out (``aci-emulator reset`` or the backup)."""

    def __init__(self, path: Path, reason: str):
        backup = backup_path(path)
        restore = (f", or restore the last good state: cp {backup} {path}" if backup.exists() else "")
        super().__init__(f"the emulator's state file {path} is corrupted ({reason}); start afresh with "
                         f"'aci-emulator reset' (every group is forgotten){restore}")
        self.path = path


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def _is_disk_full(error: BaseException) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "full" in str(error).lower() or getattr(error, "errno", None) == 28


class Store:
    """SQLite persistence for the backend. Every method commits before it returns."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # created private: it holds secure values
        os.close(fd)
        try:
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(SCHEMA)
            problem = self._conn.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as error:
            raise StoreCorrupted(path, str(error)) from None
        if problem != "ok":
            raise StoreCorrupted(path, str(problem))
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                os.chmod(side, 0o600)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Several writes committed together (or not at all). A full disk is ``errors.disk_full``."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    with suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except (sqlite3.OperationalError, OSError) as error:
                if not _is_disk_full(error):
                    raise
                with suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                raise errors.disk_full(str(self.path.parent)) from None

    def check_writable(self) -> None:
        """Write (and keep) one page, so that a change can fail on a full disk before it touches memory."""
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO write_probe VALUES (1, zeroblob(4096))")

    def save_backup(self) -> None:
        """Copy the state to ``state.sqlite.bak`` (the last state that loaded): the way back after corruption."""
        target = backup_path(self.path)
        tmp = target.with_name(target.name + ".part")
        with suppress(OSError):
            tmp.unlink()
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        try:
            with self._lock, closing(sqlite3.connect(tmp)) as copy:
                self._conn.backup(copy)
            os.replace(tmp, target)
        except (sqlite3.Error, OSError):
            with suppress(OSError):
                tmp.unlink()  # a backup is a courtesy: a full disk must not stop the emulator

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass

    # -- resource groups ---------------------------------------------------------------------------
    def put_resource_group(self, sub_key: str, rg_key: str, doc: dict[str, Any]) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO resource_groups VALUES (?, ?, ?)",
                         (sub_key, rg_key, json.dumps(doc)))

    def delete_resource_group(self, sub_key: str, rg_key: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM resource_groups WHERE sub_key = ? AND rg_key = ?", (sub_key, rg_key))

    def resource_groups(self) -> list[tuple[str, str, dict[str, Any]]]:
        with self._lock:
            rows = self._conn.execute("SELECT sub_key, rg_key, doc FROM resource_groups").fetchall()
        return [(sub, rg, json.loads(doc)) for sub, rg, doc in rows]

    # -- container groups --------------------------------------------------------------------------
    def put_group(self, key: GroupKey, doc: dict[str, Any]) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO container_groups VALUES (?, ?, ?, ?)", (*key, json.dumps(doc)))

    def delete_group(self, key: GroupKey, *, keep_runs: bool = False) -> None:
        """Delete the group's row; its run rows too unless ``keep_runs`` (the caller ends them once killed)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM container_groups WHERE sub_key = ? AND rg_key = ? AND name_key = ?", key)
            if not keep_runs:
                conn.execute("DELETE FROM container_runs WHERE group_key = ?", (group_key_text(key),))

    def groups(self) -> list[tuple[GroupKey, dict[str, Any]]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT sub_key, rg_key, name_key, doc FROM container_groups ORDER BY rowid").fetchall()
        return [((sub, rg, name), json.loads(doc)) for sub, rg, name, doc in rows]

    # -- operations --------------------------------------------------------------------------------
    def put_operation(self, op_id: str, doc: dict[str, Any]) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO operations VALUES (?, ?)", (op_id, json.dumps(doc)))

    def operations(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute("SELECT op_id, doc FROM operations").fetchall()
        return {op_id: json.loads(doc) for op_id, doc in rows}

    # -- container runs ----------------------------------------------------------------------------
    def add_run(self, run_uid: str, key: GroupKey, container: str) -> None:
        """Record a run *before* its process starts, so that a crash right after the fork leaves a trace."""
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO container_runs VALUES (?, ?, ?, NULL, NULL, 1)",
                         (run_uid, group_key_text(key), container))

    def set_run_process(self, run_uid: str, pid: int, start_ticks: int | None) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE container_runs SET pid = ?, start_ticks = ? WHERE run_uid = ?",
                         (pid, start_ticks, run_uid))

    def end_runs(self, run_uids: list[str]) -> None:
        if not run_uids:
            return
        with self.transaction() as conn:
            conn.executemany("DELETE FROM container_runs WHERE run_uid = ?", [(uid,) for uid in run_uids])

    def live_runs(self) -> list[RunRow]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT run_uid, group_key, container, pid, start_ticks, live FROM container_runs WHERE live = 1"
            ).fetchall()
        return [RunRow(uid, group, container, pid, ticks, bool(live)) for uid, group, container, pid, ticks, live
                in rows]

    # -- everything --------------------------------------------------------------------------------
    def wipe(self) -> None:
        with self.transaction() as conn:
            for table in ("resource_groups", "container_groups", "operations", "container_runs"):
                conn.execute(f"DELETE FROM {table}")
