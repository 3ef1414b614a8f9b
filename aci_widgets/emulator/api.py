"""The emulator's HTTP layer: ARM (and a minimal Azure AD) over Starlette, in front of ``Backend``.

A thin layer, like Azurite's handlers: parse the request, call one ``Backend`` method, render the answer.
What it adds is protocol, never state:

- routing of ARM paths without regard to case (the resource SDK says ``resourcegroups``, the container
  SDK ``resourceGroups``), on percent-decoded segments (``a%2Fb`` stays one segment);
- the bearer-token check (401 in the ARM envelope), ``api-version`` presence, the subscription id;
- status codes and headers the SDK's pollers accept (``Azure-AsyncOperation``), paging with ``nextLink``,
  ``x-ms-request-id`` on every answer, and never ``Retry-After`` on a 4xx unless a test injected it;
- the test knobs (latency, faults, request log) and the control plane under ``/_emulator``;
- the token endpoint and OpenID discovery document that msal needs for ``ClientSecretCredential``.

Backend calls are synchronous and run in Starlette's thread pool, so injected latency (an ``asyncio``
sleep) and slow calls never hold up other requests.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import collections
import hmac
import json
import logging
import math
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import auth, errors
from .config import EmulatorHome
from .errors import ArmError

if TYPE_CHECKING:
    from .backend import Backend

log = logging.getLogger("aci_widgets.emulator.api")

DEFAULT_PAGE_SIZE = 100
PAGE_SIZE_ENV = "ACI_EMULATOR_PAGE_SIZE"
REQUEST_LOG_SIZE = 10_000
MAX_BODY_BYTES = 4 * 1024 * 1024  # ARM's own request size limit
# The api-version real ACI puts in its Azure-AsyncOperation URLs (recorded); the SDK replaces it anyway.
OPERATION_API_VERSION = "2018-06-01"
CONTROL_KEY_HEADER = "x-aci-emulator-key"
CI = "microsoft.containerinstance"
KNOWN_NAMESPACES = {CI: "Microsoft.ContainerInstance", "microsoft.resources": "Microsoft.Resources"}
_SAFE_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
_SKIPTOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


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
        if retry_after is not None and (not isinstance(retry_after, (int, float)) or retry_after < 0):
            raise errors.bad_request("InvalidRequestContent", "'retryAfter' must be a number of seconds.")
        return cls(status, count, retry_after, body.get("method") or None, body.get("pathContains") or None)

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


@dataclass
class ApiSettings:
    """The knobs a server starts with (CLI flags / environment); ``reset`` returns to these."""

    latency_ms: float = 0.0
    provisioning_delay: float | None = None
    faults: list[FaultRule] = field(default_factory=list)
    page_size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def from_env(cls) -> ApiSettings:
        return cls(page_size=int(os.environ.get(PAGE_SIZE_ENV) or DEFAULT_PAGE_SIZE))


@dataclass
class _Knobs:
    latency_ms: float
    provisioning_delay: float | None
    faults: list[FaultRule]
    requests: collections.deque[dict[str, Any]]

    def take_fault(self, method: str, path: str) -> FaultRule | None:
        for rule in self.faults:
            if rule.remaining > 0 and rule.matches(method, path):
                rule.remaining -= 1
                self.faults = [r for r in self.faults if r.remaining > 0]
                return rule
        return None


# -- replies ---------------------------------------------------------------------------------------
@dataclass
class Reply:
    """What a handler answers: status, a JSON body (None for none) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def _render(reply: Reply) -> Response:
    if reply.body is None or reply.status == 204:
        return Response(status_code=reply.status, headers=reply.headers)
    content = json.dumps(reply.body, separators=(",", ":"), ensure_ascii=False)
    return Response(content, status_code=reply.status, headers=reply.headers,
                    media_type="application/json; charset=utf-8")


def _error_reply(error: ArmError) -> Reply:
    return Reply(error.status, error.to_body())


# -- request context -------------------------------------------------------------------------------
@dataclass
class Call:
    """One parsed ARM request, handed to a handler together with the backend."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]  # keys lower-cased: ARM query names are case-insensitive
    body: bytes
    base_url: str  # the scheme and host this client used, for absolute URLs it must follow
    page_size: int = DEFAULT_PAGE_SIZE

    def json_body(self) -> dict[str, Any]:
        """The body as a JSON object, or ARM's 400 InvalidRequestContent."""
        if not self.body.strip():
            raise errors.bad_request("InvalidRequestContent",
                                     "The request content was invalid and could not be deserialized: "
                                     "'the request body is empty'.")
        try:
            value = json.loads(self.body, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise errors.bad_request("InvalidRequestContent",
                                     "The request content was invalid and could not be deserialized: "
                                     f"'{str(exc)[:200]}'.") from None
        if not isinstance(value, dict):
            raise errors.bad_request("InvalidRequestContent",
                                     "The request content was invalid and could not be deserialized: "
                                     "'a JSON object was expected'.")
        return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Unexpected character encountered while parsing value: {name}")


Handler = Callable[["Backend", Call], Reply]


# -- ARM handlers ----------------------------------------------------------------------------------
def _operation_url(call: Call, sub: str, location: str, operation_id: str) -> str:
    return (f"{call.base_url}/subscriptions/{quote(sub, safe='')}/providers/Microsoft.ContainerInstance/"
            f"locations/{quote(location, safe='')}/operations/{quote(operation_id, safe='')}"
            f"?api-version={OPERATION_API_VERSION}")


def _async_header(call: Call, group: dict[str, Any], operation_id: str) -> dict[str, str]:
    location = str(group.get("location") or "eastus")
    return {"Azure-AsyncOperation": _operation_url(call, call.params["sub"], location, operation_id)}


def _group_args(call: Call) -> tuple[str, str, str]:
    return call.params["sub"], call.params["rg"], call.params["name"]


def create_or_update_group(backend: Backend, call: Call) -> Reply:
    group, created, operation_id = backend.create_or_update_group(*_group_args(call), call.json_body())
    return Reply(201 if created else 200, group, _async_header(call, group, operation_id))


def get_group(backend: Backend, call: Call) -> Reply:
    return Reply(200, backend.get_group(*_group_args(call)))


def update_group_tags(backend: Backend, call: Call) -> Reply:
    return Reply(200, backend.update_group_tags(*_group_args(call), call.json_body()))


def delete_group(backend: Backend, call: Call) -> Reply:
    group = backend.delete_group(*_group_args(call))
    return Reply(204) if group is None else Reply(200, group)


def start_group(backend: Backend, call: Call) -> Reply:
    operation_id = backend.start_group(*_group_args(call))
    if operation_id is None:
        return Reply(204)
    group = backend.get_group(*_group_args(call))
    return Reply(202, None, _async_header(call, group, operation_id))


def stop_group(backend: Backend, call: Call) -> Reply:
    backend.stop_group(*_group_args(call))
    return Reply(204)


def restart_group(backend: Backend, call: Call) -> Reply:
    operation_id = backend.restart_group(*_group_args(call))
    group = backend.get_group(*_group_args(call))
    # 204 is the only status the SDK's begin_restart accepts; it still polls the header (recorded by ACI).
    return Reply(204, None, _async_header(call, group, operation_id))


def container_logs(backend: Backend, call: Call) -> Reply:
    tail = _int_query(call, "tail")
    timestamps = _bool_query(call, "timestamps")
    content = backend.container_logs(*_group_args(call), call.params["container"], tail, timestamps)
    return Reply(200, {"content": content})


def exec_command(backend: Backend, call: Call) -> Reply:
    backend.get_group(*_group_args(call))  # a missing group is still a 404, as in ACI
    raise errors.not_supported("Executing a command in a container (exec)")


def attach(backend: Backend, call: Call) -> Reply:
    backend.get_group(*_group_args(call))
    raise errors.not_supported("Attaching to a container's output stream (attach)")


def outbound_dependencies(backend: Backend, call: Call) -> Reply:
    backend.get_group(*_group_args(call))
    return Reply(200, [])


def list_groups_in_subscription(backend: Backend, call: Call) -> Reply:
    return _page(call, backend.list_groups(call.params["sub"], None))


def list_groups_in_resource_group(backend: Backend, call: Call) -> Reply:
    return _page(call, backend.list_groups(call.params["sub"], call.params["rg"]))


def operation_status(backend: Backend, call: Call) -> Reply:
    return Reply(200, backend.operation_status(call.params["sub"], call.params["location"], call.params["id"]))


def location_usages(backend: Backend, call: Call) -> Reply:
    location = call.params["location"].replace(" ", "").lower()
    groups = [g for g in backend.list_groups(call.params["sub"], None)
              if str(g.get("location", "")).replace(" ", "").lower() == location]
    cores = sum(float(c.get("properties", {}).get("resources", {}).get("requests", {}).get("cpu") or 0)
                for g in groups for c in g.get("properties", {}).get("containers", []))
    return Reply(200, {"value": [
        _usage("ContainerGroups", "Container Groups", len(groups), 100),
        _usage("StandardCores", "Standard Cores", cores, 100),
    ]})


def _usage(name: str, localized: str, current: float, limit: int) -> dict[str, Any]:
    current_value: float = int(current) if float(current).is_integer() else current
    return {"id": name, "unit": "Count", "currentValue": current_value, "limit": limit,
            "name": {"value": name, "localizedValue": localized}}


def location_capabilities(backend: Backend, call: Call) -> Reply:
    location = call.params["location"]
    return Reply(200, {"value": [
        {"resourceType": "containerGroups", "osType": os_type, "location": location, "ipAddressType": "Public",
         "gpu": "None", "capabilities": {"maxMemoryInGB": 16.0, "maxCpu": 4.0, "maxGpuCount": 0.0}}
        for os_type in ("Linux",)
    ]})


def location_cached_images(backend: Backend, call: Call) -> Reply:
    from .images import list_images

    return Reply(200, {"value": [{"osType": "Linux", "image": entry["name"]} for entry in list_images()]})


def create_or_update_resource_group(backend: Backend, call: Call) -> Reply:
    group, created = backend.create_or_update_resource_group(call.params["sub"], call.params["rg"],
                                                             call.json_body())
    return Reply(201 if created else 200, group)


def get_resource_group(backend: Backend, call: Call) -> Reply:
    return Reply(200, backend.get_resource_group(call.params["sub"], call.params["rg"]))


def resource_group_exists(backend: Backend, call: Call) -> Reply:
    backend.get_resource_group(call.params["sub"], call.params["rg"])  # 404 when it does not exist
    return Reply(204)


def delete_resource_group(backend: Backend, call: Call) -> Reply:
    # ARM answers 202 + Location; the deletion here is done when the call returns, so 200 says so at once.
    backend.delete_resource_group(call.params["sub"], call.params["rg"])
    return Reply(200)


def list_resource_groups(backend: Backend, call: Call) -> Reply:
    return _page(call, backend.list_resource_groups(call.params["sub"]))


def _operation(namespace: str, resource: str, verb: str, display: str, description: str) -> dict[str, Any]:
    provider = {"Microsoft.ContainerInstance": "Microsoft Container Instance",
                "Microsoft.Resources": "Microsoft Resources"}[namespace]
    return {"name": f"{namespace}/{resource}/{verb}", "isDataAction": False, "origin": "User",
            "display": {"provider": provider, "resource": display, "operation": description,
                        "description": description}}


_CI_OPERATIONS = [
    _operation("Microsoft.ContainerInstance", "containerGroups", "read", "Container Group", "Get Container Group"),
    _operation("Microsoft.ContainerInstance", "containerGroups", "write", "Container Group",
               "Create or Update Container Group"),
    _operation("Microsoft.ContainerInstance", "containerGroups", "delete", "Container Group",
               "Delete Container Group"),
    _operation("Microsoft.ContainerInstance", "containerGroups/start", "action", "Container Group",
               "Start Container Group"),
    _operation("Microsoft.ContainerInstance", "containerGroups/stop", "action", "Container Group",
               "Stop Container Group"),
    _operation("Microsoft.ContainerInstance", "containerGroups/restart", "action", "Container Group",
               "Restart Container Group"),
    _operation("Microsoft.ContainerInstance", "containerGroups/containers/logs", "read", "Container",
               "Get Container Logs"),
    _operation("Microsoft.ContainerInstance", "containerGroups/containers/exec", "action", "Container",
               "Exec Container"),
    _operation("Microsoft.ContainerInstance", "containerGroups/containers/attach", "action", "Container",
               "Attach Container"),
    _operation("Microsoft.ContainerInstance", "locations/operations", "read", "Operation",
               "Get Async Operation"),
    _operation("Microsoft.ContainerInstance", "locations/usages", "read", "Usage", "Get Usage"),
    _operation("Microsoft.ContainerInstance", "locations/capabilities", "read", "Capability", "Get Capabilities"),
    _operation("Microsoft.ContainerInstance", "locations/cachedImages", "read", "Cached Image",
               "Get Cached Images"),
    _operation("Microsoft.ContainerInstance", "operations", "read", "Operation", "List Operations"),
]
_RM_OPERATIONS = [
    _operation("Microsoft.Resources", "subscriptions/resourceGroups", "read", "Resource Groups",
               "Get Resource Groups"),
    _operation("Microsoft.Resources", "subscriptions/resourceGroups", "write", "Resource Groups",
               "Create or Update Resource Group"),
    _operation("Microsoft.Resources", "subscriptions/resourceGroups", "delete", "Resource Groups",
               "Delete Resource Group"),
    _operation("Microsoft.Resources", "operations", "read", "Operations", "List Operations"),
]


def list_ci_operations(backend: Backend, call: Call) -> Reply:
    return Reply(200, {"value": _CI_OPERATIONS})


def list_rm_operations(backend: Backend, call: Call) -> Reply:
    return Reply(200, {"value": _RM_OPERATIONS})


# -- query helpers and paging ----------------------------------------------------------------------
def _int_query(call: Call, name: str) -> int | None:
    raw = call.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0 or value > 2**31 - 1:
        # ARM's code for a query value of the wrong type or range.
        raise errors.bad_request("InvalidQueryParameterValue",
                                 f"The value '{raw}' of query parameter '{name}' is not a valid "
                                 "non-negative integer.", target=name)
    return value


def _bool_query(call: Call, name: str) -> bool:
    raw = call.query.get(name, "").lower()
    if raw in ("", "false"):
        return False
    if raw == "true":
        return True
    raise errors.bad_request("InvalidQueryParameterValue",
                             f"The value '{call.query[name]}' of query parameter '{name}' is not a valid "
                             "boolean.", target=name)


def _page(call: Call, items: list[dict[str, Any]]) -> Reply:
    """One page of ``items`` and a relative ``nextLink`` carrying a ``$skiptoken``.

    Keyset paging on the lower-cased resource id: a group created or deleted between two page requests
    neither shifts nor repeats the others (an offset token would).
    """
    page_size = call.page_size
    keyed = sorted(((str(item.get("id", "")).lower(), item) for item in items), key=lambda pair: pair[0])
    keys = [key for key, _ in keyed]
    start = 0
    token = call.query.get("$skiptoken")
    if token:
        try:
            if not _SKIPTOKEN.match(token):
                raise ValueError(token)
            after = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise errors.bad_request("InvalidQueryParameterValue",
                                     f"The value '{token}' of query parameter '$skiptoken' is invalid.",
                                     target="$skiptoken") from None
        start = bisect.bisect_right(keys, after)
    page = [item for _, item in keyed[start:start + page_size]]
    body: dict[str, Any] = {"value": page}
    if start + page_size < len(keyed):
        last_key = keys[start + page_size - 1]
        # url-safe base64: no '+' (the SDK's parse_qs would turn it into a space) and no '/'.
        next_token = base64.urlsafe_b64encode(last_key.encode("utf-8")).rstrip(b"=").decode("ascii")
        query = {k: v for k, v in call.query.items() if k != "$skiptoken"}
        query["$skiptoken"] = next_token
        body["nextLink"] = f"{call.base_url}{call.path}?{urlencode(query)}"
    return Reply(200, body)


# -- routing ---------------------------------------------------------------------------------------
_CG = "subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.containerinstance/containergroups/{name}"
_LOC = "subscriptions/{sub}/providers/microsoft.containerinstance/locations/{location}"
_RG = "subscriptions/{sub}/resourcegroups/{rg}"
_ROUTE_TABLE: list[tuple[str, dict[str, Handler]]] = [
    ("providers/microsoft.containerinstance/operations", {"GET": list_ci_operations}),
    ("providers/microsoft.resources/operations", {"GET": list_rm_operations}),
    ("subscriptions/{sub}/providers/microsoft.containerinstance/containergroups",
     {"GET": list_groups_in_subscription}),
    (_LOC + "/operations/{id}", {"GET": operation_status}),
    (_LOC + "/usages", {"GET": location_usages}),
    (_LOC + "/capabilities", {"GET": location_capabilities}),
    (_LOC + "/cachedimages", {"GET": location_cached_images}),
    ("subscriptions/{sub}/resourcegroups", {"GET": list_resource_groups}),
    (_RG, {"PUT": create_or_update_resource_group, "GET": get_resource_group, "HEAD": resource_group_exists,
           "DELETE": delete_resource_group}),
    (_RG + "/providers/microsoft.containerinstance/containergroups", {"GET": list_groups_in_resource_group}),
    (_CG, {"PUT": create_or_update_group, "GET": get_group, "PATCH": update_group_tags, "DELETE": delete_group}),
    (_CG + "/start", {"POST": start_group}),
    (_CG + "/stop", {"POST": stop_group}),
    (_CG + "/restart", {"POST": restart_group}),
    (_CG + "/outboundnetworkdependenciesendpoints", {"GET": outbound_dependencies}),
    (_CG + "/containers/{container}/logs", {"GET": container_logs}),
    (_CG + "/containers/{container}/exec", {"POST": exec_command}),
    (_CG + "/containers/{container}/attach", {"POST": attach}),
]


@dataclass(frozen=True)
class _Route:
    segments: tuple[str, ...]  # literals lower-cased; "{name}" for a parameter
    handlers: dict[str, Handler]

    def match(self, segments: list[str]) -> dict[str, str] | None:
        if len(segments) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for pattern, value in zip(self.segments, segments):
            if pattern.startswith("{"):
                if not value:
                    return None
                params[pattern[1:-1]] = value
            elif pattern != value.lower():
                return None
        return params


_ROUTES = [_Route(tuple(pattern.split("/")), handlers) for pattern, handlers in _ROUTE_TABLE]


def _route(method: str, segments: list[str], api_version: str) -> tuple[Handler, dict[str, str]]:
    allowed: dict[str, Handler] | None = None
    for route in _ROUTES:
        params = route.match(segments)
        if params is None:
            continue
        handler = route.handlers.get(method)
        if handler is None and method == "HEAD":
            handler = route.handlers.get("GET")
        if handler is not None:
            return handler, params
        allowed = route.handlers
    if allowed is not None:
        # invented code (ARM's text, no documented code): see COVERAGE.md
        raise ArmError(405, "MethodNotAllowed",
                       f"The requested resource does not support http method '{method}'.")
    raise _unknown_route(segments, api_version)


def _unknown_route(segments: list[str], api_version: str) -> ArmError:
    lowered = [s.lower() for s in segments]
    if "providers" in lowered:
        at = lowered.index("providers")
        namespace = segments[at + 1] if at + 1 < len(segments) else ""
        resource_type = "/".join(segments[at + 2:at + 3]) or namespace
        if namespace.lower() not in KNOWN_NAMESPACES:
            return ArmError(404, "InvalidResourceNamespace", f"The resource namespace '{namespace}' is invalid.")
        return ArmError(404, "InvalidResourceType",
                        f"The resource type '{resource_type}' could not be found in the namespace "
                        f"'{KNOWN_NAMESPACES[namespace.lower()]}' for api version '{api_version}'.")
    # invented: ARM's generic answer for a path it has no operation for; see COVERAGE.md
    return ArmError(404, "NotFound", f"The path '/{'/'.join(segments)}' is not an operation the emulator implements.")


def _split_path(raw_path: bytes) -> list[str]:
    """Percent-decoded segments of the raw path; ``a%2Fb`` stays one segment as ARM treats it."""
    text = raw_path.decode("latin-1")
    return [unquote(segment, errors="replace") for segment in text.strip("/").split("/")] if text.strip("/") else []


def _base_url(request: Request) -> str:
    """The scheme and host the client used, so that the URLs we hand out resolve for it."""
    host = request.headers.get("host", "")
    if not _SAFE_HOST.match(host):
        server = request.scope.get("server") or ("127.0.0.1", 0)
        host = f"{server[0]}:{server[1]}"
    return f"{request.url.scheme}://{host}"


# -- the application -------------------------------------------------------------------------------
class EmulatorApi:
    """Request handling shared by every route; ``create_app`` wraps it in Starlette."""

    def __init__(self, backend: Backend, home: EmulatorHome, settings: ApiSettings):
        self.backend = backend
        self.home = home
        self.settings = settings
        self.config = home.config()
        self.knobs = _Knobs(settings.latency_ms, settings.provisioning_delay,
                            [FaultRule(**vars(rule)) for rule in settings.faults],
                            collections.deque(maxlen=REQUEST_LOG_SIZE))
        if settings.provisioning_delay is not None:
            backend.set_provisioning_delay(settings.provisioning_delay)

    async def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            reply = await self._dispatch(request)
        except ArmError as error:
            reply = _error_reply(error)
        except Exception:  # never expected: the fuzz tests look for these 500s
            log.exception("unexpected error answering %s %s", request.method, request.url.path)
            reply = Reply(500, {"error": {"code": "InternalServerError",
                                          "message": f"The emulator failed unexpectedly (request id {request_id})."
                                                     " See emulator.log."}})
        response = _render(reply)
        response.headers["x-ms-request-id"] = request_id
        response.headers["x-ms-correlation-request-id"] = request.headers.get(
            "x-ms-correlation-request-id", request_id)
        client_request_id = request.headers.get("x-ms-client-request-id")
        if client_request_id:
            response.headers["x-ms-client-request-id"] = client_request_id
        return response

    async def _dispatch(self, request: Request) -> Reply:
        method = request.method.upper()
        raw_path = request.scope.get("raw_path") or request.url.path.encode("utf-8")
        raw_path = raw_path.split(b"?", 1)[0]
        segments = _split_path(raw_path)
        if segments and segments[0] == "_emulator":
            return await self._control(request, method, segments[1:])
        if len(segments) >= 2 and segments[1].lower() in ("v2.0", "oauth2", ".well-known"):
            return await self._aad(request, method, segments)
        return await self._arm(request, method, segments)

    # -- ARM ---------------------------------------------------------------------------------------
    async def _arm(self, request: Request, method: str, segments: list[str]) -> Reply:
        path = "/" + "/".join(segments)
        record: dict[str, Any] = {"method": method, "path": path, "query": request.url.query,
                                  "time": time.time()}
        self.knobs.requests.append(record)
        if self.knobs.latency_ms > 0:
            await asyncio.sleep(self.knobs.latency_ms / 1000)
        fault = self.knobs.take_fault(method, path)
        if fault is not None:
            reply = _fault_reply(fault)
        else:
            try:
                reply = await self._arm_call(request, method, segments, path)
            except ArmError as error:
                reply = _error_reply(error)
                if error.status == 401:
                    # As ARM does; azure-mgmt-core only acts on error="insufficient_claims", so no retry loop.
                    authority = f"{_base_url(request)}/{self.config['tenantId']}"
                    reply.headers["WWW-Authenticate"] = (f'Bearer authorization_uri="{authority}", '
                                                         'error="invalid_token"')
        record["status"] = reply.status
        return reply

    async def _arm_call(self, request: Request, method: str, segments: list[str], path: str) -> Reply:
        self._check_bearer(request)
        query = {key.lower(): value for key, value in parse_qsl(request.url.query, keep_blank_values=True)}
        api_version = query.get("api-version", "")
        if not api_version:
            raise errors.bad_request("MissingApiVersionParameter",
                                     "The api-version query parameter (?api-version=) is required for all "
                                     "requests.")
        handler, params = _route(method, segments, api_version)
        sub = params.get("sub")
        if sub is not None and sub.lower() != str(self.config["subscriptionId"]).lower():
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
        body = b""
        if method in ("PUT", "PATCH", "POST"):
            body = await request.body()
            if len(body) > MAX_BODY_BYTES:
                # invented code for the size ARM refuses; see COVERAGE.md
                raise ArmError(413, "RequestEntityTooLarge",
                               f"The request content size exceeds the maximum of {MAX_BODY_BYTES} bytes.")
        call = Call(method, path, params, query, body, _base_url(request), self.settings.page_size)
        reply = await run_in_threadpool(handler, self.backend, call)
        if method == "HEAD" and reply.status < 300:
            return Reply(204, None, reply.headers)  # an existence check: 204 = exists
        return reply

    def _check_bearer(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            raise errors.unauthorized("Authentication failed. The 'Authorization' header is missing.")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.unauthorized("Authentication failed. The 'Authorization' header is provided in an "
                                      "invalid format.")
        try:
            auth.verify_token(self.config, token.strip())
        except auth.TokenRejected as rejected:
            raise ArmError(401, rejected.code, rejected.message) from None

    # -- Azure AD (just what msal's client-credentials flow needs) --------------------------------------
    async def _aad(self, request: Request, method: str, segments: list[str]) -> Reply:
        tenant = segments[0]
        tail = "/".join(s.lower() for s in segments[1:])
        base = _base_url(request)
        if tenant.lower() != str(self.config["tenantId"]).lower():
            return _aad_error(400, "invalid_tenant", 90002,
                              f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                              "and are signing into the correct cloud.")
        if method == "GET" and tail in ("v2.0/.well-known/openid-configuration", ".well-known/openid-configuration"):
            return Reply(200, _openid_configuration(base, tenant, v2=tail.startswith("v2.0")))
        if method == "POST" and tail in ("oauth2/v2.0/token", "oauth2/token"):
            return self._token(request, await request.body(), base, tenant, v2=tail.startswith("oauth2/v2.0"))
        return _aad_error(404, "invalid_request", 900561,
                          f"The endpoint '/{'/'.join(segments)}' is not part of the emulator's sign-in service.")

    def _token(self, request: Request, body: bytes, base: str, tenant: str, *, v2: bool) -> Reply:
        form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):  # client_secret_basic
            try:
                decoded = base64.b64decode(basic[6:].strip()).decode("utf-8")
                client_id, _, client_secret = (unquote(part) for part in decoded.partition(":"))
            except (binascii.Error, UnicodeDecodeError, ValueError):
                pass
        if form.get("grant_type") != "client_credentials":
            return _aad_error(400, "unsupported_grant_type", 70003,
                              "The app requested an unsupported grant type; the emulator supports "
                              "'client_credentials' only.")
        if not (client_id and client_secret):
            return _aad_error(400, "invalid_request", 900144,
                              "The request body must contain the following parameters: 'client_id' and "
                              "'client_secret'.")
        if not hmac.compare_digest(client_id.encode(), str(self.config["clientId"]).encode()):
            return _aad_error(401, "invalid_client", 700016,
                              f"Application with identifier '{client_id}' was not found in the directory "
                              f"'{tenant}'.")
        if not auth.client_credentials_valid(self.config, client_id, client_secret):
            return _aad_error(401, "invalid_client", 7000215,
                              "Invalid client secret provided. Ensure the secret being sent in the request is "
                              f"the client secret value, not the client secret ID, for a secret added to app "
                              f"'{client_id}'.")
        if v2:
            scope = form.get("scope", "").split(" ")[0]
            audience = scope.removesuffix("/.default")
        else:
            audience = form.get("resource", "")
        token = auth.issue_token(self.config, audience=audience or base, issuer=f"{base}/{tenant}/v2.0")
        answer: dict[str, Any] = {"token_type": "Bearer", "expires_in": auth.TOKEN_LIFETIME_SECONDS,
                                  "ext_expires_in": auth.TOKEN_LIFETIME_SECONDS, "access_token": token}
        if not v2:
            answer.update(expires_on=str(int(time.time()) + auth.TOKEN_LIFETIME_SECONDS), resource=audience)
        return Reply(200, answer, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    # -- control plane -----------------------------------------------------------------------------
    async def _control(self, request: Request, method: str, segments: list[str]) -> Reply:
        route = "/".join(segments).lower()
        if route == "health" and method in ("GET", "HEAD"):
            return Reply(200, {"status": "ok", "pid": os.getpid(), "home": str(self.home.path)})
        key = request.headers.get(CONTROL_KEY_HEADER, "")
        if not hmac.compare_digest(key.encode(), str(self.config["controlKey"]).encode()):
            # invented code: the control plane is ours; see COVERAGE.md
            return Reply(401, {"error": {"code": "InvalidControlKey", "message":
                                         f"The '{CONTROL_KEY_HEADER}' header is missing or wrong. Its value is "
                                         "'controlKey' in the emulator home's config.json."}})
        body: dict[str, Any] = {}
        if method == "POST":
            raw = await request.body()
            body = Call(method, route, {}, {}, raw, "").json_body() if raw.strip() else {}
        knobs = self.knobs
        if (method, route) == ("POST", "reset"):
            await run_in_threadpool(self.backend.reset)
            knobs.faults = [FaultRule(**vars(rule)) for rule in self.settings.faults]
            knobs.latency_ms = self.settings.latency_ms
            await run_in_threadpool(self._apply_provisioning_delay, self.settings.provisioning_delay or 0.0)
            knobs.requests.clear()
            return Reply(200, {"status": "reset"})
        if (method, route) == ("POST", "faults"):
            rule = FaultRule.from_json(body)
            knobs.faults = [*knobs.faults, rule] if rule.remaining else []  # count 0 clears every fault
            return Reply(200, self._settings_json())
        if (method, route) == ("DELETE", "faults"):
            knobs.faults = []
            return Reply(200, self._settings_json())
        if (method, route) == ("POST", "latency"):
            knobs.latency_ms = _non_negative(body, "ms")
            return Reply(200, self._settings_json())
        if (method, route) == ("POST", "provisioning-delay"):
            await run_in_threadpool(self._apply_provisioning_delay, _non_negative(body, "seconds"))
            return Reply(200, self._settings_json())
        if (method, route) == ("GET", "settings"):
            return Reply(200, self._settings_json())
        if (method, route) == ("GET", "requests"):
            return Reply(200, list(knobs.requests))
        if (method, route) == ("DELETE", "requests"):
            knobs.requests.clear()
            return Reply(200, [])
        raise ArmError(404, "NotFound", f"'/_emulator/{route}' is not a control-plane operation.")  # invented

    def _apply_provisioning_delay(self, seconds: float) -> None:
        self.backend.set_provisioning_delay(seconds)
        self.knobs.provisioning_delay = seconds

    def _settings_json(self) -> dict[str, Any]:
        return {"latencyMs": self.knobs.latency_ms, "provisioningDelay": self.knobs.provisioning_delay,
                "faults": [rule.to_json() for rule in self.knobs.faults], "pageSize": self.settings.page_size}


def _non_negative(body: dict[str, Any], key: str) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise errors.bad_request("InvalidRequestContent", f"'{key}' must be a non-negative number.", target=key)
    return float(value)


def _fault_reply(fault: FaultRule) -> Reply:
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


def _aad_error(status: int, error: str, aadsts: int, description: str) -> Reply:
    now = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
    return Reply(status, {"error": error, "error_description": f"AADSTS{aadsts}: {description}",
                          "error_codes": [aadsts], "timestamp": now, "trace_id": str(uuid.uuid4()),
                          "correlation_id": str(uuid.uuid4())})


def _openid_configuration(base: str, tenant: str, *, v2: bool) -> dict[str, Any]:
    prefix = f"{base}/{tenant}"
    version = "/v2.0" if v2 else ""
    return {
        "token_endpoint": f"{prefix}/oauth2{version}/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "jwks_uri": f"{prefix}/discovery{version}/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["HS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{prefix}/v2.0" if v2 else f"{base}/{tenant}/",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{prefix}/openid/userinfo",
        "authorization_endpoint": f"{prefix}/oauth2{version}/authorize",
        "device_authorization_endpoint": f"{prefix}/oauth2{version}/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{prefix}/oauth2{version}/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid"],
        "tenant_region_scope": None,
        "cloud_instance_name": "emulator.local",
        "cloud_graph_host_name": "emulator.local",
        "msgraph_host": "emulator.local",
        "rbac_url": base,
    }


def create_app(backend: Backend, home: EmulatorHome, settings: ApiSettings | None = None) -> Starlette:
    """The emulator's ASGI app: every path goes through ``EmulatorApi`` (routing is our own, case-blind)."""
    api = EmulatorApi(backend, home, settings or ApiSettings.from_env())
    app = Starlette(routes=[Route("/{path:path}", api.handle, methods=_METHODS)])
    app.state.api = api
    return app
