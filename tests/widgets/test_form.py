"""GroupForm without a browser: type into it, click Create, and check the emulator."""

from __future__ import annotations

import pytest

from aci_widgets.errors import InvalidInput
from aci_widgets.widgets.form import GroupForm
from aci_widgets.widgets.form_model import COMMAND_SHELL, TEMPLATES, FormEnv

SENTINEL = "s3cret-SENTINEL-value"


def test_typing_a_bad_name_shows_a_message_next_to_it_and_disables_create(session):
    form = GroupForm(session)
    assert form.problems == {}
    assert not form.create_button.disabled
    form.name.value = "Bad_Name"
    assert "Bad_Name" in form.messages["name"].value and "lowercase" in form.messages["name"].value
    assert form.create_button.disabled
    with pytest.raises(InvalidInput):
        form.spec()
    form.name.value = "good-name"
    assert form.messages["name"].value == ""
    assert not form.create_button.disabled


def test_container_fields_show_their_own_messages(session):
    form = GroupForm(session)
    editor = form.containers[0]
    editor.cpu.value = 0
    editor.ports.value = "80, http"
    editor.image.value = ""
    assert "positive number of cores" in editor.messages["cpu"].value
    assert "http" in editor.messages["ports"].value
    assert "required" in editor.messages["image"].value
    row = editor.add_variable(FormEnv("_bad", "x"))
    assert "_bad" in row.message.value
    assert set(form.problems) >= {"containers[0].cpu", "containers[0].ports[1]", "containers[0].image",
                                  "containers[0].env[0].name"}


def test_preview_shows_yaml_python_and_az_and_never_the_secure_value(session):
    form = GroupForm(session)
    editor = form.containers[0]
    editor.add_variable(FormEnv("TOKEN", SENTINEL, secure=True))
    row = editor.env_rows[-1]
    assert row.value_widget is row.password  # a secure value is typed into a Password widget
    yaml_text = form.preview["YAML"].value
    assert "apiVersion" in yaml_text and "secureValue" in yaml_text
    assert "ContainerGroup(" in form.preview["Python SDK"].value
    assert "az container create" in form.preview["az"].value
    for text in (*[w.value for w in form.preview.values()], form._repr_html_(), form.summary()):
        assert SENTINEL not in text
    # the preview follows the typing
    form.name.value = "renamed-group"
    assert "renamed-group" in form.preview["YAML"].value
    # unticking "secure" moves the value into a plain Text (the user's choice) and out of the password box
    row.secure.value = False
    assert row.plain.value == SENTINEL and row.password.value == ""


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_templates_fill_valid_specs(session, template):
    form = GroupForm(session, template=None)
    form.template.value = template
    assert form.template.value == "template…"  # ready to be chosen again
    assert form.problems == {}
    spec = form.spec()
    assert spec.name == form.name.value and spec.resource_group == session.resource_group
    expected = TEMPLATES[template]("x")
    assert [(c.name, c.image, c.command) for c in spec.containers] == \
        [(c.name, c.image, c.command) for c in expected.containers]
    assert spec.restart_policy == expected.restart_policy


def test_shell_commands_become_sh_c(session):
    form = GroupForm(session, template="task: word count")
    editor = form.containers[0]
    editor.command_mode.value = COMMAND_SHELL
    editor.command_text.value = "echo FOO BAR && echo done"
    assert form.spec().containers[0].command == ["/bin/sh", "-c", "echo FOO BAR && echo done"]


def test_add_and_remove_containers(session):
    form = GroupForm(session)
    form.add_container()
    assert len(form.containers) == 2
    assert "containers[1].name" in form.problems  # a new container needs a name and an image
    form.containers[1].name.value = "second"
    form.containers[1].image.value = "alpine"
    assert form.problems == {}
    form.remove_container(form.containers[1])
    assert len(form.containers) == 1 and form.containers[0].remove.disabled


def test_create_makes_the_group_and_shows_the_result(session, emulator_knobs, unique_name, capsys):
    emulator_knobs.set_provisioning_delay(1.0)  # long enough to watch the progress line tick
    form = GroupForm(session, template="task: shell commands")
    form.name.value = unique_name
    shown: list[str] = []
    form.status.observe(lambda change: shown.append(change["new"]), names="value")
    form.create_button.click()
    assert form.create_button.disabled  # while it runs
    assert form.wait(60)
    assert form.runner.last_error is None, form.status_text
    assert form.result is not None and form.result.name == unique_name
    assert f"created {unique_name}" in form.status.value
    assert not form.create_button.disabled
    progress = [value for value in shown if "aci-status-busy" in value]
    assert len(progress) >= 2 and all(f"create {unique_name}:" in value for value in progress)
    assert any(" s)" in value and "(0.0 s)" not in value for value in progress)  # elapsed time moves
    details = session.get_group(unique_name)
    assert details.containers == ["shell"]
    assert details.properties_json["restartPolicy"] == "Never"
    assert capsys.readouterr().out == ""


def test_create_of_a_single_container_group_shows_its_fqdn(session, unique_name):
    form = GroupForm(session)
    form.name.value = unique_name
    form.create()
    assert form.wait(60)
    assert form.result is not None, form.status_text
    assert form.result.state == "Running"
    assert form.result.fqdn and form.result.fqdn in form.status.value
    session.delete_groups(unique_name)


def test_a_failing_create_shows_acis_error_in_one_line(session, unique_name):
    form = GroupForm(session, template=None)
    form.name.value = unique_name
    editor = form.containers[0]
    editor.name.value = "app"
    editor.image.value = "example.invalid/no-such-image:1"
    assert form.problems == {}
    form.create()
    assert form.wait(60)
    assert form.result is None
    assert form.runner.last_error is not None
    assert "\n" not in form.status_text
    assert f"create {unique_name} failed" in form.status_text
    assert "no-such-image" in form.status_text
    assert "✖" in form.status.value
    assert not form.create_button.disabled


def test_text_fallback(session):
    form = GroupForm(session)
    bundle = form._repr_mimebundle_()
    assert bundle["text/plain"].startswith("GroupForm helloworld-")
    assert "application/vnd.jupyter.widget-view+json" in bundle
