"""The emulator's HTTP layer: ARM over Starlette, in front of ``Backend``.

A thin layer, like Azurite's handlers: parse the request, call one ``Backend`` method, render the answer.
What it adds is protocol, never state:

- routing of ARM paths without regard to case (the resource SDK says ``resourcegroups``, the container
  SDK ``resourceGroups``), on percent-decoded segments (``a%2Fb`` stays one segment);
- the bearer-token check (401 in the ARM envelope), ``api-version`` presence, the subscription id;
- status codes and headers the SDK's pollers accept (``Azure-AsyncOperation``), paging with ``nextLink``,
  ``x-ms-request-id`` on every answer, and never ``Retry-After`` on a 4xx unless a test injected it.

Two neighbours answer the paths that are not ARM: ``aad.py`` (the token endpoint and OpenID discovery
document msal needs for ``ClientSecretCredential``) and ``control_plane.py`` (``/_emulator/*``: health,
the OpenAPI document, knobs, request log). ``replies.py`` holds what all three share.

Backend calls are synchronous and run in Starlette's thread pool, so injected latency (an ``asyncio``
sleep) and slow calls never hold up other requests.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import request_response
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import auth, errors
from ..config import EmulatorHome
from ..errors import ArmError
from . import aad, api_versions, tenant
from .bodies import ARM_BODY_LIMIT, read_limited
from .control_plane import (  # noqa: F401 - re-exported: cli.py, server.py and tests import them from here
    CONTROL_KEY_HEADER,
    PAGE_SIZE_ENV,
    ApiSettings,
    ControlPlane,
    FaultRule,
    fault_reply,
)
from .exec_routes import attach, exec_command, group_metric_definitions, group_metrics
from .replies import DEFAULT_PAGE_SIZE, Call, Reply, base_url, error_reply, render  # noqa: F401

if TYPE_CHECKING:
    from ..state.backend import Backend

log = logging.getLogger("aci_widgets.emulator.api")  # the name its log lines have always carried

MAX_BODY_BYTES = ARM_BODY_LIMIT
# The api-version real ACI puts in its Azure-AsyncOperation URLs (recorded); the SDK replaces it anyway.
OPERATION_API_VERSION = "2018-06-01"
CI = "microsoft.containerinstance"
KNOWN_NAMESPACES = {CI: "Microsoft.ContainerInstance", "microsoft.resources": "Microsoft.Resources",
                    "microsoft.insights": "Microsoft.Insights"}
_SKIPTOKEN = re.compile(r"^[A-Za-z0-9_-]+$")

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


def outbound_dependencies(backend: Backend, call: Call) -> Reply:
    backend.get_group(*_group_args(call))
    return Reply(200, [])


def delete_subnet_service_association_link(backend: Backend, call: Call) -> Reply:
    """ACI's ``SubnetServiceAssociationLink_Delete``: the emulator has no virtual networks, so no group holds
    a link on any subnet and there is nothing to delete: 204, ACI's answer for a link that does not exist."""
    backend.get_resource_group(call.params["sub"], call.params["rg"])  # 404 ResourceGroupNotFound as in ARM
    return Reply(204)


def list_groups_in_subscription(backend: Backend, call: Call) -> Reply:
    return _page_documents(call, backend.list_group_documents(call.params["sub"], None))


def list_groups_in_resource_group(backend: Backend, call: Call) -> Reply:
    return _page_documents(call, backend.list_group_documents(call.params["sub"], call.params["rg"]))


def operation_status(backend: Backend, call: Call) -> Reply:
    return Reply(200, backend.operation_status(call.params["sub"], call.params["location"], call.params["id"]))


def location_usages(backend: Backend, call: Call) -> Reply:
    # Real use: every group of the subscription in the region, against the limits the emulator enforces.
    return Reply(200, {"value": backend.location_usage(call.params["sub"], call.params["location"])})


def location_capabilities(backend: Backend, call: Call) -> Reply:
    location = call.params["location"]
    return Reply(200, {"value": [
        {"resourceType": "containerGroups", "osType": os_type, "location": location, "ipAddressType": "Public",
         "gpu": "None", "capabilities": backend.capabilities()}
        for os_type in ("Linux",)
    ]})


def location_cached_images(backend: Backend, call: Call) -> Reply:
    return Reply(200, {"value": [{"osType": "Linux", "image": name} for name in backend.cached_images()]})


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
    # As ARM: 202 + Location at once, the container groups removed in the background (rg_deletions.py).
    operation_id = backend.begin_delete_resource_group(call.params["sub"], call.params["rg"])
    return Reply(202, None, {"Location": _deletion_url(call, operation_id)})


def _deletion_url(call: Call, operation_id: str) -> str:
    api_version = call.query.get("api-version", "")
    return (f"{call.base_url}/subscriptions/{call.params['sub']}/operationresults/{operation_id}"
            f"?{urlencode({'api-version': api_version})}")


def resource_group_deletion_result(backend: Backend, call: Call) -> Reply:
    state = backend.resource_group_deletion(call.params["id"])
    if state is None:
        raise errors.operation_not_found(call.params["id"])
    done, error = state
    if not done:
        return Reply(202, None, {"Location": _deletion_url(call, call.params["id"])})
    if error is not None:
        raise ArmError(500, "InternalServerError", f"The resource group deletion failed: {error}")
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
# The one entry the spec example shows, in its words (typo included).
_CI_OPERATIONS[0]["display"].update(operation="Get Container Groups", description="Get all container goups.")
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
    """One page of ``items`` (dicts with an ``id``); see :func:`_page_documents`."""
    documents = [(str(item.get("id", "")).lower(), json.dumps(item, separators=(",", ":"))) for item in items]
    return _page_documents(call, sorted(documents, key=lambda document: document[0]))


def _page_documents(call: Call, documents: list[tuple[str, str]]) -> Reply:
    """One page of ``(lower-cased id, JSON text)`` documents, sorted by id, and a ``nextLink`` with a ``$skiptoken``.

    Keyset paging on the lower-cased resource id: a group created or deleted between two page requests
    neither shifts nor repeats the others (an offset token would). The page's JSON texts are spliced into
    the body as they are: no document is parsed or serialised again per page.
    """
    page_size = call.page_size
    start = 0
    token = call.query.get("$skiptoken")
    if token:
        try:
            if not _SKIPTOKEN.fullmatch(token):
                raise ValueError(token)
            after = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise errors.bad_request("InvalidQueryParameterValue",
                                     f"The value '{token}' of query parameter '$skiptoken' is invalid.",
                                     target="$skiptoken") from None
        start = bisect.bisect_right(documents, after, key=lambda document: document[0])
    raw = '{"value":[' + ",".join(text for _, text in documents[start:start + page_size]) + "]"
    if start + page_size < len(documents):
        last_key = documents[start + page_size - 1][0]
        # url-safe base64: no '+' (the SDK's parse_qs would turn it into a space) and no '/'.
        next_token = base64.urlsafe_b64encode(last_key.encode("utf-8")).rstrip(b"=").decode("ascii")
        query = {k: v for k, v in call.query.items() if k != "$skiptoken"}
        query["$skiptoken"] = next_token
        raw += ',"nextLink":' + json.dumps(f"{call.base_url}{call.path}?{urlencode(query)}")
    return Reply(200, raw=raw + "}")


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
    ("subscriptions/{sub}/operationresults/{id}", {"GET": resource_group_deletion_result}),
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
    (_CG + "/providers/microsoft.insights/metrics", {"GET": group_metrics}),
    (_CG + "/providers/microsoft.insights/metricdefinitions", {"GET": group_metric_definitions}),
    (_RG + "/providers/microsoft.network/virtualnetworks/{vnet}/subnets/{subnet}"
     + "/providers/microsoft.containerinstance/serviceassociationlinks/default",
     {"DELETE": delete_subnet_service_association_link}),
    *tenant.ROUTES,
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
    """Percent-decoded segments of the raw path; ``a%2Fb`` stays one segment as ARM treats it.

    Empty segments are dropped as ARM drops them: the Azure CLI's generic resource calls send
    ``.../Microsoft.ContainerInstance//containerGroups/NAME``, and a cloud registered with a trailing ``/``
    makes ``//metadata/endpoints``.
    """
    text = raw_path.decode("latin-1")
    return [unquote(segment, errors="replace") for segment in text.split("/") if segment]


# -- the application -------------------------------------------------------------------------------
class EmulatorApi:
    """Request handling shared by every route; ``create_app`` wraps it in Starlette."""

    def __init__(self, backend: Backend, home: EmulatorHome, settings: ApiSettings):
        self.backend = backend
        self.home = home
        self.settings = settings
        self.config = home.config()
        self.control = ControlPlane(backend, home, settings, self.config)
        self.knobs = self.control.knobs
        self.throttle = self.control.throttle

    async def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            reply = await self._dispatch(request)
        except ArmError as error:
            reply = error_reply(error)
        except Exception:  # never expected: the fuzz tests look for these 500s
            log.exception("unexpected error answering %s %s", request.method, request.url.path)
            reply = Reply(500, {"error": {"code": "InternalServerError",
                                          "message": f"The emulator failed unexpectedly (request id {request_id})."
                                                     " See emulator.log."}})
        response = render(reply)
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
            return await self.control.handle(request, method, segments[1:])
        if not self.control.ready.is_set():
            # Still killing and recording what a crashed emulator left: clients retry 503s (Retry-After).
            return Reply(503, {"error": {"code": "ServiceUnavailable", "message":
                                         "The emulator is starting: it is reconciling the containers an earlier "
                                         "run left. Retry in a moment."}}, {"Retry-After": "1"})
        if aad.is_aad_path(segments):
            return await aad.handle(request, self.config, method, segments)
        if [segment.lower() for segment in segments] == ["metadata", "endpoints"]:
            return self._metadata_endpoints(request, method)  # anonymous, as ARM serves it
        return await self._arm(request, method, segments)

    def _metadata_endpoints(self, request: Request, method: str) -> Reply:
        if method not in ("GET", "HEAD"):
            raise ArmError(405, "MethodNotAllowed",  # invented code, ARM's text (see COVERAGE.md)
                           f"The requested resource does not support http method '{method}'.")
        query = {key.lower(): value for key, value in parse_qsl(request.url.query, keep_blank_values=True)}
        version = query.get("api-version", "")
        if not version:
            raise errors.bad_request("MissingApiVersionParameter",
                                     "The api-version query parameter (?api-version=) is required for all "
                                     "requests.")
        api_versions.check(["metadata", "endpoints"], version)
        return Reply(200, tenant.metadata_endpoints(base_url(request)))

    # -- ARM ---------------------------------------------------------------------------------------
    async def _arm(self, request: Request, method: str, segments: list[str]) -> Reply:
        path = "/" + "/".join(segments)
        record: dict[str, Any] = {"method": method, "path": path, "query": "", "time": time.time()}
        self.knobs.requests.append(record)
        if self.knobs.latency_ms > 0:
            await asyncio.sleep(self.knobs.latency_ms / 1000)
        try:
            # The token first: without one, a request may not drain injected faults, and its query (which
            # may carry what the caller meant to keep) is not logged.
            claims = self._check_bearer(request)
            record["query"] = request.url.query
            fault = self.knobs.take_fault(method, path)
            reply = fault_reply(fault) if fault is not None else await self._arm_call(request, method, segments,
                                                                                      path, claims)
        except ArmError as error:
            reply = error_reply(error)
            if error.status == 401:
                # As ARM does; azure-mgmt-core only acts on error="insufficient_claims", so no retry loop.
                authority = f"{base_url(request)}/{self.config['tenantId']}"
                reply.headers["WWW-Authenticate"] = (f'Bearer authorization_uri="{authority}", '
                                                     'error="invalid_token"')
        record["status"] = reply.status
        return reply

    async def _arm_call(self, request: Request, method: str, segments: list[str], path: str,
                        claims: dict[str, Any]) -> Reply:
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
        api_versions.check(segments, api_version, lambda: self._location_of(params))
        body = b""
        if method in ("PUT", "PATCH", "POST"):
            body = await read_limited(request, MAX_BODY_BYTES)
        # ARM's token bucket of this subscription (or tenant), principal and operation type: see throttling.py
        limit_headers = self.throttle.admit(sub or str(claims.get("tid", "")), str(claims.get("oid", "")), method)
        call = Call(method, path, params, query, body, base_url(request), self.settings.page_size)
        try:
            reply = await run_in_threadpool(handler, self.backend, call)
        except ArmError as error:
            error.headers = {**limit_headers, **error.headers}
            raise
        reply.headers.update(limit_headers)
        if method == "HEAD" and reply.status < 300:
            return Reply(204, None, reply.headers)  # an existence check: 204 = exists
        return reply

    def _location_of(self, params: dict[str, str]) -> str:
        """The location ARM names when it refuses an api-version: the resource group's, else eastus."""
        if "rg" in params:
            try:
                return str(self.backend.get_resource_group(params["sub"], params["rg"])["location"])
            except ArmError:
                pass
        return "eastus"

    def _check_bearer(self, request: Request) -> dict[str, Any]:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            raise errors.unauthorized("Authentication failed. The 'Authorization' header is missing.")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.unauthorized("Authentication failed. The 'Authorization' header is provided in an "
                                      "invalid format.")
        try:
            return auth.verify_token(self.config, token.strip())
        except auth.TokenRejected as rejected:
            raise ArmError(401, rejected.code, rejected.message) from None


class _AnyRequest:
    """The ASGI app that answers every request the router sees (no route matches: there is none);
    websockets (exec and attach) go to ``exec_socket``."""

    def __init__(self, app: ASGIApp, backend: Backend | None = None):
        self.app = app
        self.backend = backend

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            from .exec_socket import serve_socket

            await serve_socket(self.backend, scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(backend: Backend, home: EmulatorHome, settings: ApiSettings | None = None) -> Starlette:
    """The emulator's ASGI app: every path goes through ``EmulatorApi`` (routing is our own, case-blind)."""
    api = EmulatorApi(backend, home, settings or ApiSettings.from_env())
    # Every request must reach ``api.handle`` so that its errors are ARM's envelope, which Starlette's own
    # routing did not guarantee (found by tests/reliability/test_fuzz.py): a route's method list answered
    # TRACE with a plain-text 405, and its path pattern (``.*``) did not match a path holding an encoded
    # newline (``%0A``), a plain-text 404. So there is no route: the router's default handler takes all.
    app = Starlette()
    app.router.default = _AnyRequest(request_response(api.handle), backend)
    app.state.api = api
    return app
