#!/usr/bin/env bash
# Build the aci-widgets test images, offline and cached, into the Docker daemon that DOCKER_HOST names
# (default: the private daemon of scripts/docker/engine.sh).
#
#   scripts/docker/images.sh [--force] [REPO_ROOT]
#
# Images (every one labelled org.aci-widgets.test=1 and org.aci-widgets.test.key=<hash of its inputs>):
#   aci-test/busybox:latest          docker import of Debian's busybox-static (/bin/busybox + applet links)
#   aci-test/python:3                docker import of a Debian rootfs with python3 (mmdebstrap, cached tarball)
#   mcr.microsoft.com/azuredocs/aci-helloworld:latest        = microsoft/aci-helloworld:latest
#   mcr.microsoft.com/azuredocs/aci-tutorial-sidecar:latest  = microsoft/aci-tutorial-sidecar:latest
#   mcr.microsoft.com/azuredocs/aci-wordcount:latest         = microsoft/aci-wordcount:latest
#   aci-test/own-entrypoint:latest   a user-style image with its own ENTRYPOINT, CMD, WORKDIR and ENV
# An image whose key label already matches is not rebuilt (a warm run takes a few seconds); --force rebuilds.
#
# REPO_ROOT: the checkout holding aci_widgets/ (default: the repository this script lives in). The sample
# programs are looked for in aci_widgets/emulator/runtime/images/ then aci_widgets/emulator/images/, or
# where ACI_IMAGES_SRC points; without a checkout, in the installed aci_widgets package.
#
# Settings (environment):
#   ACI_WIDGETS_CACHE   cache dir for the rootfs tarball    (default /var/cache/aci-widgets)
#   ACI_DEBIAN_MIRROR   Debian mirror for mmdebstrap        (default http://deb.debian.org/debian)
#   ACI_DEBIAN_SUITE    Debian suite                        (default bookworm)
#   ACI_IMAGES_BIND_SHIM=0  build the sample web app without the 0.0.0.0 bind shim (see README.md)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FORCE=0
if [[ "${1:-}" == "--force" ]]; then FORCE=1; shift; fi
REPO=${1:-$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || echo "")}
CACHE=${ACI_WIDGETS_CACHE:-/var/cache/aci-widgets}
MIRROR=${ACI_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=${ACI_DEBIAN_SUITE:-bookworm}
SHIM=${ACI_IMAGES_BIND_SHIM:-1}
LABEL=org.aci-widgets.test
# Bump when the way an image is made changes, so that old images are rebuilt.
RECIPE=1

if [[ -z "${DOCKER_HOST:-}" ]]; then eval "$("$HERE/engine.sh" env)"; fi
export DOCKER_HOST
export DOCKER_BUILDKIT=0   # the classic builder: Debian's dockerd 20.10, no buildx plugin, FROM local images
docker() { command docker "$@"; }

log() { printf '%s images.sh: %s\n' "$(date +%T)" "$*" >&2; }
die() { log "$*"; exit 1; }
sha() { sha256sum | cut -c1-16; }

docker version >/dev/null 2>&1 || die "no Docker daemon answers at $DOCKER_HOST (scripts/docker/engine.sh start)"

image_key() { docker image inspect -f "{{index .Config.Labels \"$LABEL.key\"}}" "$1" 2>/dev/null || true; }

# up_to_date KEY TAG... : every tag exists with this key.
up_to_date() {
    local key=$1 tag; shift
    ((FORCE)) && return 1
    for tag in "$@"; do [[ "$(image_key "$tag")" == "$key" ]] || return 1; done
    return 0
}

WORK=$(mktemp -d /tmp/aci-images.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# -- aci-test/busybox ------------------------------------------------------------------------------------
build_busybox() {
    local tag=aci-test/busybox:latest bb=/bin/busybox
    [[ -x $bb ]] || die "$bb missing: apt-get install busybox-static (engine.sh start installs it)"
    ! command -v ldd >/dev/null || ! ldd "$bb" >/dev/null 2>&1 || die "$bb is not static (busybox-static needed)"
    local key
    key=$( { echo "recipe $RECIPE busybox"; sha256sum "$bb"; } | sha)
    if up_to_date "$key" "$tag"; then log "$tag up to date"; return; fi
    log "building $tag"
    local root=$WORK/busybox
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,proc,sys,dev,var/tmp}
    chmod 1777 "$root/tmp" "$root/var/tmp"
    cp "$bb" "$root/bin/busybox"
    local applet
    while read -r applet; do
        [[ "$applet" == bin/busybox || -e "$root/$applet" ]] && continue
        mkdir -p "$root/$(dirname "$applet")"
        ln -s /bin/busybox "$root/$applet"
    done < <("$bb" --list-full)
    [[ -e "$root/bin/sh" ]] || ln -s /bin/busybox "$root/bin/sh"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    tar --numeric-owner --owner=0 --group=0 -C "$root" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["sh"]' \
        --change "LABEL $LABEL=1 $LABEL.key=$key" \
        - "$tag" >/dev/null
}

# -- aci-test/python:3 -----------------------------------------------------------------------------------
# python3-minimal alone lacks http.server, http.client and email (urllib.request needs them): the samples
# need libpython3-stdlib too. Variant "essential" (no apt) keeps the image small; docs, man pages and
# locales are not unpacked.
PY_PACKAGES=python3-minimal,libpython3-stdlib,ca-certificates
build_python() {
    local tag=aci-test/python:3
    command -v mmdebstrap >/dev/null || die "mmdebstrap missing: apt-get install mmdebstrap"
    local recipe
    recipe="recipe $RECIPE python suite=$SUITE mirror=$MIRROR packages=$PY_PACKAGES variant=essential"
    local tarball
    tarball="$CACHE/rootfs-python3-$SUITE-$(echo "$recipe" | sha).tar"
    mkdir -p "$CACHE"
    if [[ ! -s "$tarball" ]]; then
        log "mmdebstrap $SUITE with $PY_PACKAGES -> $tarball"
        mmdebstrap --quiet --format=tar --variant=essential --include="$PY_PACKAGES" \
            --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
            --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
            --dpkgopt='path-exclude=/usr/share/info/*' \
            --customize-hook='ln -sf python3 "$1/usr/bin/python"' \
            --customize-hook='rm -rf "$1"/var/cache/* "$1"/var/lib/apt/lists/* "$1"/var/log/*' \
            "$SUITE" "$tarball.part" "$MIRROR" >&2
        mv "$tarball.part" "$tarball"
    fi
    local key
    key=$( { echo "$recipe"; sha256sum "$tarball"; } | sha)
    if up_to_date "$key" "$tag"; then log "$tag up to date"; return; fi
    log "importing $tag from $tarball"
    docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        --change "LABEL $LABEL=1 $LABEL.key=$key" \
        "$tarball" "$tag" >/dev/null
}

# -- the sample programs -----------------------------------------------------------------------------------
find_samples() {
    local dir
    if [[ -n "${ACI_IMAGES_SRC:-}" ]]; then
        [[ -f "$ACI_IMAGES_SRC/helloworld.py" ]] || die "ACI_IMAGES_SRC=$ACI_IMAGES_SRC has no helloworld.py"
        echo "$ACI_IMAGES_SRC"; return
    fi
    if [[ -n "$REPO" ]]; then
        for dir in "$REPO/aci_widgets/emulator/runtime/images" "$REPO/aci_widgets/emulator/images"; do
            [[ -f "$dir/helloworld.py" && -f "$dir/sidecar.py" && -f "$dir/wordcount.py" ]] && { echo "$dir"; return; }
        done
        dir=$(find "$REPO/aci_widgets" -name wordcount.py -path '*images*' -printf '%h\n' 2>/dev/null | head -n1)
        [[ -n "$dir" ]] && { echo "$dir"; return; }
    fi
    # An installed package: locate the module files without importing aci_widgets itself.
    dir=$(python3 - <<'EOF' 2>/dev/null || true
import importlib.util, os
for name in ("aci_widgets.emulator.runtime.images", "aci_widgets.emulator.images"):
    try:
        spec = importlib.util.find_spec(name)
    except Exception:
        continue
    if spec and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if os.path.isfile(os.path.join(location, "helloworld.py")):
                print(location); raise SystemExit
EOF
)
    [[ -n "$dir" ]] && { echo "$dir"; return; }
    die "sample programs (helloworld.py, sidecar.py, wordcount.py) not found; give REPO_ROOT or ACI_IMAGES_SRC"
}

# build_dir KEYNAME CONTEXT TAG... : docker build CONTEXT (with its Dockerfile) unless up to date.
build_dir() {
    local name=$1 context=$2; shift 2
    local base_id key
    base_id=$(docker image inspect -f '{{.Id}}' aci-test/python:3)
    key=$( { echo "recipe $RECIPE $name base=$base_id"; (cd "$context" && find . -type f -print0 | sort -z | xargs -0 sha256sum); } | sha)
    if up_to_date "$key" "$@"; then log "$name up to date"; return; fi
    log "building $name"
    echo "LABEL $LABEL=1 $LABEL.key=$key" >>"$context/Dockerfile"
    printf 'Dockerfile\n.dockerignore\n' >"$context/.dockerignore"
    local tags=() tag
    for tag in "$@"; do tags+=(-t "$tag"); done
    # The classic builder warns that it is deprecated on every build: show its stderr only when it fails.
    docker build -q --network none "${tags[@]}" "$context" >/dev/null 2>"$WORK/build.err" \
        || { cat "$WORK/build.err" >&2; die "docker build of $name failed"; }
}

# The 0.0.0.0 shim: today's helloworld.py binds 127.0.0.1 (it runs on the user's machine), which inside a
# container is unreachable through a published port. This runs the program unchanged with binds to
# 127.0.0.1 widened to 0.0.0.0. Harmless once the program binds 0.0.0.0 itself.
write_shim() {
    cat >"$1/aci_bind_all.py" <<'EOF'
"""Run a Python program so that its sockets bound to 127.0.0.1 listen on all the container's addresses."""
import runpy
import socket
import sys

_bind = socket.socket.bind


def _bind_all(self, address):
    if isinstance(address, tuple) and address and address[0] in ("127.0.0.1", "localhost"):
        address = ("0.0.0.0",) + tuple(address[1:])
    return _bind(self, address)


socket.socket.bind = _bind_all
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
EOF
}

build_samples() {
    local src ctx
    src=$(find_samples)
    log "sample programs from $src"

    ctx=$WORK/helloworld; mkdir -p "$ctx"; cp "$src/helloworld.py" "$ctx/"
    local cmd='["python", "helloworld.py"]'
    if [[ "$SHIM" != 0 ]]; then write_shim "$ctx"; cmd='["python", "aci_bind_all.py", "helloworld.py"]'; fi
    cat >"$ctx/Dockerfile" <<EOF
FROM aci-test/python:3
WORKDIR /usr/src/app
COPY . .
ENV PORT=80
EXPOSE 80
CMD $cmd
EOF
    build_dir aci-helloworld "$ctx" mcr.microsoft.com/azuredocs/aci-helloworld:latest microsoft/aci-helloworld:latest

    ctx=$WORK/sidecar; mkdir -p "$ctx"; cp "$src/sidecar.py" "$ctx/"
    cat >"$ctx/Dockerfile" <<'EOF'
FROM aci-test/python:3
WORKDIR /usr/src/app
COPY sidecar.py .
CMD ["python", "sidecar.py"]
EOF
    build_dir aci-tutorial-sidecar "$ctx" mcr.microsoft.com/azuredocs/aci-tutorial-sidecar:latest \
        microsoft/aci-tutorial-sidecar:latest

    ctx=$WORK/wordcount; mkdir -p "$ctx"; cp "$src/wordcount.py" "$ctx/"
    local text
    for text in "$src"/*.txt; do [[ -f "$text" ]] && cp "$text" "$ctx/"; done
    cat >"$ctx/Dockerfile" <<'EOF'
FROM aci-test/python:3
WORKDIR /usr/src/app
COPY . .
CMD ["python", "wordcount.py"]
EOF
    build_dir aci-wordcount "$ctx" mcr.microsoft.com/azuredocs/aci-wordcount:latest microsoft/aci-wordcount:latest
}

build_own_entrypoint() {
    local ctx=$WORK/own-entrypoint
    mkdir -p "$ctx"
    cat >"$ctx/own.py" <<'EOF'
"""A user's own image: prints where and how it runs, as one JSON line, then sleeps OWN_SLEEP seconds."""
import json
import os
import sys
import time

print(json.dumps({"cwd": os.getcwd(), "argv": sys.argv,
                  "env": {k: v for k, v in sorted(os.environ.items()) if k.startswith("OWN_")},
                  "files": sorted(os.listdir("."))}), flush=True)
time.sleep(float(os.environ.get("OWN_SLEEP", "0")))
EOF
    echo "made by aci-widgets scripts/docker/images.sh" >"$ctx/marker.txt"
    cat >"$ctx/Dockerfile" <<'EOF'
FROM aci-test/python:3
WORKDIR /opt/own-app
COPY own.py marker.txt ./
ENV OWN_GREETING=hello-from-the-image OWN_MODE=image-default
ENTRYPOINT ["python", "/opt/own-app/own.py", "from-entrypoint"]
CMD ["from-cmd"]
EOF
    build_dir own-entrypoint "$ctx" aci-test/own-entrypoint:latest
}

build_busybox
build_python
build_samples
build_own_entrypoint
# A rebuild leaves the previous image untagged: remove those dangling images (ours only, by label).
docker image prune -f --filter "label=$LABEL=1" >/dev/null
log "done: $(docker images --filter "label=$LABEL=1" --filter dangling=false --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ')"
