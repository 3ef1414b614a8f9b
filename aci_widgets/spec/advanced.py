"""The typed parts of a container and a group beyond the basics: GPU, probes, security context,
diagnostics, DNS configuration, subnets, encryption, extensions, confidential compute.

Each is a ``model.Part`` (its ``FIELDS`` give the ACI JSON keys), read and written by ``model.read_part`` /
``model.write_part``. The rules that check them are in ``checks_more.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..secrets import Secret
from .model import F, Part

GPU_SKUS = ("K80", "P100", "V100")
PROBE_SCHEMES = ("http", "https")
LOG_TYPES = ("ContainerInsights", "ContainerInstanceLogs")
SKUS = ("Standard", "Dedicated", "Confidential")
PRIORITIES = ("Regular", "Spot")
LABEL_SCOPES = ("Unsecure", "TenantReuse", "SubscriptionReuse", "ResourceGroupReuse", "Noreuse")


@dataclass
class GpuSpec(Part):
    count: Any = None
    sku: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (F("count", "count", "int"), F("sku", "sku"))


@dataclass
class HttpHeader(Part):
    name: str | None = None
    value: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (F("name", "name"), F("value", "value"))


@dataclass
class HttpGet(Part):
    port: Any = None
    path: str | None = None
    scheme: str | None = None
    http_headers: list[HttpHeader] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (F("path", "path"), F("port", "port", "int"), F("scheme", "scheme"),
              F("http_headers", "httpHeaders", "list", HttpHeader))


@dataclass
class ExecAction(Part):
    command: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (F("command", "command", "strs"),)


@dataclass
class ProbeSpec(Part):
    exec: ExecAction | None = None
    http_get: HttpGet | None = None
    initial_delay_seconds: Any = None
    period_seconds: Any = None
    failure_threshold: Any = None
    success_threshold: Any = None
    timeout_seconds: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (F("exec", "exec", "obj", ExecAction), F("http_get", "httpGet", "obj", HttpGet),
              F("initial_delay_seconds", "initialDelaySeconds", "int"), F("period_seconds", "periodSeconds", "int"),
              F("failure_threshold", "failureThreshold", "int"), F("success_threshold", "successThreshold", "int"),
              F("timeout_seconds", "timeoutSeconds", "int"))

    NUMBERS = ("initial_delay_seconds", "period_seconds", "failure_threshold", "success_threshold",
               "timeout_seconds")


@dataclass
class Capabilities(Part):
    add: list[str] | None = None
    drop: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (F("add", "add", "strs"), F("drop", "drop", "strs"))


@dataclass
class SecurityContext(Part):
    privileged: Any = None
    allow_privilege_escalation: Any = None
    capabilities: Capabilities | None = None
    run_as_group: Any = None
    run_as_user: Any = None
    seccomp_profile: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (F("privileged", "privileged", "bool"),
              F("allow_privilege_escalation", "allowPrivilegeEscalation", "bool"),
              F("capabilities", "capabilities", "obj", Capabilities), F("run_as_group", "runAsGroup", "int"),
              F("run_as_user", "runAsUser", "int"), F("seccomp_profile", "seccompProfile"))


@dataclass
class LogAnalytics(Part):
    workspace_id: str | None = None
    workspace_key: Secret | None = None
    log_type: str | None = None
    metadata: dict[str, str] | None = None
    workspace_resource_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (F("workspace_id", "workspaceId"), F("workspace_key", "workspaceKey", "secret"),
              F("log_type", "logType"), F("metadata", "metadata", "map"),
              F("workspace_resource_id", "workspaceResourceId"))

    def __post_init__(self) -> None:
        if self.workspace_key is not None and not isinstance(self.workspace_key, Secret):
            self.workspace_key = Secret(str(self.workspace_key))


@dataclass
class Diagnostics(Part):
    log_analytics: LogAnalytics | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (F("log_analytics", "logAnalytics", "obj", LogAnalytics),)


@dataclass
class DnsConfig(Part):
    name_servers: list[str] | None = None
    search_domains: str | None = None
    options: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (F("name_servers", "nameServers", "strs"), F("search_domains", "searchDomains"),
              F("options", "options"))


@dataclass
class SubnetId(Part):
    id: str | None = None
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (F("id", "id"), F("name", "name"))


@dataclass
class Encryption(Part):
    vault_base_url: str | None = None
    key_name: str | None = None
    key_version: str | None = None
    identity: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (F("vault_base_url", "vaultBaseUrl"), F("key_name", "keyName"), F("key_version", "keyVersion"),
              F("identity", "identity"))


@dataclass
class Extension(Part):
    name: str | None = None
    extension_type: str | None = None
    version: str | None = None
    settings: Any = None
    protected_settings: dict[str, Secret | None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (F("name", "name"), F("extension_type", "extensionType", nested=True),
              F("version", "version", nested=True), F("settings", "settings", "any", nested=True),
              F("protected_settings", "protectedSettings", "secret_json_map", nested=True))


@dataclass
class Confidential(Part):
    cce_policy: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (F("cce_policy", "ccePolicy"),)
