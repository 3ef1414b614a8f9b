"""Which ``api-version`` each ARM path accepts, and ARM's answer to any other (issue 13).

The lists live in ``api_versions.json`` next to this module (every stable and preview version the
Azure/azure-rest-api-specs publish for ``Microsoft.ContainerInstance``, ``Microsoft.Resources`` and the
subscription/tenant reads, plus what ARM registers for containerGroups without a spec folder; COVERAGE.md).
ARM refuses any other version with 400: resource providers (ACI) say ``NoRegisteredProviderFound``,
ARM's own types (resource groups, subscriptions, tenants, locations) ``InvalidApiVersionParameter``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from ..errors import ArmError

DATA_PATH = Path(__file__).with_name("api_versions.json")
CONTAINER_INSTANCE = "Microsoft.ContainerInstance"
RESOURCES = "Microsoft.Resources"
SUBSCRIPTIONS = "subscriptions"
METADATA = "metadata"


@lru_cache(maxsize=1)
def published() -> dict[str, tuple[str, ...]]:
    """``{kind: versions}`` from the data file (kinds: the four constants above)."""
    data = json.loads(DATA_PATH.read_text(encoding="utf-8"))
    return {kind: tuple(versions) for kind, versions in data.items() if not kind.startswith("_")}


def kind_of(segments: list[str]) -> str:
    """Which list a path's version is checked against: the namespace after the last ``providers``."""
    lowered = [segment.lower() for segment in segments]
    if lowered[:1] == ["metadata"]:
        return METADATA
    if "providers" in lowered:
        at = len(lowered) - 1 - lowered[::-1].index("providers")
        namespace = lowered[at + 1] if at + 1 < len(lowered) else ""
        if namespace == CONTAINER_INSTANCE.lower():
            return CONTAINER_INSTANCE
        if namespace == "microsoft.insights":  # metrics and metricDefinitions (issue 16)
            return "Microsoft.Insights"
        return RESOURCES
    if "resourcegroups" in lowered or "operationresults" in lowered:  # a resource-group delete's poll URL
        return RESOURCES
    return SUBSCRIPTIONS


def resource_type(segments: list[str]) -> str:
    """The ACI resource type ARM names in its message: ``containerGroups``, ``locations``, ``operations``."""
    lowered = [segment.lower() for segment in segments]
    at = len(lowered) - 1 - lowered[::-1].index("providers")
    names = {"containergroups": "containerGroups", "locations": "locations", "operations": "operations",
             "serviceassociationlinks": "serviceAssociationLinks"}
    kind = lowered[at + 2] if at + 2 < len(lowered) else "operations"
    return names.get(kind, segments[at + 2] if at + 2 < len(segments) else kind)


def check(segments: list[str], version: str, location: str | Callable[[], str] = "eastus") -> None:
    """Raise ARM's 400 unless ``version`` is published for this path (compared without regard to case).

    ``location`` may be a function: it is asked only for the refusal's message (it may take the backend's lock).
    """
    kind = kind_of(segments)
    versions = published()[kind]
    if version.lower() in (known.lower() for known in versions):
        return
    if callable(location):
        location = location()
    newest_first = ",".join(sorted(versions, reverse=True))
    if kind == CONTAINER_INSTANCE:
        raise ArmError(400, "NoRegisteredProviderFound",
                       f"No registered resource provider found for location '{location}' and API version "
                       f"'{version}' for type '{resource_type(segments)}'. The supported api-versions are "
                       f"'{', '.join(versions)}'. The supported locations are '{', '.join(ACI_LOCATIONS)}'.")
    raise ArmError(400, "InvalidApiVersionParameter",
                   f"The api-version '{version}' is invalid. The supported versions are '{newest_first}'.")


# The regions ACI offers Linux container groups in (learn.microsoft.com, "Resource availability by region").
ACI_LOCATIONS = (
    "australiaeast", "brazilsouth", "canadacentral", "centralindia", "centralus", "eastasia", "eastus",
    "eastus2", "francecentral", "germanywestcentral", "japaneast", "koreacentral", "northcentralus",
    "northeurope", "norwayeast", "southafricanorth", "southcentralus", "southeastasia", "swedencentral",
    "switzerlandnorth", "uaenorth", "uksouth", "westcentralus", "westeurope", "westus", "westus2", "westus3",
)
