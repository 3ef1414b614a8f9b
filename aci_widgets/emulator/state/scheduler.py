"""A one-thread timer queue for the backend's delayed work: back-off restarts and provisioning delays.

Callbacks run on the scheduler's thread, one at a time. They check, under the backend lock, that what
they were scheduled for still holds (a stop or a newer deployment makes them no-ops), so nothing here
needs cancelling.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, name: str = "aci-emulator-scheduler"):
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._condition = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        with self._condition:
            if self._stopping:
                return
            heapq.heappush(self._queue, (time.monotonic() + max(0.0, delay), next(self._order), callback))
            self._condition.notify()

    def stop(self) -> None:
        with self._condition:
            self._stopping = True
            self._queue.clear()
            self._condition.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            with self._condition:
                while not self._stopping and (not self._queue or self._queue[0][0] > time.monotonic()):
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._condition.wait(timeout)
                if self._stopping:
                    return
                _, _, callback = heapq.heappop(self._queue)
            try:
                callback()
            except Exception:  # a failed callback must not end the scheduler, nor print
                logger.debug("scheduled callback failed", exc_info=True)
