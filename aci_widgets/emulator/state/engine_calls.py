"""What the backend asks of its container engine beyond running groups: exec, stats, the engine's name, its
images (pulled before a PUT takes the backend's lock) and machine (``cachedImages``, ``capabilities``). A mixin
of ``Backend``, which holds ``_lock``, ``_engine``, ``engine_name`` and ``_require_group``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from .. import errors
from ..runtime.engine import ContainerStats, Engine, ExecSession
from .instance_view import GroupRecord

logger = logging.getLogger(__name__)
PULL_FAILURE_SECONDS = 5.0  # a failed pull before the lock stands for validation under it this long


class EngineCalls:
    _lock: threading.RLock
    _engine: Engine
    engine_name: str
    _pending_credentials: list[dict[str, Any]]
    _pull_failures: dict[str, float]  # image -> when a pull before the lock failed

    def _require_group(self, sub: str, rg: str, name: str) -> GroupRecord:
        raise NotImplementedError

    def _running_run(self, sub: str, rg: str, name: str, container: str) -> str:
        with self._lock:
            group = self._require_group(sub, rg, name)
            record = next((r for r in group.records() if r.name.lower() == container.lower()), None)
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

    def _prefetch_images(self, body: Any) -> None:
        """Pull the images a PUT body names before the backend's lock is taken (a pull can take minutes and
        every other request waits for that lock). Failures are remembered for a moment: validation under the
        lock then answers ``InaccessibleImage`` without pulling again."""
        credentials = credentials_of(body)
        for image in images_of(body):
            if self._engine.image_is_known(image):
                continue
            try:
                self._engine.check_image(image, credentials)
                self._pull_failures.pop(image, None)
            except LookupError:
                self._pull_failures[image] = time.monotonic()
            except Exception:  # the engine's client raises many kinds; validation under the lock says it again
                logger.debug("pull of %s before validation failed", image, exc_info=True)

    def _image_is_runnable(self, image: str) -> bool:
        if self._engine.image_is_known(image):
            return True
        failed = self._pull_failures.get(image)
        if failed is not None and time.monotonic() - failed < PULL_FAILURE_SECONDS:
            return False  # the pull before the lock failed a moment ago
        try:  # Docker: not local yet, so pull it now (ACI validates the image at PUT time too)
            self._engine.check_image(image, self._pending_credentials)
        except LookupError:
            return False
        return True


def _key(mapping: dict[str, Any], name: str) -> Any:
    """A raw body's value under ``name`` in any key case (ARM's keys are case-insensitive)."""
    return next((v for k, v in mapping.items() if str(k).lower() == name), None)


def _properties(body: Any) -> dict[str, Any]:
    props = _key(body, "properties") if isinstance(body, dict) else None
    return props if isinstance(props, dict) else {}


def credentials_of(body: Any) -> list[dict[str, Any]]:
    """``properties.imageRegistryCredentials`` of a raw PUT body (any key case), for pulls during validation."""
    found = _key(_properties(body), "imageregistrycredentials")
    if not isinstance(found, list):
        return []
    return [{str(k).lower(): v for k, v in entry.items()} for entry in found if isinstance(entry, dict)]


def images_of(body: Any) -> list[str]:
    """The image names of a raw PUT body's containers and init containers (whatever else is wrong with it)."""
    images: list[str] = []
    for kind in ("containers", "initcontainers"):
        entries = _key(_properties(body), kind)
        for entry in entries if isinstance(entries, list) else []:
            props = _properties(entry) if isinstance(entry, dict) else {}
            image = _key(props, "image")
            if isinstance(image, str) and image.strip() and image not in images:
                images.append(image)
    return images
