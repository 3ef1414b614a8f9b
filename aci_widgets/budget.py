"""ARM's request budget as the client sees it, so every loop stays within it instead of meeting 429s.

Azure Resource Manager keeps a token bucket per subscription, principal and operation type (reads 250
refilled at 25/s, writes 200 at 10/s, deletes 200 at 10/s) and tells each answer how many tokens are left
(``x-ms-ratelimit-remaining-subscription-reads`` / ``-writes`` / ``-deletes``). ``ArmBudget`` reads those
headers from every answer (a ``raw_response_hook`` on the session's clients) and, before every request
(``raw_request_hook``), estimates the bucket now: the last value seen, minus what was sent since, plus the
refill. When a request would take the bucket below a reserve (a tenth of it, left to other clients and the
user's own clicks), it waits until the refill brings it back. Loops ask ``slowdown()`` for how much longer
to pause as the reads left fall, and ``affordable_reads()`` for how many GETs a round may spend.

Until an answer has carried the header (an endpoint that sends none: the emulator with ``--limits off``)
nothing is paced. The emulator's ``x-aci-emulator-time-scale`` header (absent on Azure) scales the refill
rates and the create windows by its clock.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any

CAPACITY = {"reads": 250.0, "writes": 200.0, "deletes": 200.0}
REFILL_PER_SECOND = {"reads": 25.0, "writes": 10.0, "deletes": 10.0}
HEADERS = {kind: f"x-ms-ratelimit-remaining-subscription-{kind}" for kind in CAPACITY}
TIME_SCALE_HEADER = "x-aci-emulator-time-scale"
RESERVE_FRACTION = 0.1
NOTICE_AFTER_SECONDS = 2.0


def operation_type(method: str) -> str:
    method = method.upper()
    if method in ("GET", "HEAD"):
        return "reads"
    if method == "DELETE":
        return "deletes"
    return "writes"


class ArmBudget:
    """The estimated tokens left per operation type, shared by every thread of one session."""

    def __init__(self, notify: Callable[[str], None] | None = None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.notify = notify
        self.time_scale = 1.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens: dict[str, list[float]] = {}  # kind -> [estimate, stamp]
        self._capacity: dict[str, float] = {}  # the most tokens an answer reported + 1: the bucket's size
        self.throttled: collections.Counter[str] = collections.Counter()
        self.sent: collections.Counter[str] = collections.Counter()
        self.paced_seconds = 0.0
        self._last_notice = -1e9

    # -- the hooks ---------------------------------------------------------------------------------------
    def before_request(self, request: Any) -> None:
        """``raw_request_hook``: wait while this request would take its bucket below the reserve."""
        kind = operation_type(request.http_request.method)
        wait = self.reserve(kind)
        if wait > 0:
            self.paced_seconds += wait
            now = self._clock()
            if wait >= NOTICE_AFTER_SECONDS and self.notify is not None and now - self._last_notice > 5:
                self._last_notice = now
                self.notify(f"aci-widgets: pacing {kind} to stay within Azure Resource Manager's limit; "
                            f"resuming in {wait:.0f} s")
            self._sleep(wait)

    def after_response(self, response: Any) -> None:
        """``raw_response_hook``: adopt the service's count of tokens left (and its clock, for the emulator)."""
        http = response.http_response
        headers = http.headers
        kind = operation_type(response.http_request.method)
        scale = headers.get(TIME_SCALE_HEADER)
        if scale:
            try:
                self.time_scale = max(1e-6, float(scale))
            except ValueError:
                pass
        if http.status_code == 429:
            with self._lock:
                self.throttled[kind] += 1
                if kind in self._tokens:
                    self._tokens[kind] = [0.0, self._clock()]
        left = headers.get(HEADERS[kind])
        if left is None:
            return
        try:
            value = float(left)
        except ValueError:
            return
        with self._lock:
            now = self._clock()
            current = self._estimate(kind, now)
            self._capacity[kind] = min(CAPACITY[kind], max(self._capacity.get(kind, 0.0), value + 1))
            self._tokens[kind] = [value if current is None else min(current, value), now]

    # -- what loops ask ----------------------------------------------------------------------------------
    def known(self, kind: str = "reads") -> bool:
        return kind in self._tokens

    def refill(self, kind: str = "reads") -> float:
        """Tokens per second of this client's clock."""
        return REFILL_PER_SECOND[kind] / self.time_scale

    def remaining(self, kind: str = "reads") -> float | None:
        with self._lock:
            return self._estimate(kind, self._clock())

    def reserve(self, kind: str, count: int = 1) -> float:
        """Take ``count`` tokens; the seconds to wait before sending so the bucket stays above the reserve."""
        with self._lock:
            self.sent[kind] += count
            now = self._clock()
            estimate = self._estimate(kind, now)
            if estimate is None:
                return 0.0
            after = estimate - count
            self._tokens[kind] = [after, now]
            floor = self.capacity(kind) * RESERVE_FRACTION
            return 0.0 if after >= floor else (floor - after) / self.refill(kind)

    def slowdown(self, kind: str = "reads") -> float:
        """How many times longer a poller should pause: 1 while half the bucket is left, up to 4 when empty."""
        left = self.remaining(kind)
        if left is None:
            return 1.0
        fraction = max(0.0, min(1.0, left / self.capacity(kind)))
        return 1.0 if fraction >= 0.5 else 1.0 + 6.0 * (0.5 - fraction)

    def affordable_reads(self, interval: float, share: float = 0.5) -> int | None:
        """Reads a loop may spend per round of ``interval`` seconds: ``share`` of the refill plus what is left
        above the reserve. None when the endpoint reports no budget (spend freely)."""
        left = self.remaining("reads")
        if left is None:
            return None
        spare = max(0.0, left - self.capacity("reads") * RESERVE_FRACTION * 2)
        return max(1, int(spare + share * self.refill("reads") * max(interval, 0.0)))

    def seconds(self, azure_seconds: float) -> float:
        """A span of Azure's clock on this endpoint's clock (the emulator's may run faster)."""
        return azure_seconds * self.time_scale

    def capacity(self, kind: str) -> float:
        return self._capacity.get(kind, CAPACITY[kind])

    def _estimate(self, kind: str, now: float) -> float | None:
        state = self._tokens.get(kind)
        if state is None:
            return None
        return min(self.capacity(kind), state[0] + (now - state[1]) * self.refill(kind))
