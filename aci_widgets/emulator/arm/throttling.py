"""ARM's request throttling: a token bucket per subscription, principal and operation type.

Azure Resource Manager (doc request-limits-and-throttling, the 2024 regional model): reads 250 tokens
refilled at 25/s, writes 200 at 10/s, deletes 200 at 10/s. Every answer carries the remaining tokens of its
operation type (``x-ms-ratelimit-remaining-subscription-reads`` / ``-writes`` / ``-deletes``); an empty
bucket answers 429 ``SubscriptionRequestsThrottled`` with ``Retry-After``. Numbers and the time scale come
from ``LimitSettings`` (``state/quotas.py``); with limits off no bucket is kept and no header sent.

The emulator also sends ``x-aci-emulator-time-scale`` while limits are on (ours, see COVERAGE.md): a client
that paces itself by Azure's published limits learns how fast this emulator's clock runs.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from typing import Any

from ..errors import ArmError
from ..state.quotas import LimitSettings, retry_after_text

TIME_SCALE_HEADER = "x-aci-emulator-time-scale"
HEADERS = {kind: f"x-ms-ratelimit-remaining-subscription-{kind}" for kind in ("reads", "writes", "deletes")}


def operation_type(method: str) -> str:
    if method in ("GET", "HEAD"):
        return "reads"
    if method == "DELETE":
        return "deletes"
    return "writes"


class ArmThrottle:
    """The buckets, keyed by (subscription or tenant, principal, operation type)."""

    def __init__(self, settings: LimitSettings, clock: Any = time.monotonic):
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str, str], list[float]] = {}  # key -> [tokens, stamp]
        self.throttled: collections.Counter[str] = collections.Counter()
        self.answered: collections.Counter[str] = collections.Counter()

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()
            self.throttled.clear()
            self.answered.clear()

    def admit(self, scope: str, principal: str, method: str) -> dict[str, str]:
        """Take one token; the headers for the answer, or raise the 429 (with them) when the bucket is empty."""
        settings = self.settings
        if not settings.enabled:
            return {}
        kind = operation_type(method)
        size = settings.values[f"{kind}Bucket"]
        refill = settings.values[f"{kind}RefillPerSecond"] / settings.time_scale
        now = self._clock()
        with self._lock:
            bucket = self._buckets.setdefault((scope.lower(), principal.lower(), kind), [size, now])
            tokens = min(size, bucket[0] + (now - bucket[1]) * refill)
            bucket[1] = now
            self.answered[kind] += 1
            if tokens < 1:
                bucket[0] = tokens
                self.throttled[kind] += 1
                wait = (1 - tokens) / refill if refill > 0 else 3600 * settings.time_scale
                headers = {HEADERS[kind]: "0", TIME_SCALE_HEADER: f"{settings.time_scale:g}",
                           "Retry-After": retry_after_text(wait, settings.time_scale)}
                error = ArmError(429, "SubscriptionRequestsThrottled",
                                 f"Number of '{kind[:-1]}' requests for subscription '{scope}' actor "
                                 f"'{principal}' exceeded. Please try again after "
                                 f"'{max(1, math.ceil(wait))}' seconds after additional tokens are available. "
                                 "Refer to https://aka.ms/arm-throttling")
                error.headers = headers
                raise error
            bucket[0] = tokens - 1
            return {HEADERS[kind]: str(int(bucket[0])), TIME_SCALE_HEADER: f"{settings.time_scale:g}"}

    def counters(self) -> dict[str, Any]:
        with self._lock:
            return {"throttled": dict(self.throttled), "answered": dict(self.answered)}
