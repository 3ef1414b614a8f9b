"""Container group records: the collection, who owns each run, write-through saves, and the list answers.

Not thread-safe on its own: ``Backend`` and ``Deployments`` call it under the backend's lock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from .. import errors
from .instance_view import GroupKey, GroupRecord, is_transitioning, render_group
from .store import Store


class ContainerGroups:
    def __init__(self, store: Store):
        self._store = store
        self._groups: dict[GroupKey, GroupRecord] = {}
        self._run_owner: dict[str, tuple[GroupKey, str]] = {}  # run uid -> (group key, container name)
        # Bumped by every change that can alter a list answer; the sorted list documents of a (sub, rg) are
        # kept until it moves, so that paging through 10,000 groups does not rebuild the list 100 times.
        self._list_generation = 0
        self._sorted_documents: dict[tuple[str, str | None], tuple[int, list[tuple[str, str]]]] = {}

    def load(self) -> None:
        for key, doc in self._store.groups():
            group = GroupRecord.from_doc(doc)
            self._groups[key] = group
            for record in group.records():
                if record.run_uid:
                    self._run_owner[record.run_uid] = (key, record.name)

    def clear(self) -> None:
        self._groups.clear()
        self._list_generation += 1
        self._run_owner.clear()

    # -- the collection ---------------------------------------------------------------------------------
    def get(self, key: GroupKey) -> GroupRecord | None:
        return self._groups.get(key)

    def find(self, sub: str, rg: str, name: str) -> GroupRecord | None:
        return self._groups.get((sub.lower(), rg.lower(), name.lower()))

    def require(self, sub: str, rg: str, name: str) -> GroupRecord:
        """The group, or ARM's ResourceNotFound (the caller has checked its resource group)."""
        group = self.find(sub, rg, name)
        if group is None:
            raise errors.container_group_not_found(name, rg)
        return group

    def __iter__(self) -> Iterator[GroupRecord]:
        return iter(list(self._groups.values()))

    def in_resource_group(self, sub: str, rg: str) -> list[GroupRecord]:
        key = (sub.lower(), rg.lower())
        return [group for group in self._groups.values() if group.key[:2] == key]

    def add(self, group: GroupRecord) -> None:
        self._groups[group.key] = group
        self._list_generation += 1

    def remove(self, group: GroupRecord, *, from_store: bool = True, keep_runs: bool = False) -> None:
        """Forget the group and its runs, in memory and (unless told otherwise) in the store first."""
        if from_store:
            self._store.delete_group(group.key, keep_runs=keep_runs)
        for record in group.records():
            if record.run_uid:
                self._run_owner.pop(record.run_uid, None)
        self._groups.pop(group.key, None)
        self._list_generation += 1

    def save(self, group: GroupRecord) -> None:
        """Write the group through to the store (unless it was removed) and drop its cached list form."""
        group.list_cache = None
        self._list_generation += 1
        if group.key in self._groups:
            self._store.put_group(group.key, group.to_doc())

    # -- runs -------------------------------------------------------------------------------------------
    def set_run_owner(self, run_uid: str, key: GroupKey, container: str) -> None:
        self._run_owner[run_uid] = (key, container)

    def drop_run_owner(self, run_uid: str) -> None:
        self._run_owner.pop(run_uid, None)

    def run_owner(self, run_uid: str) -> tuple[GroupKey, str] | None:
        return self._run_owner.get(run_uid)

    # -- questions the validation and the ports ask ------------------------------------------------------
    def dns_label_taken(self, key: GroupKey, location: str, label: str) -> bool:
        for other in self._groups.values():
            ip = other.properties.get("ipAddress") or {}
            if (other.key != key and other.location == location
                    and str(ip.get("dnsNameLabel", "")).lower() == label.lower()):
                return True
        return False

    def host_ports_taken(self, besides: GroupRecord) -> set[int]:
        """The loopback ports the other groups hold."""
        return {port for other in self._groups.values() if other is not besides
                for port in other.host_ports.values()}

    # -- the list answer --------------------------------------------------------------------------------
    def list_documents(self, sub: str, rg: str | None) -> list[tuple[str, str]]:
        """``(lower-cased id, JSON text of the list form)`` of each group, sorted by id, for the HTTP layer to
        page. Callers must not change the list: it is shared until the next change.

        Each text is rendered once and kept until its group changes, and the sorted list until any group
        changes: a 10,000-group list is paged 100 times, and rebuilding it per page made listing quadratic.
        """
        sub_key, rg_key = sub.lower(), rg.lower() if rg is not None else None
        cached_list = self._sorted_documents.get((sub_key, rg_key))
        if cached_list is not None and cached_list[0] == self._list_generation:
            return cached_list[1]
        now = time.time()
        documents = []
        stable = True
        for group in self._groups.values():
            key = group.key
            if key[0] != sub_key or (rg_key is not None and key[1] != rg_key):
                continue
            cached = group.list_cache
            if cached is None:
                body = render_group(group, instance_view=False, now=now)
                cached = (str(body.get("id", "")).lower(), json.dumps(body, separators=(",", ":")))
                if is_transitioning(group):  # Pending -> Creating depends on the clock
                    stable = False
                else:
                    group.list_cache = cached
            documents.append(cached)
        documents.sort(key=lambda document: document[0])
        if stable:
            self._sorted_documents[(sub_key, rg_key)] = (self._list_generation, documents)
        return documents
