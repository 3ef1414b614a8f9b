"""Loading the extension: cheap (no Azure SDK, pandas or ipywidgets), registers %aci/%%aci, %config works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

HEAVY = ("pandas", "ipywidgets", "azure.mgmt", "azure.identity", "azure.core", "yaml", "numpy")


def _fresh_python(code: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})}, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_loading_imports_no_heavy_module():
    out = _fresh_python(f"""
        import json, sys
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config
        c = Config(); c.HistoryManager.hist_file = ":memory:"
        ip = InteractiveShell.instance(config=c)
        before = set(sys.modules)
        ip.run_line_magic("load_ext", "aci_widgets")
        assert "aci" in ip.magics_manager.magics["line"] and "aci" in ip.magics_manager.magics["cell"]
        heavy = {HEAVY!r}
        loaded = sorted(m for m in set(sys.modules) - before if any(m == h or m.startswith(h + ".") for h in heavy))
        print(json.dumps(loaded))
    """)
    assert json.loads(out.strip().splitlines()[-1]) == []


def test_help_imports_no_heavy_module():
    """Even ``%aci --help`` (the parser) stays light: only commands that talk to a backend pay for the SDK."""
    out = _fresh_python("""
        import json, sys
        from IPython.core.interactiveshell import InteractiveShell
        ip = InteractiveShell.instance()
        ip.run_line_magic("load_ext", "aci_widgets")
        ip.run_line_magic("aci", "--help")
        ip.run_line_magic("aci", "create --help")
        print(json.dumps(sorted(m for m in sys.modules if m.startswith(("pandas", "ipywidgets", "azure.")))))
    """)
    assert json.loads(out.strip().splitlines()[-1]) == []


def test_environment_defaults():
    out = _fresh_python("""
        import json
        from IPython.core.interactiveshell import InteractiveShell
        ip = InteractiveShell.instance()
        ip.run_line_magic("load_ext", "aci_widgets")
        from aci_widgets.magics import AciMagics
        m = next(c for c in ip.configurables if isinstance(c, AciMagics))
        print(json.dumps([m.resource_group, m.location, m.backend, m.poll_interval, m.show_tracebacks]))
    """, env={"ACI_RESOURCE_GROUP": "rg-env", "ACI_LOCATION": "westeurope", "ACI_WIDGETS_BACKEND": "Local",
              "ACI_POLL_INTERVAL": "0.5", "ACI_SHOW_TRACEBACKS": "1"})
    assert json.loads(out.strip().splitlines()[-1]) == ["rg-env", "westeurope", "local", 0.5, True]


def test_config_round_trip(ip, magics, run):
    assert run('%config AciMagics.resource_group = "rg-from-config"').success
    assert magics.resource_group == "rg-from-config"
    assert run("%config AciMagics.poll_interval = 0.2").success
    assert magics.poll_interval == 0.2
    assert run("%config AciMagics.show_tracebacks = True").success
    assert magics.show_tracebacks is True
    assert run('%config AciMagics.backend = "LOCAL"').success
    assert magics.backend == "local"
    listing = run("%config AciMagics")
    for option in ("resource_group", "location", "backend", "poll_interval", "show_tracebacks"):
        assert option in listing.text


def test_config_rejects_bad_values(ip, magics, run):
    # %config reports a TraitError through logging and keeps the old value
    before = (magics.backend, magics.poll_interval)
    run('%config AciMagics.backend = "cloud"')
    run("%config AciMagics.poll_interval = -1")
    assert (magics.backend, magics.poll_interval) == before


def test_config_applies_to_the_session(emulator, magics, rg, run):
    from aci_widgets.session import default_session

    assert run('%config AciMagics.resource_group = "rg-other"').success
    assert default_session().resource_group == "rg-other"
    assert run('%config AciMagics.location = "northeurope"').success
    assert default_session().location == "northeurope"
    assert run("%config AciMagics.poll_interval = 0.3").success
    assert default_session().tuning.poll_interval == 0.3


def test_unload_and_reload(ip, run):
    from aci_widgets.magics import AciMagics

    ip.run_line_magic("unload_ext", "aci_widgets")
    try:
        assert "aci" not in ip.magics_manager.magics["line"]
        assert not [c for c in ip.configurables if isinstance(c, AciMagics)]
    finally:
        ip.run_line_magic("load_ext", "aci_widgets")
    assert "aci" in ip.magics_manager.magics["cell"]
    assert len([c for c in ip.configurables if isinstance(c, AciMagics)]) == 1


@pytest.mark.parametrize("line", ["--help", "-h", "help", "create --help", "logs -h", "help delete"])
def test_help_prints_usage(ip, magics, run, line):
    shown = run(f"%aci {line}")
    assert shown.success
    assert "usage: %aci" in shown.out
    assert shown.result is None
