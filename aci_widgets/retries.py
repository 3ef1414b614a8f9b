"""A retry policy that tells the user when it retries, and waits out throttling instead of failing.

azure-core already retries 429/5xx (and honours ``Retry-After``); a user staring at a silent cell for
seconds deserves to know why. ``on_retry`` receives one line per retry; the session routes it to its
``notify`` (a print in the magics, a status line in the widgets).

A 429 is not a failure but a "not yet": ARM's token buckets (``SubscriptionRequestsThrottled``) and ACI's
create/delete rates say when to come back in ``Retry-After``. Those retries do not use up ``retry_total``
(up to ``max_throttled_retries`` of them per request), and the notice says what happens:
"aci-widgets: throttled by Azure Resource Manager; resuming in 12 s".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from azure.core.pipeline.policies import RetryPolicy

MAX_THROTTLED_RETRIES = 30


class NotifyingRetryPolicy(RetryPolicy):
    def __init__(self, on_retry: Callable[[str], None] | None = None, *,
                 max_throttled_retries: int = MAX_THROTTLED_RETRIES, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_retry = on_retry
        self.max_throttled_retries = max_throttled_retries

    def increment(self, settings: dict[str, Any], response: Any = None, error: Any = None) -> bool:
        throttled = (error is None and response is not None and hasattr(response, "http_response")
                     and response.http_response.status_code == 429)
        if throttled and settings.get("throttled", 0) < self.max_throttled_retries:
            settings["throttled"] = settings.get("throttled", 0) + 1
            settings["total"] += 1  # a throttled request is paced, not failed: it keeps its retries
            settings["status"] += 1
        return super().increment(settings, response, error)

    def sleep(self, settings: dict[str, Any], transport: Any, response: Any = None) -> None:
        if self.on_retry is not None:
            try:
                self.on_retry(self._notice(settings, response))
            except Exception:  # noqa: BLE001, S110 - a notice must never break the request
                pass
        super().sleep(settings, transport, response)

    def _notice(self, settings: dict[str, Any], response: Any) -> str:
        attempt = len(settings.get("history", []))
        why = "the connection failed"
        if response is not None:
            why = f"the service answered {response.http_response.status_code}"
        # A failed connection has no response: the request is in the retry history.
        history = settings.get("history") or []
        request = response.http_request if response is not None else (
            getattr(history[-1], "http_request", None) if history else None)
        method = getattr(request, "method", "") or ""
        url = str(getattr(request, "url", "") or "").split("?")[0].rsplit("/providers/", 1)[-1]
        if not method:
            method, url = "the", "request"
        if response is not None and response.http_response.status_code == 429:
            wait = self.get_retry_after(response)
            when = f"resuming in {_seconds(wait)}" if wait is not None else "resuming shortly"
            return (f"aci-widgets: throttled by {_throttler(response)}; {when} "
                    f"(answered 429 to {method} {url}; retrying)")
        return f"aci-widgets: {why} to {method} {url}; retrying (attempt {attempt + 1})".strip()


def _throttler(response: Any) -> str:
    try:
        text = response.http_response.text()
    except Exception:  # noqa: BLE001 - a streamed body may not be readable: say ARM
        text = ""
    if "ContainerGroupQuotaReached" in text:
        return "Azure Container Instances (its create/delete rate)"
    return "Azure Resource Manager"


def _seconds(wait: float) -> str:
    if wait >= 1 or wait <= 0:
        return f"{max(1, math.ceil(wait))} s"
    return f"{wait:.2g} s"
