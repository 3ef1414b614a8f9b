"""Parsing ``%aci`` lines: one ``ArgumentParser`` with a sub-parser per command (the jupysql ``%sqlcmd`` pattern).

The line is split with ``shlex.split(line, posix=True)`` ourselves: IPython's ``parse_argstring`` mangles
nested quotes, and ``--command-line "python -c 'print(1)'"`` must reach us as one token. Argparse never
exits the kernel: ``error()`` raises :class:`MagicUsage` (shown as one line) and ``--help`` raises
:class:`HelpShown` after printing. Unknown commands and flags get a "did you mean" from ``difflib``.

Values are kept as strings here (``--cpu abc`` is not an argparse error) so that the messages come from
``rules.py``, the one copy of ACI's rules, in :func:`check_flags`.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shlex
from collections.abc import Callable
from typing import Any, NoReturn

from .. import rules

PROG = "%aci"


class MagicUsage(Exception):
    """Bad input on the magic line: ``str()`` is the one line to show (without the ``aci:`` prefix)."""


class HelpShown(Exception):
    """``--help`` printed the usage: nothing else to do."""


class AciArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that raises instead of exiting, and suggests close flags."""

    command: str = ""

    def error(self, message: str) -> NoReturn:
        prefix = f"{self.command}: " if self.command else ""
        raise MagicUsage(prefix + _without_values(message) + self._flag_hint(message))

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self.error(message.strip())
        raise HelpShown()

    def _flag_hint(self, message: str) -> str:
        if not message.startswith("unrecognized arguments:"):
            return ""
        flags = [tok for tok in message.split(":", 1)[1].split() if tok.startswith("-")]
        known = [opt for opt in self._option_string_actions if opt.startswith("--")]
        for flag in flags:
            close = difflib.get_close_matches(flag.split("=", 1)[0], known, n=1, cutoff=0.75)
            if close:
                return f" (did you mean {close[0]}?)"
        if flags:
            return f" (see %aci {self.command} --help)"
        return ""


def _without_values(message: str) -> str:
    """argparse's "unrecognized arguments: --flag VALUE" names the flags only: a value may be a secret."""
    if not message.startswith("unrecognized arguments:"):
        return message
    tokens = message.split(":", 1)[1].split()
    flags = [token.split("=", 1)[0] for token in tokens if token.startswith("-") and not token[1:2].isdigit()]
    hidden = len(tokens) - len(flags)
    hidden += sum(1 for token in tokens if token.startswith("-") and "=" in token)
    shown = " ".join(flags) if flags else "(values)"
    more = f" (and {hidden} value{'s' if hidden != 1 else ''}, not shown)" if hidden and flags else ""
    return f"unrecognized arguments: {shown}{more}"


def _parser(**kwargs: Any) -> AciArgumentParser:
    return AciArgumentParser(allow_abbrev=False, **kwargs)


def _group_opt(p: argparse.ArgumentParser) -> None:
    p.add_argument("-g", "--resource-group", dest="resource_group", metavar="RG",
                   help="resource group (default: %%config AciMagics.resource_group)")


def _env_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("-e", "--env", "--environment-variables", dest="env", nargs="+", action="extend",
                   default=[], metavar="K=V", help="environment variables (values may contain '=' and spaces)")
    p.add_argument("--secure-env", "--secure-environment-variables", dest="secure_env", nargs="+",
                   action="extend", default=[], metavar="K=V",
                   help="secure environment variables: never echoed; K=$var reads a notebook variable")


def _size_opts(p: argparse.ArgumentParser, cpu_default: str | None, memory_default: str | None) -> None:
    p.add_argument("--cpu", default=cpu_default, metavar="CORES", help="CPU cores (default 1)")
    p.add_argument("--memory", default=memory_default, metavar="GB", help="memory in GB (default 1.5)")


def _feature_opts(p: argparse.ArgumentParser) -> None:
    """az container create's flags for volumes, identity, VNet, diagnostics and the rest (same names)."""
    for flag, metavar, text in (
            ("--azure-file-volume-share-name", "SHARE", "Azure Files share to mount (volume 'azurefile')"),
            ("--azure-file-volume-account-name", "ACCOUNT", "its storage account"),
            ("--azure-file-volume-account-key", "KEY", "the storage account key: never echoed; $var reads a variable"),
            ("--azure-file-volume-mount-path", "PATH", "where the share is mounted, e.g. /mnt/outputs"),
            ("--secrets-mount-path", "PATH", "where the secrets volume is mounted"),
            ("--gitrepo-url", "URL", "a git repository cloned into volume 'gitrepo' (never echoed)"),
            ("--gitrepo-dir", "DIR", "target directory in the volume (default .)"),
            ("--gitrepo-revision", "REV", "the commit to check out"),
            ("--gitrepo-mount-path", "PATH", "where the git repo volume is mounted"),
            ("--vnet", "NAME|ID", "the virtual network (with --subnet NAME)"),
            ("--subnet", "NAME|ID", "the subnet: a name (with --vnet) or a full subnet resource id"),
            ("--log-analytics-workspace", "ID", "Log Analytics workspace id (GUID)"),
            ("--log-analytics-workspace-key", "KEY", "its key: never echoed; $var reads a notebook variable"),
            ("--acr-identity", "ID|NAME", "user-assigned identity that pulls from the registry"),
            ("--sku", "SKU", "Standard, Dedicated or Confidential"),
            ("--priority", "PRIORITY", "Regular or Spot"),
            ("--zone", "ZONE", "availability zone: 1, 2 or 3"),
            ("--cce-policy", "POLICY", "confidential computing policy, base64 (with --sku Confidential)")):
        p.add_argument(flag, metavar=metavar, help=text)
    p.add_argument("--secrets", nargs="+", action="extend", default=[], metavar="K=V",
                   help="files of the secrets volume (mounted at --secrets-mount-path); values never echoed")
    p.add_argument("--assign-identity", nargs="*", metavar="ID", default=None,
                   help="managed identity: none for system-assigned, [system] and/or user identity ids")


def build_parser() -> tuple[AciArgumentParser, dict[str, AciArgumentParser]]:
    """The ``%aci`` parser and its sub-parsers by command name."""
    top = _parser(prog=PROG, description="Manage Azure Container Instances (or the local emulator) from Jupyter.",
                  epilog="%aci COMMAND --help shows a command's flags. %%aci create takes YAML in the cell.")
    subs = top.add_subparsers(dest="command", metavar="COMMAND", parser_class=AciArgumentParser)
    commands: dict[str, AciArgumentParser] = {}

    def add(name: str, help_text: str) -> AciArgumentParser:
        # argparse %-formats a sub-command's help (not its description): "%aci" there must be "%%aci"
        p = subs.add_parser(name, help=help_text.replace("%", "%%"), description=help_text, allow_abbrev=False)
        p.command = name
        commands[name] = p
        return p

    p = add("use", "choose the backend: the local emulator or Azure")
    p.add_argument("backend", choices=("local", "azure", "auto"), metavar="{local,azure,auto}")
    p.add_argument("--auth-file", metavar="PATH", help="an `az ad sp create-for-rbac --sdk-auth` JSON file")
    p.add_argument("--subscription", metavar="ID", help="subscription id (Azure)")

    add("whoami", "show the backend, subscription and defaults in use")

    p = add("list", "container groups as a DataFrame")
    _group_opt(p)
    p.add_argument("--live", action="store_true", help="fill `state` with parallel gets (the list API has none)")
    p.add_argument("--cost", action="store_true", help="add the estimated cost so far (implies --live)")
    p.add_argument("--all", action="store_true", help="every resource group of the subscription")
    p.add_argument("--out", metavar="VAR", help="store the DataFrame in VAR and display nothing")

    p = add("show", "the detail of one group: properties, instance views, events")
    p.add_argument("name", metavar="NAME")
    _group_opt(p)
    p.add_argument("--out", metavar="VAR", help="store the details in VAR and display nothing")

    p = add("logs", "a container's logs")
    p.add_argument("name", metavar="NAME")
    _group_opt(p)
    p.add_argument("-c", "--container", "--container-name", dest="container", metavar="CONTAINER")
    p.add_argument("--tail", metavar="N", help="only the last N lines")
    p.add_argument("--timestamps", action="store_true", help="prefix each line with its time")
    p.add_argument("--follow", action="store_true", help="print new lines until the container ends (Ctrl-C stops)")

    p = add("create", "create a container group (az container create's flags), with progress")
    p.add_argument("name", metavar="NAME", nargs="?")
    _group_opt(p)
    p.add_argument("--image", metavar="IMG")
    _size_opts(p, None, None)
    p.add_argument("--ports", nargs="+", action="extend", default=[], metavar="PORT")
    p.add_argument("--protocol", metavar="TCP|UDP")
    _env_opts(p)
    p.add_argument("--command-line", metavar='"CMD ARGS"', help="split like a shell: \"python -c 'print(1)'\"")
    p.add_argument("--restart-policy", metavar="Always|OnFailure|Never")
    p.add_argument("--ip-address", metavar="Public|Private")
    p.add_argument("--dns-name-label", metavar="LABEL")
    p.add_argument("--os-type", metavar="Linux|Windows")
    p.add_argument("-l", "--location", metavar="LOCATION")
    p.add_argument("--registry-login-server", metavar="SERVER")
    p.add_argument("--registry-username", metavar="USER")
    p.add_argument("--registry-password", metavar="PASSWORD", help="never echoed; $var reads a notebook variable")
    _feature_opts(p)
    p.add_argument("--no-wait", action="store_true", help="return a handle at once: h.wait() later")
    p.add_argument("--no-overwrite", action="store_true", help="refuse if the group exists (default: update it)")
    p.add_argument("--out", metavar="VAR", help="store the result in VAR and display nothing")

    p = add("run", "run a task group (restart Never): wait, then show exit codes and logs")
    p.add_argument("image", metavar="IMG")
    p.add_argument("--name", metavar="NAME", help="group name (default: from the image, with a random suffix)")
    _group_opt(p)
    p.add_argument("--command-line", metavar='"CMD ARGS"')
    _env_opts(p)
    _size_opts(p, None, None)
    p.add_argument("--timeout", metavar="SECONDS", help="stop waiting after this long (the task goes on)")
    p.add_argument("--out", metavar="VAR", help="store the TaskResult in VAR and display nothing")

    for verb in ("start", "stop", "restart"):
        p = add(verb, f"{verb} a container group")
        p.add_argument("name", metavar="NAME")
        _group_opt(p)

    p = add("delete", "delete container groups (asks first unless --yes)")
    p.add_argument("names", metavar="NAME", nargs="+")
    _group_opt(p)
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")

    p = add("create-rg", "create a resource group (if it does not exist yet)")
    p.add_argument("rg", metavar="RG")
    p.add_argument("-l", "--location", metavar="LOCATION", help="default: %%config AciMagics.location or eastus")

    p = add("delete-rg", "delete a resource group and every container group in it (asks first unless --yes)")
    p.add_argument("rg", metavar="RG")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")

    p = add("export", "a group as YAML (for az container create --file or a cell magic), Python or an az command")
    p.add_argument("name", metavar="NAME")
    _group_opt(p)
    p.add_argument("--format", default="yaml", metavar="yaml|python|az")
    p.add_argument("--out", metavar="VAR", help="store the text in VAR and display nothing")

    p = add("sweep", "launch one task group per row of a parameter DataFrame, then watch it live")
    p.add_argument("name", metavar="NAME", help="the sweep's name: tasks are NAME-000, NAME-001, ...")
    _group_opt(p)
    p.add_argument("--params", metavar="VAR", help="a pandas DataFrame in the notebook: one task per row")
    p.add_argument("--image", metavar="IMG")
    p.add_argument("--command-line", metavar='"CMD {column}"', help="a template: {column} takes the row's value")
    p.add_argument("--shell", action="store_true", help="run --command-line through /bin/sh -c")
    _env_opts(p)
    _size_opts(p, None, None)
    p.add_argument("--concurrency", default="8", metavar="N", help="at most N creates at a time (default 8)")
    p.add_argument("--max-active", metavar="N", help="at most N task groups at once (default: what the region's "
                                                     "quota headroom allows for the task's cores)")
    p.add_argument("--keep", default="none", choices=("none", "failed", "all"),
                   help="keep finished groups: none (default: deleted once their log is collected), failed, all")
    p.add_argument("--attach", action="store_true", help="find an earlier sweep by NAME (after a kernel restart) "
                                                         "and resume launching its rows left")
    p.add_argument("--no-resume", action="store_true", help="with --attach: only show it, launch nothing")
    p.add_argument("--out", metavar="VAR", help="store the Sweep in VAR (the live table is still shown)")

    p = add("exec", "run a command in a running container: its output and exit code (%aci exec NAME -- CMD ARGS)")
    p.usage = "%(prog)s [-h] [-g RG] [-c CONTAINER] [--timeout SECONDS] [--out VAR] NAME -- CMD [ARGS ...]"
    p.add_argument("name", metavar="NAME")
    _group_opt(p)
    p.add_argument("-c", "--container", "--container-name", dest="container", metavar="CONTAINER")
    p.add_argument("--timeout", metavar="SECONDS", help="give up after this long (default 60)")
    p.add_argument("--out", metavar="VAR", help="store the ExecResult in VAR and display nothing")

    p = add("metrics", "CPU, memory and network of a group from Azure Monitor: a DataFrame and a plot")
    p.add_argument("name", metavar="NAME")
    _group_opt(p)
    p.add_argument("--since", default="1h", metavar="SPAN", help="how far back: 90s, 30m, 1h, 2d (default 1h)")
    p.add_argument("--interval", default="1m", metavar="GRAIN", help="1m, 5m, 15m, 30m, 1h, 6h or 12h (default 1m)")
    p.add_argument("--aggregation", default="average", metavar="average|minimum|maximum")
    p.add_argument("--no-plot", action="store_true", help="only the DataFrame")
    p.add_argument("--out", metavar="VAR", help="store the DataFrame in VAR (the plot is still shown)")

    add("form", "the GroupForm widget")
    p = add("browse", "the GroupBrowser widget")
    _group_opt(p)
    return top, commands


COMMANDS = ("use", "whoami", "list", "show", "logs", "create", "run", "start", "stop", "restart", "delete",
            "create-rg", "delete-rg", "export", "sweep", "form", "browse", "exec", "metrics")
# flags that shape a group: with a YAML cell body they would be ignored, so they are refused
SPEC_FLAGS = ("image", "cpu", "memory", "protocol", "command_line", "restart_policy", "ip_address",
              "dns_name_label", "os_type", "location", "registry_login_server", "registry_username",
              "registry_password", "azure_file_volume_share_name", "azure_file_volume_account_name",
              "azure_file_volume_account_key", "azure_file_volume_mount_path", "secrets_mount_path", "gitrepo_url",
              "gitrepo_dir", "gitrepo_revision", "gitrepo_mount_path", "assign_identity", "vnet", "subnet",
              "log_analytics_workspace", "log_analytics_workspace_key", "acr_identity", "sku", "priority", "zone",
              "cce_policy")


def split_line(line: str) -> list[str]:
    try:
        return shlex.split(line, posix=True)
    except ValueError as exc:  # "No closing quotation", "No escaped character"
        raise MagicUsage(f"cannot split the line: {str(exc).lower()} (check the quotes)") from None


def parse(line: str, parsers: tuple[AciArgumentParser, dict[str, AciArgumentParser]]) -> argparse.Namespace:
    """Parse a ``%aci`` line into a namespace with ``command`` set, or raise MagicUsage / HelpShown."""
    top, commands = parsers
    tokens = split_line(line)
    if not tokens:
        raise MagicUsage(f"a command is needed: one of {', '.join(COMMANDS)} (%aci --help)")
    head, rest = tokens[0], tokens[1:]
    if head in ("-h", "--help", "help"):
        if rest and rest[0] in commands:
            commands[rest[0]].print_help()
        else:
            top.print_help()
        raise HelpShown()
    if head not in commands:
        close = difflib.get_close_matches(head, COMMANDS, n=1, cutoff=0.5)
        hint = f" (did you mean '{close[0]}'?)" if close else f"; commands: {', '.join(COMMANDS)}"
        raise MagicUsage(f"unknown command '{head}'{hint}")
    # Dispatch to the sub-parser ourselves so that its errors know the command (and its flags, for hints).
    argv: list[str] = []
    if head == "exec" and "--" in rest:  # %aci exec NAME [flags] -- CMD ARGS: everything after -- is the command
        at = rest.index("--")
        rest, argv = rest[:at], rest[at + 1:]
    args = commands[head].parse_args(rest)
    if head == "exec":
        args.argv = argv
    args.command = head
    return args


# -- flag checks: rules.py gives the messages, this names the flag ------------------------------------


def check_flags(args: argparse.Namespace) -> list[str]:
    """Problems with the flags of ``args`` as ``--flag: message`` strings (empty when all is well)."""
    problems: list[str] = []

    def check(flag: str, value: Any, checker: Callable[[Any], str | None]) -> None:
        if value is not None:
            message = checker(value)
            if message:
                problems.append(f"{flag}: {message}")

    name = getattr(args, "name", None)
    if args.command in ("show", "logs", "create", "start", "stop", "restart", "export", "exec", "metrics") or \
            (args.command == "run" and name is not None):
        check("--name" if args.command == "run" else "NAME", name, rules.check_group_name)
    for item in getattr(args, "names", None) or ():
        check("NAME", item, rules.check_group_name)
    check("-g", getattr(args, "resource_group", None), rules.check_resource_group_name)
    check("RG", getattr(args, "rg", None), rules.check_resource_group_name)
    check("--cpu", getattr(args, "cpu", None), rules.check_cpu)
    check("--memory", getattr(args, "memory", None), rules.check_memory_gb)
    for port in getattr(args, "ports", None) or ():
        check("--ports", port, rules.check_port)
    check("--protocol", getattr(args, "protocol", None), rules.check_protocol)
    check("--restart-policy", getattr(args, "restart_policy", None), rules.check_restart_policy)
    check("--ip-address", getattr(args, "ip_address", None), rules.check_ip_address_type)
    check("--dns-name-label", getattr(args, "dns_name_label", None), rules.check_dns_label)
    check("--os-type", getattr(args, "os_type", None), rules.check_os_type)
    check("-c", getattr(args, "container", None), rules.check_container_name)
    if args.command == "create" and getattr(args, "image", None) is not None:
        check("--image", args.image, rules.check_image)
    if args.command == "run":
        check("IMG", args.image, rules.check_image)
    check("--tail", getattr(args, "tail", None), _check_tail)
    check("--timeout", getattr(args, "timeout", None), _check_timeout)
    check("--format", getattr(args, "format", None), _check_format)
    check("--concurrency", getattr(args, "concurrency", None), _check_concurrency)
    check("--params", getattr(args, "params", None), _check_out)
    check("--out", getattr(args, "out", None), _check_out)
    for pair in getattr(args, "env", None) or ():
        check("--env", pair, _check_env_pair)
    for index, pair in enumerate(getattr(args, "secure_env", None) or (), start=1):
        check("--secure-env", pair, lambda text, n=index: _check_env_pair(text, secure_item=n))
    if args.command == "create":
        problems += _check_feature_flags(args, check)
    if getattr(args, "follow", False) and getattr(args, "tail", None) is not None:
        problems.append("--tail: cannot be combined with --follow (follow prints the whole log, then new lines)")
    return problems


def _check_feature_flags(args: argparse.Namespace, check: Callable[[str, Any, Callable[[Any], str | None]], None]
                         ) -> list[str]:
    """The issue-18 flags' values (combinations are checked by spec.az_flags, the rest by spec.problems())."""
    from ..spec.advanced import PRIORITIES, SKUS

    problems: list[str] = []
    for flag in ("--azure-file-volume-mount-path", "--secrets-mount-path", "--gitrepo-mount-path"):
        check(flag, getattr(args, flag[2:].replace("-", "_")), rules.check_mount_path)
    for index, pair in enumerate(args.secrets or (), start=1):
        name, eq, _value = pair.partition("=")
        if not eq or not name:  # never the item itself: it may be the secret
            problems.append(f"--secrets: item {index}: Secrets need to be specified in key=value format.")
        else:
            check("--secrets", name, rules.check_secret_file_name)
    if args.gitrepo_url is not None and rules.check_git_repository(args.gitrepo_url):
        problems.append("--gitrepo-url: must be a full http:// or https:// repository URL (not shown: it may "
                        "hold a token)")
    check("--gitrepo-dir", args.gitrepo_dir, rules.check_git_directory)
    check("--zone", args.zone, lambda zone: rules.check_zones([zone]))
    check("--sku", args.sku, lambda value: rules.check_choice(value, SKUS))
    check("--priority", args.priority, lambda value: rules.check_choice(value, PRIORITIES))
    if args.subnet is not None and args.subnet.startswith("/"):
        check("--subnet", args.subnet, rules.check_subnet_id)
    for identity in args.assign_identity or ():
        if identity.lower() != "[system]":
            check("--assign-identity", identity, rules.check_user_identity_id)
    if args.acr_identity is not None and args.acr_identity.startswith("/"):
        check("--acr-identity", args.acr_identity, rules.check_user_identity_id)
    if args.cce_policy is not None and not rules.is_base64(args.cce_policy):
        problems.append("--cce-policy: must be base64 (the output of az confcom acipolicygen)")
    return problems


def _check_env_pair(pair: str, secure_item: int = 0) -> str | None:
    """A ``K=V`` flag value; the message names the variable, never the value (secure ones may be secrets)."""
    from ..spec import validate_field

    message = validate_field("env_pair", pair)
    if not message:
        return None
    if pair.partition("=")[1]:
        return f"name {message}"
    if secure_item:  # no '=': the whole item may be a mistyped secret, so point at it by position
        return f"item {secure_item} must be in the format KEY=VALUE"
    return f"'{pair}' must be in the format KEY=VALUE"


SECRET_PAIR_FLAGS = ("--secure-env", "--secure-environment-variables", "--secrets")
SECRET_VALUE_FLAGS = ("--registry-password", "--azure-file-volume-account-key", "--log-analytics-workspace-key",
                      "--gitrepo-url")


def _url_secrets(url: str) -> list[str]:
    from ..spec.volumes import url_userinfo

    userinfo = url_userinfo(url)
    return [userinfo, userinfo.partition(":")[2]] if userinfo else []


def secret_tokens(line: str) -> list[str]:
    """Values on the line that must never be echoed (``--secure-env`` and ``--secrets`` values, passwords, keys,
    a gitRepo URL).

    A safety net for error lines: whatever went wrong, these strings are masked before anything is shown.
    """
    try:
        tokens = shlex.split(line, posix=True)
    except ValueError:
        return []
    found: list[str] = []
    mode = ""
    for token in tokens:
        if token.startswith("-") and not token.lstrip("-").isdigit():
            flag, eq, value = token.partition("=")
            mode = flag if flag in SECRET_PAIR_FLAGS + SECRET_VALUE_FLAGS else ""
            if eq and mode:
                found.append(value.partition("=")[2] if mode in SECRET_PAIR_FLAGS else value)
                mode = "" if mode in SECRET_VALUE_FLAGS else mode
            continue
        if mode in SECRET_VALUE_FLAGS:
            found.append(token)
            if mode == "--gitrepo-url":
                found.extend(_url_secrets(token))
            mode = ""
        elif mode:
            _name, eq, value = token.partition("=")
            found.append(value if eq else token)
    return [value for value in found if value]


def _check_out(name: str) -> str | None:
    import keyword

    if not name.isidentifier() or keyword.iskeyword(name):
        return f"'{name}' is not a valid Python variable name"
    return None


def _check_tail(value: str) -> str | None:
    if not value.isdigit():
        return f"'{value}' must be a whole number of lines, 0 or more"
    return None


def _check_concurrency(value: str) -> str | None:
    return None if value.isdigit() and int(value) >= 1 else f"'{value}' must be a whole number of 1 or more"


def _check_timeout(value: str) -> str | None:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0 or number == float("inf"):
        return f"'{value}' must be a positive number of seconds"
    return None


EXPORT_FORMATS = ("yaml", "python", "az")


def _check_format(value: str) -> str | None:
    return None if value.lower() in EXPORT_FORMATS else f"'{value}' is not one of {', '.join(EXPORT_FORMATS)}"


# -- naming a spec problem by the flag the user typed ------------------------------------------------------

# leaf of a GroupSpec.problems() path -> the %aci create flag that sets it
_FLAGS = {
    "name": "NAME", "image": "--image", "cpu": "--cpu", "memory_gb": "--memory", "cpu_limit": "--cpu",
    "memory_limit_gb": "--memory", "ports": "--ports", "command": "--command-line", "restart_policy":
    "--restart-policy", "os_type": "--os-type", "ip_address_type": "--ip-address", "dns_name_label":
    "--dns-name-label", "location": "--location", "resource_group": "-g", "server": "--registry-login-server",
    "username": "--registry-username", "password": "--registry-password", "yaml": "YAML",
    "share_name": "--azure-file-volume-share-name", "storage_account_name": "--azure-file-volume-account-name",
    "storage_account_key": "--azure-file-volume-account-key", "repository": "--gitrepo-url",
    "directory": "--gitrepo-dir", "revision": "--gitrepo-revision", "user_assigned": "--assign-identity",
    "subnet_ids": "--subnet", "workspace_id": "--log-analytics-workspace",
    "workspace_key": "--log-analytics-workspace-key", "sku": "--sku", "priority": "--priority", "zones": "--zone",
    "cce_policy": "--cce-policy", "volumes": "--azure-file-volume-share-name",
}
_MOUNT_FLAGS = {"azurefile": "--azure-file-volume-mount-path", "secrets": "--secrets-mount-path",
                "gitrepo": "--gitrepo-mount-path"}
_ENV_RE = re.compile(r"^(?:containers\[(\d+)\]\.)?env\[(\d+)\]")


def flag_for(path: str, spec: Any = None) -> str:
    """``containers[0].memory_gb`` -> ``--memory``; ``containers[0].env[1].name`` -> ``--env`` or ``--secure-env``."""
    env = _ENV_RE.match(path)
    if env:
        container, index = env.groups()
        try:
            secure = spec.containers[int(container or 0)].env[int(index)].secure
        except (AttributeError, IndexError, TypeError):
            secure = False
        return "--secure-env" if secure else "--env"
    mount = re.match(r"^containers\[(\d+)\]\.volume_mounts\[(\d+)\]", path)
    if mount:
        try:
            volume = spec.containers[int(mount.group(1))].volume_mounts[int(mount.group(2))].name
        except (AttributeError, IndexError, TypeError):
            volume = ""
        return _MOUNT_FLAGS.get(volume, path)
    if re.match(r"^volumes\[\d+\]\.secret\[", path):
        return "--secrets"
    if path.startswith("identity."):
        return "--assign-identity"
    if re.match(r"^registry_credentials\[\d+\]\.identity$", path):
        return "--acr-identity"
    leaf = re.sub(r"\[[^\]]*\]", "", path).rsplit(".", 1)[-1]
    return _FLAGS.get(leaf, path)
