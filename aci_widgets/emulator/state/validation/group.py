"""Container group rules: the group name, its properties, volumes, registry credentials, and what an update
may not change. ``validate_group`` is the entry point."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .... import rules
from ... import errors
from .body import (
    PRIORITIES,
    READ_ONLY_PROPERTIES,
    SKUS,
    _choice,
    _dict,
    _list,
    _short,
    _str,
    invalid_content,
    normalize_location,
    validate_tags,
)
from .containers import _check_resources, _check_unique_container_names, _validate_container, _validate_init_container
from .features import validate_features
from .network import _check_container_ports, _validate_ip_address
from .schema import read_body


# -- the checks ----------------------------------------------------------------------------------
def validate_group(
    name: str,
    body: Any,
    *,
    default_location: str,
    existing: dict[str, Any] | None = None,
    image_is_runnable: Callable[[str], bool] = lambda image: True,
    dns_label_taken: Callable[[str, str], bool] = lambda location, label: False,
) -> dict[str, Any]:
    """The normalized spec of a container group PUT, or ``ArmError``.

    ``existing`` is the stored spec when the PUT updates a group (update rules apply);
    ``image_is_runnable`` asks the image catalogue; ``dns_label_taken(location, label)`` asks the backend
    whether another group already uses the label.
    """
    if not isinstance(body, dict):
        raise invalid_content("", "Unexpected character encountered while parsing value: the body must be "
                                  "a JSON object.")
    spec = read_body(body)  # the model's spelling; unknown and read-only keys dropped, defaults filled
    _check_group_name(name)
    location = _str(spec.get("location"), "location", required=False) or default_location
    result: dict[str, Any] = {"location": normalize_location(location) or default_location}
    if spec.get("tags") is not None:
        result["tags"] = validate_tags(spec["tags"])
    for key in ("identity", "zones"):
        if spec.get(key) is not None:
            result[key] = spec[key]
    props = _dict(spec.get("properties"), "properties")
    result["properties"] = _validate_properties(name, props, result["location"], existing, image_is_runnable,
                                                dns_label_taken, spec)
    return result


def _check_group_name(name: str) -> None:
    # ARM names compare without regard to case, and ACI accepts the docs' own "myContainerGroup" (the
    # multi-container YAML tutorial): the lowercase rule is checked on the lower-cased name.
    if rules.check_group_name(name.lower()):
        # invented: the reference has no code for a bad group name (and says not to invent
        # InvalidContainerGroupName); ARM's generic InvalidResourceName is the closest real-world code.
        raise errors.bad_request(
            "InvalidResourceName",
            f"The resource name '{name}' is invalid. The container group name must be 1-63 lowercase letters, "
            "numbers or hyphens, cannot start or end with a hyphen and cannot contain consecutive hyphens.",
            target="name")


def _validate_properties(name: str, props: dict[str, Any], location: str, existing: dict[str, Any] | None,
                         image_is_runnable: Callable[[str], bool],
                         dns_label_taken: Callable[[str, str], bool], body: dict[str, Any]) -> dict[str, Any]:
    result = {key: value for key, value in props.items() if key not in READ_ONLY_PROPERTIES}

    os_type = _choice(props.get("osType"), rules.OS_TYPES, "properties.osType")
    if os_type is None:
        raise errors.invalid_os_type(name)
    result["osType"] = os_type

    policy_value = props.get("restartPolicy")
    policy = _choice(policy_value, rules.RESTART_POLICIES, "properties.restartPolicy") if policy_value is not None \
        else "Always"
    if policy is None:
        # invented: modelled on ACI's PriorityNotSpecified message ("must be one of ...").
        raise errors.bad_request("InvalidRestartPolicy",
                                 f"The 'restartPolicy' must be one of 'Always,OnFailure,Never' for container "
                                 f"group '{name}'.", target="properties.restartPolicy")
    result["restartPolicy"] = policy

    sku = _choice(props.get("sku"), SKUS, "properties.sku") if props.get("sku") is not None else "Standard"
    if sku is None:
        raise invalid_content("properties.sku", f"Error converting value {_short(props.get('sku'))} to type "
                                                "'ContainerGroupSku'.")
    result["sku"] = sku
    if props.get("priority") is not None:
        priority = _choice(props.get("priority"), PRIORITIES, "properties.priority")
        if priority is None:
            raise errors.bad_request("PriorityNotSpecified",
                                     f"The 'Priority' must be one of 'Regular,Spot' for container group '{name}'.")
        result["priority"] = priority

    volumes = _validate_volumes(props.get("volumes"))
    if volumes or "volumes" in props:
        result["volumes"] = volumes
    volume_names = {volume["name"] for volume in volumes}

    containers = _list(props.get("containers"), "properties.containers")
    if not containers:
        raise invalid_content("properties.containers", "Required property 'containers' not found in JSON.")
    if len(containers) > rules.MAX_CONTAINERS_PER_GROUP:
        raise errors.bad_request(  # invented: the limit is documented, its code is not
            "ContainerGroupContainersLimitExceeded",
            f"The container group '{name}' has {len(containers)} containers; the limit is "
            f"{rules.MAX_CONTAINERS_PER_GROUP}.")
    result["containers"] = [_validate_container(name, container, f"properties.containers[{index}]", volume_names)
                            for index, container in enumerate(containers)]
    result["initContainers"] = [
        _validate_init_container(name, container, f"properties.initContainers[{index}]", volume_names)
        for index, container in enumerate(_list(props.get("initContainers"), "properties.initContainers"))]
    _check_unique_container_names(name, result["containers"] + result["initContainers"])
    _check_resources(name, location, os_type, result["containers"])
    _check_container_ports(name, result["containers"])

    if props.get("imageRegistryCredentials") is not None:
        result["imageRegistryCredentials"] = _validate_registries(props["imageRegistryCredentials"])
    if props.get("ipAddress") is not None:
        result["ipAddress"] = _validate_ip_address(name, props["ipAddress"], result, location, existing,
                                                   dns_label_taken)
    validate_features(name, body, result)
    if existing is not None:
        check_update(name, existing["properties"], result)
    for container in result["containers"] + result["initContainers"]:
        image = container["properties"]["image"]
        if not image_is_runnable(image):
            raise errors.inaccessible_image(image, name)
    return result


def _validate_volumes(volumes: Any) -> list[dict[str, Any]]:
    result = []
    seen: set[str] = set()
    items = _list(volumes, "properties.volumes")
    if len(items) > rules.MAX_VOLUMES_PER_GROUP:
        raise errors.bad_request(  # invented: the limit is documented, its code is not
            "ContainerGroupVolumesLimitExceeded",
            f"The container group has {len(items)} volumes; the limit is {rules.MAX_VOLUMES_PER_GROUP}.")
    for index, volume in enumerate(items):
        volume = _dict(volume, f"properties.volumes[{index}]")
        name = _str(volume.get("name"), f"properties.volumes[{index}].name") or ""
        if name in seen:
            raise errors.bad_request("DuplicateVolumes", f"Duplicate volumes '{name}' are found.",
                                     target="properties.volumes")
        seen.add(name)
        if rules.check_volume_name(name):
            raise errors.bad_request(  # invented: the naming rule is documented, its code is not
                "InvalidVolumeName",
                f"The volume name '{name}' is invalid. It must be 1-63 lowercase letters, numbers or single "
                "hyphens, and cannot start or end with a hyphen.", target=f"properties.volumes[{index}].name")
        for kind in ("azureFile", "gitRepo", "secret"):
            if volume.get(kind) is not None:
                _dict(volume[kind], f"properties.volumes[{index}].{kind}")
        result.append(dict(volume, name=name))
    return result


def _validate_registries(registries: Any) -> list[dict[str, Any]]:
    result = []
    for index, registry in enumerate(_list(registries, "properties.imageRegistryCredentials")):
        registry = _dict(registry, f"properties.imageRegistryCredentials[{index}]")
        _str(registry.get("server"), f"properties.imageRegistryCredentials[{index}].server")
        result.append(dict(registry))
    return result


def check_update(group: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    """ACI refuses an update that changes the OS type, restart policy, network profile or resources."""

    def shape(props: dict[str, Any]) -> tuple[Any, ...]:
        containers = {
            c["name"]: tuple(c["properties"]["resources"].get(part, {}).get(key)
                             for part in ("requests", "limits") for key in ("cpu", "memoryInGB", "gpu"))
            for c in props["containers"]}
        subnets = [s.get("id") for s in props.get("subnetIds") or [] if isinstance(s, dict)]
        return props["osType"], props["restartPolicy"], containers, subnets

    if shape(old) != shape(new):
        raise errors.bad_request(
            "InvalidContainerGroupUpdate",
            f"The updates on container group '{group}' are invalid. If you are going to update the os type, "
            "restart policy, network profile, CPU, memory or GPU resources for a container group, you must "
            "delete it first and then create a new one.")
