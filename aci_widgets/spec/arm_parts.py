"""ARM JSON of the typed parts beyond containers, ports and env: volumes and mounts, probes, security context,
GPU, identity, zones, SKU, priority, subnets, DNS configuration, diagnostics, encryption, extensions and
confidential compute. ``arm.py`` calls these while it reads and writes a group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import rules
from .advanced import (
    PRIORITIES,
    SKUS,
    Confidential,
    Diagnostics,
    DnsConfig,
    Encryption,
    Extension,
    GpuSpec,
    ProbeSpec,
    SecurityContext,
    SubnetId,
)
from .identity import read_identity, write_identity
from .model import F, Reader, kind_of, read_part, read_value, write_part
from .volumes import VolumeMount, VolumeSpec

_MOUNTS = F("volume_mounts", "volumeMounts", "list", VolumeMount)
_LIVENESS = F("liveness_probe", "livenessProbe", "obj", ProbeSpec)
_READINESS = F("readiness_probe", "readinessProbe", "obj", ProbeSpec)
_SECURITY = F("security_context", "securityContext", "obj", SecurityContext)
_GROUP_PARTS = (
    F("volumes", "volumes", "list", VolumeSpec),
    F("subnet_ids", "subnetIds", "list", SubnetId),
    F("dns_config", "dnsConfig", "obj", DnsConfig),
    F("diagnostics", "diagnostics", "obj", Diagnostics),
    F("encryption", "encryptionProperties", "obj", Encryption),
    F("extensions", "extensions", "list", Extension),
    F("confidential", "confidentialComputeProperties", "obj", Confidential),
)


def read_container_parts(reader: Reader, props: Mapping[str, Any], requests: Mapping[str, Any],
                         limits: Mapping[str, Any], path: str) -> dict[str, Any]:
    result = {}
    for field in (_MOUNTS, _LIVENESS, _READINESS, _SECURITY):
        result[field.attr] = read_value(field, props.get(field.key), reader, f"{path}.{field.key}")
    result["gpu"] = read_part(GpuSpec, requests["gpu"], reader, f"{path}.resources.requests.gpu") \
        if requests.get("gpu") is not None else None
    result["gpu_limit"] = read_part(GpuSpec, limits["gpu"], reader, f"{path}.resources.limits.gpu") \
        if limits.get("gpu") is not None else None
    return result


def read_group_parts(reader: Reader, props: Mapping[str, Any], identity: Any, zones: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for field in _GROUP_PARTS:
        result[field.attr] = read_value(field, props.get(field.key), reader, f"properties.{field.key}")
    result["volumes"] = result["volumes"] or []
    result["identity"] = read_identity(identity, reader)
    if zones is not None and not isinstance(zones, list):
        reader.problem("zones", f"must be a list such as ['1'], not {kind_of(zones)}")
        zones = None
    result["zones"] = [reader.text(zone, f"zones[{index}]") for index, zone in enumerate(zones)] \
        if zones is not None else None
    for attr, key, choices in (("sku", "sku", SKUS), ("priority", "priority", PRIORITIES)):
        value = props.get(key)
        text = reader.text(value, f"properties.{key}") if value is not None else None
        result[attr] = rules.canonical_choice(text, choices) or text if text is not None else None
    return result


def container_parts_to_arm(container: Any, props: dict[str, Any], resources: dict[str, Any]) -> None:
    if container.gpu is not None:
        resources["requests"]["gpu"] = write_part(container.gpu)
    if container.gpu_limit is not None:
        resources.setdefault("limits", {})["gpu"] = write_part(container.gpu_limit)
    for field in (_MOUNTS, _LIVENESS, _READINESS, _SECURITY):
        value = getattr(container, field.attr, None)
        if value is not None:
            props[field.key] = [write_part(item) for item in value] if field.kind == "list" else write_part(value)


def group_parts_to_arm(spec: Any, body: dict[str, Any], properties: dict[str, Any]) -> None:
    """The group's other parts into ``properties`` (and ``identity``/``zones`` at the top of ``body``)."""
    if spec.sku is not None:
        properties["sku"] = spec.sku
    if spec.priority is not None:
        properties["priority"] = spec.priority
    for field in _GROUP_PARTS:
        value = getattr(spec, field.attr)
        if value is None or (field.kind == "list" and not value):
            continue
        properties[field.key] = [write_part(item) for item in value] if field.kind == "list" else write_part(value)
    if spec.identity is not None:
        body["identity"] = write_identity(spec.identity)
    if spec.zones is not None:
        body["zones"] = list(spec.zones)
