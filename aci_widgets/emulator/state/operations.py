"""Long-running operations (``Azure-AsyncOperation``): started by a PUT/start/restart, settled by group state.

An operation stays InProgress until its group's state decides it: Succeeded once the deployment it started
has started every container, after its init containers (or a later change superseded it, or an init container
failed under Never), Failed with the group's failure, or Failed
(canceled) when its group is deleted. Not thread-safe on its own: called under the backend's lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from .. import errors
from .instance_view import GroupKey, GroupRecord, iso_millis, operation_events, utc_now
from .store import Store


class Operations:
    def __init__(self, store: Store, find_group: Callable[[GroupKey], GroupRecord | None]):
        self._store = store
        self._find_group = find_group
        self._operations: dict[str, dict[str, Any]] = {}
        self._in_progress: dict[GroupKey, set[str]] = {}  # operation ids by group, until they settle

    def load(self) -> None:
        self._operations = self._store.operations()
        for operation_id, operation in self._operations.items():
            if operation["status"] == "InProgress":
                self._in_progress.setdefault(_operation_key(operation), set()).add(operation_id)

    def clear(self) -> None:
        self._operations.clear()
        self._in_progress.clear()

    def new(self, group: GroupRecord, kind: str) -> str:
        """Start an operation for the group's current generation; returns its id."""
        operation_id = str(uuid.uuid4())
        operation = {"sub": group.sub, "groupKey": list(group.key), "groupId": group.id, "kind": kind,
                     "generation": group.generation, "status": "InProgress", "startTime": iso_millis(utc_now())}
        self._operations[operation_id] = operation
        self._in_progress.setdefault(group.key, set()).add(operation_id)
        self._store.put_operation(operation_id, operation)
        return operation_id

    def forget_group(self, key: GroupKey) -> None:
        """Drop the in-memory operations of a group whose create was undone (the store never kept them)."""
        for operation_id in self._in_progress.pop(key, set()):
            self._operations.pop(operation_id, None)

    def settle_group(self, key: GroupKey) -> None:
        for operation_id in list(self._in_progress.get(key, ())):
            self.settle(operation_id)

    def settle_all(self) -> None:
        for operation_id in list(self._operations):
            self.settle(operation_id)

    def settle(self, operation_id: str) -> None:
        """Finish an InProgress operation whose outcome the group's state now decides."""
        operation = self._operations[operation_id]
        if operation["status"] != "InProgress":
            return
        group = self._find_group(_operation_key(operation))
        status, error = "InProgress", None
        if group is None:
            status = "Failed"
            # invented: ACI's answer for an operation whose group was deleted under it is not recorded.
            group_name = operation["groupId"].rsplit("/", 1)[-1]
            error = {"code": "OperationCanceled",
                     "message": f"The operation was canceled: container group '{group_name}' was deleted."}
        elif group.generation > operation["generation"] or group.stopped or group.init_failed:
            status = "Succeeded"  # init_failed: the deployment ran to its end, an init container failed (Never)
        elif group.failure is not None:
            status, error = "Failed", dict(group.failure)
        elif group.deployed and all(record.started_generation >= operation["generation"]
                                    for record in group.containers.values()):
            status = "Succeeded"
        if status == "InProgress":
            return
        key = _operation_key(operation)
        pending = self._in_progress.get(key)
        if pending is not None:
            pending.discard(operation_id)
            if not pending:
                del self._in_progress[key]
        operation = dict(operation, status=status, endTime=iso_millis(utc_now()))
        if error:
            operation["error"] = error
        if group is not None:
            operation["events"] = operation_events(group)
        self._operations[operation_id] = operation
        self._store.put_operation(operation_id, operation)

    def status(self, sub: str, operation_id: str) -> dict[str, Any]:
        """The ``Azure-AsyncOperation`` body, settled first."""
        operation = self._operations.get(operation_id)
        if operation is None or operation["sub"].lower() != sub.lower():
            raise errors.operation_not_found(operation_id)
        self.settle(operation_id)
        operation = self._operations[operation_id]
        group = self._find_group(_operation_key(operation))
        body: dict[str, Any] = {"id": operation["groupId"], "name": operation_id,
                                "status": operation["status"], "startTime": operation["startTime"]}
        if operation.get("endTime"):
            body["endTime"] = operation["endTime"]
        events = operation_events(group) if group is not None else operation.get("events", [])
        body["properties"] = {"events": events}
        if operation.get("error"):
            body["error"] = dict(operation["error"])
        return body


def _operation_key(operation: dict[str, Any]) -> GroupKey:
    sub, rg, name = operation["groupKey"]
    return (sub, rg, name)
