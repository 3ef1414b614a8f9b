"""The GroupForm's collapsed sections (issue 18): an ``Accordion`` of volumes and mounts, identity, networking,
registry, diagnostics and advanced, each field with its validation message under it. The meaning of the values
is in ``form_features.py`` (pure); this module only holds the widgets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

import ipywidgets as widgets

from .form_features import SECRET_FIELDS, SECTIONS, FeatureState
from .render import field_message_html

_STYLE = {"description_width": "170px"}
_LABELS = {
    "azure_file_share": "Azure Files share", "azure_file_account": "storage account",
    "azure_file_key": "storage account key", "azure_file_mount_path": "mount path (share)",
    "secrets": "secrets (name=value lines)", "secrets_mount_path": "mount path (secrets)",
    "gitrepo_url": "git repo URL", "gitrepo_dir": "git repo directory", "gitrepo_revision": "git revision",
    "gitrepo_mount_path": "mount path (git repo)", "empty_dir_mount_path": "empty dir mount path",
    "system_identity": "system-assigned identity", "user_identities": "user identity ids (one a line)",
    "subnet": "subnet id (VNet)", "zone": "availability zone", "dns_servers": "DNS servers",
    "registry_server": "registry server", "registry_username": "registry username",
    "registry_password": "registry password", "acr_identity": "registry identity (id)",
    "workspace_id": "Log Analytics workspace id", "workspace_key": "workspace key", "log_type": "log type",
    "sku": "SKU", "priority": "priority", "cce_policy": "CCE policy (base64)",
}
_CHOICES = {"log_type": ("", "ContainerInsights", "ContainerInstanceLogs"),
            "sku": ("", "Standard", "Dedicated", "Confidential"), "priority": ("", "Regular", "Spot")}
_AREAS = ("secrets", "user_identities", "cce_policy")


def _control(name: str) -> widgets.Widget:
    layout = widgets.Layout(width="520px")
    label = _LABELS[name]
    if name == "system_identity":
        return widgets.Checkbox(value=False, description=label, style=_STYLE, indent=False)
    if name in _CHOICES:
        return widgets.Dropdown(options=list(_CHOICES[name]), value="", description=label, style=_STYLE,
                                layout=layout)
    if name in SECRET_FIELDS:
        return widgets.Password(description=label, style=_STYLE, layout=layout)
    if name in _AREAS:
        return widgets.Textarea(description=label, style=_STYLE, layout=widgets.Layout(width="520px", height="60px"))
    return widgets.Text(description=label, style=_STYLE, layout=layout)


class FeatureSections:
    """``controls[name]`` and ``messages[name]`` per field; ``accordion`` (every section collapsed at first)."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        self.controls: dict[str, widgets.Widget] = {}
        self.messages: dict[str, widgets.HTML] = {}
        children = []
        for names in SECTIONS.values():
            rows = []
            for name in names:
                self.controls[name] = _control(name)
                self.messages[name] = widgets.HTML(value="")
                self.controls[name].observe(lambda _c: on_change(), names="value")
                rows.append(widgets.VBox([self.controls[name], self.messages[name]]))
            children.append(widgets.VBox(rows))
        self.messages["other"] = widgets.HTML(value="")
        self.accordion = widgets.Accordion(children=children, selected_index=None)
        for index, title in enumerate(SECTIONS):
            self.accordion.set_title(index, title)
        self.box = widgets.VBox([self.accordion, self.messages["other"]])

    def state(self) -> FeatureState:
        return FeatureState(**{f.name: self.controls[f.name].value for f in fields(FeatureState)})

    def load(self, state: FeatureState) -> None:
        for f in fields(FeatureState):
            value = getattr(state, f.name)
            control = self.controls[f.name]
            if isinstance(control, widgets.Dropdown) and value not in control.options:
                control.options = [*control.options, value]
            control.value = value

    def show_messages(self, slots: Mapping[str, str]) -> None:
        for name, widget in self.messages.items():
            widget.value = field_message_html(slots.get(f"features.{name}"))
        # open the first section that has a problem, so that the message is seen
        for index, names in enumerate(SECTIONS.values()):
            if any(slots.get(f"features.{name}") for name in names) and self.accordion.selected_index is None:
                self.accordion.selected_index = index
                break

    def section_of(self, name: str) -> Any:
        return next(title for title, names in SECTIONS.items() if name in names)
