"""ACI's validation rules, in one place.

Both sides use these: the client library (`spec/`, the form, the magics) checks them before any
request, and the emulator enforces them the way ACI does. Sources are in
`shared/reference/aci-rest-behaviour.md` section 6.

Each ``check_*`` function returns ``None`` when the value is fine, or a short human message
("must be 1-63 lowercase letters, digits or hyphens") that callers prefix with the field name.
"""

from __future__ import annotations

import math
import re

# -- names ---------------------------------------------------------------------------------------
# Container group: 1-63, lowercase letters, digits, hyphens; no leading/trailing/double hyphen.
GROUP_NAME_RE = re.compile(r"^(?!-)(?!.*--)[a-z0-9-]{1,63}(?<!-)$")
# Container: ACI's own message quotes this regex, 63 chars max.
CONTAINER_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# DNS name label: 5-63, letters/digits/hyphens, first a letter, last a letter or digit (case-insensitive).
DNS_LABEL_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{3,61}[a-zA-Z0-9]$")
# Environment variable: 1-63, alphanumeric and '_', '_' not first or last.
ENV_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_]{0,61}[A-Za-z0-9])?$")
# Volume: 1-63 lowercase, hyphens not first/last, no double hyphen. The troubleshooting table's minimum of 5 is
# not enforced by ACI (terraform-provider-azurerm's acceptance tests create a volume named 'logs'; see
# docs/reference/aci-group-model.md finding 5), and az's own --secrets volume is named 'secrets' (7).
VOLUME_NAME_RE = re.compile(r"^(?!-)(?!.*--)[a-z0-9-]{1,63}(?<!-)$")
# Resource group (ARM): 1-90 of letters, digits, '_', '-', '.', '(', ')'; not ending in '.'.
RESOURCE_GROUP_RE = re.compile(r"^[-\w.()]{0,89}[-\w()]$")

# -- limits --------------------------------------------------------------------------------------
MAX_GROUP_CPU = 4.0
MAX_GROUP_MEMORY_GB = 16.0
MAX_CONTAINERS_PER_GROUP = 60
MAX_VOLUMES_PER_GROUP = 20
MAX_PORTS_PER_IP = 5
MIN_PORT, MAX_PORT = 1, 65535

RESTART_POLICIES = ("Always", "OnFailure", "Never")
OS_TYPES = ("Linux", "Windows")
IP_ADDRESS_TYPES = ("Public", "Private")
PROTOCOLS = ("TCP", "UDP")

DEFAULT_CPU = 1.0
DEFAULT_MEMORY_GB = 1.5
DEFAULT_LOCATION = "eastus"


def canonical_choice(value: str, choices: tuple[str, ...]) -> str | None:
    """The canonical spelling of ``value`` among ``choices`` (case-insensitive), or None."""
    for choice in choices:
        if choice.lower() == str(value).lower():
            return choice
    return None


def check_group_name(name: str) -> str | None:
    if not name:
        return "is required"
    if len(name) > 63:
        return f"'{name}' is {len(name)} characters long; the limit is 63"
    if not GROUP_NAME_RE.fullmatch(name):
        return (
            f"'{name}' is invalid: use lowercase letters, digits and single hyphens, "
            "not starting or ending with a hyphen"
        )
    return None


def check_container_name(name: str) -> str | None:
    if not name:
        return "is required"
    if len(name) > 63 or not CONTAINER_NAME_RE.fullmatch(name):
        return (
            f"'{name}' is invalid: at most 63 lowercase letters, digits or hyphens, "
            "starting and ending with a letter or digit"
        )
    return None


def check_dns_label(label: str) -> str | None:
    if not DNS_LABEL_RE.fullmatch(label or ""):
        return (
            f"'{label}' is invalid: 5-63 letters, digits or hyphens, starting with a letter "
            "and ending with a letter or digit"
        )
    return None


def check_env_name(name: str) -> str | None:
    if not name:
        return "is required"
    if not ENV_NAME_RE.fullmatch(name):
        return (
            f"'{name}' is invalid: 1-63 letters, digits or underscores, "
            "not starting or ending with an underscore"
        )
    return None


def check_volume_name(name: str) -> str | None:
    if not VOLUME_NAME_RE.fullmatch(name or ""):
        return f"'{name}' is invalid: 1-63 lowercase letters, digits or single hyphens"
    return None


def check_resource_group_name(name: str) -> str | None:
    if not name:
        return "is required"
    if not RESOURCE_GROUP_RE.fullmatch(name):
        return (
            f"'{name}' is invalid: 1-90 letters, digits, underscores, hyphens, periods or "
            "parentheses, not ending in a period"
        )
    return None


def check_port(port: object) -> str | None:
    if isinstance(port, bool):
        return f"'{port}' is not a port number"
    try:
        value = int(str(port))
    except (TypeError, ValueError):
        return f"'{port}' is not a port number"
    if str(value) != str(port).strip() and not isinstance(port, int):
        return f"'{port}' is not a port number"
    if not MIN_PORT <= value <= MAX_PORT:
        return f"{value} is out of range {MIN_PORT}-{MAX_PORT}"
    return None


def check_cpu(cpu: object) -> str | None:
    number = _positive_number(cpu)
    if number is None:
        return f"'{_shown(cpu)}' must be a positive number of cores"
    if number > MAX_GROUP_CPU:
        return f"{number:g} cores is more than the {MAX_GROUP_CPU:g} a container group may have"
    return None


def check_memory_gb(memory: object) -> str | None:
    number = _positive_number(memory)
    if number is None:
        return f"'{_shown(memory)}' must be a positive number of GB"
    if number > MAX_GROUP_MEMORY_GB:
        return f"{number:g} GB is more than the {MAX_GROUP_MEMORY_GB:g} GB a container group may have"
    return None


def _shown(value: object) -> str:
    """A value as the user typed it: ``0.0`` from YAML or the form reads ``0``, like the ``--cpu 0`` flag."""
    if isinstance(value, float) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:g}"
    return str(value)


def _positive_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    if math.isnan(number) or number <= 0 or math.isinf(number):
        return None
    return number


# -- choices, images, commands, limits, tags (added with the spec model; same conventions as above) ----------
# ARM tag limits: name 1-512 characters, value up to 256, and these characters are refused in names.
MAX_TAG_NAME_LENGTH = 512
MAX_TAG_VALUE_LENGTH = 256
TAG_NAME_FORBIDDEN = "<>%&\\?/"


def check_choice(value: object, choices: tuple[str, ...]) -> str | None:
    """Case-insensitive, like ARM enums; callers send ``canonical_choice(value)``."""
    if canonical_choice(str(value), choices) is None:
        return f"'{value}' is not one of {', '.join(choices)}"
    return None


def check_restart_policy(policy: object) -> str | None:
    return check_choice(policy, RESTART_POLICIES)


def check_os_type(os_type: object) -> str | None:
    return check_choice(os_type, OS_TYPES)


def check_ip_address_type(ip_type: object) -> str | None:
    return check_choice(ip_type, IP_ADDRESS_TYPES)


def check_protocol(protocol: object) -> str | None:
    return check_choice(protocol, PROTOCOLS)


def check_image(image: object) -> str | None:
    if not isinstance(image, str) or not image.strip():
        return "is required"
    if any(ch.isspace() for ch in image):
        return f"'{image}' is invalid: an image reference contains no spaces"
    return None


def check_command(command: object) -> str | None:
    """An exec-form command: a non-empty list of strings whose first item (the program) is not empty."""
    if isinstance(command, str) or not isinstance(command, (list, tuple)):
        return "must be a list of strings such as ['echo', 'hello'] (or split a command line with shlex)"
    if not command:
        return None  # ACI takes [] as "the image's default command" (its own 2023-05-01 examples send it)
    if not all(isinstance(part, str) for part in command):
        return "must contain only strings"
    if not command[0].strip():
        return "must start with the program to run, not an empty string"
    return None


def check_limit(limit: object, request: float, group_total: float, unit: str) -> str | None:
    """A container's resource limit: a positive number, at least its request, at most the group total."""
    number = _positive_number(limit)
    if number is None:
        return f"'{limit}' must be a positive number of {unit}"
    if number < request:
        return f"{number:g} is less than the request ({request:g} {unit}); a limit must be at least the request"
    if number > group_total:
        return f"{number:g} is more than the group's total request ({group_total:g} {unit})"
    return None


def check_tag(name: object, value: object) -> str | None:
    if not isinstance(name, str) or not name:
        return "a tag name is required"
    if len(name) > MAX_TAG_NAME_LENGTH:
        return f"tag name is {len(name)} characters long; the limit is {MAX_TAG_NAME_LENGTH}"
    bad = sorted({ch for ch in name if ch in TAG_NAME_FORBIDDEN})
    if bad:
        return f"tag name '{name}' contains {' '.join(bad)}, which ARM does not allow"
    if not isinstance(value, str):
        return f"the value of tag '{name}' must be text"
    if len(value) > MAX_TAG_VALUE_LENGTH:
        return f"the value of tag '{name}' is {len(value)} characters long; the limit is {MAX_TAG_VALUE_LENGTH}"
    return None


# -- the rest of the 2023-05-01 group (issue 18; sources: docs/reference/aci-group-model.md, rule ids in brackets) --
MAX_INIT_CONTAINERS = 59  # [I2]
GPU_SKUS = ("K80", "P100", "V100")  # [G2]
GPU_COUNTS = (1, 2, 4)  # [G3]
ZONES = ("1", "2", "3")  # [Z3]
SUBNET_ID_RE = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/"
                          r"virtualNetworks/[^/]+/subnets/[^/]+$", re.IGNORECASE)
USER_IDENTITY_ID_RE = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
                                 r"Microsoft\.ManagedIdentity/userAssignedIdentities/[^/]+$", re.IGNORECASE)
_BASE64_RE = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")


def check_mount_path(path: object) -> str | None:
    """[V4] no ':' (ACI's InvalidVolumeMountPath); [V5] absolute (our rule: ACI's is uncertain)."""
    if not isinstance(path, str) or not path:
        return "a mount path such as /mnt/data is required"
    if ":" in path:
        return f"'{path}' is invalid: a volume mount path can't contain ':'"
    if not path.startswith("/"):
        return f"'{path}' is invalid: a volume mount path must be absolute (start with /)"
    return None


def is_base64(text: object) -> bool:
    """[V10] standard alphabet with padding, as ACI decodes secret volume values."""
    return isinstance(text, str) and bool(text) and bool(_BASE64_RE.fullmatch(text))


def check_secret_file_name(name: object) -> str | None:
    """[V11] a secret volume's keys become file names."""
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name:
        return f"'{name}' is not a valid file name for a secret volume (no '/', not '.' or '..')"
    return None


def check_git_repository(url: object) -> str | None:
    """[V12] a full http(s) URL. Never shows the URL: it may hold a token."""
    if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+", url):
        return "must be a full http:// or https:// repository URL"
    return None


def check_git_directory(directory: object) -> str | None:
    """[V12] az: 'The git repo directory cannot contain '..''."""
    if isinstance(directory, str) and ".." in directory:
        return f"'{directory}' is invalid: the git repo directory cannot contain '..'"
    return None


def check_zones(zones: object) -> str | None:
    """[Z1] at most one zone (ACI's ResourceTypeNotSupportMultiZones); [Z3] '1', '2' or '3'."""
    if not isinstance(zones, list):
        return "must be a list such as ['1']"
    if len(zones) > 1:
        return (f"the resource type 'containerGroups' does not support multiple availability zones "
                f"(given {','.join(map(str, zones))}); give a single zone")
    for zone in zones:
        if str(zone) not in ZONES:
            return f"'{zone}' is not an availability zone; use 1, 2 or 3"
    return None


def check_gpu(count: object, sku: object) -> str | None:
    """[G2] K80, P100 or V100; [G3] 1, 2 or 4 GPUs."""
    if canonical_choice(str(sku), GPU_SKUS) is None:
        return f"GPU sku '{sku}' is not one of {', '.join(GPU_SKUS)}"
    if isinstance(count, bool) or count not in GPU_COUNTS:
        return f"GPU count '{count}' must be 1, 2 or 4"
    return None


def check_subnet_id(subnet_id: object) -> str | None:
    """[K5] a full subnet resource id (ARM template expressions ``[resourceId(...)]`` pass: ARM resolves them)."""
    if isinstance(subnet_id, str) and subnet_id.startswith("[") and subnet_id.endswith("]"):
        return None
    if not isinstance(subnet_id, str) or not SUBNET_ID_RE.fullmatch(subnet_id):
        return ("must be a subnet resource id: /subscriptions/{id}/resourceGroups/{rg}/providers/"
                "Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}")
    return None


def check_user_identity_id(identity: object) -> str | None:
    """[M2] a user-assigned identity's resource id."""
    if not isinstance(identity, str) or not USER_IDENTITY_ID_RE.fullmatch(identity):
        return (f"'{identity}' is not a user-assigned identity resource id: /subscriptions/{{id}}/resourceGroups/"
                "{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}")
    return None


def check_non_negative_int(value: object, minimum: int = 0) -> str | None:
    """[B4] probe seconds and thresholds; [S4] runAsUser/runAsGroup."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        return f"'{value}' must be a whole number of {minimum} or more"
    return None
