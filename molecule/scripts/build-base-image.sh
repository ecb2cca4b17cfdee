#!/usr/bin/env bash
# Build the local systemd base image Molecule boots (no registry reachable here), reused when present.
# Usage: build-base-image.sh [IMAGE]   (default cadchat-molecule/debian12:latest)
set -euo pipefail

image=${1:-${CADCHAT_MOLECULE_IMAGE:-cadchat-molecule/debian12:latest}}
suite=${CADCHAT_MOLECULE_SUITE:-bookworm}

if docker image inspect "$image" >/dev/null 2>&1 && [ -z "${CADCHAT_REBUILD_IMAGE:-}" ]; then
  echo "base image $image present, reused"
  exit 0
fi

# The same mirror the host uses: the only Debian archive reachable from here.
mirror=${CADCHAT_DEBIAN_MIRROR:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
mirror=${mirror:-http://deb.debian.org/debian}

rootfs=$(mktemp -d /var/tmp/cadchat-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,python3,python3-apt,sudo,iproute2,procps,ca-certificates \
  "$suite" "$rootfs" "$mirror" >/dev/null
# systemd in a container: no getty, no udev triggers; apt may run from Ansible immediately.
rm -f "$rootfs"/etc/systemd/system/getty.target.wants/* \
      "$rootfs"/lib/systemd/system/multi-user.target.wants/getty.target
echo "deb $mirror $suite main" >"$rootfs/etc/apt/sources.list"
tar -C "$rootfs" -c . | docker import -c 'CMD ["/lib/systemd/systemd"]' - "$image" >/dev/null
echo "built $image"
