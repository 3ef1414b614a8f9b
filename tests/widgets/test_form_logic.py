"""The form's meaning without widgets: form values -> GroupSpec and problems, templates, message slots."""

from __future__ import annotations

import pytest

from aci_widgets.errors import InvalidInput
from aci_widgets.spec import GroupSpec
from aci_widgets.widgets.form_model import (
    COMMAND_EXEC,
    COMMAND_SHELL,
    TEMPLATES,
    FormContainer,
    FormEnv,
    FormState,
    command_fields,
    evaluate,
    message_slot,
    messages_by_slot,
    previews,
    state_from_spec,
)

SENTINEL = "s3cret-SENTINEL-value"


def _state(**changes) -> FormState:
    container = FormContainer(name="web", image="mcr.microsoft.com/azuredocs/aci-helloworld", cpu=1.0,
                              memory_gb=1.0, ports="80")
    state = FormState(name="web-1", resource_group="rg", location="eastus", ip_address_type="Public",
                      containers=[container])
    for key, value in changes.items():
        setattr(state, key, value)
    return state


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_every_template_is_valid_and_round_trips_through_the_form(template):
    spec = TEMPLATES[template]("abc123")
    evaluation = evaluate(state_from_spec(spec))
    assert evaluation.problems == {}
    assert evaluation.spec == spec


def test_templates_are_the_seed_groups():
    single = TEMPLATES["single container (aci-helloworld)"]("t")
    assert single.ip_address_type == "Public" and single.dns_name_label
    assert [(c.cpu, c.memory_gb, [p.port for p in c.ports]) for c in single.containers] == [(1.0, 1.0, [80])]
    sidecar = TEMPLATES["app + sidecar"]("t")
    assert [c.image.rsplit("/", 1)[-1] for c in sidecar.containers] == ["aci-helloworld", "aci-tutorial-sidecar"]
    task = TEMPLATES["task: word count"]("t")
    assert task.restart_policy == "Never"
    assert {v.name for v in task.containers[0].env} == {"NumWords", "MinLength"}
    shell = TEMPLATES["task: shell commands"]("t")
    assert shell.containers[0].command[:2] == ["/bin/sh", "-c"]


def test_a_valid_form_gives_the_spec_the_python_api_would_build():
    spec = evaluate(_state()).spec_or_raise()
    assert spec == GroupSpec.single("web-1", "mcr.microsoft.com/azuredocs/aci-helloworld", cpu=1, memory_gb=1,
                                    ports=[80], ip_address="Public", container_name="web", resource_group="rg",
                                    location="eastus")


def test_problems_are_the_specs_own_and_name_the_field():
    state = _state(name="Bad_Name")
    state.containers[0].cpu = 0
    evaluation = evaluate(state)
    assert set(evaluation.problems) == {"name", "containers[0].cpu"}
    assert evaluation.problems["name"] == GroupSpec.single("Bad_Name", "x").problems()["name"]
    with pytest.raises(InvalidInput) as error:
        evaluation.spec_or_raise()
    assert "name" in error.value.problems


def test_command_line_is_split_like_a_shell_and_shell_mode_runs_sh_c():
    state = _state()
    state.containers[0].command_mode = COMMAND_EXEC
    state.containers[0].command_text = "python -c 'print(1)'"
    assert evaluate(state).spec.containers[0].command == ["python", "-c", "print(1)"]
    state.containers[0].command_mode = COMMAND_SHELL
    state.containers[0].command_text = "echo FOO BAR && tail -f /dev/null"
    assert evaluate(state).spec.containers[0].command == ["/bin/sh", "-c", "echo FOO BAR && tail -f /dev/null"]


def test_unclosed_quote_is_a_problem_of_the_command_field():
    state = _state()
    state.containers[0].command_mode = COMMAND_EXEC
    state.containers[0].command_text = "echo 'oops"
    problems = evaluate(state).problems
    assert "closing quotation" in problems["containers[0].command"]


def test_command_fields_show_sh_c_as_shell_commands():
    assert command_fields(["/bin/sh", "-c", "a && b"]) == (COMMAND_SHELL, "a && b")
    assert command_fields(["echo", "FOO BAR"]) == (COMMAND_EXEC, "echo 'FOO BAR'")


def test_bad_container_port_is_shown_once_under_the_container():
    state = _state()
    state.containers[0].ports = "80, abc"
    slots = messages_by_slot(evaluate(state).problems)
    assert "abc" in slots["containers[0].ports"]
    assert "ports" not in slots  # the empty group-ports field means "the containers' ports"


def test_message_slots():
    assert message_slot("containers[1].env[2].name") == "containers[1].env[2]"
    assert message_slot("containers[0].ports[3]") == "containers[0].ports"
    assert message_slot("ports[1]") == "ports"
    assert message_slot("cpu") == "containers"
    assert message_slot("name") == "name"
    slots = messages_by_slot({"containers[0].env[0].name": "bad", "containers[0].env[0].value": "worse"})
    assert slots == {"containers[0].env[0]": "name: bad; value: worse"}


def test_secure_values_become_secrets_and_never_reach_a_preview():
    state = _state()
    state.containers[0].env = [FormEnv("TOKEN", SENTINEL, secure=True), FormEnv("PLAIN", "shown")]
    spec = evaluate(state).spec_or_raise()
    assert spec.secrets() == [SENTINEL]
    texts = previews(spec)
    assert set(texts) == {"YAML", "Python SDK", "az"}
    for text in texts.values():
        assert SENTINEL not in text
    assert "TOKEN" in texts["YAML"] and "shown" in texts["YAML"]
    # ... while the request body carries it
    assert SENTINEL in str(spec.to_arm())
