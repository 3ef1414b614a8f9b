"""ACI's server-side validation of a container group PUT body, with the error codes ACI returns.

``validate_group`` takes the raw JSON body (anything at all: the HTTP layer is fuzzed) and returns the
normalized spec the backend stores, or raises ``ArmError`` (always a 4xx). Keys match without regard to
case, as ACI's .NET deserializer does (``memoryInGb`` is ``memoryInGB``), and enum values are
canonicalized (``tcp`` -> ``TCP``). Codes the reference does not document are marked ``# invented``.

- ``body``: canonical key spelling and the ARM-style type checks every rule uses; tags;
- ``group``: the group and its properties (the entry point ``validate_group``, and ``check_update``);
- ``containers``: each container, and the rules across a group's containers;
- ``network``: ports, the IP address, the DNS name label;
- ``resource_group``: resource group PUT bodies.
"""

from __future__ import annotations

from .body import canonicalize, invalid_content, validate_tags
from .group import check_update, validate_group
from .resource_group import validate_resource_group_body

__all__ = ["canonicalize", "check_update", "invalid_content", "validate_group", "validate_resource_group_body",
           "validate_tags"]
