"""``%aci sweep``: plan a parameter grid, launch it, watch it, or attach to one after a kernel restart."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .helpers import MagicsHost, secure_pairs

if TYPE_CHECKING:
    import argparse


class SweepCommands:
    """``cmd_sweep`` for ``AciMagics.aci``."""

    def __init__(self, magics: MagicsHost) -> None:
        self.m = magics

    def cmd_sweep(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> Any:
        from ..sweep import Sweep, plan_sweep

        if args.attach:
            current = self.m.session()
            secure = dict(secure_pairs(self.m.shell, args.secure_env, secrets))
            sweep = Sweep.attach(current, args.name, args.resource_group, resume=not args.no_resume,
                                 secure_env=secure or None)
        else:
            plan = self._sweep_plan(args, secrets, plan_sweep)
            current = self.m.session()
            printer = SweepPrinter(self.m.shell, args.name)
            sweep = Sweep.launch(current, plan, concurrency=int(args.concurrency),
                                 resource_group=args.resource_group, progress=printer,
                                 max_active=_max_active(args.max_active), keep=args.keep)
        # Unlike the other commands, --out does not hide the display: a sweep is launched to be watched.
        self._show_sweep(sweep)
        if args.out:
            self.m.shell.user_ns[args.out] = sweep
        return None

    def _sweep_plan(self, args: argparse.Namespace, secrets: list[str], plan_sweep: Any) -> Any:
        from .. import rules
        from ..spec import parse_env_pairs
        from .parser import MagicUsage

        missing = [flag for flag, value in (("--params", args.params), ("--image", args.image)) if not value]
        if missing:
            raise MagicUsage(f"sweep: {missing[0]} is required (or --attach to find an earlier sweep)")
        params = self.m.shell.user_ns.get(args.params)
        if params is None or not hasattr(params, "iterrows"):
            raise MagicUsage(f"sweep: --params: '{args.params}' is not a pandas DataFrame in the notebook")
        return plan_sweep(
            args.name, params, image=args.image, command=args.command_line, shell=args.shell,
            env=dict(parse_env_pairs(args.env)), secure_env=dict(secure_pairs(self.m.shell, args.secure_env, secrets)),
            cpu=float(args.cpu) if args.cpu is not None else rules.DEFAULT_CPU,
            memory_gb=float(args.memory) if args.memory is not None else rules.DEFAULT_MEMORY_GB,
            concurrency=int(args.concurrency),
        )

    def _show_sweep(self, sweep: Any) -> None:
        from .display import in_kernel, widgets_available

        if in_kernel(self.m.shell) and widgets_available():
            from IPython.display import display

            from ..widgets.sweep import SweepMonitor

            display(SweepMonitor(sweep))
        else:
            print(sweep.status().to_string(index=False))

    # -- commands: widgets -------------------------------------------------------------------------------

def _max_active(text: str | None) -> int | None:
    from .parser import MagicUsage

    if text is None:
        return None
    if not text.isdigit() or int(text) < 1:
        raise MagicUsage(f"sweep: --max-active: {text!r} must be a whole number of 1 or more")
    return int(text)


class SweepPrinter:
    """Launch progress of a sweep: "launched k/N" as one updating line (notebook) or a line per 10% (terminal)."""

    def __init__(self, shell: Any, name: str) -> None:
        from .display import ProgressPrinter

        self.printer = ProgressPrinter(shell)
        self.name = name
        self.started = time.monotonic()
        self.printer.start(f"sweep {name}: launching …")

    def __call__(self, launched: int, total: int, message: str) -> None:
        from ..results import Progress

        status = f"launched {launched}/{total} (last: {message})"
        self.printer(Progress("sweep", self.name, time.monotonic() - self.started, status, done=launched == total))
