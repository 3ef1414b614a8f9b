"""The notebook widgets: ``GroupForm``, ``GroupBrowser``, ``LogViewer`` (core ipywidgets only).

Imported lazily, like the package root: ``import aci_widgets.widgets.render`` must not pay for
ipywidgets, and ``%load_ext aci_widgets`` must not pay for any of this.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "GroupForm": "aci_widgets.widgets.form",
    "GroupBrowser": "aci_widgets.widgets.browser",
    "GroupDetailView": "aci_widgets.widgets.browser",
    "LogViewer": "aci_widgets.widgets.logs",
    "SelectTable": "aci_widgets.widgets.table",
}

__all__ = ["GroupBrowser", "GroupDetailView", "GroupForm", "LogViewer", "SelectTable"]

if TYPE_CHECKING:
    from .browser import GroupBrowser, GroupDetailView
    from .form import GroupForm
    from .logs import LogViewer
    from .table import SelectTable


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aci_widgets.widgets' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
