"""The ``%aci`` commands on container groups: use, whoami, list, show, logs, create, run, lifecycle, delete,
resource groups, export, form and browse. Each parses nothing itself (``parser.py`` did), checks the spec
before any request, calls one session method and hands the result to ``display.py``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .helpers import (
    ImageHint,
    MagicsHost,
    NotFoundHint,
    confirm,
    current_session,
    raise_problems,
    secure_pairs,
    secure_value,
)

if TYPE_CHECKING:
    import argparse

    from ..session import Session
    from ..spec import GroupSpec


class GroupCommands:
    """``cmd_<name>(args, cell, secrets)`` for each command; ``AciMagics.aci`` dispatches to them."""

    def __init__(self, magics: MagicsHost) -> None:
        self.m = magics

    def _rg(self, args: argparse.Namespace, current: Session) -> str | None:
        return getattr(args, "resource_group", None) or current.resource_group

    # -- commands: backend -------------------------------------------------------------------------------
    def cmd_use(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        from .. import session as sessions
        from .parser import MagicUsage

        if args.backend != "azure" and (args.auth_file or args.subscription):
            raise MagicUsage("use: --auth-file and --subscription go with 'use azure'")
        current = sessions.connect(args.backend, auth_file=args.auth_file, subscription_id=args.subscription,
                                   resource_group=self.m.resource_group or None, location=self.m.location or None,
                                   poll_interval=self.m.poll_interval, quiet=True)
        self.m.adopt(current)
        print(f"aci: using {current.description}; resource group {current.resource_group or '(none: use -g)'}")
        self._point_az(current.backend)

    @staticmethod
    def _point_az(backend: str) -> None:
        """``!az`` follows the backend: the emulator's own az configuration for local (the user's az login is
        untouched), the user's own again for azure (issue 13)."""
        from ..emulator import azcli
        from ..emulator.config import EmulatorHome
        from ..emulator.launcher import running_url

        if backend == "local":
            home = EmulatorHome.default()
            url = running_url(home)
            if url:
                env = azcli.use_in_this_process(home, url)
                print(f"aci: !az now talks to the emulator (AZURE_CONFIG_DIR={env['AZURE_CONFIG_DIR']}); "
                      "%aci use azure gives az back its own configuration")
        elif azcli.restore_this_process():
            print("aci: !az uses your own Azure CLI configuration again")

    def cmd_whoami(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        from .. import session as sessions

        current = current_session()
        if current is None:
            chosen = sessions.auto_backend() if self.m.backend == "auto" else self.m.backend
            print(f"aci: not connected yet; the first command connects to the {chosen} backend "
                  f"(%aci use local | %aci use azure --auth-file PATH)")
            return
        for key, value in current.whoami().items():
            print(f"{key + ':':<17}{value if value else '-'}")

    # -- commands: read --------------------------------------------------------------------------------
    def cmd_list(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> Any:
        current = self.m.session()
        with self._hint(current, None, args.resource_group):
            return current.list_groups(args.resource_group, live=args.live, cost=args.cost,
                                      all_groups=args.all)

    def cmd_show(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> Any:
        from .display import ShownDetails

        current = self.m.session()
        with self._hint(current, args.name, args.resource_group):
            return ShownDetails.of(current.get_group_json(args.name, args.resource_group), current)

    def cmd_logs(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        current = self.m.session()
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
                                    interval=self.m.poll_interval, timestamps=args.timestamps)
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
    def cmd_create(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> Any:
        from ..results import GroupDetails
        from .display import ProgressPrinter, ShownDetails

        spec = self._spec_from_cell(args, cell) if cell is not None else self._spec_from_flags(args, secrets)
        secrets.extend(spec.secrets())
        raise_problems("create", spec, by_flag=cell is None)
        current = self.m.session()
        rg = args.resource_group or spec.resource_group or current.resource_group
        self._check_overwrite(current, spec, rg, getattr(args, "no_overwrite", False))
        printer = ProgressPrinter(self.m.shell)
        if not args.no_wait:
            printer.start(f"create {spec.name} in resource group {rg or '-'}: sending …")
        with printer.finish_on_error(), ImageHint(current):
            result = current.create_group(spec, wait=not args.no_wait, resource_group=rg, progress=printer)
        if isinstance(result, GroupDetails):
            return ShownDetails.of(result, current)
        print(f"aci: create {spec.name} accepted ({result.status()}); h = %aci create … --no-wait, then h.wait()")
        return result

    @staticmethod
    def _check_overwrite(current: Session, spec: GroupSpec, rg: str | None, refuse: bool) -> None:
        """A create over an existing group: refuse (``--no-overwrite``) or say what it was and what changes."""
        from ..errors import OperationFailed
        from .overwrite import existing_group, update_notice

        old = existing_group(current, spec.name, rg)
        if old is None:
            return
        if refuse:
            raise OperationFailed(f"create: container group {spec.name} already exists in resource group "
                                  f"'{rg}' (--no-overwrite); nothing was changed")
        print(update_notice(spec.name, old, spec), flush=True)

    def _spec_from_flags(self, args: argparse.Namespace, secrets: list[str]) -> GroupSpec:
        from ..spec import GroupSpec
        from .parser import MagicUsage

        if not args.name:
            raise MagicUsage("create: NAME is required (or use %%aci create with YAML in the cell)")
        if args.image is None:
            raise MagicUsage("create: --image is required")
        secure_env = secure_pairs(self.m.shell, args.secure_env, secrets)
        password = secure_value(self.m.shell, "--registry-password", args.registry_password, secrets)
        registry = None
        if args.registry_login_server or args.registry_username or password:
            registry = (args.registry_login_server or "", args.registry_username or "", password or "")
        optional = {key: value for key, value in {
            "cpu": None if args.cpu is None else float(args.cpu),
            "memory_gb": None if args.memory is None else float(args.memory),
            "protocol": args.protocol, "restart_policy": args.restart_policy, "os_type": args.os_type,
        }.items() if value is not None}
        spec = GroupSpec.single(
            args.name, args.image, ports=args.ports, command=args.command_line, env=args.env,
            secure_env=secure_env, ip_address=args.ip_address, dns_name_label=args.dns_name_label,
            location=args.location or self.m.location or None, resource_group=args.resource_group,
            registry=registry, **optional,
        )
        from .feature_flags import with_features

        return with_features(self.m, args, spec, secrets)

    def _spec_from_cell(self, args: argparse.Namespace, cell: str) -> GroupSpec:
        from ..spec.formats import spec_from_yaml
        from .parser import SPEC_FLAGS, MagicUsage

        extra = [flag for flag in SPEC_FLAGS if getattr(args, flag, None) is not None]
        extra += [flag for flag in ("ports", "env", "secure_env") if getattr(args, flag)]
        if extra:
            raise MagicUsage(f"create: --{extra[0].replace('_', '-')}: with a YAML cell the group comes from the "
                             "cell; only NAME, -g, --no-wait and --out go on the line")
        return spec_from_yaml(cell, args.name, resource_group=args.resource_group)

    def cmd_run(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> Any:
        from .. import rules
        from ..spec import GroupSpec, parse_env_pairs
        from .display import ProgressPrinter, ShownTask

        secure_env = secure_pairs(self.m.shell, args.secure_env, secrets)
        cpu = float(args.cpu) if args.cpu is not None else rules.DEFAULT_CPU
        memory = float(args.memory) if args.memory is not None else rules.DEFAULT_MEMORY_GB
        env = parse_env_pairs(args.env)
        # The same spec run_task builds, checked here so that bad input is reported by flag, before connecting
        # (with the pairs as given: a dict would hide a duplicate name).
        raise_problems("run", GroupSpec.single(args.name or "task", args.image, cpu=cpu, memory_gb=memory,
                                                command=args.command_line, env=env, secure_env=secure_env,
                                                restart_policy="Never"))
        current = self.m.session()
        printer = ProgressPrinter(self.m.shell)
        printer.start(f"run {args.image}: sending …")
        with printer.finish_on_error(), ImageHint(current):
            result = current.run_task(args.image, name=args.name, command=args.command_line, env=dict(env),
                                      secure_env=dict(secure_env), cpu=cpu, memory_gb=memory,
                                      resource_group=args.resource_group,
                                      timeout=None if args.timeout is None else float(args.timeout),
                                      progress=printer)
        return ShownTask(result.details, result.logs, result.elapsed, timed_out=result.timed_out)


    # -- commands: lifecycle -----------------------------------------------------------------------------
    def _lifecycle(self, verb: str, past: str, args: argparse.Namespace) -> None:
        current = self.m.session()
        with self._hint(current, args.name, args.resource_group):
            getattr(current, verb)(args.name, resource_group=args.resource_group)
        print(f"aci: {past} {args.name}")

    def cmd_start(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        self._lifecycle("start", "started", args)

    def cmd_stop(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        self._lifecycle("stop", "stopped", args)

    def cmd_restart(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        self._lifecycle("restart", "restarted", args)

    def cmd_delete(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        current = self.m.session()
        rg = self._rg(args, current)
        plural = "s" if len(args.names) > 1 else ""
        from ..errors import NotFound
        from .overwrite import missing_groups

        with self._hint(current, args.names, args.resource_group):
            missing = missing_groups(current, list(args.names), rg)  # before asking: never ask in vain
            if missing:
                raise NotFound(f"container group{'s' if len(missing) > 1 else ''} {', '.join(missing)} not found "
                               f"in resource group '{rg}'; nothing was deleted")
        question = f"Delete container group{plural} {', '.join(args.names)} in resource group '{rg}'? [y/N] "
        if not args.yes and not confirm(question):
            print("aci: delete cancelled; nothing was deleted (--yes deletes without asking)")
            return
        with self._hint(current, args.names, args.resource_group):
            deleted = current.delete_groups(*args.names, resource_group=args.resource_group)
        print(f"aci: deleted {', '.join(deleted)}")

    def cmd_create_rg(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        current = self.m.session()
        current.ensure_resource_group(args.rg, args.location or self.m.location or None)
        print(f"aci: resource group {args.rg} is there")

    def cmd_delete_rg(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        current = self.m.session()
        question = f"Delete resource group '{args.rg}' and every container group in it? [y/N] "
        if not args.yes and not confirm(question):
            print("aci: delete-rg cancelled; nothing was deleted (--yes deletes without asking)")
            return
        with self._hint(current, None, args.rg):
            current.delete_resource_group(args.rg)
        print(f"aci: deleted resource group {args.rg}")

    def cmd_export(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> Any:
        current = self.m.session()
        fmt = args.format.lower()
        with self._hint(current, args.name, args.resource_group):
            if fmt == "yaml":
                text = current.export_group(args.name, args.resource_group)
            else:
                from ..spec import GroupSpec
                from ..spec.formats import to_az, to_python

                spec = GroupSpec.from_group_json(current.get_group_json(args.name, args.resource_group))
                text = to_python(spec) if fmt == "python" else to_az(spec)
        from .display import ExportedText

        return ExportedText(text)  # y = %aci export NAME assigns it; shown as plain text otherwise

    # -- commands: widgets -------------------------------------------------------------------------------
    def cmd_form(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> None:
        from .display import in_kernel, widgets_available

        current = self.m.session()
        if in_kernel(self.m.shell) and widgets_available():
            from IPython.display import display

            from ..widgets.form import GroupForm

            display(GroupForm(current))
            return
        print("aci: the form needs ipywidgets in a Jupyter kernel; here use %aci create NAME --image IMG "
              "[flags] (%aci create --help) or %%aci create with YAML in the cell")

    def cmd_browse(self, args: argparse.Namespace, cell: str | None, secrets: list[str]) -> Any:
        from .display import in_kernel, widgets_available

        current = self.m.session()
        if in_kernel(self.m.shell) and widgets_available():
            from IPython.display import display

            from ..widgets.browser import GroupBrowser

            display(GroupBrowser(current, resource_group=args.resource_group))
            return None
        # No widgets here: the same list, as a DataFrame (HTML in a notebook, text in a terminal).
        return current.list_groups(args.resource_group)

    # -- helpers -------------------------------------------------------------------------------------------
    def _hint(self, current: Session, names: str | list[str] | None, resource_group: str | None) -> Any:
        return NotFoundHint(current, [names] if isinstance(names, str) else list(names or []), resource_group)
