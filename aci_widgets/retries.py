"""A retry policy that tells the user when it retries.

azure-core already retries 429/5xx (and honours ``Retry-After``); a user staring at a silent cell for
seconds deserves to know why. ``on_retry`` receives one line per retry; the session routes it to its
``notify`` (a print in the magics, a status line in the widgets).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from azure.core.pipeline.policies import RetryPolicy


class NotifyingRetryPolicy(RetryPolicy):
    def __init__(self, on_retry: Callable[[str], None] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_retry = on_retry

    def sleep(self, settings: dict[str, Any], transport: Any, response: Any = None) -> None:
        if self.on_retry is not None:
            attempt = len(settings.get("history", []))
            why = "the connection failed"
            if response is not None:
                status = response.http_response.status_code
                why = f"the service answered {status}"
            # A failed connection has no response: the request is in the retry history.
            history = settings.get("history") or []
            request = response.http_request if response is not None else (
                getattr(history[-1], "http_request", None) if history else None)
            method = getattr(request, "method", "") or ""
            url = str(getattr(request, "url", "") or "").split("?")[0].rsplit("/providers/", 1)[-1]
            if not method:
                method, url = "the", "request"
            try:
                self.on_retry(f"aci-widgets: {why} to {method} {url}; retrying (attempt {attempt + 1})".strip())
            except Exception:  # noqa: BLE001, S110 - a notice must never break the request
                pass
        super().sleep(settings, transport, response)
