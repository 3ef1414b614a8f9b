"""Resource-group deletes that run in the background, as ARM's do (202 + ``Location`` to poll).

Deleting a resource group of 1,000 container groups took 9.4 s under the backend's one lock, and every other
client stalled meanwhile. Here the resource group is marked ``Deleting`` at once (new container groups in it are
refused), then a worker removes its groups a few at a time, taking the lock for each batch only, and forgets the
resource group at the end. The poll URL answers 202 until then, 200 after.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

BATCH = 8  # groups removed per hold of the lock: long enough to amortise, short enough not to stall others
# Pause between holds. Python's locks are not fair: a thread that releases and at once re-acquires usually wins
# again, so without a pause the request threads waiting on the lock could sit out several batches in a row.
PAUSE_BETWEEN_BATCHES = 0.01


@dataclass
class Deletion:
    sub: str
    rg: str
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None


class ResourceGroupDeletions:
    """The deletions under way (and finished ones, until polled or the emulator restarts)."""

    def __init__(self, lock: threading.RLock, remove_batch: Callable[[str, str, int], bool],
                 finish: Callable[[str, str], None]):
        self._lock = lock
        self._remove_batch = remove_batch  # (sub, rg, n) -> True when no group is left
        self._finish = finish  # (sub, rg): forget the resource group
        self._deletions: dict[str, Deletion] = {}
        self._deleting: dict[tuple[str, str], str] = {}

    def begin(self, sub: str, rg: str) -> str:
        """Start deleting (idempotent while one runs); returns the operation id to poll."""
        key = (sub.lower(), rg.lower())
        running = self._deleting.get(key)
        if running is not None:
            return running
        operation_id = uuid.uuid4().hex
        deletion = Deletion(sub, rg)
        self._deletions[operation_id] = deletion
        self._deleting[key] = operation_id
        threading.Thread(target=self._run, args=(operation_id, deletion), daemon=True,
                         name=f"aci-delete-rg-{rg}").start()
        return operation_id

    def is_deleting(self, sub: str, rg: str) -> bool:
        return (sub.lower(), rg.lower()) in self._deleting

    def status(self, operation_id: str) -> Deletion | None:
        return self._deletions.get(operation_id)

    def outcome(self, operation_id: str) -> tuple[bool, str | None] | None:
        """``(done, error)`` of a deletion, None for an id we never gave out."""
        deletion = self._deletions.get(operation_id)
        return None if deletion is None else (deletion.done.is_set(), deletion.error)

    def wait_all(self, timeout: float) -> None:
        for deletion in list(self._deletions.values()):
            deletion.done.wait(timeout)

    def _run(self, operation_id: str, deletion: Deletion) -> None:
        try:
            while True:
                with self._lock:
                    if self._remove_batch(deletion.sub, deletion.rg, BATCH):
                        self._finish(deletion.sub, deletion.rg)
                        break
                time.sleep(PAUSE_BETWEEN_BATCHES)
        except Exception as error:  # noqa: BLE001 - reported through the poll, never lost in a thread
            deletion.error = f"{type(error).__name__}: {error}"
        finally:
            with self._lock:
                self._deleting.pop((deletion.sub.lower(), deletion.rg.lower()), None)
            deletion.done.set()
