"""The GroupForm's collapsed sections without widgets (issue 18): volumes and mounts, identity, networking,
registry, diagnostics and advanced. Their values build the group through ``spec.az_flags`` (the same builder and
messages as ``%aci create``'s flags), then ``GroupSpec.problems()`` judges it; :func:`feature_slot` says which
section field shows a problem. Volumes are mounted in the first container, as az's flags do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from ..errors import InvalidInput
from ..secrets import reveal
from ..spec.az_flags import AzOptions, apply_az_options
from ..spec.volumes import AZURE_FILE_VOLUME_NAME, GITREPO_VOLUME_NAME, SECRETS_VOLUME_NAME, VolumeMount, VolumeSpec

EMPTY_DIR_NAME = "workdir"
SECTIONS = {
    "Volumes and mounts": ("azure_file_share", "azure_file_account", "azure_file_key", "azure_file_mount_path",
                           "secrets", "secrets_mount_path", "gitrepo_url", "gitrepo_dir", "gitrepo_revision",
                           "gitrepo_mount_path", "empty_dir_mount_path"),
    "Identity": ("system_identity", "user_identities"),
    "Networking": ("subnet", "zone", "dns_servers"),
    "Registry": ("registry_server", "registry_username", "registry_password", "acr_identity"),
    "Diagnostics": ("workspace_id", "workspace_key", "log_type"),
    "Advanced": ("sku", "priority", "cce_policy"),
}
SECRET_FIELDS = ("azure_file_key", "registry_password", "workspace_key")


@dataclass
class FeatureState:
    """Every section field as text (``system_identity`` a bool); empty means "not set"."""

    azure_file_share: str = ""
    azure_file_account: str = ""
    azure_file_key: str = ""
    azure_file_mount_path: str = ""
    secrets: str = ""  # one name=value per line (az's --secrets; values are base64-encoded for you)
    secrets_mount_path: str = ""
    gitrepo_url: str = ""
    gitrepo_dir: str = ""
    gitrepo_revision: str = ""
    gitrepo_mount_path: str = ""
    empty_dir_mount_path: str = ""
    system_identity: bool = False
    user_identities: str = ""  # one resource id per line
    subnet: str = ""
    zone: str = ""
    dns_servers: str = ""
    registry_server: str = ""
    registry_username: str = ""
    registry_password: str = ""
    acr_identity: str = ""
    workspace_id: str = ""
    workspace_key: str = ""
    log_type: str = ""
    sku: str = ""
    priority: str = ""
    cce_policy: str = ""

    def is_empty(self) -> bool:
        return all(not getattr(self, f.name) for f in fields(self))


_FLAG_SLOTS = {
    "--azure-file-volume-share-name": "azure_file_share", "--azure-file-volume-account-name": "azure_file_account",
    "--azure-file-volume-account-key": "azure_file_key", "--azure-file-volume-mount-path": "azure_file_mount_path",
    "--secrets": "secrets", "--secrets-mount-path": "secrets_mount_path", "--gitrepo-url": "gitrepo_url",
    "--gitrepo-dir": "gitrepo_dir", "--gitrepo-revision": "gitrepo_revision",
    "--gitrepo-mount-path": "gitrepo_mount_path", "--vnet": "subnet", "--subnet": "subnet",
    "--ip-address": "subnet", "--dns-name-label": "subnet",
    "--log-analytics-workspace": "workspace_id", "--log-analytics-workspace-key": "workspace_key",
    "--acr-identity": "acr_identity", "--cce-policy": "cce_policy",
}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in re.split(r"[\n,]", text) if line.strip()]


def apply_features(spec: Any, state: FeatureState) -> dict[str, str]:
    """Put the sections' values into ``spec`` (in place); problems the builder refuses, keyed by field path."""
    problems: dict[str, str] = {}
    pairs = []
    for index, line in enumerate(state.secrets.splitlines(), start=1):
        if not line.strip():
            continue
        name, eq, value = line.strip().partition("=")
        if not eq or not name:
            problems["features.secrets"] = f"line {index}: Secrets need to be specified in key=value format."
        else:
            pairs.append((name.strip(), value))
    if state.registry_server or state.registry_username or state.registry_password:
        from ..spec import RegistryCredential

        spec.registry_credentials = [RegistryCredential(state.registry_server.strip(),
                                                        state.registry_username.strip() or None,
                                                        state.registry_password or None)]
    identities = _lines(state.user_identities)
    options = AzOptions(
        azure_file_share=state.azure_file_share.strip() or None,
        azure_file_account=state.azure_file_account.strip() or None,
        azure_file_key=state.azure_file_key or None, azure_file_mount_path=state.azure_file_mount_path.strip() or None,
        secrets=pairs, secrets_mount_path=state.secrets_mount_path.strip() or None,
        gitrepo_url=state.gitrepo_url.strip() or None, gitrepo_dir=state.gitrepo_dir.strip() or None,
        gitrepo_revision=state.gitrepo_revision.strip() or None,
        gitrepo_mount_path=state.gitrepo_mount_path.strip() or None,
        assign_identity=(["[system]"] if state.system_identity else []) + identities
        if state.system_identity or identities else None,
        subnet=state.subnet.strip() or None,
        log_analytics_workspace=state.workspace_id.strip() or None,
        log_analytics_workspace_key=state.workspace_key or None, acr_identity=state.acr_identity.strip() or None,
        sku=state.sku or None, priority=state.priority or None, zone=state.zone.strip() or None,
        cce_policy=state.cce_policy.strip() or None)
    if options.subnet and not options.subnet.startswith("/"):
        problems["features.subnet"] = "give the full subnet resource id (/subscriptions/.../subnets/NAME)"
        options.subnet = None
    if not spec.containers:
        return problems
    image = spec.containers[0].image
    try:
        apply_az_options(spec, options, image=image)
    except InvalidInput as error:
        for flag, message in error.problems.items():
            problems.setdefault(f"features.{_FLAG_SLOTS.get(flag, 'other')}", message)
        return problems
    if state.empty_dir_mount_path.strip():
        spec.volumes.append(VolumeSpec(EMPTY_DIR_NAME, empty_dir={}))
        spec.containers[0].volume_mounts = [*(spec.containers[0].volume_mounts or []),
                                            VolumeMount(EMPTY_DIR_NAME, state.empty_dir_mount_path.strip())]
    if state.dns_servers.strip():
        from ..spec.advanced import DnsConfig

        spec.dns_config = DnsConfig(_lines(state.dns_servers))
    if state.log_type and spec.diagnostics is not None and spec.diagnostics.log_analytics is not None:
        spec.diagnostics.log_analytics.log_type = state.log_type
    return problems


def features_from_spec(spec: Any) -> FeatureState:
    """The sections' values for a spec (what they can show: az's volumes, identity, subnet, sku...)."""
    state = FeatureState()
    volumes = {volume.name: volume for volume in spec.volumes}
    mount_paths = {m.name: m.mount_path for m in (spec.containers[0].volume_mounts or [])} if spec.containers else {}
    azure = volumes.get(AZURE_FILE_VOLUME_NAME)
    if azure is not None and azure.azure_file is not None:
        state.azure_file_share = azure.azure_file.share_name or ""
        state.azure_file_account = azure.azure_file.storage_account_name or ""
        state.azure_file_key = reveal(azure.azure_file.storage_account_key or "")
        state.azure_file_mount_path = mount_paths.get(AZURE_FILE_VOLUME_NAME, "")
    git = volumes.get(GITREPO_VOLUME_NAME)
    if git is not None and git.git_repo is not None:
        state.gitrepo_url, state.gitrepo_dir = git.git_repo.repository or "", git.git_repo.directory or ""
        state.gitrepo_revision = git.git_repo.revision or ""
        state.gitrepo_mount_path = mount_paths.get(GITREPO_VOLUME_NAME, "")
    if EMPTY_DIR_NAME in volumes:
        state.empty_dir_mount_path = mount_paths.get(EMPTY_DIR_NAME, "")
    if SECRETS_VOLUME_NAME in volumes:
        state.secrets_mount_path = mount_paths.get(SECRETS_VOLUME_NAME, "")
        # the values are base64 in the spec; the section takes them as typed (az --secrets): decode for display
        import base64

        decoded = []
        for key, value in (volumes[SECRETS_VOLUME_NAME].secret or {}).items():
            try:
                decoded.append(f"{key}={base64.b64decode(reveal(value or '')).decode('utf-8')}")
            except ValueError:
                decoded.append(f"{key}=")
        state.secrets = "\n".join(decoded)
    if spec.identity is not None:
        state.system_identity = spec.identity.system
        state.user_identities = "\n".join(spec.identity.user_assigned)
    if spec.subnet_ids:
        state.subnet = spec.subnet_ids[0].id or ""
    state.zone = (spec.zones or [""])[0]
    if spec.dns_config is not None:
        state.dns_servers = ", ".join(spec.dns_config.name_servers or [])
    if spec.registry_credentials:
        credential = spec.registry_credentials[0]
        state.registry_server, state.registry_username = credential.server, credential.username or ""
        state.registry_password = reveal(credential.password or "")
        state.acr_identity = credential.identity or ""
    log = spec.diagnostics.log_analytics if spec.diagnostics is not None else None
    if log is not None:
        state.workspace_id, state.workspace_key = log.workspace_id or "", reveal(log.workspace_key or "")
        state.log_type = log.log_type or ""
    state.sku, state.priority = spec.sku or "", spec.priority or ""
    state.cce_policy = (spec.confidential.cce_policy or "") if spec.confidential is not None else ""
    return state


_VOLUME_SLOTS = {AZURE_FILE_VOLUME_NAME: {"share_name": "azure_file_share", "storage_account_name":
                                          "azure_file_account", "storage_account_key": "azure_file_key"},
                 GITREPO_VOLUME_NAME: {"repository": "gitrepo_url", "directory": "gitrepo_dir"}}
_MOUNT_SLOTS = {AZURE_FILE_VOLUME_NAME: "azure_file_mount_path", SECRETS_VOLUME_NAME: "secrets_mount_path",
                GITREPO_VOLUME_NAME: "gitrepo_mount_path", EMPTY_DIR_NAME: "empty_dir_mount_path"}
_PREFIX_SLOTS = (("identity", "user_identities"), ("subnet_ids", "subnet"), ("zones", "zone"),
                 ("dns_config", "dns_servers"), ("diagnostics.log_analytics.workspace_id", "workspace_id"),
                 ("diagnostics.log_analytics.workspace_key", "workspace_key"),
                 ("diagnostics.log_analytics.log_type", "log_type"), ("sku", "sku"), ("priority", "priority"),
                 ("confidential", "cce_policy"), ("init_containers", "other"), ("extensions", "other"),
                 ("encryption", "other"))


def feature_slot(path: str, spec: Any) -> str | None:
    """The section field that shows the problem at ``path`` (``features.azure_file_mount_path``), or None."""
    if path.startswith("features."):
        return path
    mount = re.match(r"^containers\[(\d+)\]\.volume_mounts\[(\d+)\]", path)
    if mount and spec is not None:
        try:
            name = spec.containers[int(mount.group(1))].volume_mounts[int(mount.group(2))].name
        except (IndexError, TypeError, AttributeError):
            name = ""
        return f"features.{_MOUNT_SLOTS.get(name, 'other')}"
    volume = re.match(r"^volumes\[(\d+)\](?:\.(\w+))?(?:\.(\w+))?", path)
    if volume:
        try:
            name = spec.volumes[int(volume.group(1))].name
        except (IndexError, TypeError, AttributeError):
            name = ""
        if name == SECRETS_VOLUME_NAME:
            return "features.secrets"
        return f"features.{_VOLUME_SLOTS.get(name, {}).get(volume.group(3) or '', _MOUNT_SLOTS.get(name, 'other'))}"
    if path == "volumes":
        return "features.azure_file_share"
    registry = re.match(r"^registry_credentials\[\d+\]\.(\w+)", path)
    if registry:
        return "features." + {"server": "registry_server", "username": "registry_username",
                              "password": "registry_password", "identity": "acr_identity"}.get(registry.group(1),
                                                                                               "registry_server")
    if path in ("ip_address_type", "dns_name_label") and spec is not None and spec.subnet_ids:
        return None  # shown at the group's own IP fields
    for prefix, slot in _PREFIX_SLOTS:
        if path == prefix or path.startswith((prefix + ".", prefix + "[")):
            return f"features.{slot}"
    return None


_MANAGED_VOLUMES = (AZURE_FILE_VOLUME_NAME, SECRETS_VOLUME_NAME, GITREPO_VOLUME_NAME, EMPTY_DIR_NAME)


def keep_unshown(spec: Any, kept: Any) -> None:
    """Put back into ``spec`` what a loaded group had that no form field shows (init containers, probes, GPU,
    other volumes and their mounts, extensions, encryption...), so that editing a group never drops them."""
    import copy

    if kept is None:
        return
    for attr in ("init_containers", "extensions", "encryption", "dns_name_label_scope", "ip", "extra"):
        if getattr(kept, attr) and not getattr(spec, attr):
            setattr(spec, attr, copy.deepcopy(getattr(kept, attr)))
    if len(kept.registry_credentials) > 1 and len(spec.registry_credentials) <= 1:  # the section shows the first
        spec.registry_credentials = [*spec.registry_credentials, *copy.deepcopy(kept.registry_credentials[1:])]
    others = [volume for volume in kept.volumes if volume.name not in _MANAGED_VOLUMES]
    spec.volumes = [*spec.volumes, *copy.deepcopy(others)]
    other_names = {volume.name for volume in others}
    by_name = {container.name: container for container in kept.containers}
    for index, container in enumerate(spec.containers):
        old = by_name.get(container.name)
        if old is None:
            continue
        for attr in ("liveness_probe", "readiness_probe", "security_context", "gpu", "gpu_limit", "extra",
                     "cpu_limit", "memory_limit_gb"):
            if getattr(old, attr) and not getattr(container, attr):
                setattr(container, attr, copy.deepcopy(getattr(old, attr)))
        mounts = [m for m in old.volume_mounts or [] if m.name in other_names or index > 0]
        if mounts:
            container.volume_mounts = [*(container.volume_mounts or []), *copy.deepcopy(mounts)]
