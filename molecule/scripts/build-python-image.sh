#!/usr/bin/env bash
# Build a slim Debian 12 Python image to use as the Dockerfile's BASE_IMAGE where no registry is
# reachable (the default, python:3.11-slim-bookworm, is pulled from Docker Hub). Reused when present.
# Usage: build-python-image.sh [IMAGE]   (default cadchat-build/python:3.11-bookworm)
set -euo pipefail

image=${1:-${CADCHAT_PYTHON_IMAGE:-cadchat-build/python:3.11-bookworm}}

if docker image inspect "$image" >/dev/null 2>&1 && [ -z "${CADCHAT_REBUILD_IMAGE:-}" ]; then
  echo "python image $image present, reused"
  exit 0
fi

# shellcheck source=debian-mirror.sh
source "$(dirname "$0")/debian-mirror.sh"
mirror=$(debian_mirror)

rootfs=$(mktemp -d /var/tmp/cadchat-pyroot.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv bookworm "$rootfs" "$mirror" >/dev/null
# An image, not a system: no apt lists, docs, man pages or locales beyond C.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/usr/share/doc/* \
       "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log
tar -C "$rootfs" -c . | docker import -c 'CMD ["/usr/bin/python3"]' - "$image" >/dev/null
echo "built $image"
