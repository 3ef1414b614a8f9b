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

# The emulator's Docker engine (issue 14): Debian's docker.io as a private daemon (own data root, socket and
# bridge), the test images built offline (cached), DOCKER_HOST for the tests, the daemon stopped at the end.
# bubblewrap gives the process engine its sandbox. In CI both are required (the Docker tests must not skip).
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1 && ! command -v bwrap >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null || true
fi
if [ "${CI:-}" = "true" ] && ! command -v bwrap >/dev/null 2>&1; then
  echo "bubblewrap is required in CI (the process engine's sandbox tests) and could not be installed" >&2; exit 1
fi
docker_started=""
if [ "$(id -u)" = "0" ] && { [ "${CI:-}" = "true" ] || [ -x /usr/sbin/dockerd ]; }; then
  if ! scripts/docker/engine.sh status >/dev/null 2>&1; then
    scripts/docker/engine.sh start && docker_started=1
  fi
fi
if scripts/docker/engine.sh status >/dev/null 2>&1; then
  [ -n "$docker_started" ] && trap 'scripts/docker/engine.sh stop >/dev/null' EXIT
  scripts/docker/images.sh
  eval "$(scripts/docker/engine.sh env)"
  export DOCKER_HOST
elif [ "${CI:-}" = "true" ]; then
  echo "the Docker engine is required in CI and could not be started (scripts/docker/engine.sh)" >&2; exit 1
else
  echo "note: no Docker engine; the Docker engine tests will be skipped on this machine" >&2
fi

# The Azure CLI drives the quickstart in tests/clients (issue 13): its own cached venv, never a dependency.
if ACI_TEST_AZ="$(bash scripts/azure-cli.sh)"; then
  export ACI_TEST_AZ
elif [ "${CI:-}" = "true" ]; then
  echo "the Azure CLI is required in CI and scripts/azure-cli.sh could not install it" >&2; exit 1
else
  echo "note: scripts/azure-cli.sh failed; the Azure CLI tests will be skipped on this machine" >&2
fi
python -m pytest "$@"
