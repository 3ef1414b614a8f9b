#!/usr/bin/env bash
# Install the Azure CLI into its own cached virtualenv (never the project's environment)
# and print the path of its `az` executable, alone, on stdout. Progress goes to stderr.
#
# Usage:  AZ="$(bash scripts/azure-cli.sh)" && "$AZ" version
#
# Environment:
#   AZURE_CLI_VERSION   version to install (default: 2.91.0, pinned below)
#   ACI_WIDGETS_CACHE   cache root (default /var/cache/aci-widgets; if that cannot be
#                       created, ${XDG_CACHE_HOME:-$HOME/.cache}/aci-widgets)
#   AZURE_CLI_PYTHON    interpreter to build the venv from (default: python3)
#
# Idempotent: the venv lives in $ACI_WIDGETS_CACHE/azure-cli-<version> and is marked complete
# only after a successful install and a smoke run of `az version`; a later run finds the
# marker and prints the path without starting Python (well under a second). An interrupted
# install is resumed (pip skips what is already there). Concurrent runs wait on a lock.
set -euo pipefail

PINNED_VERSION="2.91.0"
VERSION="${AZURE_CLI_VERSION:-$PINNED_VERSION}"

log() { printf 'azure-cli.sh: %s\n' "$*" >&2; }

case "${1:-}" in
  -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
  "") ;;
  *) log "unknown argument: $1 (see --help)"; exit 2 ;;
esac

if [ -n "${ACI_WIDGETS_CACHE:-}" ]; then
  CACHE="$ACI_WIDGETS_CACHE"
elif mkdir -p /var/cache/aci-widgets 2>/dev/null && [ -w /var/cache/aci-widgets ]; then
  CACHE=/var/cache/aci-widgets
else
  CACHE="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/aci-widgets"
  log "/var/cache/aci-widgets is not writable; using $CACHE"
fi

VENV="$CACHE/azure-cli-$VERSION"
AZ="$VENV/bin/az"
MARKER="$VENV/.aci-widgets-complete"

# Complete: marked for this version, and the venv's interpreter still resolves (a base Python
# removed since the install would leave a dead `az`; the slow path then rebuilds the venv).
ready() {
  [ -x "$AZ" ] && [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$VERSION" ] \
    && [ -x "$(readlink -f "$VENV/bin/python")" ]
}

# Fast path: no Python started, no network.
if ready; then
  printf '%s\n' "$AZ"
  exit 0
fi

mkdir -p "$CACHE"
LOCK="$CACHE/azure-cli-$VERSION.lock"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$LOCK"
  if ! flock -n 9; then
    log "another install of azure-cli $VERSION is under way; waiting for it"
    flock 9
  fi
  # The other run may have finished it.
  if ready; then
    printf '%s\n' "$AZ"
    exit 0
  fi
fi

PY="${AZURE_CLI_PYTHON:-python3}"
# A venv whose interpreter no longer runs (base Python removed or upgraded) is rebuilt.
if [ -d "$VENV" ] && ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
  log "existing $VENV is broken; rebuilding it"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtualenv $VENV (from $("$PY" -c 'import sys; print(sys.executable)'))"
  # Not the project's environment: no system site-packages, and whatever venv is active is ignored.
  env -u VIRTUAL_ENV -u PYTHONPATH "$PY" -m venv "$VENV" >&2
fi

rm -f "$MARKER"
start=$(date +%s)
log "pip install azure-cli==$VERSION into $VENV (about 730 MB; this takes minutes)"
env -u PYTHONPATH PIP_DISABLE_PIP_VERSION_CHECK=1 \
  "$VENV/bin/python" -m pip install --progress-bar off "azure-cli==$VERSION" >&2

# Smoke run with a throwaway config dir, so nothing is written to the user's ~/.azure.
tmpcfg="$(mktemp -d)"
trap 'rm -rf "$tmpcfg"' EXIT
if ! AZURE_CONFIG_DIR="$tmpcfg" AZURE_CORE_COLLECT_TELEMETRY=false AZURE_CORE_NO_COLOR=true \
     "$AZ" version --output tsv --query '"azure-cli"' >"$tmpcfg/version" 2>"$tmpcfg/err"; then
  log "installed, but '$AZ version' failed:"
  cat "$tmpcfg/err" >&2
  exit 1
fi
got="$(tr -d '[:space:]' <"$tmpcfg/version")"
if [ "$got" != "$VERSION" ]; then
  log "installed, but az reports version '$got', not $VERSION"
  exit 1
fi

printf '%s\n' "$VERSION" >"$MARKER"
log "azure-cli $VERSION ready in $(( $(date +%s) - start ))s"
printf '%s\n' "$AZ"
