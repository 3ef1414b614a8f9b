#!/usr/bin/env bash
# Reproduce the figures in scripts/docker/README.md: medians of N runs (default 10) of
#   daemon start / stop, images.sh warm (and cold: COLD=N runs with a private cache dir and --force),
#   `docker run -d` of aci-test/busybox `sleep 60` until it returns (container running), `docker rm -f`,
# plus the memory check (--memory 32m, a python allocating 200 MB -> OOMKilled, 137) and the CPU check
# (--cpus 0.5 busy loop -> docker stats CPU %).
#
#   scripts/docker/measure.sh            # needs the daemon running and the images built
#   N=10 COLD=3 scripts/docker/measure.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
N=${N:-10}
COLD=${COLD:-0}
eval "$("$HERE/engine.sh" env)"
export DOCKER_HOST

now() { date +%s.%N; }
# median LABEL VALUES... (seconds) -> "LABEL: median X s (min A, max B, n=K)"
median() {
    local label=$1; shift
    python3 - "$label" "$@" <<'EOF'
import statistics, sys
label, values = sys.argv[1], [float(v) for v in sys.argv[2:]]
print(f"{label}: median {statistics.median(values):.3f} s (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})")
EOF
}
timed() { local t0; t0=$(now); "$@" >/dev/null 2>&1; python3 -c "print($(now) - $t0)"; }

echo "# $(date -Is) $(nproc) cores; $(docker version -f 'client {{.Client.Version}}, server {{.Server.Version}}'); driver $(docker info -f '{{.Driver}}'), cgroup v$(docker info -f '{{.CgroupVersion}}')"

starts=() stops=()
for _ in $(seq "$N"); do
    stops+=("$(timed "$HERE/engine.sh" stop)")
    starts+=("$(timed "$HERE/engine.sh" start)")
done
median "engine.sh start (stopped -> API answers)" "${starts[@]}"
median "engine.sh stop (no containers)" "${stops[@]}"

warm=()
for _ in $(seq "$N"); do warm+=("$(timed "$HERE/images.sh")"); done
median "images.sh warm (all images present)" "${warm[@]}"

if ((COLD > 0)); then
    cold=()
    for _ in $(seq "$COLD"); do
        cache=$(mktemp -d /tmp/aci-images-cold.XXXXXX)
        cold+=("$(timed env ACI_WIDGETS_CACHE="$cache" "$HERE/images.sh" --force)")
        rm -rf "$cache"
    done
    median "images.sh cold (no rootfs tarball, --force)" "${cold[@]}"
fi

runs=() rms=()
for i in $(seq "$N"); do
    name=aciw-measure-$$-$i
    runs+=("$(timed docker run -d --name "$name" aci-test/busybox:latest sleep 60)")
    [[ "$(docker inspect -f '{{.State.Running}}' "$name")" == true ]] || { echo "container $name not running" >&2; exit 1; }
    rms+=("$(timed docker rm -f "$name")")
done
median "docker run -d aci-test/busybox sleep 60 (returns with the container running)" "${runs[@]}"
median "docker rm -f of that running container" "${rms[@]}"

# Memory: 32 MiB limit, the program grows to 200 MB.
name=aciw-measure-oom-$$
docker run --name "$name" --memory 32m aci-test/python:3 \
    python -c 'b = [bytearray(10 * 2**20) for _ in range(20)]; print("allocated 200 MB")' >/dev/null 2>&1 || true
echo "memory 32m, 200 MB allocation: $(docker inspect -f 'OOMKilled={{.State.OOMKilled}} ExitCode={{.State.ExitCode}} Status={{.State.Status}} Error={{printf "%q" .State.Error}} Memory={{.HostConfig.Memory}} MemorySwap={{.HostConfig.MemorySwap}}' "$name")"
docker rm -f "$name" >/dev/null

# CPU: 0.5 CPU quota, one busy loop.
name=aciw-measure-cpu-$$
docker run -d --name "$name" --cpus 0.5 aci-test/busybox:latest sh -c 'while :; do :; done' >/dev/null
sleep 5
samples=()
for _ in 1 2 3; do samples+=("$(docker stats --no-stream --format '{{.CPUPerc}}' "$name")"); done
echo "cpus 0.5 busy loop: docker stats CPU ${samples[*]}; NanoCpus=$(docker inspect -f '{{.HostConfig.NanoCpus}}' "$name")"
docker rm -f "$name" >/dev/null
