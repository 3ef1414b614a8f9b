"""``%aci`` and ``%%aci``: a thin router from a magic line to the Python API (``Session`` methods).

Each command (``commands.py``, ``sweep_commands.py``) gets its line parsed (``parser.py``), checks its flags
against ``rules.py``/``GroupSpec.problems()`` *before* any request, calls one session method, and hands the
result to ``display``. Expected failures (``AciError``, bad flags) become ONE line via ``UsageError``
(IPython prints it without a traceback and marks the cell failed, so "Run all" stops);
``%config AciMagics.show_tracebacks = True`` re-raises instead.

Loading this module must stay cheap (``%load_ext aci_widgets``): the Azure SDK, pandas and ipywidgets
are imported only by the commands that need them, and even argparse set-up waits for the first command.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from traitlets import Bool, CaselessStrEnum, Float, Unicode, default, observe, validate
from traitlets.config import Configurable

from .commands import GroupCommands
from .exec_commands import ExecCommands
from .helpers import current_session, expected, first_line
from .sweep_commands import SweepCommands

if TYPE_CHECKING:
    from ..session import Session

_TRUE = ("1", "true", "yes", "on")


@magics_class
class AciMagics(Magics, Configurable):
    """``%aci COMMAND ...`` (``%aci --help``) and ``%%aci create`` with YAML in the cell."""

    resource_group = Unicode(help="Default resource group (env ACI_RESOURCE_GROUP); -g overrides it.").tag(config=True)
    location = Unicode(help="Default location for new groups (env ACI_LOCATION).").tag(config=True)
    backend = CaselessStrEnum(("auto", "local", "azure"),
                              help="Backend of the first command: auto, local or azure (env ACI_WIDGETS_BACKEND)."
                              ).tag(config=True)
    poll_interval = Float(None, allow_none=True,
                          help="Seconds between polls (env ACI_POLL_INTERVAL); None: the backend's default."
                          ).tag(config=True)
    show_tracebacks = Bool(help="Show full tracebacks instead of one-line errors (env ACI_SHOW_TRACEBACKS)."
                           ).tag(config=True)

    # -- environment defaults ----------------------------------------------------------------------------
    @default("resource_group")
    def _default_resource_group(self) -> str:
        return os.environ.get("ACI_RESOURCE_GROUP", "")

    @default("location")
    def _default_location(self) -> str:
        return os.environ.get("ACI_LOCATION", "")

    @default("backend")
    def _default_backend(self) -> str:
        value = os.environ.get("ACI_WIDGETS_BACKEND", "auto").strip().lower()
        return value if value in ("auto", "local", "azure") else "auto"

    @default("poll_interval")
    def _default_poll_interval(self) -> float | None:
        try:
            value = float(os.environ.get("ACI_POLL_INTERVAL", ""))
        except ValueError:
            return None
        return value if value > 0 else None

    @default("show_tracebacks")
    def _default_show_tracebacks(self) -> bool:
        return os.environ.get("ACI_SHOW_TRACEBACKS", "").strip().lower() in _TRUE

    @validate("poll_interval")
    def _check_poll_interval(self, proposal: Any) -> float | None:
        value = proposal["value"]
        if value is not None and not value > 0:
            from traitlets import TraitError

            raise TraitError(f"AciMagics.poll_interval must be a positive number of seconds, not {value!r}")
        return value

    @observe("resource_group", "location", "poll_interval")
    def _apply_to_session(self, change: Any) -> None:
        """Config changes apply to the session in use at once (new sessions get them when made)."""
        current = current_session()
        if current is not None:
            self._configure(current, change.name)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._parsers: Any = None
        self._commands = (GroupCommands(self), SweepCommands(self), ExecCommands(self))

    # -- the magic ---------------------------------------------------------------------------------------
    @no_var_expand  # commands are passed verbatim: "$HOME" and "{x}" belong to the container's shell
    @line_cell_magic
    def aci(self, line: str, cell: str | None = None) -> Any:
        """Manage Azure Container Instances (or the local emulator). ``%aci COMMAND --help`` for the flags.

        %aci use local | use azure [--auth-file PATH] [--subscription ID] | whoami
        %aci list [-g RG] [--live] [--all] [--out VAR]          df = %aci list
        %aci show NAME [-g RG]                                  details = %aci show NAME
        %aci logs NAME [-c CONTAINER] [--tail N] [--timestamps] [--follow]
        %aci create NAME --image IMG [--cpu --memory --ports --env K=V --secure-env K=V --command-line "..."
                    --restart-policy --ip-address Public --dns-name-label --os-type -l -g --no-wait]
        %%aci create [NAME]       (YAML in the cell: the `az container create --file` format)
        %aci run IMG [--command-line "..."] [--env K=V] [--secure-env K=V] [--cpu --memory --name --timeout]
        %aci start|stop|restart NAME     %aci delete NAME... [--yes]     %aci create-rg|delete-rg RG
        %aci export NAME [--format yaml|python|az]               %aci form     %aci browse [-g RG]
        %aci sweep NAME --params DF --image IMG [--command-line "cmd {col}"] [--env K={col}] [--concurrency N]
              [--max-active N] [--keep none|failed|all]      (a queue within Azure's quotas and rates)
        %aci sweep NAME --attach [--no-resume]                   (re-attach after a kernel restart; resumes)
        %aci exec NAME [-c CONTAINER] -- CMD ARGS                (output and exit code)
        %aci metrics NAME [--since 1h] [--interval 1m]           (DataFrame time/container/metric/value + plot)

        Options: %config AciMagics (resource_group, location, backend, poll_interval, show_tracebacks).
        """
        from . import parser as magic_args

        if self._parsers is None:
            self._parsers = magic_args.build_parser()
        secrets: list[str] = magic_args.secret_tokens(line)
        command = ""
        try:
            args = magic_args.parse(line, self._parsers)
            command = args.command
            problems = magic_args.check_flags(args)
            if problems:
                raise magic_args.MagicUsage(f"{command}: {problems[0]}")
            if cell is not None and command != "create":
                raise magic_args.MagicUsage(f"{command}: only %%aci create takes a cell body (YAML)")
            handler = self._handler(command)
            result = handler(args, cell, secrets)
        except magic_args.HelpShown:
            return None
        except magic_args.MagicUsage as exc:
            raise UsageError(self._line(f"aci: {exc}", secrets)) from None
        except Exception as exc:
            if self.show_tracebacks or not expected(exc):
                raise
            where = f"{command}: " if command else ""
            raise UsageError(self._line(f"aci: {where}{first_line(exc)}", secrets)) from None
        out = getattr(args, "out", None)
        if out and result is not None:
            self.shell.user_ns[out] = result
            return None
        return result

    def _handler(self, command: str) -> Any:
        name = "cmd_" + command.replace("-", "_")
        for commands in self._commands:
            if hasattr(commands, name):
                return getattr(commands, name)
        raise AttributeError(name)  # the parser only lets known commands through

    def _line(self, text: str, secrets: list[str]) -> str:
        from .display import one_line

        current = current_session()
        known = [*secrets, *(current.secret_values() if current is not None else ())]
        return one_line(text, known)

    # -- session -----------------------------------------------------------------------------------------
    def session(self) -> Session:
        """The default session (``aci_widgets.connect()`` made it, or we make it now with the configured backend)."""
        from .. import session as sessions

        current = current_session()
        if current is None:
            current = sessions.connect(self.backend, resource_group=self.resource_group or None,
                                       location=self.location or None, poll_interval=self.poll_interval)
            self.adopt(current)
        elif self.poll_interval is not None and current.tuning.poll_interval != self.poll_interval:
            self._configure(current, "poll_interval")
        return current

    def adopt(self, current: Session) -> None:
        from .display import notice

        current.notify = notice
        self._configure(current, "poll_interval")

    def _configure(self, current: Session, name: str) -> None:
        if name == "poll_interval":
            if self.poll_interval is not None:
                current.tuning = replace(current.tuning, poll_interval=self.poll_interval)
        elif getattr(self, name):
            setattr(current, name, getattr(self, name))


# -- extension entry points (called by aci_widgets.load_ipython_extension) --------------------------------


def register(ipython: Any) -> AciMagics:
    """Register ``%aci``/``%%aci`` and make ``%config AciMagics`` work (Magics appends to shell.configurables)."""
    magics = AciMagics(shell=ipython)
    if magics not in getattr(ipython, "configurables", []):
        ipython.configurables.append(magics)
    ipython.register_magics(magics)
    return magics


def unregister(ipython: Any) -> None:
    manager = ipython.magics_manager
    for kind in ("line", "cell"):
        manager.magics[kind].pop("aci", None)
    manager.registry.pop("AciMagics", None)
    ipython.configurables[:] = [c for c in ipython.configurables if not isinstance(c, AciMagics)]
