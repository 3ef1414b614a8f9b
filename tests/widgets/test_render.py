"""Pure rendering: state looks, frames as HTML, fixed-width rows."""

from __future__ import annotations

import pandas as pd

from aci_widgets.widgets.render import (
    Column,
    fixed_width_rows,
    frame_html,
    properties_html,
    state_badge,
    state_text,
)


def test_states_have_a_symbol_and_a_colour():
    assert state_text("Running") == "● Running"
    assert state_text("Succeeded") == "✔ Succeeded"
    assert state_text("Failed") == "✖ Failed"
    assert state_text("Stopped") == "■ Stopped"
    assert state_text("Pending") == "… Pending"
    assert state_text("") == ""
    assert "#1a7f37" in state_badge("Running")  # green
    assert "#cf222e" in state_badge("Failed")  # red


def test_terminated_containers_look_like_their_exit_code():
    assert state_text("Terminated", 0).startswith("✔")
    assert state_text("Terminated", 3).startswith("✖")


def test_frame_html_escapes_and_badges_states():
    frame = pd.DataFrame({"container": ["<web>"], "state": ["Terminated"], "exit_code": pd.array([2], "Int64"),
                          "start_time": pd.to_datetime(["2026-01-02T03:04:05Z"], utc=True)})
    text = frame_html(frame)
    assert "&lt;web&gt;" in text and "<web>" not in text
    assert "✖ Terminated" in text
    assert "2026-01-02 03:04:05" in text
    assert "none" in frame_html(frame.iloc[0:0])


def test_missing_values_are_empty_cells():
    frame = pd.DataFrame({"exit_code": pd.array([None], "Int64"), "finish_time": pd.to_datetime([None], utc=True)})
    text = frame_html(frame)
    assert "NaT" not in text and "&lt;NA&gt;" not in text


def test_properties_html():
    text = properties_html({"Name": "a&b", "CPU (cores)": "1"})
    assert "a&amp;b" in text and "CPU (cores)" in text


def test_fixed_width_rows_line_up_with_the_header():
    header, rows = fixed_width_rows(
        [{"name": "short", "state": "● Running"}, {"name": "a-much-longer-name", "state": ""}],
        [Column("name", "name"), Column("state", "state")])
    assert header.index("state") == rows[0].index("●")
    assert rows[1] == "a-much-longer-name"


def test_fixed_width_rows_cut_long_cells():
    _header, rows = fixed_width_rows([{"image": "x" * 50}], [Column("image", "image", 10)])
    assert rows == ["x" * 9 + "…"]
