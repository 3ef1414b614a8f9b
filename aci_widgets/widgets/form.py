"""``GroupForm``: build a container group in a form, see it as YAML / Python / az, and create it.

The form is thin: its widget values become a :class:`~aci_widgets.widgets.form_model.FormState`, and
``form_model.evaluate`` turns that into a ``GroupSpec`` and its problems (``GroupSpec.problems()``, the
same rules as the Python API and the magics). Each problem is shown under its field as the user types;
Create stays disabled while there is any. Create runs ``session.create_group`` in a background thread
and reports through the status line (never ``print`` or ``with output:``, see progress.py).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .. import rules
from ..results import GroupDetails
from .form_model import (
    COMMAND_DEFAULT,
    COMMAND_EXEC,
    COMMAND_MODES,
    COMMAND_SHELL,
    IP_CHOICES,
    NO_IP,
    PREVIEW_KINDS,
    TEMPLATES,
    Evaluation,
    FormContainer,
    FormEnv,
    FormState,
    evaluate,
    messages_by_slot,
    previews,
    state_from_spec,
)
from .form_sections import FeatureSections
from .progress import BackgroundRunner, StatusLine
from .render import field_message_html

if TYPE_CHECKING:
    from ..session import Session
    from ..spec import GroupSpec



def _wide() -> widgets.Layout:
    # one Layout per widget: a shared Layout is one front-end model, so resizing one field would resize all
    return widgets.Layout(width="340px")

_LABEL_STYLE = {"description_width": "110px"}
_COMMAND_PLACEHOLDERS = {
    COMMAND_DEFAULT: "the image's own command",
    COMMAND_EXEC: "one command line, split like a shell: echo FOO BAR",
    COMMAND_SHELL: "commands for /bin/sh -c, e.g. echo FOO BAR && tail -f /dev/null",
}
NO_TEMPLATE = "template…"


def _message() -> widgets.HTML:
    return widgets.HTML(value="", layout=widgets.Layout(margin="0 0 4px 116px"))


def _field(control: widgets.Widget, message: widgets.HTML) -> widgets.VBox:
    return widgets.VBox([control, message], layout=widgets.Layout(margin="0"))


class _EnvRow:
    """One environment variable: name, value (a Password widget when secure), secure toggle, remove."""

    def __init__(self, item: FormEnv, on_change: Callable[[], None], on_remove: Callable[[_EnvRow], None]) -> None:
        self.name = widgets.Text(value=item.name, placeholder="NAME", layout=widgets.Layout(width="180px"))
        self.plain = widgets.Text(value="" if item.secure else item.value, placeholder="value",
                                  layout=widgets.Layout(width="220px"))
        self.password = widgets.Password(value=item.value if item.secure else "", placeholder="secure value",
                                         layout=widgets.Layout(width="220px"))
        self.secure = widgets.Checkbox(value=item.secure, description="secure", indent=False,
                                       tooltip="sent as secureValue: never shown, exported or returned by ACI",
                                       layout=widgets.Layout(width="80px"))
        self.remove = widgets.Button(icon="trash", tooltip="remove this variable", layout=widgets.Layout(width="36px"))
        self.message = widgets.HTML(value="")
        self.row = widgets.HBox([self.name, self.value_widget, self.secure, self.remove])
        self.box = widgets.VBox([self.row, self.message])
        self._on_change = on_change
        for control in (self.name, self.plain, self.password):
            control.observe(lambda _c: on_change(), names="value")
        self.secure.observe(self._toggle_secure, names="value")
        self.remove.on_click(lambda _b: on_remove(self))

    @property
    def value_widget(self) -> widgets.Text | widgets.Password:
        return self.password if self.secure.value else self.plain

    def _toggle_secure(self, change: Mapping[str, Any]) -> None:
        # Move the value across so that ticking "secure" hides what was typed instead of losing it.
        if change["new"]:
            self.password.value, self.plain.value = self.plain.value, ""
        else:
            self.plain.value, self.password.value = self.password.value, ""
        self.row.children = [self.name, self.value_widget, self.secure, self.remove]
        self._on_change()

    def state(self) -> FormEnv:
        return FormEnv(self.name.value, self.value_widget.value, self.secure.value)


class _ContainerEditor:
    """The fields of one container, with a message under each."""

    def __init__(self, item: FormContainer, on_change: Callable[[], None],
                 on_remove: Callable[[_ContainerEditor], None]) -> None:
        self._on_change = on_change
        self.title = widgets.HTML(value="")
        self.remove = widgets.Button(description="Remove", icon="trash", tooltip="remove this container",
                                     layout=widgets.Layout(width="100px"))
        self.name = widgets.Text(value=item.name, description="name", style=_LABEL_STYLE, layout=_wide())
        self.image = widgets.Text(value=item.image, description="image", placeholder="mcr.microsoft.com/…",
                                  style=_LABEL_STYLE, layout=widgets.Layout(width="520px"))
        # Unbounded on purpose: a bounded field clamps 100 to its max before the check sees it, and the
        # message then quotes a number nobody typed (issue 17 case 11). The check names the limit.
        self.cpu = widgets.FloatText(value=item.cpu, step=0.1, description="CPU (cores)",
                                     style=_LABEL_STYLE, layout=_wide())
        self.memory_gb = widgets.FloatText(value=item.memory_gb, step=0.1,
                                           description="memory (GB)", style=_LABEL_STYLE, layout=_wide())
        self.ports = widgets.Text(value=item.ports, description="ports", placeholder="80, 443 or 53/udp",
                                  style=_LABEL_STYLE, layout=_wide())
        self.command_mode = widgets.ToggleButtons(options=list(COMMAND_MODES), value=item.command_mode,
                                                  description="command",
                                                  style={**_LABEL_STYLE, "button_width": "120px"})
        self.command_text = widgets.Textarea(value=item.command_text, rows=2, style=_LABEL_STYLE,
                                             layout=widgets.Layout(width="520px", margin="0 0 0 116px"))
        self.env_rows: list[_EnvRow] = []
        self.env_box = widgets.VBox([])
        self.add_env = widgets.Button(description="Add variable", icon="plus", layout=widgets.Layout(width="130px"))
        self.messages = {slot: _message() for slot in ("name", "image", "cpu", "memory_gb", "ports", "command")}
        env_title = widgets.HTML(value="<span style='display:inline-block;width:110px;text-align:right;"
                                       "padding-right:6px'>environment</span>")
        self.box = widgets.VBox([
            widgets.HBox([self.title, self.remove], layout=widgets.Layout(justify_content="space-between")),
            _field(self.name, self.messages["name"]),
            _field(self.image, self.messages["image"]),
            widgets.HBox([_field(self.cpu, self.messages["cpu"]), _field(self.memory_gb, self.messages["memory_gb"])]),
            _field(self.ports, self.messages["ports"]),
            self.command_mode, _field(self.command_text, self.messages["command"]),
            widgets.HBox([env_title, widgets.VBox([self.env_box, self.add_env])]),
        ], layout=widgets.Layout(border="1px solid #d0d7de", padding="4px 8px", margin="4px 0"))
        for control in (self.name, self.image, self.cpu, self.memory_gb, self.ports, self.command_text):
            control.observe(lambda _c: on_change(), names="value")
        self.command_mode.observe(self._mode_changed, names="value")
        self.add_env.on_click(lambda _b: self.add_variable(FormEnv()))
        self.remove.on_click(lambda _b: on_remove(self))
        for variable in item.env:
            self.add_variable(variable, notify=False)
        self._update_command_box()

    def add_variable(self, item: FormEnv, *, notify: bool = True) -> _EnvRow:
        row = _EnvRow(item, self._on_change, self.remove_variable)
        self.env_rows.append(row)
        self.env_box.children = [r.box for r in self.env_rows]
        if notify:
            self._on_change()
        return row

    def remove_variable(self, row: _EnvRow) -> None:
        self.env_rows.remove(row)
        self.env_box.children = [r.box for r in self.env_rows]
        self._on_change()

    def _mode_changed(self, _change: Mapping[str, Any]) -> None:
        self._update_command_box()
        self._on_change()

    def _update_command_box(self) -> None:
        mode = self.command_mode.value
        self.command_text.placeholder = _COMMAND_PLACEHOLDERS.get(mode, "")
        self.command_text.disabled = mode == COMMAND_DEFAULT
        self.command_text.rows = 3 if mode == COMMAND_SHELL else 1

    def state(self) -> FormContainer:
        return FormContainer(
            name=self.name.value, image=self.image.value, cpu=self.cpu.value, memory_gb=self.memory_gb.value,
            ports=self.ports.value, command_mode=self.command_mode.value, command_text=self.command_text.value,
            env=[row.state() for row in self.env_rows],
        )

    def show_messages(self, index: int, slots: Mapping[str, str]) -> None:
        prefix = f"containers[{index}]"
        for slot, widget in self.messages.items():
            widget.value = field_message_html(slots.get(f"{prefix}.{slot}"))
        for number, row in enumerate(self.env_rows):
            row.message.value = field_message_html(slots.get(f"{prefix}.env[{number}]"))


class GroupForm(widgets.VBox):
    """A form for one container group: fields, containers, live validation, previews, Create.

    Python side: ``form.spec()`` (the GroupSpec, or ``InvalidInput``), ``form.problems`` (field path ->
    message), ``form.create_button``, ``form.status``, ``form.create()`` and ``form.wait(timeout)``,
    ``form.result`` (the created group's details). ``form.apply_template(name)`` or ``form.load(spec)``
    fill it.
    """

    def __init__(self, session: Session | None = None, *, template: str | None = next(iter(TEMPLATES)),
                 spec: GroupSpec | None = None) -> None:
        if session is None:
            from ..session import default_session

            session = default_session()
        self.session = session
        self._quiet = 0
        self._kept: GroupSpec | None = None  # a loaded group's parts no field shows
        self.evaluation = Evaluation(None, {})
        self.result: GroupDetails | None = None

        self.template = widgets.Dropdown(options=[NO_TEMPLATE, *TEMPLATES], value=NO_TEMPLATE,
                                         description="start from", style=_LABEL_STYLE,
                                         layout=widgets.Layout(width="400px"))
        self.name = widgets.Text(description="name", placeholder="my-group", style=_LABEL_STYLE, layout=_wide())
        self.resource_group = widgets.Text(value=session.resource_group or "", description="resource group",
                                           style=_LABEL_STYLE, layout=_wide())
        self.location = widgets.Text(value=session.location or "", description="location",
                                     placeholder=rules.DEFAULT_LOCATION, style=_LABEL_STYLE, layout=_wide())
        self.os_type = widgets.Dropdown(options=list(rules.OS_TYPES), value="Linux", description="OS type",
                                        style=_LABEL_STYLE, layout=_wide())
        self.restart_policy = widgets.Dropdown(options=list(rules.RESTART_POLICIES), value="Always",
                                               description="restart policy", style=_LABEL_STYLE, layout=_wide())
        self.ip_address_type = widgets.ToggleButtons(options=list(IP_CHOICES), value=NO_IP, description="IP address",
                                                     style={**_LABEL_STYLE, "button_width": "80px"})
        self.dns_name_label = widgets.Text(description="DNS label", placeholder="needs a Public IP",
                                           style=_LABEL_STYLE, layout=_wide())
        self.ports = widgets.Text(description="group ports", placeholder="empty: the containers' ports",
                                  style=_LABEL_STYLE, layout=_wide())
        self.messages = {slot: _message() for slot in ("name", "resource_group", "location", "os_type",
                                                       "restart_policy", "ip_address_type", "dns_name_label",
                                                       "ports", "containers", "other")}
        self.containers: list[_ContainerEditor] = []
        self.containers_box = widgets.VBox([])
        self.add_container_button = widgets.Button(description="Add container", icon="plus",
                                                   layout=widgets.Layout(width="140px"))
        self.preview = {kind: widgets.Textarea(value="", layout=widgets.Layout(width="100%", height="240px"))
                        for kind in PREVIEW_KINDS}
        self.preview_tabs = widgets.Tab(children=[self.preview[kind] for kind in PREVIEW_KINDS])
        for index, kind in enumerate(PREVIEW_KINDS):
            self.preview_tabs.set_title(index, kind)
        self.create_button = widgets.Button(description="Create", icon="rocket", button_style="primary",
                                            disabled=True, layout=widgets.Layout(width="120px"))
        self.status = widgets.HTML(value="")
        self._status_line = StatusLine(widget=self.status)
        self.runner = BackgroundRunner(self._status_line, on_busy_change=lambda _busy: self._update_create_button())

        self.sections = FeatureSections(self._changed)
        group_fields = widgets.VBox([
            _field(self.name, self.messages["name"]),
            _field(self.resource_group, self.messages["resource_group"]),
            _field(self.location, self.messages["location"]),
            _field(self.os_type, self.messages["os_type"]),
            _field(self.restart_policy, self.messages["restart_policy"]),
            _field(self.ip_address_type, self.messages["ip_address_type"]),
            _field(self.dns_name_label, self.messages["dns_name_label"]),
            _field(self.ports, self.messages["ports"]),
        ])
        super().__init__(children=[
            widgets.HTML(value="<b style='font-size:14px'>New container group</b>"),
            self.template,
            group_fields,
            widgets.HTML(value="<b>Containers</b>"),
            self.containers_box,
            self.messages["containers"],
            self.add_container_button,
            widgets.HTML(value="<b>Volumes, identity, networking, registry, diagnostics, advanced</b>"),
            self.sections.box,
            self.messages["other"],
            widgets.HTML(value="<b>Preview</b>"),
            self.preview_tabs,
            widgets.HBox([self.create_button, self.status]),
        ])

        for control in (self.name, self.resource_group, self.location, self.os_type, self.restart_policy,
                        self.ip_address_type, self.dns_name_label, self.ports):
            control.observe(lambda _c: self._changed(), names="value")
        self.template.observe(self._template_chosen, names="value")
        self.add_container_button.on_click(lambda _b: self.add_container())
        self.create_button.on_click(lambda _b: self.create())

        if spec is not None:
            self.load(spec)
        elif template:
            self.apply_template(template)
        else:
            self.load_state(FormState(resource_group=self.resource_group.value, location=self.location.value))

    # -- filling the form --------------------------------------------------------------------------------------
    def apply_template(self, name: str) -> None:
        """Fill the form with one of ``form_model.TEMPLATES`` (the seed's groups), keeping resource group/location."""
        try:
            make = TEMPLATES[name]
        except KeyError:
            raise ValueError(f"unknown template {name!r}; choose one of {', '.join(TEMPLATES)}") from None
        self.load(make(), keep_place=True)

    def load(self, spec: GroupSpec, *, keep_place: bool = False) -> None:
        """Show ``spec`` in the form (``keep_place``: keep the resource group and location already typed)."""
        state = state_from_spec(spec)
        if keep_place or not state.resource_group:
            state.resource_group = self.resource_group.value
        if keep_place or not state.location:
            state.location = self.location.value
        self.load_state(state)

    def load_state(self, state: FormState) -> None:
        self._quiet += 1
        try:
            self.name.value = state.name
            self.resource_group.value = state.resource_group
            self.location.value = state.location
            self.os_type.value = state.os_type if state.os_type in rules.OS_TYPES else "Linux"
            self.restart_policy.value = (state.restart_policy if state.restart_policy in rules.RESTART_POLICIES
                                         else "Always")
            self.ip_address_type.value = state.ip_address_type if state.ip_address_type in IP_CHOICES else NO_IP
            self.dns_name_label.value = state.dns_name_label
            self.ports.value = state.ports
            for editor in self.containers:
                editor.box.close()
            self.containers = []
            for item in state.containers:
                self.add_container(item)
            self.sections.load(state.features)
            self._kept = state.kept
        finally:
            self._quiet -= 1
        self._changed()

    def add_container(self, item: FormContainer | None = None) -> None:
        editor = _ContainerEditor(item or FormContainer(), self._changed, self.remove_container)
        self.containers.append(editor)
        self._relayout_containers()
        self._changed()

    def remove_container(self, editor: _ContainerEditor) -> None:
        self.containers.remove(editor)
        self._relayout_containers()
        self._changed()

    def _relayout_containers(self) -> None:
        for index, editor in enumerate(self.containers):
            editor.title.value = f"<b>container {index + 1}</b>"
            editor.remove.disabled = len(self.containers) == 1  # a group needs one; clear it instead
        self.containers_box.children = [editor.box for editor in self.containers]

    def _template_chosen(self, change: Mapping[str, Any]) -> None:
        if change["new"] and change["new"] != NO_TEMPLATE:
            self.apply_template(change["new"])
            self.template.value = NO_TEMPLATE

    # -- state, validation, preview ------------------------------------------------------------------------------
    def state(self) -> FormState:
        return FormState(
            name=self.name.value, resource_group=self.resource_group.value, location=self.location.value,
            os_type=self.os_type.value, restart_policy=self.restart_policy.value,
            ip_address_type=self.ip_address_type.value, dns_name_label=self.dns_name_label.value,
            ports=self.ports.value, containers=[editor.state() for editor in self.containers],
            features=self.sections.state(), kept=self._kept,
        )

    @property
    def problems(self) -> dict[str, str]:
        """Every problem of the form as it stands, by field path (``containers[0].cpu``...)."""
        return dict(self.evaluation.problems)

    def spec(self) -> GroupSpec:
        """The group the form describes; raises ``InvalidInput`` (with every problem) when it is not valid."""
        return evaluate(self.state()).spec_or_raise()

    def _changed(self) -> None:
        if self._quiet:
            return
        self.evaluation = evaluate(self.state())
        slots = messages_by_slot(self.evaluation.problems, self.evaluation.spec)
        for slot, widget in self.messages.items():
            if slot != "other":
                widget.value = field_message_html(slots.get(slot))
        for index, editor in enumerate(self.containers):
            editor.show_messages(index, slots)
        self.sections.show_messages(slots)
        self.messages["other"].value = field_message_html("; ".join(
            f"{slot}: {message}" for slot, message in slots.items() if not self._has_widget(slot)))
        self._refresh_previews()
        self._update_create_button()

    def _has_widget(self, slot: str) -> bool:
        if slot in self.messages or slot.startswith("features."):
            return True
        for index, editor in enumerate(self.containers):
            prefix = f"containers[{index}]."
            if slot.startswith(prefix):
                rest = slot[len(prefix):]
                return rest in editor.messages or (rest.startswith("env[") and
                                                   int(rest[4:rest.index("]")]) < len(editor.env_rows))
        return False

    def _refresh_previews(self) -> None:
        spec = self.evaluation.spec
        if spec is None:
            return
        try:
            texts = previews(spec)
        except Exception as exc:  # noqa: BLE001 - half-typed input the exporters cannot write yet
            note = f"(no preview until the problems above are fixed: {' '.join(str(exc).split())})"
            texts = dict.fromkeys(PREVIEW_KINDS, note)
        for kind, text in texts.items():
            if self.preview[kind].value != text:
                self.preview[kind].value = text

    def _update_create_button(self) -> None:
        self.create_button.disabled = self.runner.busy or not self.evaluation.valid

    # -- create ------------------------------------------------------------------------------------------------
    def create(self) -> Any:
        """Create the group in a background thread (what the Create button does); returns the thread."""
        self.evaluation = evaluate(self.state())
        if not self.evaluation.valid:
            self._changed()
            self._status_line.error("fix the problems above first")
            return None
        spec = self.evaluation.spec_or_raise()
        self.result = None
        label = f"create {spec.name}"

        def work(progress: Callable[[Any], None]) -> GroupDetails:
            details = self.session.create_group(spec, resource_group=spec.resource_group, progress=progress)
            assert isinstance(details, GroupDetails)
            return details

        def done(details: GroupDetails) -> None:
            self.result = details
            self._status_line.ok(result_line(details))

        return self.runner.run(label, work, on_success=done)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a running create has finished; True if it did within ``timeout``."""
        return self.runner.wait(timeout)

    @property
    def status_text(self) -> str:
        return self._status_line.text

    # -- fallbacks ---------------------------------------------------------------------------------------------
    def summary(self) -> str:
        state = "valid" if self.evaluation.valid else f"{len(self.evaluation.problems)} problem(s)"
        return f"GroupForm {self.name.value or '(unnamed)'}: {len(self.containers)} container(s), {state}"

    def _repr_html_(self) -> str:
        return (f"<div><b>{html.escape(self.summary())}</b>"
                f"<pre>{html.escape(self.preview['YAML'].value)}</pre></div>")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = self.summary()
        bundle["text/html"] = self._repr_html_()
        return bundle


def result_line(details: GroupDetails) -> str:
    """``created web-1: Running · web-1.eastus.azurecontainer.io`` (one line)."""
    state = details.state or details.provisioning_state or "unknown"
    where = f" · {details.fqdn}" if details.fqdn else ""
    ip = (details.properties_json.get("ipAddress") or {}).get("ip")
    if ip and not details.fqdn:
        where = f" · {ip}"
    return f"created {details.name}: {state}{where}"
