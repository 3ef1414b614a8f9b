"""Point the Azure CLI at the emulator without touching the user's own ``az login`` (issue 13).

``aci-emulator az-env`` (and ``%aci use local`` for ``!az`` in a notebook) writes an Azure CLI configuration
folder of its own under the emulator home, ``<home>/azure-cli``, exactly as ``az`` itself would leave it after

    az config set core.instance_discovery=false core.collect_telemetry=false
    az cloud register -n AciEmulator --endpoint-resource-manager URL/   # discovery: GET /metadata/endpoints
    az cloud set -n AciEmulator
    az login --service-principal -u CLIENT -p SECRET --tenant TENANT

and returns the environment that selects it: ``AZURE_CONFIG_DIR`` (that folder), ``REQUESTS_CA_BUNDLE`` (the
public CAs plus the emulator's, so other HTTPS still verifies) and ``AZURE_CORE_INSTANCE_DISCOVERY=false``
(MSAL would ask login.microsoftonline.com otherwise). The user's ``~/.azure`` is never read or written. The
CLI is not a dependency: nothing here runs it. The files hold the emulator's client secret, so they are 0600
in a 0700 folder, like the rest of the home.
"""

from __future__ import annotations

import configparser
import io
import json
import shlex
import uuid
from pathlib import Path

from .auth import ensure_certificates
from .config import EmulatorHome, write_private

CLOUD_NAME = "AciEmulator"
FOLDER = "azure-cli"
ENV_NAMES = ("AZURE_CONFIG_DIR", "REQUESTS_CA_BUNDLE", "AZURE_CORE_INSTANCE_DISCOVERY")


def config_dir(home: EmulatorHome) -> Path:
    return home.path / FOLDER


def _ini(sections: dict[str, dict[str, str]]) -> str:
    parser = configparser.ConfigParser()
    for name, values in sections.items():
        parser[name] = values
    text = io.StringIO()
    parser.write(text)
    return text.getvalue()


def cloud_endpoints(base_url: str) -> dict[str, str]:
    """The endpoints ``az cloud register`` stores after discovering ``/metadata/endpoints`` (clouds.config keys)."""
    root = base_url.rstrip("/") + "/"
    return {
        "endpoint_management": root,
        "endpoint_resource_manager": root,
        "endpoint_sql_management": root + "sql/",
        "endpoint_gallery": root + "gallery/",
        "endpoint_active_directory": base_url.rstrip("/"),
        "endpoint_active_directory_resource_id": root,
        "endpoint_active_directory_graph_resource_id": root + "graph/",
        "endpoint_microsoft_graph_resource_id": root + "msgraph/",
        "endpoint_active_directory_data_lake_resource_id": root + "datalake/",
        "endpoint_media_resources": root + "media/",
        "endpoint_batch_resource_id": root + "batch/",
        "endpoint_log_analytics_resource_id": root + "loganalytics",
        "endpoint_app_insights_resource_id": root + "appinsights",
        "endpoint_vm_image_alias_doc": root + "vmImageAliasDoc",
    }


def _ca_bundle(home: EmulatorHome, folder: Path) -> Path:
    """The public CAs (certifi's, when installed) followed by the emulator's CA."""
    ensure_certificates(home)
    parts = []
    try:
        import certifi

        parts.append(Path(certifi.where()).read_text(encoding="utf-8"))
    except (ImportError, OSError):
        pass
    parts.append(home.ca_path.read_text(encoding="utf-8"))
    path = folder / "ca-bundle.pem"
    write_private(path, "\n".join(part.rstrip("\n") for part in parts) + "\n")
    return path


def write_cli_config(home: EmulatorHome, base_url: str) -> dict[str, str]:
    """Write ``<home>/azure-cli`` for the emulator at ``base_url``; return the environment that selects it."""
    config = home.ensure().config()
    folder = config_dir(home)
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(0o700)
    client, secret = str(config["clientId"]), str(config["clientSecret"])
    tenant, sub = str(config["tenantId"]), str(config["subscriptionId"])
    write_private(folder / "config", _ini({
        "cloud": {"name": CLOUD_NAME},
        "core": {"instance_discovery": "false", "collect_telemetry": "false", "first_run": "no",
                 "survey_message": "false"},
    }))
    write_private(folder / "clouds.config",
                  _ini({CLOUD_NAME: {"profile": "latest", **cloud_endpoints(base_url), "subscription": sub}}))
    write_private(folder / "service_principal_entries.json",
                  json.dumps([{"client_id": client, "tenant": tenant, "client_secret": secret}], indent=4))
    profile = {
        "installationId": str(uuid.uuid5(uuid.NAMESPACE_URL, str(home.path))),
        "subscriptions": [{
            "id": sub, "name": "ACI emulator", "state": "Enabled",
            "user": {"name": client, "type": "servicePrincipal"},
            "isDefault": True, "tenantId": tenant, "environmentName": CLOUD_NAME, "homeTenantId": tenant,
            "managedByTenants": [],
        }],
    }
    # The CLI writes (and reads) azureProfile.json with a byte-order mark.
    write_private(folder / "azureProfile.json", "\ufeff" + json.dumps(profile, indent=2))
    return {"AZURE_CONFIG_DIR": str(folder), "REQUESTS_CA_BUNDLE": str(_ca_bundle(home, folder)),
            "AZURE_CORE_INSTANCE_DISCOVERY": "false"}


def shell_exports(env: dict[str, str]) -> str:
    """``export NAME='value'`` lines for ``eval "$(aci-emulator az-env)"``."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())


# -- for `!az` in a notebook (%aci use local) --------------------------------------------------------------
_saved: dict[str, str | None] | None = None


def use_in_this_process(home: EmulatorHome, base_url: str) -> dict[str, str]:
    """Point ``az`` run from this process (``!az ...`` in a kernel) at the emulator; remember what it replaced."""
    import os

    global _saved
    env = write_cli_config(home, base_url)
    if _saved is None:
        _saved = {name: os.environ.get(name) for name in ENV_NAMES}
    os.environ.update(env)
    return env


def restore_this_process() -> bool:
    """Undo :func:`use_in_this_process` (``%aci use azure``); True if there was something to undo."""
    import os

    global _saved
    if _saved is None:
        return False
    for name, value in _saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _saved = None
    return True
