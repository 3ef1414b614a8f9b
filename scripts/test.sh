#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run them.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser test drives Debian's Chromium (never a downloaded one). In CI it is required.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  elif [ "${CI:-}" = "true" ]; then
    echo "chromium is required in CI and could not be installed" >&2; exit 1
  else
    echo "note: chromium not found; the browser test will be skipped on this machine" >&2
  fi
fi

python -m pip install -q --disable-pip-version-check -e ".[test]"
# The real Azure CLI for the `az container exec` test (its own cached venv; prints the az path).
export ACI_WIDGETS_AZ="${ACI_WIDGETS_AZ:-$(bash scripts/azure-cli.sh)}"
python -m pytest "$@"
