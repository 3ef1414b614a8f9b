"""The emulator's own knobs and control plane under ``/_emulator`` (ours, not ARM's; see COVERAGE.md).

- ``FaultRule`` / ``ApiSettings`` / ``Knobs``: injected faults and latency, the provisioning delay, and the
  log of ARM requests received; ``app.py`` consults them on every ARM request.
- ``ControlPlane``: the routes that read and set them. ``health`` and ``openapi.json`` are open (a
  client must find out whether a server is there, and a fuzzer what it speaks); everything else needs the
  header ``x-aci-emulator-key: <controlKey>``, compared in constant time.
"""

from __future__ import annotations

import collections
import hmac
import math
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from .. import errors
from ..config import EmulatorHome
from ..errors import ArmError
from ..state.quotas import LimitSettings, Quotas, check_time_scale
from .bodies import CONTROL_BODY_LIMIT, read_limited
from .replies import DEFAULT_PAGE_SIZE, Reply, base_url, parse_json_object
from .throttling import ArmThrottle

if TYPE_CHECKING:
    from ..state.backend import Backend

PAGE_SIZE_ENV = "ACI_EMULATOR_PAGE_SIZE"
REQUEST_LOG_SIZE = 10_000
CONTROL_KEY_HEADER = "x-aci-emulator-key"


# -- knobs -----------------------------------------------------------------------------------------
@dataclass
class FaultRule:
    """Answer the next ``remaining`` matching ARM requests with ``status`` (an injected 429/503)."""

    status: int
    remaining: int
    retry_after: float | None = None
    method: str | None = None
    path_contains: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return not (self.path_contains and self.path_contains.lower() not in path.lower())

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "count": self.remaining, "retryAfter": self.retry_after,
                "method": self.method, "pathContains": self.path_contains}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> FaultRule:
        status, count = body.get("status"), body.get("count", 1)
        if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
            raise errors.bad_request("InvalidRequestContent", "'status' must be an HTTP error status (400-599).")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise errors.bad_request("InvalidRequestContent", "'count' must be a non-negative integer.")
        retry_after = body.get("retryAfter")
        if retry_after is not None and (isinstance(retry_after, bool) or not isinstance(retry_after, (int, float))
                                        or not math.isfinite(retry_after) or retry_after < 0):
            raise errors.bad_request("InvalidRequestContent", "'retryAfter' must be a number of seconds.")
        return cls(status, count, retry_after, _optional_text(body, "method"), _optional_text(body, "pathContains"))

    @classmethod
    def parse(cls, text: str) -> FaultRule:
        """``STATUS:COUNT[:RETRY_AFTER]``, as the CLI's ``--fault 503:3`` and ``ACI_EMULATOR_FAULTS`` say."""
        parts = text.strip().split(":")
        if not 2 <= len(parts) <= 3:
            raise ValueError(f"fault {text!r} is not STATUS:COUNT[:RETRY_AFTER] (e.g. 503:3 or 429:2:1)")
        try:
            status, count = int(parts[0]), int(parts[1])
            retry_after = float(parts[2]) if len(parts) == 3 else None
        except ValueError:
            raise ValueError(f"fault {text!r} is not STATUS:COUNT[:RETRY_AFTER] (e.g. 503:3 or 429:2:1)") from None
        if not 400 <= status <= 599 or count < 0:
            raise ValueError(f"fault {text!r}: STATUS must be 400-599 and COUNT at least 0")
        return cls(status, count, retry_after)


def _optional_text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise errors.bad_request("InvalidRequestContent", f"'{key}' must be a string.", target=key)
    return value


@dataclass
class ApiSettings:
    """The knobs a server starts with (CLI flags / environment); ``reset`` returns to these."""

    latency_ms: float = 0.0
    provisioning_delay: float | None = None
    faults: list[FaultRule] = field(default_factory=list)
    page_size: int = DEFAULT_PAGE_SIZE
    limits: LimitSettings = field(default_factory=LimitSettings)  # Azure's, on, unless told otherwise

    @classmethod
    def from_env(cls) -> ApiSettings:
        return cls(page_size=int(os.environ.get(PAGE_SIZE_ENV) or DEFAULT_PAGE_SIZE), limits=LimitSettings.from_env())


@dataclass
class Knobs:
    """The knobs as they are now (the control plane changes them while the server runs)."""

    latency_ms: float
    provisioning_delay: float | None
    faults: list[FaultRule]
    requests: collections.deque[dict[str, Any]]

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> Knobs:
        return cls(settings.latency_ms, settings.provisioning_delay,
                   [FaultRule(**vars(rule)) for rule in settings.faults],
                   collections.deque(maxlen=REQUEST_LOG_SIZE))

    def take_fault(self, method: str, path: str) -> FaultRule | None:
        for rule in self.faults:
            if rule.remaining > 0 and rule.matches(method, path):
                rule.remaining -= 1
                self.faults = [r for r in self.faults if r.remaining > 0]
                return rule
        return None


def fault_reply(fault: FaultRule) -> Reply:
    if fault.status == 429:
        code, message = "TooManyRequests", "The request is throttled (fault injected by the ACI emulator)."
    elif fault.status == 503:
        code, message = "ServiceUnavailable", "The service is unavailable (fault injected by the ACI emulator)."
    else:
        code, message = "InjectedFault", f"HTTP {fault.status} injected by the ACI emulator."
    headers = {}
    if fault.retry_after is not None:
        # Only here may a 4xx carry Retry-After: the test asked for it. azure-core retries any such answer.
        headers["Retry-After"] = f"{fault.retry_after:g}"
    return Reply(fault.status, {"error": {"code": code, "message": message}}, headers)


# -- the routes ------------------------------------------------------------------------------------
class ControlPlane:
    """``/_emulator/*``: health, the OpenAPI document, reset, faults, latency, provisioning delay, request log."""

    def __init__(self, backend: Backend, home: EmulatorHome, settings: ApiSettings, config: dict[str, Any]):
        self.backend = backend
        self.home = home
        self.settings = settings
        self.config = config
        self.knobs = Knobs.from_settings(settings)
        # One LimitSettings object, changed in place, read by ACI's quotas (backend) and ARM's buckets (app).
        self.limits = settings.limits.copy()
        self.quotas = Quotas(self.limits)
        self.throttle = ArmThrottle(self.limits)
        backend.set_limits(self.quotas)
        # Cleared by the server while it reconciles what an earlier run left; set again when that is done.
        self.ready = threading.Event()
        self.ready.set()
        if settings.provisioning_delay is not None:
            backend.set_provisioning_delay(settings.provisioning_delay)

    async def handle(self, request: Request, method: str, segments: list[str]) -> Reply:
        route = "/".join(segments).lower()
        if route == "health" and method in ("GET", "HEAD"):
            status = "ok" if self.ready.is_set() else "reconciling"
            return Reply(200, {"status": status, "pid": os.getpid(), "home": str(self.home.path)})
        if route == "openapi.json" and method in ("GET", "HEAD"):
            from .openapi import openapi_document

            return Reply(200, openapi_document(base_url(request)))
        key = request.headers.get(CONTROL_KEY_HEADER, "")
        if not hmac.compare_digest(key.encode("utf-8", "replace"), str(self.config["controlKey"]).encode()):
            # invented code: the control plane is ours; see COVERAGE.md
            return Reply(401, {"error": {"code": "InvalidControlKey", "message":
                                         f"The '{CONTROL_KEY_HEADER}' header is missing or wrong. Its value is "
                                         "'controlKey' in the emulator home's config.json."}})
        body: dict[str, Any] = {}
        if method == "POST":
            raw = await read_limited(request, CONTROL_BODY_LIMIT)
            body = parse_json_object(raw) if raw.strip() else {}
        knobs = self.knobs
        if (method, route) == ("POST", "reset"):
            await run_in_threadpool(self.backend.reset)
            knobs.faults = [FaultRule(**vars(rule)) for rule in self.settings.faults]
            knobs.latency_ms = self.settings.latency_ms
            await run_in_threadpool(self._apply_provisioning_delay, self.settings.provisioning_delay or 0.0)
            knobs.requests.clear()
            self._set_limits(settings_json=self.settings.limits.to_json(), clear=True)
            return Reply(200, {"status": "reset"})
        if (method, route) == ("POST", "faults"):
            rule = FaultRule.from_json(body)
            knobs.faults = [*knobs.faults, rule] if rule.remaining else []  # count 0 clears every fault
            return Reply(200, self.settings_json())
        if (method, route) == ("DELETE", "faults"):
            knobs.faults = []
            return Reply(200, self.settings_json())
        if (method, route) == ("POST", "latency"):
            knobs.latency_ms = _non_negative(body, "ms")
            return Reply(200, self.settings_json())
        if (method, route) == ("POST", "provisioning-delay"):
            await run_in_threadpool(self._apply_provisioning_delay, _non_negative(body, "seconds"))
            return Reply(200, self.settings_json())
        if (method, route) == ("GET", "limits"):
            return Reply(200, await run_in_threadpool(self.limits_json))
        if (method, route) == ("POST", "limits"):
            self._set_limits(settings_json=body, clear=bool(body.get("clear")))
            return Reply(200, await run_in_threadpool(self.limits_json))
        if (method, route) == ("GET", "settings"):
            return Reply(200, self.settings_json())
        if (method, route) == ("GET", "requests"):
            return Reply(200, list(knobs.requests))
        if (method, route) == ("DELETE", "requests"):
            knobs.requests.clear()
            return Reply(200, [])
        raise ArmError(404, "NotFound", f"'/_emulator/{route}' is not a control-plane operation.")  # invented

    def _set_limits(self, *, settings_json: dict[str, Any], clear: bool) -> None:
        """``{"mode": "azure"|"off", "timeScale": F, "values": {NAME: number}, "clear": bool}``, all optional."""
        changed = self.limits.copy()
        try:
            if "mode" in settings_json:
                mode = str(settings_json["mode"]).lower()
                if mode not in ("azure", "off"):
                    raise ValueError("'mode' must be 'azure' or 'off'")
                changed.enabled = mode == "azure"
            if "timeScale" in settings_json:
                changed.time_scale = check_time_scale(settings_json["timeScale"])
            values = settings_json.get("values") or {}
            if not isinstance(values, dict):
                raise ValueError("'values' must be an object of limit names and numbers")  # noqa: TRY004 - one message
            for name, value in values.items():
                changed.set_value(str(name), value)
        except ValueError as exc:
            raise errors.bad_request("InvalidRequestContent", str(exc)) from None
        self.limits.enabled, self.limits.time_scale = changed.enabled, changed.time_scale
        self.limits.values.update(changed.values)
        if clear:
            self.quotas.clear()
            self.throttle.clear()

    def limits_json(self) -> dict[str, Any]:
        return {**self.limits.to_json(), **self.quotas.counters(), **self.throttle.counters()}

    def _apply_provisioning_delay(self, seconds: float) -> None:
        self.backend.set_provisioning_delay(seconds)
        self.knobs.provisioning_delay = seconds

    def settings_json(self) -> dict[str, Any]:
        return {"latencyMs": self.knobs.latency_ms, "provisioningDelay": self.knobs.provisioning_delay,
                "faults": [rule.to_json() for rule in self.knobs.faults], "pageSize": self.settings.page_size,
                "limits": self.limits.to_json()}


def _non_negative(body: dict[str, Any], key: str) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise errors.bad_request("InvalidRequestContent", f"'{key}' must be a non-negative number.", target=key)
    return float(value)
