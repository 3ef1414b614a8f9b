"""``EmulatorControl``: the Python client of the emulator's control plane (``/_emulator/...``).

For tests and demos: wipe state, inject faults and latency, slow down provisioning, and read the log of
ARM requests the server received. Stdlib only (http.client + ssl), so importing it costs nothing.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

from .config import EmulatorHome

CONTROL_KEY_HEADER = "x-aci-emulator-key"


class ControlError(RuntimeError):
    """The control plane refused a request (``status`` and the ARM-style ``code``)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code


class EmulatorControl:
    """Talks to the server serving ``home`` (or to ``base_url``), authenticated by the home's control key."""

    def __init__(self, home: EmulatorHome, base_url: str | None = None, timeout: float = 30.0):
        from .launcher import running_url

        self.home = home
        self.base_url = (base_url or running_url(home) or home.base_url()).rstrip("/")
        self.timeout = timeout
        self._key = str(home.config()["controlKey"])

    # -- the control plane -------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def reset(self) -> None:
        """Delete every group, resource group, process and log; knobs go back to the server's start values."""
        self._call("POST", "reset")

    def inject_faults(self, status: int, count: int, *, retry_after: float | None = None,
                      method: str | None = None, path_contains: str | None = None) -> dict[str, Any]:
        """Answer the next ``count`` ARM requests (optionally only ``method`` / paths containing
        ``path_contains``) with ``status`` (429 or 503 usually). ``count=0`` clears every fault."""
        body: dict[str, Any] = {"status": status, "count": count}
        if retry_after is not None:
            body["retryAfter"] = retry_after
        if method:
            body["method"] = method
        if path_contains:
            body["pathContains"] = path_contains
        return self._call("POST", "faults", body)

    def clear_faults(self) -> dict[str, Any]:
        return self._call("DELETE", "faults")

    def set_latency(self, ms: float) -> dict[str, Any]:
        """Add ``ms`` milliseconds to every ARM request (not to the token endpoint or control plane)."""
        return self._call("POST", "latency", {"ms": ms})

    def set_provisioning_delay(self, seconds: float) -> dict[str, Any]:
        return self._call("POST", "provisioning-delay", {"seconds": seconds})

    def limits(self) -> dict[str, Any]:
        """Azure's limits as enforced now: ``mode``, ``timeScale``, ``values`` (every number), and what they did:
        ``refused`` (quota and rate refusals by name), ``peakGroups`` (most groups a subscription/region held at
        once), ``throttled`` / ``answered`` (ARM requests per operation type)."""
        return self._call("GET", "limits")

    def set_limits(self, mode: str | None = None, *, time_scale: float | None = None,
                   values: dict[str, float] | None = None, clear: bool = False) -> dict[str, Any]:
        """Change the limits while the server runs: ``mode`` "azure" or "off", the time scale, any number
        (``values={"ContainerGroups": 10, "readsBucket": 50}``); ``clear`` empties the windows, buckets and
        counters."""
        body: dict[str, Any] = {"clear": clear}
        if mode is not None:
            body["mode"] = mode
        if time_scale is not None:
            body["timeScale"] = time_scale
        if values:
            body["values"] = values
        return self._call("POST", "limits", body)

    def settings(self) -> dict[str, Any]:
        """The current knobs: ``latencyMs``, ``provisioningDelay``, ``faults``, ``pageSize``."""
        return self._call("GET", "settings")

    def requests(self) -> list[dict[str, Any]]:
        """The ARM requests received since the last clear, oldest first: ``{method, path, query, status}``."""
        return self._call("GET", "requests")

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    # -- transport ---------------------------------------------------------------------------------
    def _call(self, method: str, route: str, body: dict[str, Any] | None = None) -> Any:
        from .launcher import ssl_context

        host_port = self.base_url.split("://", 1)[-1]
        host, _, port = host_port.rpartition(":")
        connection = http.client.HTTPSConnection(host, int(port), timeout=self.timeout,
                                                 context=ssl_context(self.home))
        headers = {CONTROL_KEY_HEADER: self._key, "Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, f"/_emulator/{route}", body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        answer = json.loads(raw) if raw else None
        if response.status >= 400:
            error = (answer or {}).get("error", {}) if isinstance(answer, dict) else {}
            raise ControlError(response.status, str(error.get("code", response.status)),
                               str(error.get("message", raw[:200])))
        return answer
