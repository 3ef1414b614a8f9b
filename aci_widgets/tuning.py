"""Polling and retry settings, chosen for the endpoint a session talks to."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Tuning:
    """Polling and retry settings. Azure's SDK defaults (30 s polls) are far too slow for the emulator."""

    poll_interval: float = 5.0
    retry_total: int = 4
    retry_backoff_factor: float = 0.8
    max_parallel_gets: int = 16

    @classmethod
    def for_endpoint(cls, base_url: str, **overrides: Any) -> Tuning:
        """Defaults for where we talk to (an emulator on loopback polls fast), with the user's overrides."""
        base = cls(poll_interval=0.05, retry_total=3, retry_backoff_factor=0.05) if is_loopback(base_url) else cls()
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")
