"""ARM errors the emulator answers with, named after the codes ACI really returns.

Like Azurite's ``StorageErrorFactory``: one small function per code, so a handler reads
``raise errors.resource_not_found(...)``. Codes ACI does not document and we had to invent are marked
``# invented`` here and listed in COVERAGE.md.
"""

from __future__ import annotations

from typing import Any


class ArmError(Exception):
    """An error in the ARM envelope: ``{"error": {"code", "message", "target"?, "details"?}}``."""

    def __init__(self, status: int, code: str, message: str, target: str | None = None,
                 details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.details = details or []
        self.headers: dict[str, str] = {}  # extra answer headers (Retry-After on a rate limit)

    def to_body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target:
            error["target"] = self.target
        if self.details:
            error["details"] = self.details
        return {"error": error}


def resource_not_found(kind: str, name: str, resource_group: str) -> ArmError:
    return ArmError(404, "ResourceNotFound",
                    f"The Resource '{kind}/{name}' under resource group '{resource_group}' was not found.")


def container_group_not_found(name: str, resource_group: str) -> ArmError:
    return resource_not_found("Microsoft.ContainerInstance/containerGroups", name, resource_group)


def resource_group_not_found(resource_group: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{resource_group}' could not be found.")


def container_not_found(container: str, group: str) -> ArmError:
    return ArmError(404, "ContainerNotFound",
                    f"The container '{container}' does not exist in container group '{group}'.")


def container_log_not_available(container: str, group: str) -> ArmError:
    return ArmError(404, "ContainerLogNotAvailable",
                    f"Log of container '{container}' in container group '{group}' is not available yet. "
                    "Please check container 'InstanceView' for more information or retry later.")


def inaccessible_image(image: str, group: str) -> ArmError:
    return ArmError(400, "InaccessibleImage",
                    f"The image '{image}' in container group '{group}' is not accessible. "
                    "Please check the image and registry credential.")


def transitioning(group: str) -> ArmError:
    return ArmError(409, "ContainerGroupTransitioning",
                    f"The container group '{group}' is still transitioning, please retry later.")


def invalid_os_type(group: str | None) -> ArmError:
    return ArmError(400, "InvalidOsType",
                    f"The 'osType' for container group '{group or '<null>'}' is invalid. "
                    "The value must be one of 'Windows,Linux'.")


def bad_request(code: str, message: str, target: str | None = None) -> ArmError:
    """Any other 400 validation error (codes from the reference, or marked invented at the call site)."""
    return ArmError(400, code, message, target)


def unauthorized(message: str = "Authentication failed. The 'Authorization' header is missing or invalid.",
                 code: str = "AuthenticationFailed") -> ArmError:
    return ArmError(401, code, message)


def not_supported(what: str) -> ArmError:
    # invented: ARM has no code for "this emulator does not do that". 400, not 501: the emulator never
    # answers 5xx except for injected faults.
    return ArmError(400, "NotSupportedByEmulator",
                    f"{what} is not supported by the local ACI emulator. See COVERAGE.md.")


# -- added with the backend ------------------------------------------------------------------------
def operation_not_found(operation_id: str) -> ArmError:
    # invented: the reference records no answer for an unknown operation id.
    return ArmError(404, "OperationNotFound", f"The operation '{operation_id}' could not be found.")


def resource_group_location_conflict(resource_group: str, existing: str, requested: str) -> ArmError:
    # invented (for this emulator): ARM's answer to moving a resource group; not in the reference.
    return ArmError(409, "InvalidResourceGroupLocation",
                    f"Invalid resource group location '{requested}'. The Resource group '{resource_group}' "
                    f"already exists in location '{existing}'.")


def disk_full(home: str) -> ArmError:
    # invented: a fault of this machine, not of the request; 507 so that clients do not retry it blindly
    return ArmError(507, "InsufficientStorage",
                    f"The emulator's disk is full (home {home}): the change was not saved and nothing changed. "
                    "Free some space there and send the request again.")


def resource_group_being_deleted(resource_group: str) -> ArmError:
    return ArmError(409, "ResourceGroupBeingDeleted",
                    f"The resource group '{resource_group}' is in deprovisioning state and cannot perform this "
                    "operation.")
