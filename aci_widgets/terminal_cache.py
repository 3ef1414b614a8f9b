"""The GET answers of groups that have ended, kept so that live lists and refreshes do not ask again.

A group whose instance view is terminal (``Succeeded``, ``Failed``, ``Stopped``) does not change until
something writes to it. The live list and the browser's refresh make one list call and then a GET per group;
with this cache they GET only the groups whose state can still change. An entry is used only while the
group's list JSON is exactly what it was when the entry was made (a create, update or tag change alters
it), and this session's own writes (start, stop, restart, delete, create) drop the entry at once. A start
made by another client that leaves the list JSON as it was is not seen until the entry is evicted: see
COVERAGE.md.
"""

from __future__ import annotations

import collections
import json
import threading
from collections.abc import Mapping
from typing import Any

from .results import TERMINAL_GROUP_STATES

MAX_ENTRIES = 20_000


def _fingerprint(list_json: Mapping[str, Any]) -> str:
    return json.dumps(list_json, sort_keys=True, separators=(",", ":"), default=str)


def group_state(get_json: Mapping[str, Any]) -> str:
    return str(((get_json.get("properties") or {}).get("instanceView") or {}).get("state") or "")


class TerminalCache:
    """``group id -> (list JSON fingerprint, GET JSON)`` for ended groups; thread-safe, LRU-bounded."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: collections.OrderedDict[str, tuple[str, dict]] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self.hits = 0

    def get(self, list_json: Mapping[str, Any]) -> dict | None:
        key = str(list_json.get("id", "")).lower()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] != _fingerprint(list_json):
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, list_json: Mapping[str, Any], get_json: dict) -> None:
        if group_state(get_json) not in TERMINAL_GROUP_STATES:
            return
        key = str(list_json.get("id", "")).lower()
        with self._lock:
            self._entries[key] = (_fingerprint(list_json), get_json)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, group_id: str) -> None:
        with self._lock:
            self._entries.pop(group_id.lower(), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
