"""Reading an ``--sdk-auth`` file and building today's credential from it.

The seed sample used ``azure.common.client_factory.get_client_from_auth_file``; with today's track-2
clients that call raises "Auth file or JSON dict are deprecated". We read the file ourselves and build
``ClientSecretCredential`` with the authority and ARM endpoint the file names, which is also what makes
Azure Stack and the local emulator (its own authority, its own CA) work unchanged.

The client secret lives only inside the credential object: it is never put in a message, a repr or an
exception. Errors name the file and the key.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigurationError

REQUIRED_KEYS = ("clientId", "clientSecret", "subscriptionId", "tenantId")
PUBLIC_AUTHORITY = "https://login.microsoftonline.com"
PUBLIC_ARM = "https://management.azure.com/"
# The local emulator writes its CA's path into its own auth file under this extra key.
CA_KEY = "caCertPath"


@dataclass(frozen=True)
class AuthFile:
    """The parts of an sdk-auth file we use. ``repr`` never shows the secret."""

    path: Path
    client_id: str
    tenant_id: str
    subscription_id: str
    authority: str
    resource_manager: str
    ca_cert_path: str | None
    _client_secret: str = field(repr=False)

    @property
    def is_public_cloud(self) -> bool:
        return self.authority.rstrip("/").lower() == PUBLIC_AUTHORITY

    def connection_verify(self) -> bool | str:
        """What to verify TLS with: the file's CA, else ``REQUESTS_CA_BUNDLE`` (Azure Stack), else the system."""
        if self.ca_cert_path:
            return self.ca_cert_path
        return os.environ.get("REQUESTS_CA_BUNDLE") or True

    def credential(self) -> Any:
        from azure.identity import ClientSecretCredential

        return ClientSecretCredential(
            self.tenant_id,
            self.client_id,
            self._client_secret,
            authority=self.authority,
            # Instance discovery asks login.microsoftonline.com about the authority: wrong for Azure Stack
            # and the emulator, and unreachable offline.
            disable_instance_discovery=not self.is_public_cloud,
            connection_verify=self.connection_verify(),
        )

    def secret_values(self) -> tuple[str, ...]:
        """Values that must never appear in output (used to scrub error messages)."""
        return (self._client_secret,)


def read_auth_file(path: str | os.PathLike[str]) -> AuthFile:
    """Parse an ``az ad sp create-for-rbac --sdk-auth`` JSON file; one clear error per problem."""
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"auth file {file} does not exist") from None
    except OSError as exc:
        raise ConfigurationError(f"auth file {file} cannot be read: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # Never echo the content: it holds the secret.
        raise ConfigurationError(
            f"auth file {file} is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"auth file {file} must hold a JSON object")
    missing = [key for key in REQUIRED_KEYS if not isinstance(data.get(key), str) or not data.get(key)]
    if missing:
        raise ConfigurationError(f"auth file {file} is missing the key {', '.join(repr(k) for k in missing)}")
    authority = str(data.get("activeDirectoryEndpointUrl") or PUBLIC_AUTHORITY)
    arm = str(data.get("resourceManagerEndpointUrl") or PUBLIC_ARM)
    for key, url in (("activeDirectoryEndpointUrl", authority), ("resourceManagerEndpointUrl", arm)):
        if not url.startswith("https://"):
            raise ConfigurationError(f"auth file {file}: {key} must be an https:// URL, not {url!r}")
    ca = data.get(CA_KEY)
    if ca is not None and not Path(str(ca)).expanduser().is_file():
        raise ConfigurationError(f"auth file {file}: {CA_KEY} names {ca}, which does not exist")
    return AuthFile(
        path=file,
        client_id=data["clientId"],
        tenant_id=data["tenantId"],
        subscription_id=data["subscriptionId"],
        authority=authority.rstrip("/"),
        resource_manager=arm if arm.endswith("/") else arm + "/",
        ca_cert_path=str(Path(str(ca)).expanduser()) if ca else None,
        _client_secret=data["clientSecret"],
    )
