"""ACI's rules for the rest of the 2023-05-01 group (issue 18): volume kinds and mounts, VNet, Spot, zones, GPU,
identity and registry identity, probes, init containers, Windows limits, confidential, DNS configuration,
encryption, diagnostics and extensions. ``validate_features`` runs after the basic checks of ``group.py`` on the
canonical body; it raises the first problem as ACI does (one ``ArmError``).

Codes marked [seen] are the ones Azure answers (sources in docs/reference/aci-group-model.md, rule ids in
brackets); the others are **proposed** there and listed as emulator-chosen in COVERAGE.md.
"""

from __future__ import annotations

from typing import Any

from .... import rules
from ... import errors
from .body import _dict, _list, _short, _str, invalid_content

IDENTITY_TYPES = ("SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned", "None")
LOG_TYPES = ("ContainerInsights", "ContainerInstanceLogs")


def _bad(code: str, message: str, target: str | None = None) -> errors.ArmError:
    return errors.bad_request(code, message, target=target)


def validate_features(name: str, body: dict[str, Any], props: dict[str, Any]) -> None:
    linux = props["osType"] == "Linux"
    _check_volumes(name, props, linux)
    for kind in ("containers", "initContainers"):
        for index, container in enumerate(props.get(kind) or []):
            _check_mounts(name, container, f"properties.{kind}[{index}]", props)
    for index, container in enumerate(props["containers"]):
        _check_container_extras(name, container, f"properties.containers[{index}]", props, body, linux)
    if len(props.get("initContainers") or []) > rules.MAX_INIT_CONTAINERS:  # [I2]
        raise _bad("InitContainersLimitExceeded",  # proposed
                   f"The container group '{name}' has {len(props['initContainers'])} init containers; the limit "
                   f"is {rules.MAX_INIT_CONTAINERS}.")
    if not linux and len(props["containers"]) > 1:  # [N11]
        raise _bad("WindowsMultiContainerNotSupported",  # proposed
                   f"The container group '{name}' has {len(props['containers'])} containers. Windows container "
                   "groups support a single container.")
    _check_network(name, body, props, linux)
    _check_identity(name, body, props, linux)
    _check_others(name, props, linux)


def _check_volumes(name: str, props: dict[str, Any], linux: bool) -> None:
    for index, volume in enumerate(props.get("volumes") or []):
        path = f"properties.volumes[{index}]"
        kinds = [kind for kind in ("azureFile", "emptyDir", "secret", "gitRepo") if volume.get(kind) is not None]
        if len(kinds) != 1:  # [V2]
            raise _bad("InvalidVolume",  # proposed
                       f"The volume '{volume['name']}' in container group '{name}' must have exactly one of "
                       "'azureFile', 'emptyDir', 'secret' or 'gitRepo'.", target=path)
        if not linux:  # [V14] [seen]
            raise _bad("WindowsContainersVolumeNotSupported",
                       f"{_kind_text(kinds[0])} volumes are not supported for Windows containers.", target=path)
        if "azureFile" in kinds:  # [V8]
            azure = _dict(volume["azureFile"], f"{path}.azureFile")
            # storageAccountKey is optional in ACI's 2023-05-01 schema (az and terraform require it: the client does)
            for key in ("shareName", "storageAccountName"):
                if not _str(azure.get(key), f"{path}.azureFile.{key}", required=False, secret=True):
                    raise _bad("InvalidAzureFileVolume",  # proposed
                               f"The '{key}' of Azure File volume '{volume['name']}' in container group '{name}' "
                               "is required.", target=f"{path}.azureFile.{key}")
        if "secret" in kinds:  # [V10] [V11]: never the value
            for key, value in _dict(volume["secret"], f"{path}.secret").items():
                text = _str(value, f"{path}.secret.{key}", required=False, secret=True)
                if rules.check_secret_file_name(key) or not rules.is_base64(text):
                    raise _bad("InvalidSecretVolume",  # proposed
                               f"The secret value of '{key}' in volume '{volume['name']}' is not valid base64 "
                               "or its name is not a file name.", target=f"{path}.secret")
        if "gitRepo" in kinds:  # [V12]
            repo = _dict(volume["gitRepo"], f"{path}.gitRepo")
            url = _str(repo.get("repository"), f"{path}.gitRepo.repository", secret=True)
            directory = _str(repo.get("directory"), f"{path}.gitRepo.directory", required=False)
            if rules.check_git_repository(url) or rules.check_git_directory(directory):
                raise _bad("InvalidGitRepoVolume",  # proposed; the URL is never echoed (it may hold a token)
                           f"The git repo volume '{volume['name']}' in container group '{name}' is invalid: the "
                           "repository must be an http(s) URL and the directory cannot contain '..'.",
                           target=f"{path}.gitRepo")


def _kind_text(kind: str) -> str:
    return {"azureFile": "Azure file", "emptyDir": "Empty directory", "secret": "Secret",
            "gitRepo": "Git repo"}[kind]


def _check_mounts(name: str, container: dict[str, Any], path: str, props: dict[str, Any]) -> None:
    volumes = {volume["name"] for volume in props.get("volumes") or []}
    mounts = container["properties"].get("volumeMounts") or []
    missing = [mount["name"] for mount in mounts if mount["name"] not in volumes]
    if missing:  # [V1] [seen]
        raise _bad("VolumesNotFound", f"Volumes '{','.join(missing)}' in container '{container['name']}' are not "
                                      "found.", target=f"{path}.properties.volumeMounts")
    seen: set[str] = set()
    for mount in mounts:
        mount_path = mount["mountPath"]
        problem = rules.check_mount_path(mount_path)
        if problem:  # [V4] [seen] (':'), [V5] proposed (not absolute)
            reason = "It can't contain ':'." if ":" in mount_path else "It must be an absolute path."
            raise _bad("InvalidVolumeMountPath", f"The volume mount path '{mount_path}' in container "
                                                 f"'{container['name']}' is invalid. {reason}",
                       target=f"{path}.properties.volumeMounts")
        if mount_path in seen:  # [V6] proposed
            raise _bad("DuplicateVolumeMountPath", f"The volume mount path '{mount_path}' is used more than once "
                                                   f"in container '{container['name']}'.",
                       target=f"{path}.properties.volumeMounts")
        seen.add(mount_path)


def _check_container_extras(name: str, container: dict[str, Any], path: str, props: dict[str, Any],
                            body: dict[str, Any], linux: bool) -> None:
    cprops = container["properties"]
    for probe_key in ("livenessProbe", "readinessProbe"):
        if cprops.get(probe_key) is None:
            continue
        probe = _dict(cprops[probe_key], f"{path}.properties.{probe_key}")
        actions = [key for key in ("exec", "httpGet") if probe.get(key) is not None]
        if len(actions) != 1:  # [B1] proposed
            raise _bad("InvalidProbe", f"The {probe_key} of container '{container['name']}' in container group "
                                       f"'{name}' must have exactly one of 'exec' or 'httpGet'.",
                       target=f"{path}.properties.{probe_key}")
        if "httpGet" in actions:  # [B3]
            port = _dict(probe["httpGet"], f"{path}.properties.{probe_key}.httpGet").get("port")
            if port is None:
                raise invalid_content(f"{path}.properties.{probe_key}.httpGet",
                                      "Required property 'port' not found in JSON.")
    for part in ("requests", "limits"):
        gpu = (cprops["resources"].get(part) or {}).get("gpu")
        if gpu is None:
            continue
        gpu = _dict(gpu, f"{path}.properties.resources.{part}.gpu")
        sku = rules.canonical_choice(str(gpu.get("sku")), rules.GPU_SKUS)
        if sku is None:  # [G2]: the enum does not deserialize
            raise invalid_content(f"{path}.properties.resources.{part}.gpu.sku",
                                  f"Error converting value {_short(gpu.get('sku'))} to type 'GpuSku'.")
        problem = rules.check_gpu(gpu.get("count"), sku)
        reason = (problem or ("GPU resources are only offered for Linux container groups" if not linux else None)
                  or ("GPU resources can't be used in a virtual network" if props.get("subnetIds") else None)
                  or ("container groups with GPU resources don't support availability zones"
                      if body.get("zones") else None))
        if reason:  # [G1] [G3] [G5] [G7] proposed
            raise _bad("InvalidGpuResource", f"The GPU resource of container '{container['name']}' in container "
                                             f"group '{name}' is invalid: {reason}.",
                       target=f"{path}.properties.resources.{part}.gpu")


def _check_network(name: str, body: dict[str, Any], props: dict[str, Any], linux: bool) -> None:
    subnets = _list(props.get("subnetIds"), "properties.subnetIds")
    ip = props.get("ipAddress") or None
    if len(subnets) > 1:  # [K4] proposed
        raise _bad("InvalidSubnetIds", f"The container group '{name}' can join at most one subnet.",
                   target="properties.subnetIds")
    for index, subnet in enumerate(subnets):
        subnet_id = _str(_dict(subnet, f"properties.subnetIds[{index}]").get("id"), f"properties.subnetIds[{index}].id")
        if rules.check_subnet_id(subnet_id):  # [K5]
            raise _bad("InvalidSubnetId", f"The subnet id '{subnet_id}' of container group '{name}' is not a subnet "
                                          "resource id.", target=f"properties.subnetIds[{index}].id")
    if subnets and ip is not None and (ip.get("type") == "Public" or ip.get("dnsNameLabel")):  # [K2] message seen
        raise _bad("PublicIPAddressNotSupported", "IP Address type can't be public when network profile is set.",
                   target="properties.ipAddress")
    if subnets and not linux:  # [K3]
        raise _bad("VirtualNetworkNotSupportedForWindows",  # proposed
                   f"The container group '{name}' is a Windows group; only Linux container groups can be deployed "
                   "to a virtual network.", target="properties.subnetIds")
    zones = body.get("zones")
    if zones is not None:
        zones = _list(zones, "zones")
        if len(zones) > 1:  # [Z1] [seen]
            raise _bad("ResourceTypeNotSupportMultiZones",
                       "The resource type 'containerGroups' does not support multiple availability zones. The "
                       f"provided zones are '{','.join(map(str, zones))}'. Please provide a single availability "
                       "zone.", target="zones")
        if rules.check_zones([str(zone) for zone in zones]):  # [Z3] proposed
            raise _bad("InvalidAvailabilityZone", f"The availability zone '{zones[0]}' is not supported.",
                       target="zones")
    if props.get("priority") == "Spot":  # [Y1] proposed
        reason = ("an IP address" if ip is not None else "a virtual network" if subnets else
                  "the Confidential sku" if props.get("sku") == "Confidential" else
                  "availability zones" if zones else None)
        if reason:
            raise _bad("SpotPriorityNotSupported", f"Spot container group '{name}' can't use {reason}.",
                       target="properties.priority")


def _check_identity(name: str, body: dict[str, Any], props: dict[str, Any], linux: bool) -> None:
    identity = body.get("identity")
    users: set[str] = set()
    if identity is not None:
        identity = _dict(identity, "identity")
        given = _str(identity.get("type"), "identity.type", required=False)
        kind = next((choice for choice in IDENTITY_TYPES
                     if given is not None and choice.replace(" ", "").lower() == given.replace(" ", "").lower()), None)
        if kind is None:  # [M1] closed enum
            raise invalid_content("identity.type", f"Error converting value {_short(given)} to type "
                                                   "'ResourceIdentityType'.")
        user_map = _dict(identity.get("userAssignedIdentities"), "identity.userAssignedIdentities", required=False)
        if ("UserAssigned" in kind) != bool(user_map):  # [M2]
            raise _bad("InvalidIdentity",  # proposed (ARM's identity errors are not ACI-specific)
                       f"The identity of container group '{name}' is invalid: userAssignedIdentities are required "
                       "exactly when the type includes UserAssigned.", target="identity")
        for key in user_map:
            if rules.check_user_identity_id(key):
                raise _bad("InvalidIdentity", f"The user-assigned identity '{key}' of container group '{name}' is "
                                              "not an identity resource id.", target="identity.userAssignedIdentities")
        if "SystemAssigned" in kind and not linux:  # [M3] message seen
            raise _bad("MsiNotSupportedForWindows",
                       "Managed service identity is not supported for Windows container groups.", target="identity")
        users = {key.lower() for key in user_map}
    for index, credential in enumerate(props.get("imageRegistryCredentials") or []):
        ident = credential.get("identity")
        if ident is not None and str(ident).lower() not in users:  # [A3] proposed
            raise _bad("InvalidImageRegistryCredentialIdentity",
                       f"The identity '{ident}' of image registry credential '{credential.get('server')}' is not a "
                       f"user-assigned identity of container group '{name}'.",
                       target=f"properties.imageRegistryCredentials[{index}].identity")
        if ident is None and credential.get("identityUrl") is None and credential.get("username") is None:  # [A2]
            raise _bad("InvalidImageRegistryCredential",  # proposed
                       f"The image registry credential '{credential.get('server')}' of container group '{name}' "
                       "needs a username and password or an identity.",
                       target=f"properties.imageRegistryCredentials[{index}]")


def _check_others(name: str, props: dict[str, Any], linux: bool) -> None:
    sku = props.get("sku")
    cce = (props.get("confidentialComputeProperties") or {}).get("ccePolicy") \
        if isinstance(props.get("confidentialComputeProperties"), dict) else None
    if sku == "Confidential" and not linux:  # [C1] proposed
        raise _bad("ConfidentialSkuNotSupportedForWindows",
                   f"The Confidential sku of container group '{name}' is for Linux container groups only.",
                   target="properties.sku")
    if cce and sku != "Confidential":  # [C2] proposed
        raise _bad("InvalidCcePolicy", f"A CCE policy is only valid for Confidential container groups ('{name}').",
                   target="properties.confidentialComputeProperties")
    if cce and not rules.is_base64(str(cce)):
        raise _bad("InvalidCcePolicy", f"The CCE policy of container group '{name}' is not valid base64.",
                   target="properties.confidentialComputeProperties.ccePolicy")
    dns = props.get("dnsConfig")
    if dns is not None and not _list(_dict(dns, "properties.dnsConfig").get("nameServers"),
                                     "properties.dnsConfig.nameServers"):  # [DN1]
        raise invalid_content("properties.dnsConfig", "Required property 'nameServers' not found in JSON.")
    encryption = props.get("encryptionProperties")
    if encryption is not None:  # [EN1]
        encryption = _dict(encryption, "properties.encryptionProperties")
        for key in ("vaultBaseUrl", "keyName", "keyVersion"):
            _str(encryption.get(key), f"properties.encryptionProperties.{key}")
    diagnostics = props.get("diagnostics")
    if diagnostics is not None:  # [L1]
        log = _dict(_dict(diagnostics, "properties.diagnostics").get("logAnalytics"),
                    "properties.diagnostics.logAnalytics", required=False)
        if log:
            _str(log.get("workspaceId"), "properties.diagnostics.logAnalytics.workspaceId")
            _str(log.get("workspaceKey"), "properties.diagnostics.logAnalytics.workspaceKey", secret=True)
            log_type = log.get("logType")
            if log_type is not None and rules.canonical_choice(str(log_type), LOG_TYPES) is None:
                raise invalid_content("properties.diagnostics.logAnalytics.logType",
                                      f"Error converting value {_short(log_type)} to type 'LogAnalyticsLogType'.")
    for index, extension in enumerate(_list(props.get("extensions"), "properties.extensions")):  # [E1]
        extension = _dict(extension, f"properties.extensions[{index}]")
        _str(extension.get("name"), f"properties.extensions[{index}].name")
        inner = _dict(extension.get("properties"), f"properties.extensions[{index}].properties")
        for key in ("extensionType", "version"):
            _str(inner.get(key), f"properties.extensions[{index}].properties.{key}")
