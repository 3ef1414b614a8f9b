"""Issue 17 case 11: the form quotes the value the user typed, not a clamped one."""

from __future__ import annotations

from aci_widgets import rules
from aci_widgets.widgets.form import GroupForm


def test_the_cpu_message_quotes_the_value_typed(session):
    form = GroupForm(session)
    editor = form.containers[0]
    editor.cpu.value = 100  # what the front end sends when 100 is typed: the field no longer clamps it
    assert editor.cpu.value == 100
    message = editor.messages["cpu"].value
    assert f"100 cores is more than the {rules.MAX_GROUP_CPU:g} a container group may have" in message
    editor.memory_gb.value = 1000
    assert f"1000 GB is more than the {rules.MAX_GROUP_MEMORY_GB:g} GB" in editor.messages["memory_gb"].value
    assert form.create_button.disabled
    editor.cpu.value, editor.memory_gb.value = 1, 1
    assert editor.messages["cpu"].value == "" and editor.messages["memory_gb"].value == ""
