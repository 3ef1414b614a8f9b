"""Sessions: which backend we talk to, with which credential, and the defaults a user set.

``connect()`` picks a backend and builds the two real SDK clients (Container Instance and Resource
Management). Every operation in ``ops.py`` goes through those clients, whatever the backend:

- ``azure`` with an auth file (``auth_file=`` or ``AZURE_AUTH_LOCATION``): credential, authority and ARM
  endpoint all from the file;
- ``azure`` with ``DefaultAzureCredential`` and ``AZURE_SUBSCRIPTION_ID``;
- ``clients=(ci, rm)`` the user already built, as the seed sample builds them;
- ``local``: the emulator, started on demand, reached through its own auth file like any Azure Stack.

``auto`` takes the first that is configured, in that order, and says which it chose.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .arm_calls import ArmCalls
from .budget import ArmBudget
from .credentials import PUBLIC_ARM, AuthFile, read_auth_file
from .errors import ConfigurationError
from .exec_ops import ExecOperations
from .metrics_ops import MetricsOperations
from .ops import GroupOperations
from .retries import NotifyingRetryPolicy
from .tuning import Tuning, is_loopback

BACKENDS = ("auto", "local", "azure")
Notify = Callable[[str], None]


def _print_notice(message: str) -> None:
    print(message, file=sys.stdout, flush=True)


def _operation(name: str, owner: type = GroupOperations, attribute: str = "operations") -> Any:
    """A Session method that runs ``GroupOperations.<name>`` on the session's operations (same doc, signature);
    ``owner``/``attribute`` name another operations class and the Session attribute that holds it."""
    method = getattr(owner, name)

    @functools.wraps(method)
    def forward(self: Session, *args: Any, **kwargs: Any) -> Any:
        return method(getattr(self, attribute), *args, **kwargs)

    return forward


class Session:
    """A connection to one backend, with default resource group and location.

    It holds the clients and the defaults; what it can do is ``self.operations`` (``ops.GroupOperations``),
    offered here as methods. They take ``resource_group=`` to override the default.
    """

    list_group_json = _operation("list_group_json")
    list_groups = _operation("list_groups")
    live_states = _operation("live_states")
    get_many = _operation("get_many")
    get_group_json = _operation("get_group_json")
    location_usage = _operation("location_usage")
    get_group = _operation("get_group")
    create_group = _operation("create_group")
    run_task = _operation("run_task")
    logs = _operation("logs")
    follow_logs = _operation("follow_logs")
    start = _operation("start")
    stop = _operation("stop")
    restart = _operation("restart")
    delete_groups = _operation("delete_groups")
    ensure_resource_group = _operation("ensure_resource_group")
    delete_resource_group = _operation("delete_resource_group")
    list_resource_groups = _operation("list_resource_groups")
    export_group = _operation("export_group")
    exec = _operation("exec", ExecOperations, "exec_operations")
    open_console = _operation("open_console", ExecOperations, "exec_operations")
    metrics = _operation("metrics", MetricsOperations, "metrics_operations")

    def __init__(
        self,
        ci: Any,
        rm: Any,
        *,
        backend: str,
        subscription_id: str,
        description: str,
        resource_group: str | None = None,
        location: str | None = None,
        tuning: Tuning | None = None,
        secrets: tuple[str, ...] = (),
        notify: Notify | None = None,
        retry_policy: NotifyingRetryPolicy | None = None,
        budget: ArmBudget | None = None,
    ) -> None:
        self.ci = ci
        self.rm = rm
        self.backend = backend
        self.subscription_id = subscription_id
        self.description = description
        self.resource_group = resource_group
        self.location = location
        self.tuning = tuning or Tuning()
        self._secrets = tuple(s for s in secrets if s)
        self.notify: Notify = notify or _print_notice
        self.engine: str | None = None  # the local emulator's container engine (docker / process)
        if retry_policy is not None:
            retry_policy.on_retry = lambda message: self.notify(message)
        # ARM's token budget as the answers report it (budget.py); hooked into clients we build ourselves.
        self.budget = budget or ArmBudget()
        self.budget.notify = lambda message: self.notify(message)
        self.calls = ArmCalls(self)
        self.operations = GroupOperations(self.calls)
        self.exec_operations = ExecOperations(self.calls)
        self.metrics_operations = MetricsOperations(self.calls)

    def __repr__(self) -> str:
        return (
            f"<aci_widgets.Session {self.description}; resource_group={self.resource_group!r} "
            f"location={self.location!r}>"
        )

    def whoami(self) -> dict[str, str | None]:
        return {
            "backend": self.backend,
            "endpoint": self.description,
            "subscription_id": self.subscription_id,
            "resource_group": self.resource_group,
            "location": self.location,
            **({"engine": self.engine} if self.engine else {}),
        }

    def secret_values(self) -> tuple[str, ...]:
        return self._secrets


# -- building clients ------------------------------------------------------------------------------


def _build_clients(credential: Any, subscription_id: str, *, base_url: str, verify: bool | str,
                   tuning: Tuning, retry_policy: NotifyingRetryPolicy, budget: ArmBudget) -> tuple[Any, Any]:
    from azure.mgmt.containerinstance import ContainerInstanceManagementClient
    from azure.mgmt.resource.resources import ResourceManagementClient

    scope = base_url.rstrip("/") + "/.default"
    common: dict[str, Any] = {
        "base_url": base_url,
        "credential_scopes": [scope],
        "connection_verify": verify,
        "polling_interval": tuning.poll_interval,
        "retry_policy": retry_policy,
        "raw_request_hook": budget.before_request,
        "raw_response_hook": budget.after_response,
    }
    ci = ContainerInstanceManagementClient(credential, subscription_id, **common)
    rm = ResourceManagementClient(credential, subscription_id, **common)
    return ci, rm


def _session_from_auth_file(auth: AuthFile, *, backend: str, description: str, overrides: dict[str, Any],
                            **defaults: Any) -> Session:
    tuning = Tuning.for_endpoint(auth.resource_manager, **overrides)
    retry_policy = NotifyingRetryPolicy(retry_total=tuning.retry_total,
                                        retry_backoff_factor=tuning.retry_backoff_factor)
    budget = ArmBudget()
    ci, rm = _build_clients(auth.credential(), auth.subscription_id, base_url=auth.resource_manager,
                            verify=auth.connection_verify(), tuning=tuning, retry_policy=retry_policy,
                            budget=budget)
    return Session(ci, rm, backend=backend, subscription_id=auth.subscription_id, description=description,
                   tuning=tuning, secrets=auth.secret_values(), retry_policy=retry_policy, budget=budget,
                   **defaults)


def _local_session(overrides: dict[str, Any], **defaults: Any) -> Session:
    from .emulator.auth import ensure_auth_file
    from .emulator.config import EmulatorHome
    from .emulator.launcher import ensure_running, health

    home = EmulatorHome.default()
    base_url, _pid = ensure_running(home)
    auth = read_auth_file(ensure_auth_file(home, base_url))
    session = _session_from_auth_file(auth, backend="local", description=f"local emulator at {base_url}",
                                      overrides=overrides, **defaults)
    answer = health(home, base_url) or {}
    session.engine = str(answer.get("engineDescription") or answer.get("engine") or "") or None
    return session


def _azure_session(auth_file: str | None, subscription_id: str | None, credential: Any,
                   overrides: dict[str, Any], **defaults: Any) -> Session:
    path = auth_file or os.environ.get("AZURE_AUTH_LOCATION")
    if path and credential is None:
        auth = read_auth_file(path)
        if subscription_id:
            auth = _with_subscription(auth, subscription_id)
        if auth.is_public_cloud:
            where = "Azure"
        elif is_loopback(auth.resource_manager) and auth.ca_cert_path:
            # The emulator's own auth file: reached exactly like Azure (ClientSecretCredential, HTTPS), but
            # a class should still read that this is the local emulator.
            where = f"local emulator at {auth.resource_manager.rstrip('/')}, reached like Azure"
        else:
            where = f"Azure endpoint {auth.resource_manager}"
        return _session_from_auth_file(auth, backend="azure",
                                       description=f"{where} (auth file {auth.path})", overrides=overrides,
                                       **defaults)
    subscription = subscription_id or os.environ.get("AZURE_SUBSCRIPTION_ID")
    if not subscription:
        raise ConfigurationError(
            "no Azure subscription: pass subscription_id=, set AZURE_SUBSCRIPTION_ID, or use an auth file "
            "(auth_file= or AZURE_AUTH_LOCATION)"
        )
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    tuning = Tuning.for_endpoint(PUBLIC_ARM, **overrides)
    retry_policy = NotifyingRetryPolicy(retry_total=tuning.retry_total,
                                        retry_backoff_factor=tuning.retry_backoff_factor)
    verify = os.environ.get("REQUESTS_CA_BUNDLE") or True
    budget = ArmBudget()
    ci, rm = _build_clients(credential, subscription, base_url=PUBLIC_ARM, verify=verify,
                            tuning=tuning, retry_policy=retry_policy, budget=budget)
    return Session(ci, rm, backend="azure", subscription_id=subscription, tuning=tuning,
                   description=f"Azure (subscription {subscription}, {type(credential).__name__})",
                   retry_policy=retry_policy, budget=budget, **defaults)


def _with_subscription(auth: AuthFile, subscription_id: str) -> AuthFile:

    return replace(auth, subscription_id=subscription_id)


def _clients_session(clients: Any, overrides: dict[str, Any], **defaults: Any) -> Session:
    try:
        ci, rm = clients
    except (TypeError, ValueError):
        raise ConfigurationError(
            "clients= must be a pair (ContainerInstanceManagementClient, ResourceManagementClient)"
        ) from None
    subscription = getattr(getattr(ci, "_config", None), "subscription_id", None) or "unknown"
    base = getattr(getattr(ci, "_client", None), "_base_url", None) or "Azure"
    # Their clients keep their own polling and retry settings; ours only steer our own loops.
    return Session(ci, rm, backend="azure", subscription_id=subscription, tuning=Tuning.for_endpoint(base, **overrides),
                   description=f"your clients ({base})", **defaults)


def auto_backend() -> str:
    """Which backend "auto" means here: an auth file, else Azure settings, else the local emulator."""
    forced = os.environ.get("ACI_WIDGETS_BACKEND", "").strip().lower()
    if forced in ("local", "azure"):
        return forced
    if os.environ.get("AZURE_AUTH_LOCATION") or os.environ.get("AZURE_SUBSCRIPTION_ID"):
        return "azure"
    return "local"


# -- the public entry point --------------------------------------------------------------------------

_default_session: Session | None = None


def connect(
    backend: str = "auto",
    *,
    auth_file: str | os.PathLike[str] | None = None,
    subscription_id: str | None = None,
    resource_group: str | None = None,
    location: str | None = None,
    credential: Any = None,
    clients: Any = None,
    poll_interval: float | None = None,
    quiet: bool = False,
) -> Session:
    """Connect to a backend and make it the default session.

    ``backend="auto"`` uses, in order: ``clients=``; an auth file (``auth_file=`` or ``AZURE_AUTH_LOCATION``);
    ``credential=``/``AZURE_SUBSCRIPTION_ID`` with ``DefaultAzureCredential``; else the local emulator.
    """
    global _default_session
    choice = str(backend).strip().lower()
    if choice not in BACKENDS:
        raise ConfigurationError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    defaults: dict[str, Any] = {
        "resource_group": resource_group or os.environ.get("ACI_RESOURCE_GROUP"),
        "location": location or os.environ.get("ACI_LOCATION"),
    }
    overrides: dict[str, Any] = {"poll_interval": poll_interval}
    auth_path = os.fspath(auth_file) if auth_file is not None else None
    reason = ""
    if clients is not None:
        session = _clients_session(clients, overrides, **defaults)
    elif choice == "local":
        session = _local_session(overrides, **defaults)
    elif choice == "azure" or auth_path or credential is not None:
        session = _azure_session(auth_path, subscription_id, credential, overrides, **defaults)
    else:
        chosen = auto_backend()
        if chosen == "azure":
            session = _azure_session(None, subscription_id, None, overrides, **defaults)
            reason = " (Azure settings found in the environment)"
        else:
            session = _local_session(overrides, **defaults)
            reason = " (no Azure credentials configured; %aci use azure switches)"
    if session.location is None:
        session.location = "eastus" if session.backend == "local" else None
    if session.resource_group is None and session.backend == "local":
        session.resource_group = "aci-local"
    _default_session = session
    if not quiet:
        session.notify(f"aci-widgets: using the {session.description}{reason}")
    return session


def default_session() -> Session:
    """The session ``connect()`` made last; connects with ``backend="auto"`` the first time."""
    return _default_session if _default_session is not None else connect()


def current_session() -> Session | None:
    """The default session if one exists, without connecting (``default_session()`` would connect)."""
    return _default_session


def set_default_session(session: Session | None) -> None:
    global _default_session
    _default_session = session
