"""``aci-emulator``: run and manage the local ACI emulator.

Every subcommand takes ``--home`` (default ``$ACI_EMULATOR_HOME``, else the user's data dir). The commands
that print a path (``auth-file``, ``ca``) print it alone on stdout, so ``export
AZURE_AUTH_LOCATION=$(aci-emulator auth-file)`` works.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .config import HOME_ENV, PORT_ENV, EmulatorHome, UnsafePath
from .state.store import StoreCorrupted

if TYPE_CHECKING:
    from .arm.app import ApiSettings

LATENCY_ENV = "ACI_EMULATOR_LATENCY_MS"
PROVISIONING_DELAY_ENV = "ACI_EMULATOR_PROVISIONING_DELAY"
FAULTS_ENV = "ACI_EMULATOR_FAULTS"
ACCESS_LOG_ENV = "ACI_EMULATOR_ACCESS_LOG"
NOT_RUNNING_EXIT = 3  # as LSB init scripts' "status" says "program is not running"

_ENVIRONMENT_HELP = f"""\
environment:
  {HOME_ENV}             state folder (groups, logs, CA, secrets); default: the user's data dir
  {PORT_ENV}             port on 127.0.0.1 (default: config.json "port": 47211 if free at first use)
  {LATENCY_ENV}        milliseconds added to every ARM request (serve/start)
  {PROVISIONING_DELAY_ENV}  seconds a create stays Pending before its containers start
  {FAULTS_ENV}           faults to inject at start, e.g. "503:2,429:1:0.5" (STATUS:COUNT[:RETRY_AFTER])
  ACI_EMULATOR_PAGE_SIZE        list page size (default 100)
  ACI_EMULATOR_LIMITS           "azure" (default: Azure's quotas, create rates and ARM throttling) or "off"
  ACI_EMULATOR_TIME_SCALE       the limits' clock: 0.01 makes 5 minutes 3 s and a refill of 25/s 2,500/s
  ACI_EMULATOR_LIMIT_VALUES     limits to change, e.g. "ContainerGroups=10,readsBucket=50" (see --limit)
  {ACCESS_LOG_ENV}       "1" to log every request (to emulator.log when detached)

examples:
  aci-emulator start                       # detached; idempotent
  export AZURE_AUTH_LOCATION=$(aci-emulator auth-file)
  eval "$(aci-emulator az-env)"            # then az container list ... talks to the emulator
  aci-emulator serve --port 8443 --latency-ms 50 --fault 503:2
  aci-emulator image add my-job -- python /path/to/job.py
"""


def _home(args: argparse.Namespace) -> EmulatorHome:
    return EmulatorHome(Path(args.home).expanduser()) if args.home else EmulatorHome.default()


def _knob_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, help=f"port on 127.0.0.1 (env {PORT_ENV}; default from config.json)")
    parser.add_argument("--latency-ms", type=float, metavar="MS",
                        help=f"add MS milliseconds to every ARM request (env {LATENCY_ENV})")
    parser.add_argument("--provisioning-delay", type=float, metavar="SECONDS",
                        help=f"keep each create Pending this long first (env {PROVISIONING_DELAY_ENV})")
    parser.add_argument("--fault", action="append", default=[], metavar="STATUS:COUNT[:RETRY_AFTER]",
                        help=f"answer the next COUNT ARM requests with STATUS, e.g. 503:3 or 429:2:1; "
                             f"repeatable (env {FAULTS_ENV}, comma-separated)")
    parser.add_argument("--engine", choices=("auto", "docker", "process"),
                        help="what runs containers (env ACI_EMULATOR_ENGINE; default auto: Docker when its API "
                             "answers, else local processes)")
    parser.add_argument("--limits", choices=("azure", "off"), default=None,
                        help="enforce Azure's limits (the default: 100 groups and 100 standard cores per region, "
                             "100 creates/5 min and 300/h, deletes the same, ARM's token buckets: reads 250 at "
                             "25/s, writes and deletes 200 at 10/s) or not (env ACI_EMULATOR_LIMITS)")
    parser.add_argument("--time-scale", type=float, metavar="F", default=None,
                        help="run the limits' windows and refills F times as long: 0.01 makes 5 minutes 3 s "
                             "(env ACI_EMULATOR_TIME_SCALE)")
    parser.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE",
                        help="change one limit; repeatable. Names: " + ", ".join(_limit_names())
                             + " (env ACI_EMULATOR_LIMIT_VALUES, comma-separated)")
    parser.add_argument("--access-log", action="store_true", default=None,
                        help=f"log every request (env {ACCESS_LOG_ENV}=1)")


def _limit_names() -> tuple[str, ...]:
    from .state.quotas import LIMIT_NAMES

    return LIMIT_NAMES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aci-emulator",
        description="A local emulator of the Azure Container Instances REST API: the stock Azure SDK talks "
                    "to it over HTTPS, and every container runs in Docker (when its API answers) or as a "
                    "sandboxed local process (--engine).",
        epilog=_ENVIRONMENT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", help=f"state folder (env {HOME_ENV})")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, epilog=_ENVIRONMENT_HELP,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("--home", default=argparse.SUPPRESS, help=f"state folder (env {HOME_ENV})")
        return sub

    _knob_args(command("serve", "Run the emulator in the foreground (Ctrl-C stops it and its containers)."))
    _knob_args(command("start", "Start the emulator in the background; if it already runs, say so."))
    command("stop", "Stop the background emulator (SIGTERM, then SIGKILL); its containers stop too.")
    status = command("status", f"Say whether the emulator runs (exit 0) or not (exit {NOT_RUNNING_EXIT}).")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    auth_file = command("auth-file", "Write an sdk-auth JSON file for the emulator and print its path alone.")
    auth_file.add_argument("--port", type=int, help="port to write (default: the running server's, else config)")
    auth_file.add_argument("--output", "-o", help="where to write it (default: <home>/auth.json)")
    command("ca", "Print the path of the emulator's CA certificate alone (created if missing).")
    az_env = command("az-env", "Start the emulator if needed, write an Azure CLI configuration of its own "
                               "(cloud registered, service principal logged in) and print the shell exports that "
                               "select it: eval \"$(aci-emulator az-env)\". Your own az login is untouched.")
    az_env.add_argument("--port", type=int, help="port to start on (default: the running server's, else config)")
    reset = command("reset", "Delete every container group, resource group, process and log.")
    reset.add_argument("--yes", action="store_true", help="do it without asking")

    image = command("image", "Manage images registered with the local catalogue.")
    image_commands = image.add_subparsers(dest="image_command", required=True, metavar="ACTION")
    add = image_commands.add_parser("add", help="register NAME to run ARGV (after --)",
                                    description="Register an image: a container using NAME runs ARGV here.")
    add.add_argument("name")
    add.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra environment")
    add.add_argument("argv", nargs=argparse.REMAINDER, help="-- then the command line to run")
    image_commands.add_parser("list", help="list every image the emulator can run")
    remove = image_commands.add_parser("remove", help="unregister NAME")
    remove.add_argument("name")
    return parser


def _settings(args: argparse.Namespace) -> tuple[ApiSettings, list[str]]:
    """The server's starting knobs from flags, else environment; also as ``serve`` arguments for ``start``."""
    from .arm.app import ApiSettings, FaultRule

    settings = ApiSettings.from_env()
    latency = args.latency_ms if args.latency_ms is not None else float(os.environ.get(LATENCY_ENV) or 0)
    delay_text = os.environ.get(PROVISIONING_DELAY_ENV)
    delay = args.provisioning_delay if args.provisioning_delay is not None else (
        float(delay_text) if delay_text else None)
    fault_texts = list(args.fault) or [f for f in (os.environ.get(FAULTS_ENV) or "").split(",") if f.strip()]
    settings.latency_ms = latency
    settings.provisioning_delay = delay
    settings.faults = [FaultRule.parse(text) for text in fault_texts]
    from .state.quotas import LimitSettings

    settings.limits = LimitSettings.from_env(args.limits, args.time_scale, args.limit)
    passthrough = [f"--latency-ms={latency:g}"]
    if args.limits is not None:
        passthrough.append(f"--limits={args.limits}")
    if args.time_scale is not None:
        passthrough.append(f"--time-scale={args.time_scale:g}")
    passthrough += [f"--limit={text}" for text in args.limit]
    if delay is not None:
        passthrough.append(f"--provisioning-delay={delay:g}")
    passthrough += [f"--fault={text.strip()}" for text in fault_texts]
    if args.access_log:
        passthrough.append("--access-log")
    if args.engine:
        passthrough.append(f"--engine={args.engine}")
    return settings, passthrough


def _serve(args: argparse.Namespace) -> int:
    import logging

    from .runtime.engine import EngineUnavailable
    from .server import EmulatorAlreadyRunning, PortInUse, serve

    access_log = bool(args.access_log) or os.environ.get(ACCESS_LOG_ENV, "") in ("1", "true", "yes")
    logging.basicConfig(level=logging.INFO if access_log else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    home = _home(args)
    settings, _ = _settings(args)
    port = args.port if args.port is not None else _home_port(home)
    # Said before the bind: "starting", not "serving" (a taken port fails right after this line).
    print(f"aci-emulator starting on https://127.0.0.1:{port} (home {home.path}, pid {os.getpid()})", flush=True)
    try:
        serve(home, port, settings, access_log=access_log, engine=args.engine)
    except (EmulatorAlreadyRunning, PortInUse, EngineUnavailable) as exc:
        print(f"aci-emulator: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def _home_port(home: EmulatorHome) -> int:
    """The home's port; re-chosen (saved, auth file rewritten, one line) when another process holds it."""
    from .home_port import rechoose_if_taken
    from .server import lock_is_held

    if home.port_pinned() or lock_is_held(home):
        return home.port()  # pinned, or this home's own server holds it (serve then says so)
    return rechoose_if_taken(home)


def _start(args: argparse.Namespace) -> int:
    from .launcher import EmulatorStartError, ensure_running, status

    home = _home(args)
    before = status(home)
    _, passthrough = _settings(args)
    try:
        url, pid = ensure_running(home, args.port, extra_args=passthrough)
    except EmulatorStartError as exc:
        print(f"aci-emulator: {exc}", file=sys.stderr)
        return 1
    verb = "already running" if before.running else "started"
    print(f"aci-emulator {verb}: {url} (pid {pid}, home {home.path})")
    return 0


def _stop(args: argparse.Namespace) -> int:
    from .launcher import stop

    home = _home(args)
    pid = stop(home)
    print(f"aci-emulator stopped (pid {pid})" if pid else f"aci-emulator was not running (home {home.path})")
    return 0


def _status(args: argparse.Namespace) -> int:
    from .launcher import status

    current = status(_home(args))
    if args.json:
        print(json.dumps({"running": current.running, "healthy": current.healthy, "pid": current.pid,
                          "url": current.url, "home": current.home, "engine": current.engine}))
    else:
        print(current.describe())
    return 0 if current.running else NOT_RUNNING_EXIT


def _auth_file(args: argparse.Namespace) -> int:
    from .auth import write_auth_file
    from .launcher import running_url

    home = _home(args).ensure()
    if args.port is not None:
        url = f"https://127.0.0.1:{args.port}"
    else:
        url = running_url(home) or home.base_url()
    path = write_auth_file(home, url, Path(args.output).expanduser().absolute() if args.output else None)
    print(path)
    return 0


def _az_env(args: argparse.Namespace) -> int:
    from .azcli import shell_exports, write_cli_config
    from .launcher import EmulatorStartError, ensure_running

    home = _home(args).ensure()
    try:
        url, _pid = ensure_running(home, args.port)
    except EmulatorStartError as exc:
        print(f"aci-emulator az-env: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(shell_exports(write_cli_config(home, url)))
    print(f"# az now talks to the ACI emulator at {url} (config {home.path}/azure-cli)", file=sys.stderr)
    return 0


def _ca(args: argparse.Namespace) -> int:
    from .auth import ensure_certificates

    home = _home(args)
    ensure_certificates(home)
    print(home.ca_path)
    return 0


def _reset(args: argparse.Namespace) -> int:
    from .control import EmulatorControl
    from .launcher import status

    home = _home(args)
    if not args.yes:
        print("aci-emulator reset deletes every container group, resource group, process and log in "
              f"{home.path}; run it again with --yes", file=sys.stderr)
        return 2
    if status(home).running:
        EmulatorControl(home).reset()
    else:
        from .state.backend import Backend

        backend = Backend(home)
        try:
            backend.reset()
        finally:
            backend.shutdown(kill_processes=True)
    print(f"aci-emulator state reset (home {home.path})")
    return 0


def _image(args: argparse.Namespace) -> int:
    from .runtime.images import list_images, register_image, unregister_image

    home = _home(args)
    if args.image_command == "add":
        argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        if not argv:
            print("aci-emulator image add: give the command after --, e.g. "
                  "aci-emulator image add my-job -- python job.py", file=sys.stderr)
            return 2
        env = {}
        for pair in args.env:
            key, sep, value = pair.partition("=")
            if not sep or not key:
                print(f"aci-emulator image add: --env {pair!r} is not KEY=VALUE", file=sys.stderr)
                return 2
            env[key] = value
        register_image(home, args.name, argv, env)
        print(f"registered {args.name}: {' '.join(argv)}")
        return 0
    if args.image_command == "remove":
        if unregister_image(home, args.name):
            print(f"removed {args.name}")
            return 0
        print(f"aci-emulator image remove: {args.name!r} is not a registered image", file=sys.stderr)
        return 1
    for entry in list_images(home):
        argv = entry.get("argv")
        command = " ".join(str(part) for part in argv) if isinstance(argv, list) else ""
        print(f"{entry['name']:<55} {entry['kind']:<8} {command}".rstrip())
    return 0


_COMMANDS = {"serve": _serve, "start": _start, "stop": _stop, "status": _status, "auth-file": _auth_file,
             "ca": _ca, "reset": _reset, "image": _image, "az-env": _az_env}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "home"):
        args.home = None
    try:
        return _COMMANDS[args.command](args)
    except ValueError as exc:  # a bad --fault, port or environment value
        print(f"aci-emulator: {exc}", file=sys.stderr)
        return 2
    except (UnsafePath, StoreCorrupted) as exc:  # one line that says what and how to recover
        print(f"aci-emulator: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
