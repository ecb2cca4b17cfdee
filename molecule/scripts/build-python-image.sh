#!/usr/bin/env bash
# Build a slim Debian 12 Python image to use as the Dockerfile's BASE_IMAGE where no registry is
# reachable (the default, python:3.11-slim-bookworm, is pulled from Docker Hub). An image built by
# this same script is reused; one built by an earlier version of it is rebuilt (the image carries
# the script's hash as the label org.cadchat.builder).
# Usage: build-python-image.sh [IMAGE]   (default cadchat-build/python:3.11-bookworm)
set -euo pipefail

image=${1:-${CADCHAT_PYTHON_IMAGE:-cadchat-build/python:3.11-bookworm}}
builder=$(sha256sum "$0" | cut -c1-12)

present=$(docker image inspect -f '{{ index .Config.Labels "org.cadchat.builder" }}' "$image" 2>/dev/null || true)
if [ "$present" = "$builder" ] && [ -z "${CADCHAT_REBUILD_IMAGE:-}" ]; then
  echo "python image $image present, reused"
  exit 0
fi

# shellcheck source=debian-mirror.sh
source "$(dirname "$0")/debian-mirror.sh"
mirror=$(debian_mirror)

rootfs=$(mktemp -d /var/tmp/cadchat-pyroot.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
# python3-venv: the Dockerfile's build stage makes its virtualenv with it.
debootstrap --variant=minbase --include=python3,python3-venv bookworm "$rootfs" "$mirror" >/dev/null
# An image, not a system: no downloaded packages, apt lists, docs, man pages or translations.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
       "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/log/*.log "$rootfs"/usr/share/doc/* \
       "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
       "$rootfs"/usr/share/common-licenses
# mktemp made the root 0700; as the image's `/` that would lock every non-root user out of the
# whole filesystem wherever the storage driver keeps the layer's own root (vfs, e.g. Docker inside
# a container), so a container running as its own user could not even start its init.
chmod 0755 "$rootfs"
tar -C "$rootfs" -c . \
  | docker import -c 'CMD ["/usr/bin/python3"]' -c "LABEL org.cadchat.builder=$builder" - "$image" >/dev/null
echo "built $image"
