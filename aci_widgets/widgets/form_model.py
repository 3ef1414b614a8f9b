"""What the group form means, without widgets: form values <-> ``GroupSpec``, problems per field, templates.

The form widget (``widgets/form.py``) copies its widget values into a :class:`FormState` and asks
:func:`evaluate` for the spec and its problems. Validation is ``GroupSpec.problems()`` itself (the rules
the Python API and the magics apply), plus the few problems that only exist in a form (a command line
with an unclosed quote cannot become a spec at all). :func:`message_slot` decides under which field a
problem is shown. Nothing here imports ipywidgets, so all of it is tested directly.
"""

from __future__ import annotations

import re
import secrets as _random
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import rules
from ..errors import InvalidInput
from ..secrets import Secret, redact, reveal
from ..spec import ContainerSpec, EnvVar, GroupSpec, command_from_line, shell_command
from .form_features import FeatureState, apply_features, feature_slot, features_from_spec, keep_unshown

# How a container's command is given. "exec" is one command line split like a shell would (shlex),
# "shell" is several commands run through ``/bin/sh -c`` (the seed's "echo FOO && tail -f /dev/null").
COMMAND_DEFAULT = "image default"
COMMAND_EXEC = "command line"
COMMAND_SHELL = "shell commands"
COMMAND_MODES = (COMMAND_DEFAULT, COMMAND_EXEC, COMMAND_SHELL)

NO_IP = "None"
IP_CHOICES = (NO_IP, *rules.IP_ADDRESS_TYPES)


@dataclass
class FormEnv:
    name: str = ""
    value: str = ""
    secure: bool = False


@dataclass
class FormContainer:
    name: str = ""
    image: str = ""
    cpu: float = rules.DEFAULT_CPU
    memory_gb: float = rules.DEFAULT_MEMORY_GB
    ports: str = ""
    command_mode: str = COMMAND_DEFAULT
    command_text: str = ""
    env: list[FormEnv] = field(default_factory=list)


@dataclass
class FormState:
    """The form's values, as plain data (text fields stay text until :func:`evaluate`)."""

    name: str = ""
    resource_group: str = ""
    location: str = ""
    os_type: str = "Linux"
    restart_policy: str = "Always"
    ip_address_type: str = NO_IP
    dns_name_label: str = ""
    ports: str = ""
    containers: list[FormContainer] = field(default_factory=lambda: [FormContainer()])
    features: FeatureState = field(default_factory=FeatureState)  # the collapsed sections (form_features.py)
    kept: GroupSpec | None = None  # the loaded group: what no field shows is kept (form_features.keep_unshown)


@dataclass
class Evaluation:
    """The spec the form describes (None if it cannot be built at all) and every problem, by field path."""

    spec: GroupSpec | None
    problems: dict[str, str]

    @property
    def valid(self) -> bool:
        return self.spec is not None and not self.problems

    def spec_or_raise(self) -> GroupSpec:
        if self.spec is None or self.problems:
            raise InvalidInput(self.problems or {"form": "the form is incomplete"})
        return self.spec


# -- form -> spec ------------------------------------------------------------------------------------------


def split_ports(text: str) -> list[str]:
    """``"80, 443/udp"`` -> ``["80", "443/udp"]``; each item is judged later by the spec's rules."""
    return [part for part in re.split(r"[,\s]+", text.strip()) if part]


def command_of(container: FormContainer) -> list[str] | None:
    """The exec-form command for a container's command fields; None means the image's default command.

    Raises ``InvalidInput`` (field ``command``) for a command line that cannot be split (unclosed quote).
    """
    text = container.command_text
    if container.command_mode == COMMAND_DEFAULT or not text.strip():
        return None
    if container.command_mode == COMMAND_SHELL:
        return shell_command(text)
    return command_from_line(text)


def evaluate(state: FormState) -> Evaluation:
    """The form's spec and its problems: ``GroupSpec.problems()`` plus what only a form can get wrong."""
    extra: dict[str, str] = {}
    containers = []
    for index, item in enumerate(state.containers):
        try:
            command = command_of(item)
        except InvalidInput as error:
            extra[f"containers[{index}].command"] = next(iter(error.problems.values()))
            command = None
        env = [EnvVar(v.name.strip(), Secret(v.value) if v.secure else v.value, secure=v.secure) for v in item.env]
        containers.append(ContainerSpec(
            name=item.name.strip(), image=item.image.strip(), cpu=item.cpu, memory_gb=item.memory_gb,
            ports=split_ports(item.ports), command=command, env=env,
        ))
    ip_type = state.ip_address_type if state.ip_address_type != NO_IP else None
    spec = GroupSpec(
        name=state.name.strip(),
        containers=containers,
        resource_group=state.resource_group.strip() or None,
        location=state.location.strip() or None,
        os_type=state.os_type,
        restart_policy=state.restart_policy,
        ip_address_type=ip_type,
        dns_name_label=state.dns_name_label.strip() or None,
        ports=split_ports(state.ports),
    )
    extra.update(apply_features(spec, state.features))
    keep_unshown(spec, state.kept)
    problems = {**extra, **spec.problems()}
    if not state.ports.strip():
        # Empty group ports mean "the containers' ports": a bad one is already shown under its container.
        problems = {path: message for path, message in problems.items() if not re.match(r"^ports\[\d+\]$", path)}
    return Evaluation(spec, problems)


# -- spec -> form (templates, editing an existing group) ------------------------------------------------------


def command_fields(command: list[str] | None) -> tuple[str, str]:
    """``(mode, text)`` for a command: ``['/bin/sh', '-c', X]`` shows as shell commands X."""
    if not command:
        return COMMAND_DEFAULT, ""
    if len(command) == 3 and command[0] in ("/bin/sh", "/bin/bash", "sh", "bash") and command[1] == "-c":
        return COMMAND_SHELL, command[2]
    return COMMAND_EXEC, shlex.join(command)


def state_from_spec(spec: GroupSpec) -> FormState:
    containers = []
    for container in spec.containers:
        mode, text = command_fields(container.command)
        containers.append(FormContainer(
            name=container.name, image=container.image, cpu=float(container.cpu),
            memory_gb=float(container.memory_gb), ports=", ".join(_port_text(p) for p in container.ports),
            command_mode=mode, command_text=text,
            env=[FormEnv(v.name, reveal(v.value), v.secure) for v in container.env],
        ))
    # Group ports equal to the containers' ports are the default: leave the field empty so that
    # editing a container's ports does not leave a stale group port behind.
    group_ports = "" if spec.ports == spec.container_ports() else ", ".join(_port_text(p) for p in spec.ports)
    return FormState(
        name=spec.name, resource_group=spec.resource_group or "", location=spec.location or "",
        os_type=spec.os_type, restart_policy=spec.restart_policy,
        ip_address_type=spec.ip_address_type or NO_IP, dns_name_label=spec.dns_name_label or "",
        ports=group_ports, containers=containers or [FormContainer()], features=features_from_spec(spec),
        kept=spec,
    )


def _port_text(port: Any) -> str:
    return str(port.port) if port.protocol == "TCP" else f"{port.port}/{port.protocol.lower()}"


# -- where a problem is shown --------------------------------------------------------------------------------

_INDEXED = re.compile(r"\[\d+\]")


def message_slot(path: str, spec: Any = None) -> str:
    """The form field that shows the problem at ``path``.

    ``containers[0].ports[1]`` -> ``containers[0].ports`` (one text field holds all ports);
    ``containers[0].env[2].name`` -> ``containers[0].env[2]`` (one row per variable);
    ``ports[3]`` -> ``ports``; the group totals ``cpu``/``memory_gb`` -> ``containers`` (no single field owns them).
    """
    if path in ("cpu", "memory_gb"):
        return "containers"
    feature = feature_slot(path, spec)
    if feature:
        return feature
    match = re.match(r"^(containers\[\d+\])\.(ports|env\[\d+\])", path)
    if match:
        slot = f"{match.group(1)}.{match.group(2)}"
        return slot
    if path.startswith("ports["):
        return "ports"
    return path


def messages_by_slot(problems: Mapping[str, str], spec: Any = None) -> dict[str, str]:
    """The problems grouped per form field, several joined with '; ' in the spec's order."""
    slots: dict[str, list[str]] = {}
    for path, message in problems.items():
        slot = message_slot(path, spec)
        # Name the item inside a slot that holds several (which port, which field of a variable).
        detail = path[len(slot):].lstrip(".") if path.startswith(slot) else ""
        text = f"{detail}: {message}" if detail and not _INDEXED.fullmatch(detail) else message
        slots.setdefault(slot, []).append(text)
    return {slot: "; ".join(texts) for slot, texts in slots.items()}


# -- previews ---------------------------------------------------------------------------------------------

PREVIEW_KINDS = ("YAML", "Python SDK", "az")


def previews(spec: GroupSpec) -> dict[str, str]:
    """The same group as YAML, Python SDK code and an ``az`` command; secure values never appear.

    The exports write placeholders for secrets; redacting the real values afterwards is a second
    guard, so that a bug in an exporter still cannot show a password in a preview.
    """
    from ..spec import formats as spec_io

    secrets = spec.secrets()
    texts = {
        "YAML": spec_io.to_yaml(spec),
        "Python SDK": spec_io.to_python(spec),
        "az": spec_io.to_az(spec),
    }
    return {kind: redact(text, secrets) for kind, text in texts.items()}


# -- templates: the seed's three kinds of group ---------------------------------------------------------------

HELLOWORLD = "mcr.microsoft.com/azuredocs/aci-helloworld"
SIDECAR = "mcr.microsoft.com/azuredocs/aci-tutorial-sidecar"
WORDCOUNT = "mcr.microsoft.com/azuredocs/aci-wordcount"


def _suffix() -> str:
    return _random.token_hex(3)


def template_single(suffix: str | None = None) -> GroupSpec:
    """aci-helloworld: 1 CPU, 1 GB, port 80, public IP, a DNS label (unique, hence the suffix)."""
    tag = suffix or _suffix()
    return GroupSpec.single(f"helloworld-{tag}", HELLOWORLD, cpu=1.0, memory_gb=1.0, ports=[80],
                            ip_address="Public", dns_name_label=f"aci-hello-{tag}", container_name="helloworld")


def template_sidecar(suffix: str | None = None) -> GroupSpec:
    """An app and a sidecar that polls it (the seed's multi-container group)."""
    tag = suffix or _suffix()
    return GroupSpec(
        name=f"app-sidecar-{tag}",
        containers=[
            ContainerSpec("app", HELLOWORLD, cpu=1.0, memory_gb=1.0, ports=[80]),
            ContainerSpec("sidecar", SIDECAR, cpu=1.0, memory_gb=1.0),
        ],
        ip_address_type="Public",
        dns_name_label=f"aci-sidecar-{tag}",
    )


def template_task(suffix: str | None = None) -> GroupSpec:
    """aci-wordcount as a task: restart policy Never, NumWords and MinLength as environment variables."""
    tag = suffix or _suffix()
    return GroupSpec.single(f"wordcount-{tag}", WORDCOUNT, cpu=1.0, memory_gb=1.0, restart_policy="Never",
                            env={"NumWords": "5", "MinLength": "8"}, container_name="wordcount")


def template_shell_task(suffix: str | None = None) -> GroupSpec:
    """Several commands through a shell (the seed's ``/bin/sh -c 'echo FOO BAR && ...'``), run once."""
    tag = suffix or _suffix()
    return GroupSpec.single(f"shell-task-{tag}", "alpine", cpu=1.0, memory_gb=1.0, restart_policy="Never",
                            command=shell_command("echo FOO BAR && echo $GREETING && echo done"),
                            env={"GREETING": "hello from a shell chain"}, container_name="shell")


TEMPLATES = {
    "single container (aci-helloworld)": template_single,
    "app + sidecar": template_sidecar,
    "task: word count": template_task,
    "task: shell commands": template_shell_task,
}
