"""Issue 17 case 12: does ``%aci create`` / ``%aci show`` cost more in a kernel without a widget front end
(nbclient, ``jupyter console``) than in a terminal IPython? Prints each cell's time and the ratio kernel/shell.

    python bench/kernel_magics.py            # a fresh emulator home and port, stopped at the end

The kernel side is timed by nbclient (execute_input to the idle status, what a user waits for); the shell side
in this process with ``InteractiveShell.run_cell``. Both use the same emulator, one after the other, 3 rounds.
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROUNDS = 3
HELLO = "mcr.microsoft.com/azuredocs/aci-helloworld"


def kernel_times(auth: str, rg: str) -> dict[str, list[float]]:
    import nbclient
    import nbformat

    times: dict[str, list[float]] = {"create": [], "show": []}
    setup = ["%load_ext aci_widgets", f'%config AciMagics.resource_group = "{rg}"',
             f"%aci use azure --auth-file {auth}", f"%aci create-rg {rg}"]
    timed = []
    for i in range(ROUNDS):
        timed += [("create", f"%aci create k{i}-{rg[-6:]} --image {HELLO} --ports 80 --ip-address Public"),
                  ("show", f"%aci show k{i}-{rg[-6:]}")]
    cells = [nbformat.v4.new_code_cell(s) for s in setup + [c for _k, c in timed]]
    nb = nbformat.v4.new_notebook(cells=cells)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3")
    original = client.async_execute_cell

    async def timed_cell(cell, index, **kwargs):
        started = time.perf_counter()
        result = await original(cell, index, **kwargs)
        if index >= len(setup):
            times[timed[index - len(setup)][0]].append(time.perf_counter() - started)
        return result

    client.async_execute_cell = timed_cell
    client.execute()
    return times


def shell_times(auth: str, rg: str) -> dict[str, list[float]]:
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    for line in ("%load_ext aci_widgets", f'%config AciMagics.resource_group = "{rg}"',
                 f"%aci use azure --auth-file {auth}"):
        shell.run_cell(line)
    times: dict[str, list[float]] = {"create": [], "show": []}
    for i in range(ROUNDS):
        for kind, cell in (("create", f"%aci create s{i}-{rg[-6:]} --image {HELLO} --ports 80 --ip-address Public"),
                           ("show", f"%aci show s{i}-{rg[-6:]}")):
            with contextlib.redirect_stdout(io.StringIO()):  # shown, but not here
                started = time.perf_counter()
                shell.run_cell(cell)
                times[kind].append(time.perf_counter() - started)
    return times


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="aci-bench-kernel-"))
    os.environ["ACI_EMULATOR_HOME"] = str(home)
    os.environ.pop("ACI_EMULATOR_PORT", None)
    from aci_widgets.emulator import launcher
    from aci_widgets.emulator.auth import ensure_auth_file
    from aci_widgets.emulator.config import EmulatorHome

    emulator = EmulatorHome(home)
    url, _pid = launcher.ensure_running(emulator)
    auth = str(ensure_auth_file(emulator, url))
    rg = f"rg-bench-{uuid.uuid4().hex[:6]}"
    try:
        kernel = kernel_times(auth, rg)
        shell = shell_times(auth, rg)
    finally:
        launcher.stop(emulator)
    for kind in ("create", "show"):
        k, s = statistics.median(kernel[kind]), statistics.median(shell[kind])
        print(f"{kind:7s} kernel (nbclient) {k * 1000:7.0f} ms   shell {s * 1000:7.0f} ms   ratio {k / s:5.2f}x   "
              f"(medians of {ROUNDS}; kernel {[round(t, 3) for t in kernel[kind]]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
