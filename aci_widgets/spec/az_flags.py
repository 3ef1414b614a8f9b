"""``az container create``'s flags for volumes, identity, VNet, diagnostics, registry identity, sku, priority,
zone and confidential policy, applied to a one-container ``GroupSpec`` with az's names and meanings (section 3 of
docs/reference/aci-group-model.md). The magics and the form both build through ``apply_az_options``, so that a
flag and a form field give the same group and the same messages.

``apply_az_options`` raises ``InvalidInput`` keyed by flag for combinations az refuses (az's own words where
it has them); the values themselves are checked by ``spec.problems()`` afterwards. No message shows a secret,
nor a gitRepo URL (it may hold a token).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput
from ..secrets import Secret
from .advanced import Confidential, Diagnostics, LogAnalytics, SubnetId
from .identity import identity_from_flags
from .parts import RegistryCredential
from .volumes import (
    AZURE_FILE_VOLUME_NAME,
    GITREPO_VOLUME_NAME,
    SECRETS_VOLUME_NAME,
    VolumeMount,
    azure_file_volume,
    git_repo_volume,
    secrets_volume,
)

AZURE_FILE_FLAGS = ("--azure-file-volume-share-name", "--azure-file-volume-account-name",
                    "--azure-file-volume-account-key")


@dataclass
class AzOptions:
    """The flags' values (``None`` = not given); ``subscription``/``resource_group`` resolve bare names."""

    azure_file_share: str | None = None
    azure_file_account: str | None = None
    azure_file_key: str | None = None
    azure_file_mount_path: str | None = None
    secrets: list[tuple[str, str]] = field(default_factory=list)
    secrets_mount_path: str | None = None
    gitrepo_url: str | None = None
    gitrepo_dir: str | None = None
    gitrepo_revision: str | None = None
    gitrepo_mount_path: str | None = None
    assign_identity: list[str] | None = None
    vnet: str | None = None
    subnet: str | None = None
    log_analytics_workspace: str | None = None
    log_analytics_workspace_key: str | None = None
    acr_identity: str | None = None
    sku: str | None = None
    priority: str | None = None
    zone: str | None = None
    cce_policy: str | None = None
    subscription: str | None = None
    resource_group: str | None = None

    def needs_subscription(self) -> bool:
        """A bare VNet or identity name is turned into a resource id with the subscription (as az does)."""
        return any(value and not value.startswith("/") for value in (self.vnet, self.acr_identity)) or \
            bool(self.subnet and not self.subnet.startswith("/") and self.vnet and not self.vnet.startswith("/"))


def combination_problems(options: AzOptions, *, ip_address: str | None, dns_name_label: str | None) -> dict[str, str]:
    """What az refuses before any request, keyed by flag."""
    problems: dict[str, str] = {}
    o = options
    if o.azure_file_share or o.azure_file_account or o.azure_file_key:
        if not o.azure_file_account:
            problems["--azure-file-volume-account-name"] = ("Please specify --azure-file-volume-account-name in "
                                                            "order to use Azure File volume.")
        elif not o.azure_file_key:
            problems["--azure-file-volume-account-key"] = ("Please specify --azure-file-volume-account-key in "
                                                           "order to use Azure File volume.")
        elif not o.azure_file_share:
            problems["--azure-file-volume-share-name"] = ("Please specify --azure-file-volume-share-name in "
                                                          "order to use Azure File volume.")
        elif not o.azure_file_mount_path:
            problems["--azure-file-volume-mount-path"] = "is required to mount the Azure File volume"
    elif o.azure_file_mount_path:
        problems["--azure-file-volume-mount-path"] = (
            "Please specify --azure-file-volume-share-name --azure-file-volume-account-name "
            "--azure-file-volume-account-key to enable Azure File volume mount.")
    if o.secrets and not o.secrets_mount_path:
        problems["--secrets"] = "Please specify --secrets --secrets-mount-path to enable secrets volume mount."
    elif o.secrets_mount_path and not o.secrets:
        problems["--secrets-mount-path"] = "needs --secrets k=v (the files of the secrets volume)"
    if o.gitrepo_url and not o.gitrepo_mount_path:
        problems["--gitrepo-mount-path"] = "is required to mount the git repo volume"
    elif not o.gitrepo_url and (o.gitrepo_mount_path or o.gitrepo_dir or o.gitrepo_revision):
        flag = "--gitrepo-mount-path" if o.gitrepo_mount_path else ("--gitrepo-dir" if o.gitrepo_dir
                                                                     else "--gitrepo-revision")
        problems[flag] = ("Please specify --gitrepo-url (--gitrepo-dir --gitrepo-revision) to enable Git Repo "
                          "volume mount.")
    if o.vnet or o.subnet:
        if o.vnet and not o.subnet or o.subnet and not o.subnet.startswith("/") and not o.vnet:
            problems["--subnet" if o.vnet else "--vnet"] = ("usage error: --vnet NAME --subnet NAME | --vnet ID "
                                                            "--subnet NAME | --subnet ID")
        if dns_name_label:
            problems["--dns-name-label"] = 'Can not use "--subnet" or "--vnet" with "--dns-name-label".'
        elif (ip_address or "").lower() == "public":
            problems["--ip-address"] = 'Can not use "--subnet" or "--vnet" with IP address type "Public".'
    if o.log_analytics_workspace_key and not o.log_analytics_workspace:
        problems["--log-analytics-workspace-key"] = ('"--log-analytics-workspace-key" requires '
                                                     '"--log-analytics-workspace".')
    elif o.log_analytics_workspace and not o.log_analytics_workspace_key:
        problems["--log-analytics-workspace-key"] = ("is required: looking the workspace up by name needs the "
                                                     "Log Analytics API, which aci-widgets does not call")
    if o.cce_policy is not None and (o.sku or "").lower() != "confidential":
        problems["--cce-policy"] = "needs --sku Confidential (az drops the policy otherwise)"
    return problems


def apply_az_options(spec: Any, options: AzOptions, *, image: str | None = None) -> Any:
    """Apply the flags to ``spec`` (one container, as ``GroupSpec.single`` builds it); returns the spec."""
    problems = combination_problems(options, ip_address=spec.ip_address_type, dns_name_label=spec.dns_name_label)
    o = options
    if o.acr_identity:
        server = next((cred.server for cred in spec.registry_credentials), None) or _acr_server(image or "")
        if not server:
            problems["--acr-identity"] = ("Failed to parse login server from image name; please explicitly "
                                          "specify --registry-login-server.")
    if problems:
        raise InvalidInput(problems)
    container = spec.containers[0]
    mounts: list[VolumeMount] = list(container.volume_mounts or [])
    if o.azure_file_share:
        spec.volumes.append(azure_file_volume(o.azure_file_share, o.azure_file_account or "",
                                              Secret(o.azure_file_key or "")))
        mounts.append(VolumeMount(AZURE_FILE_VOLUME_NAME, o.azure_file_mount_path or ""))
    if o.secrets:
        spec.volumes.append(secrets_volume(o.secrets))
        mounts.append(VolumeMount(SECRETS_VOLUME_NAME, o.secrets_mount_path or ""))
    if o.gitrepo_url:
        spec.volumes.append(git_repo_volume(o.gitrepo_url, o.gitrepo_dir or ".", o.gitrepo_revision))
        mounts.append(VolumeMount(GITREPO_VOLUME_NAME, o.gitrepo_mount_path or ""))
    if mounts:
        container.volume_mounts = mounts
    if o.assign_identity is not None:
        spec.identity = identity_from_flags(o.assign_identity)
    if o.vnet or o.subnet:
        spec.subnet_ids = [SubnetId(_subnet_id(o))]
        if spec.ip_address_type is None and container.ports:
            spec.ip_address_type = "Private"  # az: a subnet without --ip-address Public gives a private IP
    if o.log_analytics_workspace:
        spec.diagnostics = Diagnostics(LogAnalytics(o.log_analytics_workspace,
                                                    Secret(o.log_analytics_workspace_key or "")))
    if o.acr_identity:
        identity = _identity_id(o.acr_identity, o)
        if spec.registry_credentials:
            spec.registry_credentials[0].identity = identity
            if not spec.registry_credentials[0].password:
                spec.registry_credentials[0].password = None
        else:
            spec.registry_credentials = [RegistryCredential(_acr_server(image or ""), None, None, identity=identity)]
    if o.sku is not None:
        spec.sku = o.sku
        if o.sku.lower() == "confidential":  # az compares case-sensitively; ACI's enums do not, nor do we
            spec.confidential = Confidential(o.cce_policy)
    if o.priority is not None:
        spec.priority = o.priority
    if o.zone is not None:
        spec.zones = [o.zone]
    spec.__post_init__()  # canonical spellings of sku / priority
    return spec


def _acr_server(image: str) -> str | None:
    host = image.split("/", 1)[0] if "/" in image else ""
    return host if host.lower().endswith(".azurecr.io") else None


def _subnet_id(o: AzOptions) -> str:
    if o.subnet and o.subnet.startswith("/"):
        return o.subnet
    vnet = o.vnet or ""
    if not vnet.startswith("/"):
        vnet = (f"/subscriptions/{o.subscription or '{subscription}'}/resourceGroups/"
                f"{o.resource_group or '{resource-group}'}/providers/Microsoft.Network/virtualNetworks/{vnet}")
    return f"{vnet}/subnets/{o.subnet}"


def _identity_id(value: str, o: AzOptions) -> str:
    if value.startswith("/") or value.lower() == "[system]":
        return value
    return (f"/subscriptions/{o.subscription or '{subscription}'}/resourceGroups/{o.resource_group or '{rg}'}"
            f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{value}")


# -- the other way: a spec as az container create flags (to_az) -------------------------------------------


def az_feature_flags(spec: Any) -> tuple[list[list[str]], str | None]:
    """``(flag groups, None)`` for the parts az's flags can express, or ``([], reason)`` when one cannot be."""
    from .parts import secret_placeholder
    from .volumes import url_userinfo, url_with_userinfo

    container = spec.containers[0]
    if spec.init_containers:
        return [], "The group has init containers"
    for attr, what in (("liveness_probe", "probes"), ("readiness_probe", "probes"),
                       ("security_context", "a security context"), ("gpu", "a GPU"), ("gpu_limit", "a GPU")):
        if getattr(container, attr) is not None:
            return [], f"The container has {what}"
    for attr, what in (("dns_config", "a DNS configuration"), ("encryption", "encryption properties"),
                       ("extensions", "extensions"), ("dns_name_label_scope", "a DNS name reuse scope")):
        if getattr(spec, attr):
            return [], f"The group has {what}"
    if spec.extra or container.extra or any(volume.extra for volume in spec.volumes):
        return [], "The group has properties of another api-version"
    flags: list[list[str]] = []
    mounts = {mount.name: mount for mount in container.volume_mounts or []}
    if len(mounts) != len(container.volume_mounts or []) or set(mounts) != {v.name for v in spec.volumes} \
            or any(mount.read_only is not None for mount in mounts.values()):
        return [], "The volumes are mounted in a way az's flags cannot express"
    for volume in spec.volumes:
        path = mounts[volume.name].mount_path
        if volume.name == AZURE_FILE_VOLUME_NAME and volume.kinds == ["azureFile"] and \
                volume.azure_file.read_only is None:
            flags.append(["--azure-file-volume-share-name", volume.azure_file.share_name or "",
                          "--azure-file-volume-account-name", volume.azure_file.storage_account_name or "",
                          "--azure-file-volume-account-key",
                          secret_placeholder(f"volumes[{volume.name}].azureFile.storageAccountKey"),
                          "--azure-file-volume-mount-path", path])
        elif volume.name == SECRETS_VOLUME_NAME and volume.kinds == ["secret"]:
            flags.append(["--secrets", *(f"{key}=<secret: {key} (az base64-encodes it)>" for key in volume.secret),
                          "--secrets-mount-path", path])
        elif volume.name == GITREPO_VOLUME_NAME and volume.kinds == ["gitRepo"]:
            url = volume.git_repo.repository or ""
            if url_userinfo(url):
                url = url_with_userinfo(url, secret_placeholder("gitRepo URL userinfo"))
            group = ["--gitrepo-url", url]
            if volume.git_repo.directory not in (None, "."):
                group += ["--gitrepo-dir", volume.git_repo.directory]
            if volume.git_repo.revision:
                group += ["--gitrepo-revision", volume.git_repo.revision]
            flags.append([*group, "--gitrepo-mount-path", path])
        else:
            return [], f"The volume '{volume.name}' is not one az's flags create (azurefile, secrets, gitrepo)"
    if spec.identity is not None:
        values = (["[system]"] if spec.identity.system and spec.identity.user_assigned else []) + \
            list(spec.identity.user_assigned)
        flags.append(["--assign-identity", *values])
    if spec.subnet_ids:
        if len(spec.subnet_ids) > 1:
            return [], "The group has several subnets"
        flags.append(["--subnet", spec.subnet_ids[0].id or ""])
    log = spec.diagnostics.log_analytics if spec.diagnostics is not None else None
    if spec.diagnostics is not None:
        if log is None or log.log_type or log.metadata or log.workspace_resource_id:
            return [], "The diagnostics have settings az's flags cannot express"
        flags.append(["--log-analytics-workspace", log.workspace_id or "", "--log-analytics-workspace-key",
                      secret_placeholder("diagnostics.logAnalytics.workspaceKey")])
    for credential in spec.registry_credentials:
        if credential.identity is not None:
            flags.append(["--acr-identity", credential.identity])
        break
    if spec.sku is not None:
        flags.append(["--sku", spec.sku])
    if spec.confidential is not None and spec.confidential.cce_policy:
        flags.append(["--cce-policy", spec.confidential.cce_policy])
    if spec.priority is not None:
        flags.append(["--priority", spec.priority])
    if spec.zones:
        if len(spec.zones) > 1:
            return [], "The group has several zones"
        flags.append(["--zone", spec.zones[0]])
    return flags, None
