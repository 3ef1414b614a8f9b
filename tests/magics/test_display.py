"""How results and progress look in a notebook kernel (widgets / updating display) versus a terminal."""

from __future__ import annotations

from aci_widgets.magics import display as shown_display
from aci_widgets.results import Progress

HELLO = "mcr.microsoft.com/azuredocs/aci-helloworld"


class _Kernel:
    kernel = object()


class _Terminal:
    pass


def test_progress_in_a_kernel_updates_one_display(monkeypatch):
    calls: list[tuple[str, str]] = []

    class Handle:
        def update(self, obj, **kwargs):
            calls.append(("update", obj["text/plain"]))

    def fake_display(obj, **kwargs):
        assert kwargs.get("display_id") is True and kwargs.get("raw") is True
        calls.append(("display", obj["text/plain"]))
        return Handle()

    monkeypatch.setattr("IPython.display.display", fake_display)
    printer = shown_display.ProgressPrinter(_Kernel(), throttle=0)
    printer.start("create web: sending …")
    printer(Progress("create", "web", 0.1, "InProgress"))
    printer(Progress("create", "web", 0.4, "provisioning Succeeded, state Running", done=True))
    assert calls[0] == ("display", "create web: sending …")
    assert [kind for kind, _ in calls[1:]] == ["update", "update"]
    assert calls[-1][1] == "create web: provisioning Succeeded, state Running (0.4 s) done"


def test_progress_in_a_terminal_prints_status_changes_only(capsys):
    printer = shown_display.ProgressPrinter(_Terminal(), every=60)
    for elapsed in (0.1, 0.2, 0.3):
        printer(Progress("create", "web", elapsed, "InProgress"))
    printer(Progress("create", "web", 0.5, "Succeeded", done=True))
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["create web: InProgress (0.1 s) …", "create web: Succeeded (0.5 s) done"]


def test_show_in_a_kernel_displays_the_detail_widget(ip, rg, unique_name, run, monkeypatch):
    from aci_widgets.widgets import GroupDetailView

    assert run(f"%aci create {unique_name} --image {HELLO}").success
    monkeypatch.setattr(shown_display, "in_kernel", lambda shell: True)
    displayed: list[object] = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: displayed.append(obj))
    shown = run(f"%aci show {unique_name}")
    assert shown.success
    assert len(displayed) == 1 and isinstance(displayed[0], GroupDetailView)
    assert unique_name in displayed[0].header.value
    displayed[0].close()

    displayed.clear()
    assert run(f"d = %aci show {unique_name}").success
    assert displayed == []  # assigned: nothing shown


def test_show_in_a_notebook_without_widgets_gives_html_and_text(ip, rg, unique_name, run, monkeypatch):
    assert run(f"%aci create {unique_name} --image {HELLO}").success
    monkeypatch.setattr(shown_display, "in_kernel", lambda shell: True)
    monkeypatch.setattr(shown_display, "widgets_available", lambda: False)
    bundles: list[dict] = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: bundles.append(obj))
    assert run(f"%aci show {unique_name}").success
    assert "<table" in bundles[0]["text/html"] and "Containers:" in bundles[0]["text/plain"]
