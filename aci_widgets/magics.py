"""``%aci`` and ``%%aci``: a thin router from a magic line to the Python API (``Session`` methods).

Each command parses its line (``magic_args``), checks its flags against ``rules.py``/``GroupSpec.problems()``
*before* any request, calls one session method, and hands the result to ``display``. Expected failures
(``AciError``, bad flags) become ONE line via ``UsageError`` (IPython prints it without a traceback and
marks the cell failed, so "Run all" stops); ``%config AciMagics.show_tracebacks = True`` re-raises instead.

Loading this module must stay cheap (``%load_ext aci_widgets``): the Azure SDK, pandas and ipywidgets
are imported only by the commands that need them, and even argparse set-up waits for the first command.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from traitlets import Bool, CaselessStrEnum, Float, Unicode, default, observe, validate
from traitlets.config import Configurable

if TYPE_CHECKING:
    import argparse

    from .session import Session
    from .spec import GroupSpec

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
        current = _current_session()
        if current is not None:
            self._configure(current, change.name)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._parsers: Any = None

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
        %aci sweep NAME --attach                                 (re-attach after a kernel restart)

        Options: %config AciMagics (resource_group, location, backend, poll_interval, show_tracebacks).
        """
        from . import magic_args

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
            handler = getattr(self, "_cmd_" + command.replace("-", "_"))
            result = handler(args, cell, secrets)
        except magic_args.HelpShown:
            return None
        except magic_args.MagicUsage as exc:
            raise UsageError(self._line(f"aci: {exc}", secrets)) from None
        except Exception as exc:
            if self.show_tracebacks or not _expected(exc):
                raise
            where = f"{command}: " if command else ""
            raise UsageError(self._line(f"aci: {where}{_first_line(exc)}", secrets)) from None
        out = getattr(args, "out", None)
        if out and result is not None:
            self.shell.user_ns[out] = result
            return None
        return result

    def _line(self, text: str, secrets: list[str]) -> str:
        from .display import one_line

        current = _current_session()
        known = [*secrets, *(current.secret_values() if current is not None else ())]
        return one_line(text, known)

    # -- session -----------------------------------------------------------------------------------------
    def _session(self) -> Session:
        """The default session (``aci_widgets.connect()`` made it, or we make it now with the configured backend)."""
        from . import session as sessions

        current = _current_session()
        if current is None:
            current = sessions.connect(self.backend, resource_group=self.resource_group or None,
                                       location=self.location or None, poll_interval=self.poll_interval)
            self._adopt(current)
        elif self.poll_interval is not None and current.tuning.poll_interval != self.poll_interval:
            self._configure(current, "poll_interval")
        return current

    def _adopt(self, current: Session) -> None:
        from .display import notice

        current.notify = notice
        self._configure(current, "poll_interval")

    def _configure(self, current: Session, name: str) -> None:
        if name == "poll_interval":
            if self.poll_interval is not None:
                current.tuning = replace(current.tuning, poll_interval=self.poll_interval)
        elif getattr(self, name):
            setattr(current, name, getattr(self, name))

    def _rg(self, args: argparse.Namespace, current: Session) -> str | None:
        return getattr(args, "resource_group", None) or current.resource_group

    # -- commands: backend -------------------------------------------------------------------------------
    def _cmd_use(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        from . import session as sessions
        from .magic_args import MagicUsage

        if args.backend != "azure" and (args.auth_file or args.subscription):
            raise MagicUsage("use: --auth-file and --subscription go with 'use azure'")
        current = sessions.connect(args.backend, auth_file=args.auth_file, subscription_id=args.subscription,
                                   resource_group=self.resource_group or None, location=self.location or None,
                                   poll_interval=self.poll_interval, quiet=True)
        self._adopt(current)
        print(f"aci: using {current.description}; resource group {current.resource_group or '(none: use -g)'}")

    def _cmd_whoami(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        from . import session as sessions

        current = _current_session()
        if current is None:
            chosen = sessions.auto_backend() if self.backend == "auto" else self.backend
            print(f"aci: not connected yet; the first command connects to the {chosen} backend "
                  f"(%aci use local | %aci use azure --auth-file PATH)")
            return
        for key, value in current.whoami().items():
            print(f"{key + ':':<17}{value if value else '-'}")

    # -- commands: read --------------------------------------------------------------------------------
    def _cmd_list(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> Any:
        current = self._session()
        with self._hint(current, None, args.resource_group):
            return current.list_groups(args.resource_group, live=args.live, cost=args.cost,
                                      all_groups=args.all)

    def _cmd_show(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> Any:
        from .display import ShownDetails

        current = self._session()
        with self._hint(current, args.name, args.resource_group):
            return ShownDetails.of(current.get_group_json(args.name, args.resource_group), current)

    def _cmd_logs(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        current = self._session()
        with self._hint(current, args.name, args.resource_group):
            if args.follow:
                self._follow(current, args)
                return
            text = current.logs(args.name, args.container, resource_group=args.resource_group,
                                tail=None if args.tail is None else int(args.tail), timestamps=args.timestamps)
        if text:
            print(text, end="" if text.endswith("\n") else "\n", flush=True)
        else:
            print(f"(the log of {args.name} is empty so far)")

    def _follow(self, current: Session, args: argparse.Namespace) -> None:
        """Print new lines as they come; end with one line saying why following stopped."""
        container = args.container
        lines = current.follow_logs(args.name, container, resource_group=args.resource_group,
                                    interval=self.poll_interval, timestamps=args.timestamps)
        try:
            for line in lines:
                print(line, flush=True)
        except KeyboardInterrupt:
            lines.close()
            print("--- stopped following: interrupted (the container goes on running) ---", flush=True)
            return
        details = current.get_group(args.name, args.resource_group)
        container = container or (details.containers[0] if details.containers else "?")
        code = details.exit_codes.get(container)
        ended = f"exit code {code}" if code is not None else "terminated"
        print(f"--- stopped following: {container} ended ({ended}; group {details.state or '-'}) ---", flush=True)

    # -- commands: create / run ----------------------------------------------------------------------------
    def _cmd_create(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> Any:
        from .display import ProgressPrinter, ShownDetails
        from .results import GroupDetails

        spec = self._spec_from_cell(args, cell) if cell is not None else self._spec_from_flags(args, secrets)
        secrets.extend(spec.secrets())
        _raise_problems("create", spec, by_flag=cell is None)
        current = self._session()
        rg = args.resource_group or spec.resource_group or current.resource_group
        printer = ProgressPrinter(self.shell)
        if not args.no_wait:
            printer.start(f"create {spec.name} in resource group {rg or '-'}: sending …")
        result = current.create_group(spec, wait=not args.no_wait, resource_group=rg, progress=printer)
        if isinstance(result, GroupDetails):
            return ShownDetails.of(result, current)
        print(f"aci: create {spec.name} accepted ({result.status()}); h = %aci create … --no-wait, then h.wait()")
        return result

    def _spec_from_flags(self, args: argparse.Namespace, secrets: list[str]) -> GroupSpec:
        from .magic_args import MagicUsage
        from .spec import GroupSpec

        if not args.name:
            raise MagicUsage("create: NAME is required (or use %%aci create with YAML in the cell)")
        if args.image is None:
            raise MagicUsage("create: --image is required")
        secure_env = self._secure_pairs(args.secure_env, secrets)
        password = self._secure_value("--registry-password", args.registry_password, secrets)
        registry = None
        if args.registry_login_server or args.registry_username or password:
            registry = (args.registry_login_server or "", args.registry_username or "", password or "")
        optional = {key: value for key, value in {
            "cpu": None if args.cpu is None else float(args.cpu),
            "memory_gb": None if args.memory is None else float(args.memory),
            "protocol": args.protocol, "restart_policy": args.restart_policy, "os_type": args.os_type,
        }.items() if value is not None}
        return GroupSpec.single(
            args.name, args.image, ports=args.ports, command=args.command_line, env=args.env,
            secure_env=secure_env, ip_address=args.ip_address, dns_name_label=args.dns_name_label,
            location=args.location or self.location or None, resource_group=args.resource_group,
            registry=registry, **optional,
        )

    def _spec_from_cell(self, args: argparse.Namespace, cell: str) -> GroupSpec:
        from .magic_args import SPEC_FLAGS, MagicUsage
        from .spec.formats import spec_from_yaml

        extra = [flag for flag in SPEC_FLAGS if getattr(args, flag, None) is not None]
        extra += [flag for flag in ("ports", "env", "secure_env") if getattr(args, flag)]
        if extra:
            raise MagicUsage(f"create: --{extra[0].replace('_', '-')}: with a YAML cell the group comes from the "
                             "cell; only NAME, -g, --no-wait and --out go on the line")
        return spec_from_yaml(cell, args.name, resource_group=args.resource_group)

    def _cmd_run(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> Any:
        from . import rules
        from .display import ProgressPrinter, ShownTask
        from .spec import GroupSpec, parse_env_pairs

        secure_env = self._secure_pairs(args.secure_env, secrets)
        cpu = float(args.cpu) if args.cpu is not None else rules.DEFAULT_CPU
        memory = float(args.memory) if args.memory is not None else rules.DEFAULT_MEMORY_GB
        env = parse_env_pairs(args.env)
        # The same spec run_task builds, checked here so that bad input is reported by flag, before connecting
        # (with the pairs as given: a dict would hide a duplicate name).
        _raise_problems("run", GroupSpec.single(args.name or "task", args.image, cpu=cpu, memory_gb=memory,
                                                command=args.command_line, env=env, secure_env=secure_env,
                                                restart_policy="Never"))
        current = self._session()
        printer = ProgressPrinter(self.shell)
        printer.start(f"run {args.image}: sending …")
        result = current.run_task(args.image, name=args.name, command=args.command_line, env=dict(env),
                                  secure_env=dict(secure_env), cpu=cpu, memory_gb=memory,
                                  resource_group=args.resource_group,
                                  timeout=None if args.timeout is None else float(args.timeout), progress=printer)
        return ShownTask(result.details, result.logs, result.elapsed, timed_out=result.timed_out)

    def _secure_pairs(self, pairs: list[str], secrets: list[str]) -> list[tuple[str, str]]:
        """``--secure-env`` pairs with ``$var`` resolved; a list, so that problems() still sees duplicates."""
        from .spec import parse_env_pairs

        return [(name, self._secure_value(f"--secure-env {name}", value, secrets) or "")
                for name, value in parse_env_pairs(pairs, "secure_env")]

    def _secure_value(self, flag: str, value: str | None, secrets: list[str]) -> str | None:
        """``$var`` reads a notebook variable, so the secret need not be typed into the notebook (``$$`` is ``$``)."""
        from .magic_args import MagicUsage

        if value is None:
            return None
        if value.startswith("$$"):
            value = value[1:]
        elif value.startswith("$") and value[1:].isidentifier():
            if value[1:] not in self.shell.user_ns:
                raise MagicUsage(f"{flag}: no notebook variable '{value[1:]}' (write $$ for a literal $)")
            value = str(self.shell.user_ns[value[1:]])
        secrets.append(value)
        return value

    # -- commands: lifecycle -----------------------------------------------------------------------------
    def _lifecycle(self, verb: str, past: str, args: argparse.Namespace) -> None:
        current = self._session()
        with self._hint(current, args.name, args.resource_group):
            getattr(current, verb)(args.name, resource_group=args.resource_group)
        print(f"aci: {past} {args.name}")

    def _cmd_start(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        self._lifecycle("start", "started", args)

    def _cmd_stop(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        self._lifecycle("stop", "stopped", args)

    def _cmd_restart(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        self._lifecycle("restart", "restarted", args)

    def _cmd_delete(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        current = self._session()
        rg = self._rg(args, current)
        plural = "s" if len(args.names) > 1 else ""
        question = f"Delete container group{plural} {', '.join(args.names)} in resource group '{rg}'? [y/N] "
        if not args.yes and not _confirm(question):
            print("aci: delete cancelled; nothing was deleted")
            return
        with self._hint(current, args.names, args.resource_group):
            deleted = current.delete_groups(*args.names, resource_group=args.resource_group)
        print(f"aci: deleted {', '.join(deleted)}")

    def _cmd_create_rg(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        current = self._session()
        current.ensure_resource_group(args.rg, args.location or self.location or None)
        print(f"aci: resource group {args.rg} is there")

    def _cmd_delete_rg(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        current = self._session()
        question = f"Delete resource group '{args.rg}' and every container group in it? [y/N] "
        if not args.yes and not _confirm(question):
            print("aci: delete-rg cancelled; nothing was deleted")
            return
        with self._hint(current, None, args.rg):
            current.delete_resource_group(args.rg)
        print(f"aci: deleted resource group {args.rg}")

    def _cmd_export(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        current = self._session()
        fmt = args.format.lower()
        with self._hint(current, args.name, args.resource_group):
            if fmt == "yaml":
                text = current.export_group(args.name, args.resource_group)
            else:
                from .spec import GroupSpec
                from .spec.formats import to_az, to_python

                spec = GroupSpec.from_group_json(current.get_group_json(args.name, args.resource_group))
                text = to_python(spec) if fmt == "python" else to_az(spec)
        print(text, end="" if text.endswith("\n") else "\n")

    # -- commands: sweeps --------------------------------------------------------------------------------
    def _cmd_sweep(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> Any:
        from .sweep import Sweep, plan_sweep

        if args.attach:
            current = self._session()
            sweep = Sweep.attach(current, args.name, args.resource_group)
        else:
            plan = self._sweep_plan(args, secrets, plan_sweep)
            current = self._session()
            printer = _SweepPrinter(self.shell, args.name)
            sweep = Sweep.launch(current, plan, concurrency=int(args.concurrency),
                                 resource_group=args.resource_group, progress=printer)
        # Unlike the other commands, --out does not hide the display: a sweep is launched to be watched.
        self._show_sweep(sweep)
        if args.out:
            self.shell.user_ns[args.out] = sweep
        return None

    def _sweep_plan(self, args: argparse.Namespace, secrets: list[str], plan_sweep: Any) -> Any:
        from . import rules
        from .magic_args import MagicUsage
        from .spec import parse_env_pairs

        missing = [flag for flag, value in (("--params", args.params), ("--image", args.image)) if not value]
        if missing:
            raise MagicUsage(f"sweep: {missing[0]} is required (or --attach to find an earlier sweep)")
        params = self.shell.user_ns.get(args.params)
        if params is None or not hasattr(params, "iterrows"):
            raise MagicUsage(f"sweep: --params: '{args.params}' is not a pandas DataFrame in the notebook")
        return plan_sweep(
            args.name, params, image=args.image, command=args.command_line, shell=args.shell,
            env=dict(parse_env_pairs(args.env)), secure_env=dict(self._secure_pairs(args.secure_env, secrets)),
            cpu=float(args.cpu) if args.cpu is not None else rules.DEFAULT_CPU,
            memory_gb=float(args.memory) if args.memory is not None else rules.DEFAULT_MEMORY_GB,
            concurrency=int(args.concurrency),
        )

    def _show_sweep(self, sweep: Any) -> None:
        from .display import in_kernel, widgets_available

        if in_kernel(self.shell) and widgets_available():
            from IPython.display import display

            from .widgets.sweep import SweepMonitor

            display(SweepMonitor(sweep))
        else:
            print(sweep.status().to_string(index=False))

    # -- commands: widgets -------------------------------------------------------------------------------
    def _cmd_form(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        from .display import in_kernel, widgets_available

        current = self._session()
        if in_kernel(self.shell) and widgets_available():
            from IPython.display import display

            from .widgets.form import GroupForm

            display(GroupForm(current))
            return
        print("aci: the form needs ipywidgets in a Jupyter kernel; here use %aci create NAME --image IMG "
              "[flags] (%aci create --help) or %%aci create with YAML in the cell")

    def _cmd_browse(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> Any:
        from .display import in_kernel, widgets_available

        current = self._session()
        if in_kernel(self.shell) and widgets_available():
            from IPython.display import display

            from .widgets.browser import GroupBrowser

            display(GroupBrowser(current, resource_group=args.resource_group))
            return None
        # No widgets here: the same list, as a DataFrame (HTML in a notebook, text in a terminal).
        return current.list_groups(args.resource_group)

    # -- helpers -------------------------------------------------------------------------------------------
    def _hint(self, current: Session, names: str | list[str] | None, resource_group: str | None) -> Any:
        return _NotFoundHint(current, [names] if isinstance(names, str) else list(names or []), resource_group)


class _SweepPrinter:
    """Launch progress of a sweep: "launched k/N" as one updating line (notebook) or a line per 10% (terminal)."""

    def __init__(self, shell: Any, name: str) -> None:
        from .display import ProgressPrinter

        self.printer = ProgressPrinter(shell)
        self.name = name
        self.started = time.monotonic()
        self.printer.start(f"sweep {name}: launching …")

    def __call__(self, launched: int, total: int, message: str) -> None:
        from .results import Progress

        status = f"launched {launched}/{total} (last: {message})"
        self.printer(Progress("sweep", self.name, time.monotonic() - self.started, status, done=launched == total))


class _NotFoundHint:
    """On ``NotFound``, re-raise with a "did you mean" from the names that do exist (one more list request).

    ``names`` are the groups the command named; without names the resource group itself is the suspect.
    """

    def __init__(self, current: Session, names: list[str], resource_group: str | None) -> None:
        self.current, self.names, self.resource_group = current, names, resource_group

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        from .errors import AciError, NotFound

        if exc_type is None or not issubclass(exc_type, NotFound):
            return False
        message = str(exc)
        rg = self.resource_group or self.current.resource_group
        try:
            if getattr(exc, "code", None) == "ResourceGroupNotFound" or not self.names:
                hint = _closest([rg or ""], self.current.list_resource_groups(), "resource groups")
                if "did you mean" not in hint:
                    hint += f"; %aci create-rg {rg} makes it"
            elif getattr(exc, "code", None) == "ContainerNotFound":
                return False  # a missing container, not a missing group: the message names the group
            else:
                missing = [name for name in self.names if f"'{name}'" in message or f"/{name}'" in message]
                names = [str(g.get("name", "")) for g in self.current.list_group_json(rg)]
                hint = _closest(missing or self.names, names, f"groups in '{rg}'")
        except AciError:
            return False  # the hint is a courtesy: the original error stands
        if hint:
            raise NotFound(f"{message}{hint}", code=getattr(exc, "code", None)) from None
        return False


def _closest(words: list[str], candidates: list[str], what: str) -> str:
    import difflib

    if not candidates:
        return f" ({what}: none)"
    for word in words:
        close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
        if close:
            return f" (did you mean '{close[0]}'?)"
    shown = ", ".join(sorted(candidates)[:8]) + (", …" if len(candidates) > 8 else "")
    return f" ({what}: {shown})"


def _raise_problems(command: str, spec: GroupSpec, *, by_flag: bool = True) -> None:
    """``spec.problems()`` (the one copy of the rules) as a usage error: the first problem, named by the flag
    that set it (or by its field path for a YAML cell), and how many more there are."""
    from .magic_args import MagicUsage, flag_for

    problems = spec.problems()
    if problems:
        path, message = next(iter(problems.items()))
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise MagicUsage(f"{command}: {flag_for(path, spec) if by_flag else path}: {message}{more}")


def _expected(exc: BaseException) -> bool:
    """Failures a user can act on from one line: our errors, and an emulator that would not start."""
    import sys

    from .errors import AciError

    launcher = sys.modules.get("aci_widgets.emulator.launcher")
    start_error = getattr(launcher, "EmulatorStartError", None)
    return isinstance(exc, AciError) or (start_error is not None and isinstance(exc, start_error))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _confirm(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:  # no stdin (a non-interactive kernel): never delete without a yes
        return False
    return answer.strip().lower() in ("y", "yes")


def _current_session() -> Session | None:
    """The default session if one exists, without connecting; and without importing the session module (which
    imports azure-core) when nothing has connected yet."""
    import sys

    module = sys.modules.get("aci_widgets.session")
    return module.current_session() if module is not None else None


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
