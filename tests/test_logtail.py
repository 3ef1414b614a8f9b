"""LogCursor: following a log by polling emits each line once, holds partial lines, and marks restarts."""

from __future__ import annotations

from aci_widgets.logtail import RESTART_MARKER, LogCursor


def test_only_new_complete_lines_are_emitted():
    cursor = LogCursor()
    assert cursor.advance("") == []
    assert cursor.advance("one\ntw") == ["one"]  # "tw" is not finished yet
    assert cursor.advance("one\ntwo\n") == ["two"]
    assert cursor.advance("one\ntwo\n") == []
    assert cursor.advance("one\ntwo\nthree\nfour\n") == ["three", "four"]


def test_a_shorter_log_means_the_container_restarted():
    cursor = LogCursor()
    cursor.advance("a\nb\nc\n")
    assert cursor.advance("x\n") == [RESTART_MARKER, "x"]
    assert cursor.advance("x\ny\n") == ["y"]


def test_restart_is_seen_even_when_the_new_run_is_as_long():
    cursor = LogCursor()
    cursor.advance("run-start\nrun-end\n")
    # Same length as before: no length check could tell; the caller saw the restart count rise.
    assert cursor.restart() == [RESTART_MARKER]
    assert cursor.advance("run-start\nrun-end\n") == ["run-start", "run-end"]


def test_flush_emits_the_last_unfinished_line_once():
    cursor = LogCursor()
    assert cursor.advance("done\nno newline") == ["done"]
    assert cursor.flush() == ["no newline"]
    assert cursor.flush() == []
