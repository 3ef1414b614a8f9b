"""Run the benchmark suite against a fresh emulator and print one table.

    python bench/run.py            # full sizes; exits 1 when a bar is missed (or a case crashes)
    python bench/run.py --quick    # small sizes, reported without judging; exits 1 only on a crash
    python bench/run.py --json out.json --case list --case live

The emulator gets its own temporary home and a free port, and is stopped at the end (with every container
process it started; any survivor is reported and killed). See bench/README.md for what each case measures.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

# `python bench/run.py` puts bench/ on sys.path; importing this module from elsewhere (tests) needs it too.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import CASES
from harness import Row, dump_json, make_context, render_table, running_emulator


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    names = [case.NAME for case in CASES]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, report without judging")
    parser.add_argument("--big", action="store_true",
                        help="run the 10,000-group list even when it is projected to take minutes")
    parser.add_argument("--json", metavar="PATH", help="also write the rows (with every sample) as JSON")
    parser.add_argument("--case", action="append", choices=names, metavar="NAME",
                        help=f"run only these cases (repeatable): {', '.join(names)}")
    return parser.parse_args(argv)


def log(message: str) -> None:
    # Progress goes to stderr: stdout is the table alone.
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    selected = [case for case in CASES if not args.case or case.NAME in args.case]
    rows: list[Row] = []
    crashed: list[str] = []
    started = time.perf_counter()
    with running_emulator() as emulator:
        log(f"emulator pid {emulator.pid} at {emulator.url} (home {emulator.home_path})")
        ctx = make_context(emulator, quick=args.quick, big=args.big)
        for case in selected:
            case_started = time.perf_counter()
            log(f"{case.NAME} ...")
            try:
                new_rows = case.run(ctx)
            except Exception:  # noqa: BLE001 - one broken case must not hide the others' figures
                crashed.append(case.NAME)
                log(f"{case.NAME} CRASHED:\n{traceback.format_exc()}")
                continue
            rows += new_rows
            log(f"{case.NAME} done in {time.perf_counter() - case_started:.1f} s")
    leftovers = emulator.leftovers
    elapsed = time.perf_counter() - started

    mode = "quick (not judged)" if args.quick else "full"
    print(f"aci-widgets benchmarks, {mode}: {platform.python_version()}, {platform.machine()}, "
          f"{elapsed:.0f} s in all")
    print(render_table(rows, judged=not args.quick))
    if crashed:
        print(f"\nCRASHED: {', '.join(crashed)} (traceback on stderr)")
    if leftovers:
        print(f"\nLEFTOVER container processes after the emulator stopped (killed now): {leftovers}")
    if args.json:
        dump_json(args.json, rows, {"quick": args.quick, "elapsed_s": elapsed, "crashed": crashed,
                                    "leftover_pids": leftovers, "python": platform.python_version()})
    failed = [row.case for row in rows if row.passed is False]
    if args.quick:
        return 1 if crashed or leftovers else 0
    if failed:
        print(f"\nFAILED bars: {'; '.join(failed)}")
    return 1 if crashed or leftovers or failed else 0


if __name__ == "__main__":
    sys.exit(main())
