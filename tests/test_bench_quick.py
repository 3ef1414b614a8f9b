"""The benchmark suite must keep working: ``python bench/run.py --quick`` runs every case end to end.

--quick measures small sizes and judges nothing, so this test fails only when a case crashes, the table is
missing, or a container process outlives the benchmark's emulator; never because the machine is slow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASE_PREFIXES = ("1 list", "2 %load_ext", "3 browser select", "4 list --live", "5 emulator", "6 %aci run")


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_quick_benchmark_runs_and_prints_the_table(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACI_EMULATOR_", "AZURE_"))}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--json", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=220, check=False)
    detail = f"stdout:\n{done.stdout}\nstderr (tail):\n{done.stderr[-4000:]}"
    assert done.returncode == 0, detail
    lines = done.stdout.splitlines()
    assert any(line.split() == ["case", "baseline", "median", "ratio", "bar", "result"] for line in lines), detail
    for prefix in CASE_PREFIXES:
        assert any(line.startswith(prefix) for line in lines), f"no row for {prefix!r}\n{detail}"
    assert "CRASHED" not in done.stdout and "LEFTOVER" not in done.stdout, detail
    report = json.loads(out.read_text())
    assert report["meta"]["quick"] is True and not report["meta"]["crashed"]
    assert all(row["measured"] is not None for row in report["rows"]), detail
