"""What the backend asks of its container engine beyond running groups: exec, stats, the engine's name, its images
and machine (``cachedImages``, ``capabilities``). A mixin of ``Backend``, which holds ``_lock``, ``_engine``,
``engine_name`` and ``_require_group``.
"""

from __future__ import annotations

import threading
from typing import Any

from .. import errors
from ..runtime.engine import ContainerStats, Engine, ExecSession
from .instance_view import GroupRecord


class EngineCalls:
    _lock: threading.RLock
    _engine: Engine
    engine_name: str
    _pending_credentials: list[dict[str, Any]]

    def _require_group(self, sub: str, rg: str, name: str) -> GroupRecord:
        raise NotImplementedError

    def _running_run(self, sub: str, rg: str, name: str, container: str) -> str:
        with self._lock:
            group = self._require_group(sub, rg, name)
            record = next((r for r in group.containers.values() if r.name.lower() == container.lower()), None)
            if record is None:
                raise errors.container_not_found(container, group.name)
            if not record.running or record.run_uid is None:
                raise errors.container_log_not_available(record.name, group.name)
            return record.run_uid

    def container_exec(self, sub: str, rg: str, name: str, container: str, argv: list[str], *, tty: bool = True,
                       cols: int = 80, rows: int = 24) -> ExecSession:
        """An interactive command in a running container (the engine's ``exec``)."""
        return self._engine.exec(self._running_run(sub, rg, name, container), argv, tty=tty, cols=cols, rows=rows)

    def container_stats(self, sub: str, rg: str, name: str, container: str) -> ContainerStats:
        """CPU, memory and network counters of a running container (the engine's ``stats``)."""
        return self._engine.stats(self._running_run(sub, rg, name, container))

    def engine_info(self) -> dict[str, Any]:
        """Which engine runs the containers: ``{"name": "docker"|"process", "description": ...}``."""
        try:
            description = self._engine.describe()
        except Exception:  # an engine that stopped answering still has a name  # noqa: BLE001
            description = self.engine_name
        return {"name": self.engine_name, "description": description}

    def cached_images(self) -> list[str]:
        return self._engine.cached_images()

    def capabilities(self) -> dict[str, float]:
        """ACI's per-group maxima (4 CPU, 16 GB), capped by what the engine's machine has."""
        try:
            cpus, memory = self._engine.machine()
        except Exception:  # noqa: BLE001 - the engine's client raises many kinds
            cpus, memory = 4.0, 16.0
        return {"maxMemoryInGB": float(min(16.0, max(1.0, int(memory * 10) / 10))),
                "maxCpu": float(min(4.0, max(1.0, cpus))), "maxGpuCount": 0.0}

    def _image_is_runnable(self, image: str) -> bool:
        if self._engine.image_is_known(image):
            return True
        try:  # Docker: not local yet, so pull it now (ACI validates the image at PUT time too)
            self._engine.check_image(image, self._pending_credentials)
        except LookupError:
            return False
        return True
