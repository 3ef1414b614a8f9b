"""What every part of the HTTP layer shares: a parsed request (``Call``), an answer (``Reply``), rendering.

Kept apart from ``app.py`` so that the ARM routes (``app.py``), the Azure AD endpoints (``aad.py``) and the
control plane (``control_plane.py``) can all use them without importing one another.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .. import errors
from ..errors import ArmError
from .bodies import problem_in_json

DEFAULT_PAGE_SIZE = 100
_SAFE_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


@dataclass
class Reply:
    """What a handler answers: status, a JSON body (None for none) and extra headers.

    ``raw`` is a body already serialised (list pages spliced from cached JSON texts); it wins over ``body``.
    """

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: str | None = None


def render(reply: Reply) -> Response:
    if (reply.body is None and reply.raw is None) or reply.status == 204:
        return Response(status_code=reply.status, headers=reply.headers)
    content = reply.raw if reply.raw is not None else json.dumps(reply.body, separators=(",", ":"),
                                                                 ensure_ascii=False)
    try:
        encoded = content.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate stored before requests were checked for them: answer it escaped (valid JSON
        # text, as ARM would show it) rather than failing every GET and DELETE of that resource.
        encoded = (json.dumps(json.loads(content), separators=(",", ":")) if reply.raw is not None
                   else json.dumps(reply.body, separators=(",", ":"))).encode("ascii")
    return Response(encoded, status_code=reply.status, headers=reply.headers,
                    media_type="application/json; charset=utf-8")


def error_reply(error: ArmError) -> Reply:
    return Reply(error.status, error.to_body(), dict(error.headers))


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
        return parse_json_object(self.body)


def parse_json_object(body: bytes) -> dict[str, Any]:
    """``body`` as a JSON object, or ARM's 400 InvalidRequestContent (empty, invalid, NaN, too deep, not an object)."""
    if not body.strip():
        raise errors.bad_request("InvalidRequestContent",
                                 "The request content was invalid and could not be deserialized: "
                                 "'the request body is empty'.")
    try:
        value = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise errors.bad_request("InvalidRequestContent",
                                 "The request content was invalid and could not be deserialized: "
                                 f"'{str(exc)[:200]}'.") from None
    if not isinstance(value, dict):
        raise errors.bad_request("InvalidRequestContent",
                                 "The request content was invalid and could not be deserialized: "
                                 "'a JSON object was expected'.")
    problem = problem_in_json(value)
    if problem is not None:
        path, what = problem
        # the path only, never the value: it may be a secure value
        raise errors.bad_request("InvalidRequestContent",
                                 f"The request content was invalid and could not be deserialized: "
                                 f"'{path} {what}'.")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Unexpected character encountered while parsing value: {name}")


def base_url(request: Request) -> str:
    """The scheme and host the client used, so that the URLs we hand out resolve for it."""
    host = request.headers.get("host", "")
    if not _SAFE_HOST.fullmatch(host):
        server = request.scope.get("server") or ("127.0.0.1", 0)
        host = f"{server[0]}:{server[1]}"
    return f"{request.url.scheme}://{host}"
