"""Where a group holds secrets, and what an export writes instead of them.

ACI never returns these on a GET: secure environment values (containers and init containers), registry
passwords, Azure Files storage account keys, secret volume contents, the Log Analytics workspace key and an
extension's protected settings. A token in a gitRepo URL (``https://user:token@host/...``) is not marked
secret by ACI but is one, so it is treated the same way. ``masked_copy`` puts a placeholder naming the field
in each (``<secret: volumes[outputs].azureFile.storageAccountKey>``); ``placeholder_paths`` lists the ones a
spec still holds, so that ``problems()`` asks the user to fill them in; ``secret_values`` gives the real
values for redaction.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from ..secrets import Secret, reveal
from .model import carried_paths
from .parts import is_placeholder, password_placeholder, secret_placeholder, secure_placeholder
from .volumes import url_userinfo, url_with_userinfo

UNKNOWN_FILE = "<file name>"
UNKNOWN_SETTING = "<setting name>"


def _walk(spec: Any) -> Iterator[tuple[str, Any, str, Any]]:
    """``(field path, owner, attribute or key, Secret)`` for each secret slot that is set."""
    for kind, items in (("containers", spec.containers), ("init_containers", spec.init_containers)):
        for index, container in enumerate(items):
            for position, var in enumerate(container.env):
                if var.secure:
                    yield f"{kind}[{index}].env[{position}].value", var, "value", var.value
    for index, cred in enumerate(spec.registry_credentials):
        if cred.password is not None and (cred.password.reveal() or cred.identity is None):
            yield f"registry_credentials[{index}].password", cred, "password", cred.password
    for index, volume in enumerate(spec.volumes):
        if volume.azure_file is not None and volume.azure_file.storage_account_key is not None:
            yield (f"volumes[{index}].azure_file.storage_account_key", volume.azure_file, "storage_account_key",
                   volume.azure_file.storage_account_key)
        for key, value in (volume.secret or {}).items():
            yield f"volumes[{index}].secret[{key}]", volume.secret, key, value
    log = spec.diagnostics.log_analytics if spec.diagnostics is not None else None
    if log is not None and log.workspace_key is not None:
        yield "diagnostics.log_analytics.workspace_key", log, "workspace_key", log.workspace_key
    for index, extension in enumerate(spec.extensions or []):
        for key, value in (extension.protected_settings or {}).items():
            yield f"extensions[{index}].protected_settings[{key}]", extension.protected_settings, key, value


def secret_values(spec: Any) -> list[str]:
    values = [reveal(value) for _path, _owner, _slot, value in _walk(spec) if value is not None]
    for volume in spec.volumes:
        userinfo = url_userinfo(volume.git_repo.repository or "") if volume.git_repo is not None else None
        if userinfo:
            values += [userinfo, userinfo.partition(":")[2]]
    return [value for value in values if value]


def masked_copy(spec: Any) -> Any:
    """A deep copy of ``spec`` with a placeholder in every secret slot."""
    masked = copy.deepcopy(spec)
    for path, owner, slot, _value in list(_walk(masked)):
        text = _placeholder(masked, path, owner)
        if isinstance(owner, dict):
            owner[slot] = Secret(text)
        else:
            object.__setattr__(owner, slot, Secret(text))
    for volume in masked.volumes:
        if volume.secret == {}:  # a GET keeps the volume but not even its file names (az's recordings)
            volume.secret = {UNKNOWN_FILE: Secret(_unknown_file_placeholder(volume.name))}
        repo = volume.git_repo
        if repo is not None and url_userinfo(repo.repository or "") and \
                not is_placeholder(url_userinfo(repo.repository or "") or ""):
            repo.repository = url_with_userinfo(
                repo.repository or "", secret_placeholder(f"volumes[{volume.name}].gitRepo.repository userinfo"))
    return masked


def _placeholder(spec: Any, path: str, owner: Any) -> str:
    if path.endswith(".password"):
        return password_placeholder(owner.server)
    if ".env[" in path:
        return secure_placeholder(owner.name)
    if path.startswith("volumes["):
        volume = spec.volumes[int(path[8:path.index("]")])]
        if ".azure_file." in path:
            return secret_placeholder(f"volumes[{volume.name}].azureFile.storageAccountKey")
        key = path[path.index(".secret[") + 8:-1]
        return secret_placeholder(f"volumes[{volume.name}].secret[{key}] (base64)")
    if path.startswith("diagnostics"):
        return secret_placeholder("diagnostics.logAnalytics.workspaceKey")
    index = int(path[11:path.index("]")])
    key = path[path.index("protected_settings[") + 19:-1]
    if key == UNKNOWN_SETTING:
        return _unknown_setting_placeholder(spec.extensions[index].name)
    return secret_placeholder(f"extensions[{spec.extensions[index].name}].protectedSettings.{key}")


def placeholder_paths(spec: Any) -> list[str]:
    """The field paths (other than env and registry passwords, checked with their fields) still holding a
    placeholder an export wrote."""
    found = [path for path, _owner, _slot, value in _walk(spec)
             if value is not None and ".env[" not in path and not path.endswith(".password")
             and is_placeholder(reveal(value))]
    for index, volume in enumerate(spec.volumes):
        userinfo = url_userinfo(volume.git_repo.repository or "") if volume.git_repo is not None else None
        if userinfo and is_placeholder(userinfo):
            found.append(f"volumes[{index}].git_repo.repository")
    return found


def carried_keys(spec: Any) -> list[str]:
    """Keys carried through unchanged, as ARM paths (``properties.networkProfile``)."""
    found = list(spec.extra)
    for index, container in enumerate(spec.containers):
        found += [f"properties.containers[{index}].{key}" for key in container.extra]
        for field, value in (("livenessProbe", container.liveness_probe), ("readinessProbe", container.readiness_probe),
                             ("securityContext", container.security_context)):
            if value is not None:
                found += carried_paths(value, f"properties.containers[{index}].properties.{field}")
        for position, mount in enumerate(container.volume_mounts or []):
            found += carried_paths(mount, f"properties.containers[{index}].properties.volumeMounts[{position}]")
    for index, container in enumerate(spec.init_containers):
        found += [f"properties.initContainers[{index}].{key}" for key in container.extra]
    for index, cred in enumerate(spec.registry_credentials):
        found += [f"properties.imageRegistryCredentials[{index}].{key}" for key in cred.extra]
    for index, volume in enumerate(spec.volumes):
        found += carried_paths(volume, f"properties.volumes[{index}]")
    for attr, key in (("dns_config", "dnsConfig"), ("diagnostics", "diagnostics"), ("encryption",
                      "encryptionProperties"), ("confidential", "confidentialComputeProperties")):
        if getattr(spec, attr) is not None:
            found += carried_paths(getattr(spec, attr), f"properties.{key}")
    for index, extension in enumerate(spec.extensions or []):
        found += carried_paths(extension, f"properties.extensions[{index}]")
    for index, subnet in enumerate(spec.subnet_ids or []):
        found += carried_paths(subnet, f"properties.subnetIds[{index}]")
    if spec.identity is not None:
        found += [f"identity.{key}" for key in spec.identity.extra]
    return found


def fill_missing_secrets(spec: Any) -> Any:
    """A live group's JSON lacks the secrets ACI never returns: put a placeholder where each one belongs."""
    for volume in spec.volumes:
        if volume.secret == {}:
            volume.secret = {UNKNOWN_FILE: Secret(_unknown_file_placeholder(volume.name))}
        if volume.azure_file is not None and volume.azure_file.storage_account_key is None:
            volume.azure_file.storage_account_key = Secret(
                secret_placeholder(f"volumes[{volume.name}].azureFile.storageAccountKey"))
        for key, value in list((volume.secret or {}).items()):
            if value is None:
                volume.secret[key] = Secret(secret_placeholder(f"volumes[{volume.name}].secret[{key}] (base64)"))
    log = spec.diagnostics.log_analytics if spec.diagnostics is not None else None
    if log is not None and log.workspace_key is None:
        log.workspace_key = Secret(secret_placeholder("diagnostics.logAnalytics.workspaceKey"))
    for extension in spec.extensions or []:
        if not extension.protected_settings:  # ACI never returns them, not even their names: ask for them
            extension.protected_settings = {UNKNOWN_SETTING: Secret(_unknown_setting_placeholder(extension.name))}
        for key, value in list((extension.protected_settings or {}).items()):
            if value is None:
                extension.protected_settings[key] = Secret(
                    secret_placeholder(f"extensions[{extension.name}].protectedSettings.{key}"))
    return spec


def _unknown_file_placeholder(volume: str) -> str:
    return secret_placeholder(f"volumes[{volume}].secret[{UNKNOWN_FILE}] (base64)")


def _unknown_setting_placeholder(extension: str | None) -> str:
    return secret_placeholder(f"extensions[{extension}].protectedSettings (fill in, or delete if it had none)")
