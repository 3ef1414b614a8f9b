"""A sweep's local journal: the plan and what happened to each row, so a sweep survives a kernel restart.

One JSON object per line, appended and flushed as things happen (a killed process loses nothing it wrote):

- ``plan``: sweep name, resource group, the rows' task names, parameters and ARM bodies (secure values left
  out: only their names are kept, and a resume asks for them again), ``keep`` and ``max_active``;
- ``launch`` (before the create is sent), ``created``, ``refused`` (a quota said not yet; the row is queued
  again), ``failed`` (the create was refused for good), ``done`` (final state, exit code, the GET answer,
  the log and the parsed output, written before the group is deleted), ``deleted``.

The groups' tags say which sweep and row each group belongs to; the journal adds what the tags cannot hold:
the rows not launched yet, and the results of rows whose groups are gone. The folder is
``$ACI_WIDGETS_SWEEP_DIR``, else ``sweeps`` in the user's data folder; files are 0600.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SWEEP_DIR_ENV = "ACI_WIDGETS_SWEEP_DIR"
MAX_LOG_CHARS = 64 * 1024


def sweep_dir() -> Path:
    env = os.environ.get(SWEEP_DIR_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("aci-widgets", appauthor=False)) / "sweeps"


def journal_path(subscription: str, resource_group: str, name: str) -> Path:
    key = f"{subscription.lower()}/{resource_group.lower()}/{name.lower()}"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
    readable = re.sub(r"[^a-z0-9-]+", "_", f"{resource_group.lower()}-{name.lower()}")[:80]
    return sweep_dir() / f"{readable}-{digest}.jsonl"


def strip_secure_values(body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A copy of an ARM body without secure environment values, and the names of those left out."""
    body = json.loads(json.dumps(body))
    names: list[str] = []
    for container in (body.get("properties") or {}).get("containers") or []:
        for variable in (container.get("properties") or {}).get("environmentVariables") or []:
            if "secureValue" in variable:
                variable.pop("secureValue")
                names.append(str(variable.get("name")))
    return body, sorted(set(names))


def restore_secure_values(body: dict[str, Any], secure_env: dict[str, str]) -> dict[str, Any]:
    body = json.loads(json.dumps(body))
    for container in (body.get("properties") or {}).get("containers") or []:
        for variable in (container.get("properties") or {}).get("environmentVariables") or []:
            name = str(variable.get("name"))
            if "value" not in variable and name in secure_env:
                variable["secureValue"] = secure_env[name]
    return body


class Journal:
    """Append-only, thread-safe; ``events()`` reads it back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def for_sweep(cls, subscription: str, resource_group: str, name: str) -> Journal:
        return cls(journal_path(subscription, resource_group, name))

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def start(self, plan: dict[str, Any]) -> None:
        """Begin a new journal with the plan (an earlier finished one is kept as ``.1``)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if self.path.exists():
                os.replace(self.path, self.path.with_name(self.path.name + ".1"))
        self.write("plan", **plan)

    def write(self, event: str, **fields: Any) -> None:
        line = json.dumps({"e": event, "t": time.time(), **fields}, default=str, separators=(",", ":"))
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")

    def events(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    yield json.loads(line)
                except ValueError:  # a line cut short by a kill: everything before it stands
                    continue

    def plan(self) -> dict[str, Any] | None:
        return next((event for event in self.events() if event.get("e") == "plan"), None)


def replay(journal: Journal, tasks: list[Any], listing: dict[str, dict], pacer: Any) -> None:
    """Bring ``tasks`` (the plan's rows) up to date from the journal and the groups that exist now.

    ``listing`` maps lower-cased group names to their list JSON. A row the journal saw launched whose group
    does not exist was never created (the process died before the create reached the service) and goes back
    to the queue, unless the journal saw it created: then someone deleted it before its result was collected.
    The pacer gets the journal's create and delete times, so a resumed sweep keeps within ACI's rates.
    """
    launched_at: dict[int, float] = {}
    for event in journal.events():
        kind, index = event.get("e"), event.get("i")
        if not isinstance(index, int) or not 0 <= index < len(tasks):
            continue
        task = tasks[index]
        if kind == "launch":
            task.launched = True
            launched_at[index] = float(event.get("t") or 0)
        elif kind == "created":
            task.created = True
            launched_at.pop(index, None)
            pacer.record("creates", float(event.get("t") or 0))
        elif kind == "refused":
            task.launched = False
            launched_at.pop(index, None)
        elif kind == "failed":
            task.error = str(event.get("error") or "failed")
        elif kind == "done":
            task.json = event.get("json") or task.json
            task.log = str(event.get("log") or "")
            task.output = event.get("output")
            task.collected = True
        elif kind == "deleted":
            task.deleted = True
            pacer.record("deletes", float(event.get("t") or 0))
    for when in launched_at.values():  # sent, answer never seen: count it against the create rate anyway
        pacer.record("creates", when)
    for task in tasks:
        listed = listing.get(task.name.lower())
        if listed is not None:
            task.launched = task.created = True
            task.deleted = False
            if not task.collected:
                task.json = listed
                task.error = ""
        elif task.launched and not task.collected and not task.error:
            if task.created:
                task.error = "its group was deleted before its result was collected"
                task.deleted = True
            else:
                task.launched = False
