#!/usr/bin/env bash
# The main job on a fresh machine: install aci-widgets with JupyterLab, start the local ACI emulator,
# and open JupyterLab on the quickstart notebook. No Azure account needed.
# Usage: bash scripts/quickstart.sh [extra jupyter lab args...]
set -euo pipefail
cd "$(dirname "$0")/.."
# [docker]: the Docker Engine API client, so that the emulator runs real containers where a Docker engine answers
python -m pip install -q --disable-pip-version-check -e ".[notebook,docker]"
# The emulator is also started on demand by `%aci use local`; starting it here makes the first cell instant.
aci-emulator start
# No "get notified about Jupyter news?" pop-up over the notebook (a choice the user already made is kept).
python scripts/lab_no_news.py
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
extra=()
[ "$(id -u)" = "0" ] && extra+=(--allow-root)
exec jupyter lab notebooks/01-quickstart.ipynb "${extra[@]}" "$@"
