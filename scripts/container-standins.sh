#!/usr/bin/env bash
# Makes local stand-ins for the images the Dockerfile starts FROM, so a machine with podman but
# no registry access builds the Dockerfile unchanged (with `--pull=never`):
#   debian:TAG   a debootstrap minbase tree trimmed the way the official slim images are
#   rust:TAG     that plus Debian's rustc-web/cargo-web (bookworm-security), gcc and libc6-dev,
#                with the official image's CARGO_HOME and PATH
#   node:TAG     that plus the host's own node and npm, at the official image's paths
# Which tags to make is read from the Dockerfile's FROM lines (node only with --node).
# The images land in the podman storage the caller configured (CONTAINERS_STORAGE_CONF);
# they are stand-ins for CI and must never be pushed anywhere.
#
# Usage: scripts/container-standins.sh SCRATCH_DIR [--node]
# Needs: root, podman, debootstrap; network as the host has it (apt, via --network=host).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "container-standins: $*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: $0 SCRATCH_DIR [--node]"
scratch="$1"
with_node=0
[ "${2:-}" = "--node" ] && with_node=1

from_tag() { # $1 = image name (debian, rust, node); prints docker.io/library/NAME:TAG from the Dockerfile
  local tag
  tag="$(awk -v name="$1" '$1 == "FROM" && index($2, name ":") == 1 { print $2; exit }' Dockerfile)"
  [ -n "$tag" ] || die "no FROM $1:... line in the Dockerfile"
  echo "docker.io/library/$tag"
}
debian_tag="$(from_tag debian)"
rust_tag="$(from_tag rust)"

# debian: debootstrap, with -updates and -security (rustc-web 1.9x lives there), the slim
# images' apt/dpkg trimming, and neither the host's resolv.conf nor its hostname.
root="$scratch/rootfs"
rm -rf "$root"
debootstrap --variant=minbase bookworm "$root" >"$scratch/debootstrap.log" 2>&1 ||
  { tail -n 20 "$scratch/debootstrap.log" >&2; die "debootstrap failed"; }
mirror="$(awk '{ print $2; exit }' "$root/etc/apt/sources.list")"
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s-security bookworm-security main\n' \
  "$mirror" "$mirror" "$mirror" >"$root/etc/apt/sources.list"
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\n' \
  >"$root/etc/dpkg/dpkg.cfg.d/docker-slim"
find "$root/usr/share/doc" -mindepth 2 ! -name copyright -type f -delete
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
  "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
  "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/*
: >"$root/etc/resolv.conf"
echo localhost >"$root/etc/hostname"
tar --numeric-owner -C "$root" -c . | podman import --quiet --change 'CMD ["bash"]' - "$debian_tag" >/dev/null
rm -rf "$root"
echo "container-standins: $debian_tag (debootstrap bookworm minbase)"

# rust: Debian's toolchain under the official image's layout.
podman build --pull=never --network=host --tag "$rust_tag" -f - "$scratch" \
  >"$scratch/standin-rust.log" 2>&1 <<DOCKERFILE ||
FROM $debian_tag
RUN apt-get update \
 && apt-get install -y --no-install-recommends rustc-web cargo-web gcc libc6-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:\$PATH
DOCKERFILE
  { tail -n 20 "$scratch/standin-rust.log" >&2; die "building the rust stand-in failed"; }
echo "container-standins: $rust_tag ($(podman run --rm --network=none "$rust_tag" rustc --version))"

[ "$with_node" = 1 ] || exit 0
node_tag="$(from_tag node)"
node_bin="$(command -v node)" || die "node not found on the host"
npm_dir="$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)"
[ -f "$npm_dir/package.json" ] || die "cannot find npm's own directory (got $npm_dir)"
ctx="$scratch/node-context"
rm -rf "$ctx"
mkdir -p "$ctx/lib/node_modules"
cp "$node_bin" "$ctx/node"
cp -a "$npm_dir" "$ctx/lib/node_modules/npm"
podman build --quiet --pull=never --network=none --tag "$node_tag" -f - "$ctx" >/dev/null <<DOCKERFILE
FROM $debian_tag
COPY node /usr/local/bin/node
COPY lib /usr/local/lib
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
CMD ["node"]
DOCKERFILE
rm -rf "$ctx"
echo "container-standins: $node_tag (the host's node $(node --version), npm $(npm --version))"
