"""A client process for tests/limits/test_sweep_limits.py: runs a sweep until the test kills it (SIGKILL).

Usage: python sweep_client.py AUTH_FILE RESOURCE_GROUP NAME ROWS MARKS_FILE
"""

from __future__ import annotations

import sys

import pandas as pd

import aci_widgets
from aci_widgets.sweep import run_sweep

ROW_COMMAND = "echo {{i}} >> {marks}; sleep 0.2; echo done-{{i}}"


def main(auth_file: str, rg: str, name: str, rows: str, marks: str) -> None:
    session = aci_widgets.connect(auth_file=auth_file, resource_group=rg, location="eastus", quiet=True)
    session.notify = lambda _message: None
    sweep = run_sweep(session, name, pd.DataFrame({"i": range(int(rows))}), image="alpine", shell=True,
                      command=ROW_COMMAND.format(marks=marks))
    sweep.wait(timeout=600)


if __name__ == "__main__":
    main(*sys.argv[1:6])
