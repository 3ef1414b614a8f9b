"""The checks of the parts beyond containers, ports and env: ``more_problems(spec, problems)`` adds one
problem per field path, the way ACI validates them (rule ids of docs/reference/aci-group-model.md in brackets).

Where ACI's rule is uncertain the reference says so; what we decided is in COVERAGE.md ("Issue 18").
"""

from __future__ import annotations

from typing import Any

from .. import rules
from ..secrets import reveal
from .advanced import LABEL_SCOPES, LOG_TYPES, PRIORITIES, PROBE_SCHEMES, SKUS
from .identity import IDENTITY_TYPES, canonical_identity_type
from .parts import GroupShape, is_placeholder
from .secret_fields import placeholder_paths
from .volumes import url_userinfo


def more_problems(spec: GroupShape, problems: Any) -> None:
    add = problems.add
    linux = spec.os_type == "Linux"
    _check_choices(spec, add)
    volume_names = _check_volumes(spec, add, linux)
    for kind, items in (("containers", spec.containers), ("init_containers", spec.init_containers)):
        for index, container in enumerate(items):
            _check_mounts(container, f"{kind}[{index}]", volume_names, add)
            if container.security_context is not None:
                _check_security(container.security_context, f"{kind}[{index}].security_context", add)
    for index, container in enumerate(spec.containers):
        path = f"containers[{index}]"
        for attr in ("liveness_probe", "readiness_probe"):
            if getattr(container, attr) is not None:
                _check_probe(getattr(container, attr), f"{path}.{attr}", add)
        for attr in ("gpu", "gpu_limit"):
            gpu = getattr(container, attr)
            if gpu is not None:
                add(f"{path}.{attr}", rules.check_gpu(gpu.count, gpu.sku))
                if not linux:
                    add(f"{path}.{attr}", "GPU resources are only offered for Linux container groups")  # [G1]
                elif spec.subnet_ids:
                    add(f"{path}.{attr}", "GPU resources can't be used in a virtual network (subnet_ids)")  # [G5]
                elif spec.zones:
                    add(f"{path}.{attr}", "container groups with GPU resources don't support availability zones")
    _check_init_containers(spec, add)
    if not linux and len(spec.containers) > 1:  # [N11]
        add("containers", "Windows container groups hold a single container (multi-container groups are Linux only)")
    _check_network(spec, add, linux)
    _check_identity(spec, add, linux)
    _check_others(spec, add, linux)
    for path in placeholder_paths(spec):
        add(path, "is still the export placeholder; fill in the real value")


def _check_choices(spec: GroupShape, add: Any) -> None:
    for attr, choices in (("sku", SKUS), ("priority", PRIORITIES), ("dns_name_label_scope", LABEL_SCOPES)):
        value = getattr(spec, attr)
        if value is not None:
            add(attr, rules.check_choice(value, choices))


def _check_volumes(spec: GroupShape, add: Any, linux: bool) -> set[str]:
    names: dict[str, int] = {}
    if len(spec.volumes) > rules.MAX_VOLUMES_PER_GROUP:  # [V15]
        add("volumes", f"{len(spec.volumes)} volumes; a group may have at most {rules.MAX_VOLUMES_PER_GROUP}")
    if spec.volumes and not linux:  # [V14] WindowsContainersVolumeNotSupported
        add("volumes", "volumes are not supported for Windows container groups")
    for index, volume in enumerate(spec.volumes):
        path = f"volumes[{index}]"
        problem = rules.check_volume_name(volume.name)
        if not problem and volume.name in names:
            problem = f"duplicate volume name '{volume.name}' (also volumes[{names[volume.name]}])"
        add(f"{path}.name", problem)
        names.setdefault(volume.name, index)
        kinds = volume.kinds
        if len(kinds) != 1:  # [V2]
            add(path, f"'{volume.name}' must have exactly one of azureFile, emptyDir, secret, gitRepo "
                      f"(has {', '.join(kinds) or 'none'})")
        azure = volume.azure_file
        if azure is not None:  # [V8]
            for attr in ("share_name", "storage_account_name"):
                if not getattr(azure, attr):
                    add(f"{path}.azure_file.{attr}", "is required")
            if azure.storage_account_key is None or not reveal(azure.storage_account_key):
                add(f"{path}.azure_file.storage_account_key", "is required (the storage account key)")
        for key, value in (volume.secret or {}).items():  # [V10] [V11], never the value
            file_problem = rules.check_secret_file_name(key)
            if file_problem is None and (value is None or not is_placeholder(reveal(value))) \
                    and not rules.is_base64(reveal(value) if value is not None else None):
                file_problem = f"the value of '{key}' is not valid base64 (ACI wants secret volume values encoded)"
            add(f"{path}.secret[{key}]", file_problem)
        repo = volume.git_repo
        if repo is not None:  # [V12]
            add(f"{path}.git_repo.repository", rules.check_git_repository(repo.repository))
            add(f"{path}.git_repo.directory", rules.check_git_directory(repo.directory))
    return set(names)


def _check_mounts(container: Any, path: str, volume_names: set[str], add: Any) -> None:
    seen: dict[str, int] = {}
    for index, mount in enumerate(container.volume_mounts or []):
        mpath = f"{path}.volume_mounts[{index}]"
        if mount.name not in volume_names:  # [V1] VolumesNotFound
            add(f"{mpath}.name", f"volume '{mount.name}' is not in the group's volumes")
        problem = rules.check_mount_path(mount.mount_path)
        if not problem and mount.mount_path in seen:  # [V6]
            problem = f"'{mount.mount_path}' is already a mount path of this container ({path}.volume_mounts" \
                      f"[{seen[mount.mount_path]}])"
        add(f"{mpath}.mount_path", problem)
        seen.setdefault(mount.mount_path, index)


def _check_security(context: Any, path: str, add: Any) -> None:
    for attr in ("run_as_user", "run_as_group"):  # [S4]
        if getattr(context, attr) is not None:
            add(f"{path}.{attr}", rules.check_non_negative_int(getattr(context, attr)))
    for attr in ("privileged", "allow_privilege_escalation"):
        if getattr(context, attr) is not None and not isinstance(getattr(context, attr), bool):
            add(f"{path}.{attr}", "must be true or false")
    if context.seccomp_profile is not None and not rules.is_base64(context.seccomp_profile):  # [S2]
        add(f"{path}.seccomp_profile", "must be the base64 of a seccomp JSON profile")


def _check_probe(probe: Any, path: str, add: Any) -> None:
    actions = [name for name, value in (("exec", probe.exec), ("http_get", probe.http_get)) if value is not None]
    if len(actions) != 1:  # [B1]
        add(path, f"a probe needs exactly one of exec and httpGet (has {', '.join(actions) or 'none'})")
    if probe.exec is not None and not probe.exec.command:  # [B2]
        add(f"{path}.exec.command", "must be a non-empty list such as ['cat', '/tmp/ready']")
    if probe.http_get is not None:  # [B3]
        add(f"{path}.http_get.port", rules.check_port(probe.http_get.port) if probe.http_get.port is not None
            else "is required")
        if probe.http_get.scheme is not None:
            add(f"{path}.http_get.scheme", rules.check_choice(probe.http_get.scheme, PROBE_SCHEMES))
    for attr in probe.NUMBERS:  # [B4]
        value = getattr(probe, attr)
        if value is not None:
            add(f"{path}.{attr}", rules.check_non_negative_int(value, 0 if attr == "initial_delay_seconds" else 1))


def _check_init_containers(spec: GroupShape, add: Any) -> None:
    if len(spec.init_containers) > rules.MAX_INIT_CONTAINERS:  # [I2]
        add("init_containers", f"{len(spec.init_containers)} init containers; the limit is "
                               f"{rules.MAX_INIT_CONTAINERS}")
    names = {container.name for container in spec.containers}
    for index, container in enumerate(spec.init_containers):
        path = f"init_containers[{index}]"
        problem = rules.check_container_name(container.name)
        if not problem and container.name in names:  # [N2]
            problem = f"duplicate container name '{container.name}' (names are unique across containers and " \
                      "init containers)"
        names.add(container.name)
        add(f"{path}.name", problem)
        add(f"{path}.image", rules.check_image(container.image))  # [I3]
        if container.command is not None:
            add(f"{path}.command", rules.check_command(container.command))
        seen: set[str] = set()
        for position, variable in enumerate(container.env):
            problem = rules.check_env_name(variable.name)
            if not problem and variable.name in seen:
                problem = f"duplicate environment variable '{variable.name}'"
            seen.add(variable.name)
            add(f"{path}.env[{position}].name", problem)
            if variable.secure and is_placeholder(reveal(variable.value)):
                add(f"{path}.env[{position}].value", f"secure value of '{variable.name}' is still the export "
                                                     "placeholder; fill in the real value")


def _check_network(spec: GroupShape, add: Any, linux: bool) -> None:
    subnets = spec.subnet_ids or []
    if len(subnets) > 1:  # [K4]
        add("subnet_ids", f"{len(subnets)} subnets; a container group joins at most one")
    for index, subnet in enumerate(subnets):
        add(f"subnet_ids[{index}].id", rules.check_subnet_id(subnet.id))
    if subnets:
        if spec.ip_address_type == "Public":  # [K2]
            add("ip_address_type", "IP address type can't be Public in a virtual network (subnet_ids); use Private")
        if spec.dns_name_label:
            add("dns_name_label", "a DNS name label is not supported in a virtual network (subnet_ids)")
        if not linux:  # [K3]
            add("subnet_ids", "only Linux container groups can be deployed to a virtual network")
    elif spec.ip_address_type == "Private":  # [K1] PrivateIPAddressNotSupported
        add("ip_address_type", "a Private IP address needs a virtual network: give subnet_ids (--subnet)")
    if spec.priority == "Spot":  # [Y1]
        if spec.ip_address_type is not None:
            add("priority", "Spot container groups have no IP address: remove ip_address_type")
        elif subnets:
            add("priority", "Spot container groups can't be deployed to a virtual network")
        elif spec.sku == "Confidential":
            add("priority", "Spot container groups don't support the Confidential sku")
        elif spec.zones:
            add("priority", "Spot container groups can't be pinned to an availability zone")
    if spec.zones is not None:
        add("zones", rules.check_zones(spec.zones))


def _check_identity(spec: GroupShape, add: Any, linux: bool) -> None:
    identity = spec.identity
    user_ids: set[str] = set()
    if identity is not None:
        kind = canonical_identity_type(identity.type)
        if kind is None:  # [M1]
            add("identity.type", f"'{identity.type}' is not one of {', '.join(IDENTITY_TYPES)}")
        elif "UserAssigned" in kind and not identity.user_assigned:  # [M2]
            add("identity.user_assigned", f"identity type {kind} needs at least one user-assigned identity id")
        elif "UserAssigned" not in kind and identity.user_assigned:
            add("identity.type", f"user-assigned identities are given, so the type must include UserAssigned "
                                 f"(not {kind})")
        elif kind and "SystemAssigned" in kind and not linux:  # [M3]
            add("identity.type", "a system-assigned managed identity is not supported for Windows container groups")
        for index, value in enumerate(identity.user_assigned):
            add(f"identity.user_assigned[{index}]", rules.check_user_identity_id(value))
        user_ids = {value.lower() for value in identity.user_assigned}
    for index, credential in enumerate(spec.registry_credentials):
        if credential.identity is not None and credential.identity.lower() not in user_ids \
                and credential.identity.lower() != "[system]":  # [A3]
            add(f"registry_credentials[{index}].identity",
                "must also be one of the group's user-assigned identities (--assign-identity the same id)")
    if spec.encryption is not None and spec.encryption.identity is not None \
            and spec.encryption.identity.lower() not in user_ids:  # [A3] [EN1]
        add("encryption.identity", "must also be one of the group's user-assigned identities")


def _check_others(spec: GroupShape, add: Any, linux: bool) -> None:
    if spec.sku == "Confidential":  # [C1]
        if not linux:
            add("sku", "the Confidential sku is for Linux container groups only")
    elif spec.confidential is not None and spec.confidential.cce_policy:  # [C2]
        add("confidential.cce_policy", "a confidential computing policy needs sku Confidential")
    if spec.confidential is not None and spec.confidential.cce_policy and \
            not rules.is_base64(spec.confidential.cce_policy):
        add("confidential.cce_policy", "must be base64 (the output of az confcom acipolicygen)")
    if spec.dns_config is not None and not spec.dns_config.name_servers:  # [DN1]
        add("dns_config.name_servers", "at least one DNS server is required")
    if spec.encryption is not None:  # [EN1]
        encryption = spec.encryption
        if not encryption.vault_base_url or not str(encryption.vault_base_url).startswith("https://"):
            add("encryption.vault_base_url", "a key vault URL such as https://myvault.vault.azure.net is required")
        for attr in ("key_name", "key_version"):
            if not getattr(encryption, attr):
                add(f"encryption.{attr}", "is required")
    log = spec.diagnostics.log_analytics if spec.diagnostics is not None else None
    if log is not None:  # [L1]
        if not log.workspace_id:
            add("diagnostics.log_analytics.workspace_id", "is required (the workspace id, a GUID)")
        if log.workspace_key is None or not reveal(log.workspace_key):
            add("diagnostics.log_analytics.workspace_key", "is required (the workspace key)")
        if log.log_type is not None:
            add("diagnostics.log_analytics.log_type", rules.check_choice(log.log_type, LOG_TYPES))
    for index, extension in enumerate(spec.extensions or []):  # [E1]
        for attr in ("name", "extension_type", "version"):
            if not getattr(extension, attr):
                add(f"extensions[{index}].{attr}", "is required")
    for index, volume in enumerate(spec.volumes):
        repo = volume.git_repo
        if repo is not None and url_userinfo(repo.repository or "") and is_placeholder(url_userinfo(
                repo.repository or "") or ""):
            add(f"volumes[{index}].git_repo.repository", "the token in the URL is still the export placeholder")
