"""aci-widgets: manage Azure Container Instances from Jupyter.

Importing this package is cheap on purpose (``%load_ext aci_widgets`` must not pull in the Azure SDK,
pandas or ipywidgets): every public name is resolved on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "connect": "aci_widgets.session",
    "default_session": "aci_widgets.session",
    "Session": "aci_widgets.session",
    "GroupSpec": "aci_widgets.spec",
    "ContainerSpec": "aci_widgets.spec",
    "GroupDetails": "aci_widgets.results",
    "TaskResult": "aci_widgets.results",
    "AciError": "aci_widgets.errors",
    "InvalidInput": "aci_widgets.errors",
    "NotFound": "aci_widgets.errors",
    "OperationFailed": "aci_widgets.errors",
    "GroupForm": "aci_widgets.widgets.form",
    "GroupBrowser": "aci_widgets.widgets.browser",
    "LogViewer": "aci_widgets.widgets.logs",
    "local_auth_file": "aci_widgets.emulator.local",
}

__all__ = [
    "AciError",
    "ContainerSpec",
    "GroupBrowser",
    "GroupDetails",
    "GroupForm",
    "GroupSpec",
    "InvalidInput",
    "LogViewer",
    "NotFound",
    "OperationFailed",
    "Session",
    "TaskResult",
    "__version__",
    "connect",
    "default_session",
    "load_ipython_extension",
    "local_auth_file",
    "unload_ipython_extension",
]

if TYPE_CHECKING:
    from .emulator.local import local_auth_file
    from .errors import AciError, InvalidInput, NotFound, OperationFailed
    from .results import GroupDetails, TaskResult
    from .session import Session, connect, default_session
    from .spec import ContainerSpec, GroupSpec
    from .widgets.browser import GroupBrowser
    from .widgets.form import GroupForm
    from .widgets.logs import LogViewer


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aci_widgets' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext aci_widgets``: register ``%aci`` / ``%%aci``."""
    from .magics import register

    register(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .magics import unregister

    unregister(ipython)
