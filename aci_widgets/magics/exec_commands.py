"""``%aci exec NAME [-c C] -- CMD ARGS`` and ``%aci metrics NAME [--since 1h] [--interval 1m]``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .helpers import MagicsHost, NotFoundHint

if TYPE_CHECKING:
    import argparse


class ExecCommands:
    """``cmd_exec`` and ``cmd_metrics`` for ``AciMagics.aci``."""

    def __init__(self, magics: MagicsHost) -> None:
        self.m = magics

    def cmd_exec(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> Any:
        from .parser import MagicUsage

        argv = list(args.argv or [])
        if not argv:
            raise MagicUsage("exec: a command is needed after --: %aci exec NAME -- ls -l /")
        try:
            timeout = float(args.timeout) if args.timeout is not None else 60.0
        except ValueError:
            raise MagicUsage(f"exec: --timeout: {args.timeout!r} is not a number of seconds") from None
        current = self.m.session()
        with NotFoundHint(current, [args.name], args.resource_group):  # a wrong name lists the groups there are
            result = current.exec(args.name, argv, args.container, resource_group=args.resource_group,
                                  timeout=timeout)
        if args.out:
            return result
        print(result.output, end="" if result.output.endswith("\n") or not result.output else "\n")
        print(f"exit code {result.exit_code if result.exit_code is not None else 'unknown'}")
        return None

    def cmd_metrics(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> Any:
        current = self.m.session()
        with NotFoundHint(current, [args.name], args.resource_group):
            frame = current.metrics(args.name, resource_group=args.resource_group, since=args.since,
                                    interval=args.interval, aggregation=args.aggregation)
        if not args.no_plot:
            self._show_plot(frame, args.name)
        if args.out:
            self.m.shell.user_ns[args.out] = frame
            return None
        return frame

    def _show_plot(self, frame: Any, name: str) -> None:
        from .display import in_kernel

        if not in_kernel(self.m.shell):
            return  # a terminal shows the DataFrame only
        from IPython.display import Image, display

        from ..metrics_plot import plot_metrics, png_bytes

        display(Image(png_bytes(plot_metrics(frame, title=f"{name}: CPU and memory")), format="png"))
