"""What the Docker engine asks of a running container besides running it: its counters (for Azure Monitor's
metrics) and whether it has ``/bin/sh`` (for an exec's terminal size, ``docker_exec.py``). Both answers that do
not change while the container lives are cached per container id.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from .engine import ContainerStats


class ContainerProbe:
    def __init__(self, api: Any, errors: Any):
        self._api = api  # docker-py's low-level APIClient
        self._errors = errors  # docker.errors (imported by the engine only when Docker is used)
        self._owners: dict[str, str] = {}  # container id -> the container whose network namespace it is in
        self._shells: dict[str, bool] = {}  # container id -> whether it has /bin/sh

    def stats(self, cid: str) -> ContainerStats:
        """Cumulative CPU seconds and current memory of the container's cgroup, and the network counters of
        its group's namespace."""
        raw = self._stats_once(cid)
        cpu = raw.get("cpu_stats", {}).get("cpu_usage", {}).get("total_usage", 0) / 1e9
        memory = raw.get("memory_stats", {}).get("usage", 0)
        networks = raw.get("networks") or {}
        if not networks:  # a container in another's network namespace: the namespace's counters
            owner = self._owner_of(cid)
            if owner and owner != cid:
                with contextlib.suppress(Exception):
                    networks = self._stats_once(owner).get("networks") or {}
        rx = sum(int(n.get("rx_bytes", 0)) for n in networks.values())
        tx = sum(int(n.get("tx_bytes", 0)) for n in networks.values())
        return ContainerStats(cpu_seconds_total=cpu, memory_bytes=int(memory), rx_bytes=rx, tx_bytes=tx,
                              at=time.time())

    def _stats_once(self, cid: str) -> dict[str, Any]:
        # one_shot: the daemon answers at once instead of waiting ~1 s for a second CPU reading (API 1.41+);
        # only the cumulative counters are used, so the first reading is all we need.
        try:
            return dict(self._api.stats(cid, stream=False, one_shot=True))
        except self._errors.InvalidVersion:
            return dict(self._api.stats(cid, stream=False))

    def _owner_of(self, cid: str) -> str | None:
        owner = self._owners.get(cid)
        if owner is None:
            mode = self._api.inspect_container(cid)["HostConfig"].get("NetworkMode", "")
            owner = mode.split(":", 1)[1] if mode.startswith("container:") else cid
            self._owners[cid] = owner
        return owner

    def has_shell(self, cid: str) -> bool:
        """Whether the container has ``/bin/sh`` (asked once per container: the archive API's header)."""
        known = self._shells.get(cid)
        if known is None:
            try:
                stream, _stat = self._api.get_archive(cid, "/bin/sh", chunk_size=512)
                with contextlib.suppress(Exception):
                    stream.close()
                known = True
            except self._errors.NotFound:
                known = False
            except Exception:  # noqa: BLE001 - the daemon's client raises many kinds; start it unsized then
                return False
            self._shells[cid] = known
        return known
