"""The benchmark cases, in the order ``bench/run.py`` runs them.

Each module has ``NAME`` and ``run(ctx) -> list[Row]``. The order matters a little: ``load_ext`` (fresh
processes) goes first while the machine is quiet, and ``emulator`` grows the shared list resource group
to 1,000 before ``list`` grows it to 2,000 and 10,000.
"""

from __future__ import annotations

from types import ModuleType

from . import (
    browser_select,
    emulator,
    engines,
    exec_metrics,
    list_frame,
    live,
    load_ext,
    run_magic,
    sweep,
    sweep_limits,
)

CASES: tuple[ModuleType, ...] = (load_ext, emulator, list_frame, browser_select, live, run_magic, sweep,
                                 sweep_limits, engines, exec_metrics)
