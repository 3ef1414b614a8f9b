"""Resource groups (``Microsoft.Resources/resourceGroups``): their records and their ARM JSON.

Not thread-safe on its own: ``Backend`` calls it under its lock. Every change is written to the store first.
"""

from __future__ import annotations

from typing import Any

from .. import errors
from .store import Store
from .validation import validate_resource_group_body

ResourceGroupKey = tuple[str, str]  # (subscription, resource group), lower-cased


class ResourceGroups:
    def __init__(self, store: Store):
        self._store = store
        self._records: dict[ResourceGroupKey, dict[str, Any]] = {}

    def load(self) -> None:
        for sub_key, rg_key, doc in self._store.resource_groups():
            self._records[(sub_key, rg_key)] = doc

    def clear(self) -> None:
        self._records.clear()

    def create_or_update(self, sub: str, rg: str, body: Any) -> tuple[dict[str, Any], bool]:
        """The PUT: the stored record's ARM JSON and whether it was created."""
        spec = validate_resource_group_body(rg, body)
        key = (sub.lower(), rg.lower())
        existing = self._records.get(key)
        if existing is not None and existing["location"] != spec["location"]:
            raise errors.resource_group_location_conflict(existing["name"], existing["location"],
                                                          spec["location"])
        record = {"sub": existing["sub"] if existing else sub, "name": existing["name"] if existing else rg,
                  **spec}
        self._store.put_resource_group(*key, record)
        self._records[key] = record
        return render_resource_group(record), existing is None

    def get(self, sub: str, rg: str) -> dict[str, Any]:
        return render_resource_group(self.require(sub, rg))

    def list(self, sub: str) -> list[dict[str, Any]]:
        return [render_resource_group(record) for (sub_key, _), record in self._records.items()
                if sub_key == sub.lower()]

    def find(self, sub: str, rg: str) -> dict[str, Any] | None:
        return self._records.get((sub.lower(), rg.lower()))

    def require(self, sub: str, rg: str) -> dict[str, Any]:
        """The stored record, or ARM's ResourceGroupNotFound."""
        record = self._records.get((sub.lower(), rg.lower()))
        if record is None:
            raise errors.resource_group_not_found(rg)
        return record

    def forget(self, sub: str, rg: str) -> None:
        """Delete the record (its container groups must be removed first)."""
        key = (sub.lower(), rg.lower())
        self._store.delete_resource_group(*key)
        del self._records[key]


def render_resource_group(record: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"id": f"/subscriptions/{record['sub']}/resourceGroups/{record['name']}",
                            "name": record["name"], "type": "Microsoft.Resources/resourceGroups",
                            "location": record["location"]}
    if "tags" in record:
        body["tags"] = dict(record["tags"])
    if record.get("managedBy"):
        body["managedBy"] = record["managedBy"]
    body["properties"] = {"provisioningState": "Succeeded"}
    return body
