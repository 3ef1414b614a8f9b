"""Container rules: each container's image, command, ports, environment, resources and volume mounts, and the
rules across a group's containers (unique names, resource totals)."""

from __future__ import annotations

from typing import Any

from .... import rules
from ... import errors
from ...errors import ArmError
from .body import _dict, _fmt, _list, _number, _str
from .network import _validate_ports


def _validate_container(group: str, container: Any, path: str, volume_names: set[str]) -> dict[str, Any]:
    name, props, result = _validate_container_common(group, container, path, volume_names)
    if not result["image"]:
        raise errors.inaccessible_image("", group)
    result["ports"] = _validate_ports(props.get("ports"), f"{path}.properties.ports", keep_protocol=True)
    result["resources"] = _validate_resources(group, name, props.get("resources"), f"{path}.properties.resources")
    return {"name": name, "properties": result}


def _validate_init_container(group: str, container: Any, path: str, volume_names: set[str]) -> dict[str, Any]:
    # An init container has no ports or resources of its own (ACI's schema), the rest is a container's.
    name, _props, result = _validate_container_common(group, container, path, volume_names)
    return {"name": name, "properties": result}


def _validate_container_common(group: str, container: Any, path: str,
                               volume_names: set[str]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """What containers and init containers share: name, image, command, env, mounts.

    Returns ``(name, the request's properties, the validated properties so far)``.
    """
    container = _dict(container, path)
    name = _str(container.get("name"), f"{path}.name") or ""
    if rules.check_container_name(name):
        # invented: ACI's real message, whose code no source shows.
        raise errors.bad_request(
            "InvalidContainerName",
            f"The container name '{name}' in container group '{group}' is invalid. The container name must "
            "contain no more than 63 characters and must match the regex '[a-z0-9]([-a-z0-9]*[a-z0-9])?' "
            "(e.g. 'my-name').", target=f"{path}.name")
    props = _dict(container.get("properties"), f"{path}.properties")
    result = {key: value for key, value in props.items() if key != "instanceView"}
    result["image"] = (_str(props.get("image"), f"{path}.properties.image") or "").strip()
    if props.get("command") is not None:
        command = _list(props["command"], f"{path}.properties.command")
        result["command"] = [_str(part, f"{path}.properties.command[{i}]") for i, part in enumerate(command)]
    result["environmentVariables"] = _validate_env(group, name, props.get("environmentVariables"),
                                                   f"{path}.properties.environmentVariables")
    if props.get("volumeMounts") is not None:
        result["volumeMounts"] = _validate_mounts(group, props["volumeMounts"], volume_names,
                                                  f"{path}.properties.volumeMounts", name)
    return name, props, result


def _validate_env(group: str, container: str, env: Any, path: str) -> list[dict[str, Any]]:
    result = []
    for index, variable in enumerate(_list(env, path)):
        variable = _dict(variable, f"{path}[{index}]")
        name = _str(variable.get("name"), f"{path}[{index}].name") or ""
        if rules.check_env_name(name):
            # invented: the naming rule is documented (troubleshooting), its code is not.
            raise errors.bad_request(
                "InvalidEnvironmentVariable",
                f"The environment variable name '{name}' in container '{container}' of container group "
                f"'{group}' is invalid. It must be 1-63 letters, numbers or underscores, and cannot start or "
                "end with an underscore.", target=f"{path}[{index}].name")
        entry: dict[str, Any] = {"name": name}
        value = _str(variable.get("value"), f"{path}[{index}].value", required=False)
        secure = _str(variable.get("secureValue"), f"{path}[{index}].secureValue", required=False, secret=True)
        if value is not None:
            entry["value"] = value
        if secure is not None:
            entry["secureValue"] = secure
        result.append(entry)
    return result


def _validate_resources(group: str, container: str, resources: Any, path: str) -> dict[str, Any]:
    if resources is None or (isinstance(resources, dict) and resources.get("requests") is None):
        raise errors.bad_request(
            "ResourceRequestsNotSpecified",
            f"The resource requests are not specified in container '{container}' of contain group '{group}'. "
            "Both memory and CPU requests are required since API version '2017-07-01-preview'.", target=path)
    resources = _dict(resources, path)
    requests = _dict(resources.get("requests"), f"{path}.requests")
    result: dict[str, Any] = {key: value for key, value in resources.items() if key not in ("requests", "limits")}
    result["requests"] = _validate_amounts(group, container, requests, f"{path}.requests", required=True)
    if resources.get("limits") is not None:
        limits = _validate_amounts(group, container, _dict(resources["limits"], f"{path}.limits"),
                                   f"{path}.limits", required=False)
        for key, label in (("cpu", "Cpu"), ("memoryInGB", "MemoryInGB")):
            if key in limits and limits[key] < result["requests"][key]:
                raise errors.bad_request(
                    "ResourceLimitsLessThanRequests",
                    f"The resource requirement '{{'requests': {result['requests']}, 'limits': {limits}}}' in "
                    f"container '{container}' of contain group '{group}' is invalid. The '{label}' limit value "
                    "must be greater than or equal to the request value.", target=f"{path}.limits")
        result["limits"] = limits
    return result


def _validate_amounts(group: str, container: str, amounts: dict[str, Any], path: str,
                      *, required: bool) -> dict[str, Any]:
    result = {key: value for key, value in amounts.items() if key not in ("cpu", "memoryInGB")}
    missing = [label for key, label in (("memoryInGB", "MemoryInGB"), ("cpu", "Cpu")) if amounts.get(key) is None]
    if required and len(missing) == 2:
        raise errors.bad_request(
            "ResourceRequestsNotSpecified",
            f"The resource requests are not specified in container '{container}' of contain group '{group}'. "
            "Both memory and CPU requests are required since API version '2017-07-01-preview'.", target=path)
    if required and missing:
        raise errors.bad_request(
            "ResourceSomeRequestsNotSpecified",
            f"The '{missing[0]}' request is not specified in resource requests in container '{container}' of "
            f"contain group '{group}'. Both memory and CPU requests are required since API version "
            "'2017-07-01-preview'.", target=path)
    for key in ("memoryInGB", "cpu"):
        if amounts.get(key) is None:
            continue
        number = _number(amounts[key], f"{path}.{key}")
        if number <= 0:
            # invented: named in the reference as a code no source shows.
            raise errors.bad_request(
                "InvalidResourceRequests",
                f"The '{key}' value '{_fmt(number)}' in container '{container}' of container group '{group}' is "
                "invalid. It must be greater than 0.", target=f"{path}.{key}")
        result[key] = number
    return result


def _validate_mounts(group: str, mounts: Any, volume_names: set[str], path: str,
                     container: str = "") -> list[dict[str, Any]]:
    result = []
    for index, mount in enumerate(_list(mounts, path)):
        mount = _dict(mount, f"{path}[{index}]")
        volume = _str(mount.get("name"), f"{path}[{index}].name") or ""
        mount_path = _str(mount.get("mountPath"), f"{path}[{index}].mountPath") or ""
        if volume not in volume_names:  # ACI's code and message (virtual-kubelet#367; reference rule V1)
            raise errors.bad_request("VolumesNotFound", f"Volumes '{volume}' in container '{container}' are not "
                                                        "found.", target=f"{path}[{index}].name")
        entry = dict(mount)
        entry["name"], entry["mountPath"] = volume, mount_path
        result.append(entry)
    return result


def _check_unique_container_names(group: str, containers: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for container in containers:
        if container["name"] in seen:
            raise errors.bad_request(  # invented: no source shows ACI's code for this
                "DuplicateContainerNames",
                f"The container name '{container['name']}' is used more than once in container group '{group}'.",
                target="properties.containers")
        seen.add(container["name"])


def _check_resources(group: str, location: str, os_type: str, containers: list[dict[str, Any]]) -> None:
    total_cpu = sum(c["properties"]["resources"]["requests"]["cpu"] for c in containers)
    total_memory = sum(c["properties"]["resources"]["requests"]["memoryInGB"] for c in containers)
    for container in containers:
        limits = container["properties"]["resources"].get("limits", {})
        for key, label, total in (("cpu", "Cpu", total_cpu), ("memoryInGB", "MemoryInGB", total_memory)):
            if key in limits and limits[key] > total:
                raise errors.bad_request(
                    "ContainerLimitGreaterThanContainerGroupTotalRequest",
                    f"The '{label}' limit '{_fmt(limits[key])}' in container '{container['name']}' is greater "
                    f"than the total request '{_fmt(total)}' of container group '{group}'.")
    if total_cpu > rules.MAX_GROUP_CPU or total_memory > rules.MAX_GROUP_MEMORY_GB:
        # ACI answers a request above the standard 4 CPU / 16 GB group size with ServiceUnavailable (409):
        # bigger groups are a "Big Container Group" enabled on request.
        raise ArmError(
            409, "ServiceUnavailable",
            f"The requested resource is not available in the location '{location}' at this moment. Please "
            "retry with a different resource request or in another location. Resource requested: "
            f"'{_fmt(total_cpu)}' CPU '{_fmt(total_memory)}' GB memory '{os_type}' OS")
