"""Case 2: what ``%load_ext aci_widgets`` costs, against importing the heavy dependencies.

Each variant is a fresh ``python -c`` process (import caches are the point, so nothing can be reused),
interleaved, median of several:

- floor:  ``import IPython`` + an ``InteractiveShell`` (what any notebook kernel has already paid);
- ext:    floor, then ``%load_ext aci_widgets``;
- heavy:  floor, then ``import azure.mgmt.containerinstance, azure.mgmt.resource.resources, azure.identity,
          pandas, ipywidgets``.

Judged ratio = ext step / heavy step, each step timed inside its child around that step alone, which
equals "(ext - floor) / (heavy - floor)" without the process start-up and exit noise of a busy machine.
The same ratio from whole-process wall times (each minus the floor's) is shown in the note as a cross-check.
Bar: 25 %. When it is missed, ``-X importtime`` of the ext variant names the modules to blame.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from harness import Context, Row, median

NAME = "load_ext"

FLOOR = ("import time, sys, json\n"
         "import IPython\n"
         "from IPython.core.interactiveshell import InteractiveShell\n"
         "shell = InteractiveShell.instance()\n"
         "t0, c0 = time.perf_counter(), time.process_time()\n")
STEP_EXT = 'shell.run_line_magic("load_ext", "aci_widgets")\n'
STEP_HEAVY = ("import azure.mgmt.containerinstance, azure.mgmt.resource.resources, azure.identity\n"
              "import pandas, ipywidgets\n")
REPORT = ("t1, c1 = time.perf_counter(), time.process_time()\n"
          'heavy = ["azure.core", "azure.identity", "azure.mgmt.containerinstance", "pandas", "ipywidgets", '
          '"numpy", "yaml"]\n'
          'print(json.dumps({"wall": t1 - t0, "cpu": c1 - c0, "aci": "aci" in shell.magics_manager.magics["line"], '
          '"heavy": [m for m in heavy if m in sys.modules]}))\n')
VARIANTS = {"floor": FLOOR + REPORT, "ext": FLOOR + STEP_EXT + REPORT, "heavy": FLOOR + STEP_HEAVY + REPORT}
BAR = 0.25


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # No IPython profile or startup files of the user's: every variant starts the same way.
    env["IPYTHONDIR"] = os.path.join(env.get("ACI_EMULATOR_HOME", "/tmp"), "ipython-bench")
    env.pop("PYTHONSTARTUP", None)
    return env


def _run(code: str, env: dict[str, str], extra: tuple[str, ...] = ()) -> tuple[float, dict, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *extra, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return elapsed, json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def _import_blame(env: dict[str, str], top: int = 6) -> str:
    """The slowest modules (self time) that ``%load_ext aci_widgets`` imports beyond the floor."""
    _, _, floor_err = _run(VARIANTS["floor"], env, ("-X", "importtime"))
    _, _, ext_err = _run(VARIANTS["ext"], env, ("-X", "importtime"))

    def modules(text: str) -> dict[str, int]:
        found: dict[str, int] = {}
        for line in text.splitlines():
            if line.startswith("import time:") and "self [us]" not in line:
                self_us, _cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
                found[name] = int(self_us)
        return found

    base = modules(floor_err)
    extra = {name: us for name, us in modules(ext_err).items() if name not in base}
    worst = sorted(extra.items(), key=lambda item: -item[1])[:top]
    listed = ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in worst)
    return (f"-X importtime: {len(extra)} modules beyond the floor, {sum(extra.values()) / 1000:.0f} ms self "
            f"time; slowest: {listed}")


def run(ctx: Context) -> list[Row]:
    env = _child_env()
    # --quick only has to prove the case still works: fewer processes, and no floor (a cross-check only).
    repeats = 1 if ctx.quick else 5
    variants = {k: v for k, v in VARIANTS.items() if not (ctx.quick and k == "floor")}
    walls: dict[str, list[float]] = {key: [] for key in variants}
    steps: dict[str, list[float]] = {key: [] for key in variants}
    cpus: dict[str, list[float]] = {key: [] for key in variants}
    ext_report: dict = {}
    if not ctx.quick:
        _run(VARIANTS["heavy"], env)  # warm the OS page cache for every module file, untimed
    order = list(variants.items())
    for round_ in range(repeats):
        for key, code in order if round_ % 2 == 0 else reversed(order):
            wall, report, _ = _run(code, env)
            walls[key].append(wall)
            steps[key].append(report["wall"])
            cpus[key].append(report["cpu"])
            if key == "ext":
                ext_report = report
    if not ext_report.get("aci"):
        raise RuntimeError("%load_ext aci_widgets did not register %aci")
    ext_step, heavy_step = median(steps["ext"]), median(steps["heavy"])
    ratio = ext_step / heavy_step
    cpu_ratio = median(cpus["ext"]) / median(cpus["heavy"])
    passed = ratio <= BAR
    note = (f"fresh processes, median of {repeats}; steps timed in the child: %load_ext {ext_step * 1000:.0f} ms, "
            f"heavy imports {heavy_step * 1000:.0f} ms (CPU-time ratio {cpu_ratio:.1%}); ")
    if "floor" in walls:
        floor_wall = median(walls["floor"])
        wall_ratio = max(median(walls["ext"]) - floor_wall, 0.0) / max(median(walls["heavy"]) - floor_wall, 1e-9)
        note += (f"whole-process walls: floor {floor_wall * 1000:.0f} ms, ext {median(walls['ext']) * 1000:.0f} ms, "
                 f"heavy {median(walls['heavy']) * 1000:.0f} ms -> (ext-floor)/(heavy-floor) = {wall_ratio:.1%}; ")
    note += f"heavy modules loaded by %load_ext: {', '.join(ext_report.get('heavy', [])) or 'none'}"
    if not passed:
        note += ". " + _import_blame(env)
    return [Row(case="2 %load_ext vs SDK+pandas+ipywidgets imports", measured=ext_step, unit="s",
                baseline=heavy_step, ratio=ratio * 100, ratio_text=" % of baseline", bar="<= 25 %",
                passed=passed, note=note, samples={**{f"step_{k}": v for k, v in steps.items()},
                                                   **{f"wall_{k}": v for k, v in walls.items()}})]
