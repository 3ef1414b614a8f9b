#!/usr/bin/env bash
# A private Docker daemon for aci-widgets tests: Debian's dockerd with its own data root, exec root, pidfile and
# unix socket, never the system-wide /var/run/docker.sock.
#
#   scripts/docker/engine.sh start    install docker.io (if missing) and start the daemon; waits until it answers
#   scripts/docker/engine.sh stop     stop that daemon (only it) and wait for it to exit
#   scripts/docker/engine.sh status   "running (pid N) unix://SOCK" (exit 0) or "stopped" (exit 3)
#   scripts/docker/engine.sh env      print `export DOCKER_HOST=unix://SOCK`, for eval "$(... env)"
#
# Settings (environment):
#   ACI_DOCKER_ROOT     data root, pidfile, log          (default /var/lib/aci-widgets-docker)
#   ACI_DOCKER_RUN      exec root and socket             (default /run/aci-widgets-docker)
#   ACI_DOCKER_BIP      bridge address/prefix            (default 10.213.0.1/24)
#   ACI_DOCKER_BRIDGE   bridge name, created by start    (default aciw-docker0; never docker0)
#   ACI_DOCKER_TIMEOUT  seconds to wait for the API      (default 60)
#   ACI_DOCKER_DRIVER   storage driver                   (default: dockerd's choice, overlay2 where it works)
#   ACI_DOCKER_SHUTDOWN_TIMEOUT  seconds dockerd gives running containers on stop (default 5)
#   ACI_DOCKER_NO_INSTALL=1   never run apt-get (fail if dockerd is missing)
set -euo pipefail

ROOT=${ACI_DOCKER_ROOT:-/var/lib/aci-widgets-docker}
RUN=${ACI_DOCKER_RUN:-/run/aci-widgets-docker}
BIP=${ACI_DOCKER_BIP:-10.213.0.1/24}
TIMEOUT=${ACI_DOCKER_TIMEOUT:-60}
DRIVER=${ACI_DOCKER_DRIVER:-}
SHUTDOWN=${ACI_DOCKER_SHUTDOWN_TIMEOUT:-5}
DOCKERD=/usr/sbin/dockerd          # Debian's daemon, by path (a client-only docker may sit in /usr/local/bin)
SOCK="$RUN/docker.sock"
PIDFILE="$ROOT/dockerd.pid"
LOG="$ROOT/dockerd.log"
HOST="unix://$SOCK"
# A bridge of our own (created here with BIP), so that a system dockerd's docker0 is never touched.
BRIDGE=${ACI_DOCKER_BRIDGE:-aciw-docker0}

die() { echo "engine.sh: $*" >&2; exit 1; }

client() {
    # Any docker client works (the API is negotiated); prefer the one on PATH, else Debian's.
    if command -v docker >/dev/null 2>&1; then docker -H "$HOST" "$@"; else /usr/bin/docker -H "$HOST" "$@"; fi
}

daemon_pid() {
    # The pid of OUR daemon: from our pidfile, and only if that process is a dockerd using our socket.
    [[ -s "$PIDFILE" ]] || return 1
    local pid
    pid=$(<"$PIDFILE")
    [[ "$pid" =~ ^[0-9]+$ ]] && [[ -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "dockerd.* -H $HOST" || return 1
    echo "$pid"
}

answers() { timeout 5 bash -c "$(declare -f client); HOST='$HOST'; client version" >/dev/null 2>&1; }

install_packages() {
    local missing=()
    [[ -x "$DOCKERD" ]] || missing+=(docker.io)
    [[ -x /bin/busybox ]] && dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
    command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
    ((${#missing[@]})) || return 0
    [[ "${ACI_DOCKER_NO_INSTALL:-}" == 1 ]] && die "missing ${missing[*]} and ACI_DOCKER_NO_INSTALL=1"
    [[ $EUID -eq 0 ]] || die "installing ${missing[*]} needs root"
    echo "engine.sh: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # policy-rc.d: don't let the package start the system-wide dockerd (where an init system would).
    local policy=/usr/sbin/policy-rc.d created=0
    if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created=1; fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || { ((created)) && rm -f "$policy"; die "apt-get install failed"; }
    ((created)) && rm -f "$policy"
    return 0
}

cleanup_mounts() {
    # dockerd bind-mounts its data root (and mounts container layers under it, netns files under the exec root)
    # and undoes that at a clean shutdown; after a crash or a failed start they stay. Called only when our
    # daemon is not running: unmount what lies under OUR roots, deepest first.
    local m
    local mounts
    mounts=$(awk '{print $2}' /proc/mounts | { grep -E "^($ROOT/data|$RUN/exec)(/|$)" || true; } | sort -r)
    for m in $mounts; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || echo "engine.sh: could not unmount $m" >&2
    done
    return 0
}

remove_bridge() {
    # The bridge is ours (never docker0): remove it so that a stopped engine leaves no interface behind.
    if [[ "$BRIDGE" != docker0 ]] && ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE" || true; fi
}

ensure_bridge() {
    # dockerd's --bip and --bridge exclude each other; with --bridge the address is the bridge's own.
    if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
        ip link add name "$BRIDGE" type bridge
    fi
    ip -4 addr show dev "$BRIDGE" | grep -q "inet $BIP " || ip addr add "$BIP" dev "$BRIDGE"
    ip link set "$BRIDGE" up
}

cmd_start() {
    if pid=$(daemon_pid) && answers; then
        echo "engine.sh: already running (pid $pid) at $HOST" >&2
        return 0
    fi
    [[ $EUID -eq 0 ]] || die "dockerd needs root"
    install_packages
    [[ -x "$DOCKERD" ]] || die "$DOCKERD not found (Debian package docker.io)"
    mkdir -p "$ROOT/data" "$RUN/exec"
    local started=""
    if pid=$(daemon_pid); then
        # Alive but not answering yet (a start in progress, or hung): wait for it below rather than start twice.
        echo "engine.sh: daemon pid $pid exists, waiting for it to answer" >&2
    else
        answers && die "a daemon answers on $SOCK but is not the one in $PIDFILE: stop it first"
        rm -f "$PIDFILE" "$SOCK"
        cleanup_mounts
        ensure_bridge
        local args=(--data-root "$ROOT/data" --exec-root "$RUN/exec" --pidfile "$PIDFILE" -H "$HOST"
                    --iptables=false --ip-masq=false --ip-forward=false --bridge "$BRIDGE"
                    --containerd-namespace aci-widgets --containerd-plugins-namespace aci-widgets-plugins
                    --shutdown-timeout "$SHUTDOWN")
        [[ -n "$DRIVER" ]] && args+=(--storage-driver "$DRIVER")
        # dockerd's own containerd (it starts one under exec-root when no --containerd is given).
        # setsid: the daemon leaves this shell's session and survives it.
        echo "==== $(date -Is) start: $DOCKERD ${args[*]}" >>"$LOG"
        setsid "$DOCKERD" "${args[@]}" >>"$LOG" 2>&1 </dev/null &
        started=$!
    fi
    local deadline=$((SECONDS + TIMEOUT))
    until answers; do
        if ((SECONDS >= deadline)); then
            echo "engine.sh: dockerd did not answer on $HOST within ${TIMEOUT}s; last log lines ($LOG):" >&2
            tail -n 20 "$LOG" >&2 || true
            exit 1
        fi
        if ! daemon_pid >/dev/null && { [[ -z "$started" ]] || ! kill -0 "$started" 2>/dev/null; }; then
            echo "engine.sh: dockerd exited during start; last log lines ($LOG):" >&2
            tail -n 20 "$LOG" >&2 || true
            cleanup_mounts
            remove_bridge
            exit 1
        fi
        sleep 0.2
    done
    echo "engine.sh: running (pid $(daemon_pid || echo ?)) at $HOST" >&2
}

cmd_stop() {
    local pid
    if ! pid=$(daemon_pid); then
        echo "engine.sh: not running" >&2
        rm -f "$PIDFILE"
        cleanup_mounts
        return 0
    fi
    kill -TERM "$pid"
    # dockerd stops its containers (10 s each by default) and its containerd, then exits.
    local deadline=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            echo "engine.sh: dockerd $pid still alive after 60 s, sending SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        sleep 0.2
    done
    rm -f "$PIDFILE" "$SOCK"
    cleanup_mounts
    remove_bridge
    echo "engine.sh: stopped (pid $pid)" >&2
}

cmd_status() {
    local pid
    if pid=$(daemon_pid) && answers; then
        echo "running (pid $pid) $HOST"
    elif pid=$(daemon_pid); then
        echo "starting or hung (pid $pid, no answer) $HOST"; return 3
    else
        echo "stopped"; return 3
    fi
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) echo "export DOCKER_HOST=$HOST" ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
