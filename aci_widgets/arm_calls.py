"""How every operation reaches ARM: the session's SDK clients, one-line errors, secrets scrubbed.

``ArmCalls`` reads what it needs from the session it serves (clients, subscription, defaults, tuning, the
notifier) at call time, through the small ``Connection`` protocol, so the session can change its defaults
(``%config AciMagics.resource_group``) and its notifier, and nothing here imports ``session.py``.

Raw JSON goes through the client's own pipeline (``ci._send_request``: same auth, retries and TLS as the
SDK's operations) where the SDK's model layer would cost ~1.2 ms a group.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, Protocol
from urllib.parse import quote

from .errors import (
    AciError,
    AuthenticationFailed,
    BackendUnavailable,
    InvalidInput,
    NotFound,
    OperationFailed,
)
from .tuning import Tuning, is_loopback

CI_API_VERSION = "2023-05-01"
PROVIDER = "providers/Microsoft.ContainerInstance/containerGroups"


class Connection(Protocol):
    """What a session offers the calls: ``Session`` has all of it."""

    ci: Any
    rm: Any
    backend: str
    subscription_id: str
    resource_group: str | None
    location: str | None
    tuning: Tuning

    def notify(self, message: str) -> None: ...

    def secret_values(self) -> tuple[str, ...]: ...


class ArmCalls:
    """Paths, requests and error translation for one connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # the connection's current values, read at call time
    @property
    def ci(self) -> Any:
        return self.connection.ci

    @property
    def rm(self) -> Any:
        return self.connection.rm

    @property
    def backend(self) -> str:
        return self.connection.backend

    @property
    def tuning(self) -> Tuning:
        return self.connection.tuning

    @property
    def location(self) -> str | None:
        return self.connection.location

    def resource_group(self, resource_group: str | None) -> str:
        """The resource group to use: the one given, or the session's default; InvalidInput when neither."""
        chosen = resource_group or self.connection.resource_group
        if not chosen:
            raise InvalidInput({
                "resource_group": "none given: pass resource_group=, use -g, or set "
                "%config AciMagics.resource_group"
            })
        return chosen

    def subscription_path(self) -> str:
        return f"/subscriptions/{quote(self.connection.subscription_id, safe='')}"

    def group_path(self, resource_group: str, name: str) -> str:
        return (f"{self.subscription_path()}/resourceGroups/"
                f"{quote(resource_group, safe='')}/{PROVIDER}/{quote(name, safe='')}")

    @contextlib.contextmanager
    def errors(self, what: str) -> Iterator[None]:
        """Turn azure-core exceptions into one-line library errors, secrets scrubbed."""
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
        )

        try:
            yield
        except AciError:
            raise
        except ResourceNotFoundError as exc:
            raise NotFound(self.scrub(arm_message(exc, with_code=False)), code=arm_code(exc)) from None
        except ClientAuthenticationError as exc:
            raise AuthenticationFailed(self.scrub(f"{what}: authentication failed: {arm_message(exc)}")) from None
        except HttpResponseError as exc:
            # OperationFailed shows "Code: message" itself.
            raise OperationFailed(self.scrub(arm_message(exc, with_code=False)), code=arm_code(exc),
                                  status_code=exc.status_code) from None
        except ServiceRequestError as exc:
            hint = ""
            if self._local_endpoint() and "refused" in str(exc).lower():
                hint = " (the local emulator is not running: %aci use local starts it, or aci-emulator start)"
            raise BackendUnavailable(self.scrub(f"{what}: cannot reach the service: {first_line(str(exc))}{hint}")) \
                from None

    def _local_endpoint(self) -> bool:
        """True when the clients talk to this machine (the emulator: the local backend or its auth file)."""
        if self.backend == "local":
            return True
        return is_loopback(str(getattr(getattr(self.ci, "_client", None), "_base_url", "") or ""))

    def scrub(self, text: str) -> str:
        for secret in self.connection.secret_values():
            text = text.replace(secret, "********")
        return text

    def slowdown(self) -> float:
        """How many times longer pollers pause as ARM's reads left fall (``budget.ArmBudget.slowdown``)."""
        budget = getattr(self.connection, "budget", None)
        return budget.slowdown() if budget is not None else 1.0

    def send_json(self, method: str, path: str, *, query: Mapping[str, Any] | None = None,
                  body: Any = None) -> Any:
        """A raw ARM request through the SDK client's pipeline; the parsed JSON body (or None)."""
        from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
        from azure.core.rest import HttpRequest
        from azure.mgmt.core.exceptions import ARMErrorFormat

        params = {"api-version": CI_API_VERSION, **(query or {})}
        request = HttpRequest(method, path, params=params, json=body) if body is not None else \
            HttpRequest(method, path, params=params)
        response = _read(self.ci._send_request(request, stream=True))
        if response.status_code >= 400:
            # The same exception types the generated operations raise, parsed from the ARM envelope.
            error_type = {404: ResourceNotFoundError, 401: ClientAuthenticationError}.get(
                response.status_code, HttpResponseError)
            raise error_type(response=response, error_format=ARMErrorFormat)
        return response.json() if response.text() else None

    def follow_next_link(self, next_link: str) -> dict:
        from azure.core.rest import HttpRequest

        # nextLink carries its own query (skip token, api-version); send it as it is.
        response = _read(self.ci._send_request(HttpRequest("GET", next_link), stream=True))
        response.raise_for_status()
        return response.json()


def _read(response: Any) -> Any:
    """Load a streamed response's body. We ask for ``stream=True`` because otherwise the pipeline's
    ContentDecodePolicy parses every JSON body once more, which is half the client's CPU on a long list."""
    response.read()
    return response


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def arm_code(exc: Any) -> str | None:
    return getattr(getattr(exc, "error", None), "code", None)


def arm_message(exc: Any, *, with_code: bool = True) -> str:
    """ACI's message from an azure-core error on one line, as ``(Code) message`` unless ``with_code=False``."""
    code = arm_code(exc)
    message = getattr(getattr(exc, "error", None), "message", None)
    if message:
        text = f"({code}) {message}" if code and with_code else str(message)
        return " ".join(text.split())
    return first_line(str(getattr(exc, "message", None) or exc))
