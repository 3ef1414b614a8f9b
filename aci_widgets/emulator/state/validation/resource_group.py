"""Resource group rules: the name and the PUT body (location, tags, managedBy)."""

from __future__ import annotations

from typing import Any

from .... import rules
from ... import errors
from .body import _str, invalid_content, normalize_location, validate_tags


def validate_resource_group_body(name: str, body: Any) -> dict[str, Any]:
    """A resource group PUT body: ``{"location", "tags"?, "managedBy"?}``."""
    if rules.check_resource_group_name(name):
        raise errors.bad_request(  # invented: ARM's code for a bad resource group name is not in the reference
            "InvalidResourceGroupName",
            f"The resource group name '{name}' is invalid. It must be 1-90 letters, digits, underscores, "
            "hyphens, periods or parentheses, and cannot end in a period.", target="resourceGroupName")
    if not isinstance(body, dict):
        raise invalid_content("", "Unexpected character encountered while parsing value: the body must be "
                                  "a JSON object.")
    body = {str(key).lower(): value for key, value in body.items()}
    location = _str(body.get("location"), "location", required=False)
    if not location or not location.strip():
        raise errors.bad_request(  # invented: ARM's LocationRequired is not in the reference
            "LocationRequired", "The location property is required for this definition.", target="location")
    result: dict[str, Any] = {"location": normalize_location(location)}
    if body.get("tags") is not None:
        result["tags"] = validate_tags(body["tags"])
    if body.get("managedby") is not None:
        result["managedBy"] = _str(body["managedby"], "managedBy")
    return result
