"""The same bad input gets the same message through every front door, and no request (issue 8, item 7).

Doors: the Python API (``GroupSpec.single`` → ``session.create_group``; ``session.logs``; ``run_sweep``),
the line magic (``%aci create NAME --flags``, ``%aci logs``, ``%aci sweep``), the cell magic
(``%%aci create`` with YAML), YAML read directly (``spec_io.spec_from_yaml``), and the form (``GroupForm``
field values, what its message widgets show). Each case names its input once; the door adapters below
translate it. Per-door catalogues live elsewhere (tests/test_spec.py, tests/magics/test_bad_lines.py,
tests/api/test_sweep.py); this one proves the doors agree. After every case the emulator's request log must
be empty: bad input is refused before any ARM request.
"""

from __future__ import annotations

import copy
import html
import re
import shlex
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

import aci_widgets
from aci_widgets import session as sessions
from aci_widgets.errors import InvalidInput

BASE_YAML: dict[str, Any] = {
    "apiVersion": "2023-05-01", "location": "eastus", "type": "Microsoft.ContainerInstance/containerGroups",
    "properties": {"osType": "Linux", "restartPolicy": "Always", "containers": [
        {"name": "main", "properties": {"image": "alpine", "command": ["true"],
                                        "resources": {"requests": {"cpu": 1, "memoryInGB": 1.5}}}}]}}
NOT_IN_FORM = object()  # a value the form's widgets cannot hold (a dropdown choice it lacks, text in a number box)


@dataclass(frozen=True)
class Bad:
    """One bad input: GroupSpec.single keyword arguments (the other doors are derived), and the fragment
    every door's message must contain (literal text)."""

    id: str
    fragment: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    doors: tuple[str, ...] = ("api", "magic", "cell", "yaml", "form")


CASES = [
    Bad("name-uppercase", "'Bad_Name' is invalid: use lowercase letters", {"name": "Bad_Name"}),
    Bad("name-trailing-hyphen", "'trail-' is invalid: use lowercase letters", {"name": "trail-"}),
    Bad("name-leading-hyphen", "'-lead' is invalid: use lowercase letters", {"name": "-lead"},
        doors=("api", "cell", "yaml", "form")),  # on a command line -lead is a flag: the magics' own catalogue
    Bad("name-double-hyphen", "'a--b' is invalid: use lowercase letters", {"name": "a--b"}),
    Bad("name-dot", "'my.group' is invalid: use lowercase letters", {"name": "my.group"}),
    Bad("name-too-long", "is 64 characters long; the limit is 63", {"name": "a" * 64}),
    Bad("cpu-zero", "'0' must be a positive number of cores", {"cpu": 0}),
    Bad("cpu-negative", "'-1' must be a positive number of cores", {"cpu": -1},
        doors=("api", "magic", "cell", "yaml")),  # the form's number box stops at 0
    Bad("cpu-over-limit", "5 cores is more than the 4 a container group may have", {"cpu": 5}),
    Bad("cpu-text", "'lots' must be a positive number of cores", {"cpu": "lots"}),
    Bad("memory-zero", "'0' must be a positive number of GB", {"memory_gb": 0}),
    Bad("memory-over-limit", "17 GB is more than the 16 GB a container group may have", {"memory_gb": 17}),
    Bad("memory-text", "'big' must be a positive number of GB", {"memory_gb": "big"}),
    Bad("port-zero", "0 is out of range 1-65535", {"ports": [0]}),
    Bad("port-too-big", "70000 is out of range 1-65535", {"ports": [70000]}),
    Bad("port-text", "'http' is not a port number", {"ports": ["http"]}),
    Bad("port-twice", "80/TCP is listed twice", {"ports": [80, 80]}),
    Bad("env-name-dash", "'A-B' is invalid: 1-63 letters, digits or underscores", {"env": {"A-B": "x"}}),
    Bad("env-name-underscore-first", "'_LEAD' is invalid: 1-63 letters", {"env": {"_LEAD": "x"}}),
    Bad("env-name-too-long", f"'{'A' * 64}' is invalid: 1-63 letters", {"env": {"A" * 64: "x"}}),
    Bad("secure-env-name-dash", "'S-1' is invalid: 1-63 letters, digits or underscores",
        {"secure_env": {"S-1": "hush"}}),
    Bad("restart-policy", "'Sometimes' is not one of Always, OnFailure, Never", {"restart_policy": "Sometimes"}),
    Bad("os-type", "'Mac' is not one of Linux, Windows", {"os_type": "Mac"}),
    Bad("ip-type", "'Elastic' is not one of Public, Private", {"ip_address": "Elastic", "ports": [80]}),
    Bad("dns-label-underscore", "'Bad_Label' is invalid: 5-63 letters",
        {"ip_address": "Public", "ports": [80], "dns_name_label": "Bad_Label"}),
    Bad("dns-label-short", "'abc' is invalid: 5-63 letters",
        {"ip_address": "Public", "ports": [80], "dns_name_label": "abc"}),
    Bad("image-with-space", "'al pine' is invalid: an image reference contains no spaces", {"image": "al pine"}),
    Bad("image-missing", "is required", {"image": ""}),
]


# -- the doors -------------------------------------------------------------------------------------
def _group_name(bad: Bad) -> str:
    return str(bad.kwargs.get("name", "front-door"))


def spec_kwargs(bad: Bad) -> dict[str, Any]:
    kwargs = {key: value for key, value in bad.kwargs.items() if key not in ("name", "image")}
    kwargs.setdefault("command", ["true"])
    return kwargs


def magic_line(bad: Bad, rg: str) -> str:
    kw = bad.kwargs
    parts = ["%aci create", shlex.quote(_group_name(bad)), "-g", rg, "--image", shlex.quote(kw.get("image", "alpine"))]
    flags = {"cpu": "--cpu", "memory_gb": "--memory", "restart_policy": "--restart-policy", "os_type": "--os-type",
             "ip_address": "--ip-address", "dns_name_label": "--dns-name-label"}
    for key, flag in flags.items():
        if key in kw:
            parts += [flag, shlex.quote(str(kw[key]))]
    if "ports" in kw:
        parts += ["--ports", *[str(port) for port in kw["ports"]]]
    for key, flag in (("env", "--env"), ("secure_env", "--secure-env")):
        if key in kw:
            parts += [flag, *[shlex.quote(f"{name}={value}") for name, value in kw[key].items()]]
    return " ".join(parts)


def yaml_document(bad: Bad) -> dict[str, Any]:
    kw = bad.kwargs
    document = copy.deepcopy(BASE_YAML)
    document["name"] = _group_name(bad)
    props = document["properties"]
    container = props["containers"][0]["properties"]
    if "image" in kw:
        container["image"] = kw["image"]
    if "cpu" in kw:
        container["resources"]["requests"]["cpu"] = kw["cpu"]
    if "memory_gb" in kw:
        container["resources"]["requests"]["memoryInGB"] = kw["memory_gb"]
    if "ports" in kw:
        container["ports"] = [{"port": port} for port in kw["ports"]]
    env = [{"name": k, "value": v} for k, v in kw.get("env", {}).items()]
    env += [{"name": k, "secureValue": v} for k, v in kw.get("secure_env", {}).items()]
    if env:
        container["environmentVariables"] = env
    if "restart_policy" in kw:
        props["restartPolicy"] = kw["restart_policy"]
    if "os_type" in kw:
        props["osType"] = kw["os_type"]
    if "ip_address" in kw:
        props["ipAddress"] = {"type": kw["ip_address"], "ports": [{"port": port} for port in kw.get("ports", [80])]}
        if "dns_name_label" in kw:
            props["ipAddress"]["dnsNameLabel"] = kw["dns_name_label"]
    return document


def yaml_text(bad: Bad) -> str:
    return yaml.safe_dump(yaml_document(bad), sort_keys=False)


def fill_form(form: Any, bad: Bad) -> None:
    from aci_widgets.widgets.form_model import FormEnv

    kw = bad.kwargs
    editor = form.containers[0]
    form.name.value = _group_name(bad)
    editor.name.value = "main"
    editor.image.value = kw.get("image", "alpine")
    if "cpu" in kw:
        editor.cpu.value = kw["cpu"]
    if "memory_gb" in kw:
        editor.memory_gb.value = kw["memory_gb"]
    if "ports" in kw:
        editor.ports.value = ", ".join(str(port) for port in kw["ports"])
    for key, secure in (("env", False), ("secure_env", True)):
        for name, value in kw.get(key, {}).items():
            editor.add_variable(FormEnv(name, value, secure))
    if "restart_policy" in kw:
        form.restart_policy.value = kw["restart_policy"]
    if "os_type" in kw:
        form.os_type.value = kw["os_type"]
    if "ip_address" in kw:
        form.ip_address_type.value = kw["ip_address"]
    if "dns_name_label" in kw:
        form.dns_name_label.value = kw["dns_name_label"]


def form_representable(bad: Bad) -> bool:
    kw = bad.kwargs
    choices = {"restart_policy": ("Always", "OnFailure", "Never"), "os_type": ("Linux", "Windows"),
               "ip_address": ("Public", "Private")}
    if any(key in kw and kw[key] not in allowed for key, allowed in choices.items()):
        return False
    return all(isinstance(kw.get(key, 1), (int, float)) for key in ("cpu", "memory_gb"))


# -- fixtures --------------------------------------------------------------------------------------
@pytest.fixture
def api(emulator: Any, emulator_knobs: Any) -> Iterator[Any]:
    """A session (the default one, so that the magics and the form use it) on an existing resource group.

    The request log is cleared after the set-up; every test ends by checking it is still empty.
    """
    rg = f"rg-doors-{uuid.uuid4().hex[:8]}"
    session = aci_widgets.connect(auth_file=emulator.auth_file, resource_group=rg, quiet=True)
    session.notify = lambda message: None
    session.ensure_resource_group(rg)
    emulator_knobs.clear_requests()
    yield session
    arm_requests = emulator_knobs.requests()
    session.delete_resource_group(rg)
    sessions.set_default_session(None)
    assert arm_requests == [], f"bad input made ARM requests: {arm_requests}"


@pytest.fixture(scope="module")
def shell() -> Any:
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "aci_widgets")
    return ip


def run_cell(ip: Any, cell: str) -> str:
    """What the user sees from a cell: stdout, stderr and the error line (one line, never a traceback)."""
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        result = ip.run_cell(cell)
    text = captured.stdout + captured.stderr
    assert "Traceback" not in text, text
    if result.error_in_exec is not None:
        text += str(result.error_in_exec)
    return text


def pattern(fragment: str) -> re.Pattern[str]:
    """The fragment as a literal regular expression. Every door prints numbers alike (``0``, never ``0.0``:
    rules.py shows floats with ``:g``), so no door gets a looser match."""
    return re.compile(re.escape(fragment))


def in_one_line(fragment: str, text: str) -> bool:
    wanted = pattern(fragment)
    return any(wanted.search(line) for line in text.splitlines() or [text])


# -- the tests -------------------------------------------------------------------------------------
DOOR_CASES = [pytest.param(bad, door, id=f"{bad.id}-{door}") for bad in CASES for door in bad.doors
              if door != "form" or form_representable(bad)]


def test_the_catalogue_is_big_enough() -> None:
    assert len(CASES) >= 25
    assert len(DOOR_CASES) + len(EXTRA_CASES) >= 100


@pytest.mark.parametrize(("bad", "door"), DOOR_CASES)
def test_bad_input_gets_the_same_message_through_each_door(bad: Bad, door: str, api: Any, shell: Any) -> None:
    from aci_widgets.spec import GroupSpec
    from aci_widgets.spec.formats import spec_from_yaml

    rg = api.resource_group
    if door == "api":
        with pytest.raises(InvalidInput) as caught:
            api.create_group(GroupSpec.single(_group_name(bad), bad.kwargs.get("image", "alpine"),
                                              **spec_kwargs(bad)))
        message = str(caught.value)
    elif door == "magic":
        message = run_cell(shell, magic_line(bad, rg))
    elif door == "cell":
        message = run_cell(shell, f"%%aci create -g {rg}\n{yaml_text(bad)}")
    elif door == "yaml":
        with pytest.raises(InvalidInput) as caught:
            spec_from_yaml(yaml_text(bad)).validate()
        message = str(caught.value)
    else:
        from aci_widgets.widgets.form import GroupForm

        assert form_representable(bad)
        form = GroupForm(api)
        fill_form(form, bad)
        shown = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", widget.value)) for widget in _message_widgets(form))
        assert pattern(bad.fragment).search(shown), (bad.fragment, shown)
        assert form.create_button.disabled
        message = " ".join(form.problems.values())
    assert in_one_line(bad.fragment, message), (bad.fragment, message)


def _message_widgets(form: Any) -> list[Any]:
    found = list(form.messages.values())
    for editor in form.containers:
        found += list(editor.messages.values())
        found += [row.message for row in editor.env_rows]
    return found


# Inputs that only some doors take: each row is (id, fragment, [(door, action)]).
def _logs_api(session: Any, shell: Any) -> str:
    with pytest.raises(InvalidInput) as caught:
        session.logs("anything", tail=-1)
    return str(caught.value)


def _sweep_api(name: str, **kwargs: Any) -> Callable[[Any, Any], str]:
    def run(session: Any, shell: Any) -> str:
        import pandas as pd

        from aci_widgets.sweep import run_sweep

        with pytest.raises(InvalidInput) as caught:
            run_sweep(session, name, pd.DataFrame({"n": [1, 2]}), image="alpine", command="echo {n}", **kwargs)
        return str(caught.value)
    return run


def _sweep_magic(name: str, flags: str) -> Callable[[Any, Any], str]:
    def run(session: Any, shell: Any) -> str:
        import pandas as pd

        shell.user_ns["door_params"] = pd.DataFrame({"n": [1, 2]})
        return run_cell(shell, f'%aci sweep {name} -g {session.resource_group} --params door_params '
                               f'--image alpine --command-line "echo {{n}}" {flags}')
    return run


def _yaml_both(text: str) -> list[tuple[str, Callable[[Any, Any], str]]]:
    def direct(session: Any, shell: Any) -> str:
        from aci_widgets.spec.formats import spec_from_yaml

        with pytest.raises(InvalidInput) as caught:
            spec_from_yaml(text).validate()
        return str(caught.value)

    def cell(session: Any, shell: Any) -> str:
        return run_cell(shell, f"%%aci create -g {session.resource_group}\n{text}")

    return [("yaml", direct), ("cell", cell)]


def _duplicate_doors() -> list[tuple[str, Callable[[Any, Any], str]]]:
    def api(session: Any, shell: Any) -> str:
        from aci_widgets.spec import ContainerSpec, GroupSpec

        spec = GroupSpec("dup", containers=[ContainerSpec("c1", "alpine"), ContainerSpec("c1", "alpine")])
        with pytest.raises(InvalidInput) as caught:
            session.create_group(spec)
        return str(caught.value)

    def form(session: Any, shell: Any) -> str:
        from aci_widgets.widgets.form import GroupForm
        from aci_widgets.widgets.form_model import FormContainer

        widget = GroupForm(session)
        widget.name.value = "dup"
        widget.containers[0].name.value = "c1"
        widget.containers[0].image.value = "alpine"
        widget.add_container(FormContainer(name="c1", image="alpine"))
        shown = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", w.value)) for w in _message_widgets(widget))
        return shown + " | " + " ".join(widget.problems.values())

    document = copy.deepcopy(BASE_YAML)
    document["name"] = "dup"
    first = document["properties"]["containers"][0]
    first["name"] = "c1"
    document["properties"]["containers"].append(copy.deepcopy(first))
    return [("api", api), ("form", form), *_yaml_both(yaml.safe_dump(document, sort_keys=False))]


EXTRA_CASES = [
    pytest.param("logs-negative-tail", "must be a whole number of lines, 0 or more", door, action,
                 id=f"logs-negative-tail-{door}")
    for door, action in [("api", _logs_api),
                         ("magic", lambda session, shell: run_cell(shell, f"%aci logs anything -g "
                                                                          f"{session.resource_group} --tail -1"))]
] + [
    pytest.param(case_id, fragment, door, action, id=f"{case_id}-{door}")
    for case_id, fragment, doors in [
        ("sweep-name", "'Bad_Name-000' is invalid: use lowercase letters",
         [("api", _sweep_api("Bad_Name")), ("magic", _sweep_magic("Bad_Name", ""))]),
        ("sweep-cpu", "'0' must be a positive number of cores",
         [("api", _sweep_api("sweepcpu", cpu=0)), ("magic", _sweep_magic("sweepcpu", "--cpu 0"))]),
        ("sweep-memory", "17 GB is more than the 16 GB",
         [("api", _sweep_api("sweepmem", memory_gb=17)), ("magic", _sweep_magic("sweepmem", "--memory 17"))]),
        ("sweep-env", "'A-B' is invalid: 1-63 letters",
         [("api", _sweep_api("sweepenv", env={"A-B": "1"})), ("magic", _sweep_magic("sweepenv", "--env A-B=1"))]),
        ("duplicate-containers", "duplicate container name 'c1'", _duplicate_doors()),
        ("yaml-syntax", "invalid YAML at line 3", _yaml_both("name: x\nproperties: [\n")),
        ("yaml-containers-not-a-list", "must be a list, not a number",
         _yaml_both("name: x\nproperties:\n  osType: Linux\n  containers: 5\n")),
        ("yaml-no-containers", "containers",
         _yaml_both("name: x\nproperties:\n  osType: Linux\n  containers: []\n")),
    ]
    for door, action in doors
]


@pytest.mark.parametrize(("case_id", "fragment", "door", "action"), EXTRA_CASES)
def test_inputs_some_doors_take_get_the_same_message(case_id: str, fragment: str, door: str,
                                                     action: Callable[[Any, Any], str], api: Any,
                                                     shell: Any) -> None:
    message = action(api, shell)
    assert fragment in message, (case_id, door, message)
