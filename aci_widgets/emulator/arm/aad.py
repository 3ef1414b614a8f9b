"""The minimal Azure AD the emulator serves: just what msal's client-credentials flow needs.

``ClientSecretCredential`` (azure-identity, with ``disable_instance_discovery=True``) asks for the OpenID
discovery document, then POSTs to the token endpoint. Both exist in their v2.0 and v1 spellings. Errors use
Azure AD's own JSON shape (``error``, ``error_description`` with an ``AADSTS`` number), not ARM's envelope,
because that is what msal parses. The client secret is compared in constant time and never echoed.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request

from .. import auth
from .bodies import TOKEN_BODY_LIMIT, read_limited
from .replies import Reply, base_url

# The second path segment that marks a request for Azure AD rather than ARM: /{tenant}/v2.0/..., /{tenant}/oauth2/...
AAD_MARKERS = ("v2.0", "oauth2", ".well-known")
# First segments of ARM paths: never a tenant, so /subscriptions/oauth2/... stays an ARM request (ARM's 404).
ARM_ROOTS = ("subscriptions", "providers", "tenants")


def is_aad_path(segments: list[str]) -> bool:
    return (len(segments) >= 2 and segments[1].lower() in AAD_MARKERS
            and segments[0].lower() not in ARM_ROOTS)


async def handle(request: Request, config: Mapping[str, Any], method: str, segments: list[str]) -> Reply:
    """Answer one Azure AD request (``segments`` = the decoded path, starting with the tenant)."""
    tenant = segments[0]
    tail = "/".join(s.lower() for s in segments[1:])
    base = base_url(request)
    if tenant.lower() != str(config["tenantId"]).lower():
        return aad_error(400, "invalid_tenant", 90002,
                         f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                         "and are signing into the correct cloud.")
    if method == "GET" and tail in ("v2.0/.well-known/openid-configuration", ".well-known/openid-configuration"):
        return Reply(200, openid_configuration(base, tenant, v2=tail.startswith("v2.0")))
    if method == "POST" and tail in ("oauth2/v2.0/token", "oauth2/token"):
        body = await read_limited(request, TOKEN_BODY_LIMIT)
        return _token(request, config, body, base, tenant, v2=tail.startswith("oauth2/v2.0"))
    return aad_error(404, "invalid_request", 900561,
                     f"The endpoint '/{'/'.join(segments)}' is not part of the emulator's sign-in service.")


def _token(request: Request, config: Mapping[str, Any], body: bytes, base: str, tenant: str, *,
           v2: bool) -> Reply:
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
        return aad_error(400, "unsupported_grant_type", 70003,
                         "The app requested an unsupported grant type; the emulator supports "
                         "'client_credentials' only.")
    if not (client_id and client_secret):
        return aad_error(400, "invalid_request", 900144,
                         "The request body must contain the following parameters: 'client_id' and "
                         "'client_secret'.")
    if not hmac.compare_digest(client_id.encode(), str(config["clientId"]).encode()):
        return aad_error(401, "invalid_client", 700016,
                         f"Application with identifier '{client_id}' was not found in the directory "
                         f"'{tenant}'.")
    if not auth.client_credentials_valid(config, client_id, client_secret):
        return aad_error(401, "invalid_client", 7000215,
                         "Invalid client secret provided. Ensure the secret being sent in the request is "
                         f"the client secret value, not the client secret ID, for a secret added to app "
                         f"'{client_id}'.")
    if v2:
        scope = form.get("scope", "").split(" ")[0]
        audience = scope.removesuffix("/.default")
    else:
        audience = form.get("resource", "")
    token = auth.issue_token(config, audience=audience or base, issuer=f"{base}/{tenant}/v2.0")
    answer: dict[str, Any] = {"token_type": "Bearer", "expires_in": auth.TOKEN_LIFETIME_SECONDS,
                              "ext_expires_in": auth.TOKEN_LIFETIME_SECONDS, "access_token": token}
    if not v2:
        answer.update(expires_on=str(int(time.time()) + auth.TOKEN_LIFETIME_SECONDS), resource=audience)
    return Reply(200, answer, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def aad_error(status: int, error: str, aadsts: int, description: str) -> Reply:
    now = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
    return Reply(status, {"error": error, "error_description": f"AADSTS{aadsts}: {description}",
                          "error_codes": [aadsts], "timestamp": now, "trace_id": str(uuid.uuid4()),
                          "correlation_id": str(uuid.uuid4())})


def openid_configuration(base: str, tenant: str, *, v2: bool) -> dict[str, Any]:
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
