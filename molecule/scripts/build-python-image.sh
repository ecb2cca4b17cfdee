#!/usr/bin/env bash
# Build the two local Debian 12 Python images the Dockerfile takes where no registry is reachable
# (its defaults, python:3.11-bookworm and python:3.11-slim-bookworm, come from Docker Hub):
#   BUILD_IMAGE  python3 with venv and binutils: the build stage makes the virtualenv and strips
#                the compiled extensions with it;
#   BASE_IMAGE   the runtime: python3 and the libraries it links, without what the service never
#                runs (package manager, perl, venv/pip wheels, binutils, iconv modules, docs).
# One debootstrap makes both. Images built by this same script are reused; ones built by an
# earlier version of it are rebuilt (each carries the script's hash as the label
# org.cadchat.builder).
# Usage: build-python-image.sh [BUILD_IMAGE [BASE_IMAGE]]
#   (default cadchat-build/python-build:3.11-bookworm cadchat-build/python:3.11-slim-bookworm)
set -euo pipefail

build_image=${1:-${CADCHAT_PYTHON_BUILD_IMAGE:-cadchat-build/python-build:3.11-bookworm}}
base_image=${2:-${CADCHAT_PYTHON_IMAGE:-cadchat-build/python:3.11-slim-bookworm}}
builder=$(sha256sum "$0" | cut -c1-12)

label() { docker image inspect -f '{{ index .Config.Labels "org.cadchat.builder" }}' "$1" 2>/dev/null || true; }
if [ "$(label "$build_image")" = "$builder" ] && [ "$(label "$base_image")" = "$builder" ] \
  && [ -z "${CADCHAT_REBUILD_IMAGE:-}" ]; then
  echo "python images $build_image $base_image present, reused"
  exit 0
fi

# shellcheck source=debian-mirror.sh
source "$(dirname "$0")/debian-mirror.sh"
mirror=$(debian_mirror)

rootfs=$(mktemp -d /var/tmp/cadchat-pyroot.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,binutils bookworm "$rootfs" "$mirror" >/dev/null
# An image, not a system: no downloaded packages, apt lists, docs, man pages or translations.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
       "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/log/*.log "$rootfs"/usr/share/doc/* \
       "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
       "$rootfs"/usr/share/common-licenses
# mktemp made the root 0700; as the image's `/` that would lock every non-root user out of the
# whole filesystem wherever the storage driver keeps the layer's own root (vfs, e.g. Docker inside
# a container), so a container running as its own user could not even start its init.
chmod 0755 "$rootfs"

import_rootfs() {
  tar -C "$rootfs" -c . \
    | docker import -c 'CMD ["/usr/bin/python3"]' -c 'ENV LANG=C.UTF-8' \
        -c "LABEL org.cadchat.builder=$builder" - "$1" >/dev/null
}
import_rootfs "$build_image"

# The runtime. Packages are purged through dpkg, so its status lists what the image really holds;
# the essential ones among them (perl-base, apt's own) need the force flags. Nothing that python3,
# its stdlib extensions, passwd (useradd in the Dockerfile) or coreutils/bash link is removed:
# the check below fails the build if any ELF file left behind misses a library.
unneeded=(
  binutils binutils-common binutils-x86-64-linux-gnu libbinutils libctf0 libctf-nobfd0 libgprofng0
  libjansson4 python3-venv python3.11-venv python3-pip-whl python3-setuptools-whl
  apt libapt-pkg6.0 gpgv debian-archive-keyring libgnutls30 libp11-kit0 libtasn1-6 libnettle8
  libhogweed6 libidn2-0 libunistring2 libxxhash0 libseccomp2
  e2fsprogs libext2fs2 libss2 logsave
  perl-base
)
installed=()
for p in "${unneeded[@]}"; do
  if chroot "$rootfs" dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q ' installed$'; then
    installed+=("$p")
  fi
done
chroot "$rootfs" dpkg --purge --force-remove-essential --force-depends "${installed[@]}" >/dev/null 2>&1
# Files no package owns or dpkg keeps anyway: iconv modules (Python has its own codecs), apt's
# state, the dpkg backup of the status file.
rm -rf "$rootfs"/usr/lib/*-linux-gnu/gconv "$rootfs"/var/lib/apt "$rootfs"/var/cache/apt "$rootfs"/etc/apt \
       "$rootfs"/var/lib/dpkg/*-old "$rootfs"/var/cache/debconf/* "$rootfs"/usr/share/doc/* \
       "$rootfs"/usr/share/man/* "$rootfs"/var/log/*.log
missing=$(chroot "$rootfs" /bin/sh -c 'find / -xdev -type f \( -perm -u+x -o -name "*.so*" \) 2>/dev/null \
  | while read -r f; do ldd "$f" 2>/dev/null | grep "not found" | sed "s|^|$f: |"; done' || true)
if [ -n "$missing" ]; then
  echo "the runtime image would miss libraries:" >&2
  echo "$missing" >&2
  exit 1
fi
chroot "$rootfs" python3 -c 'import ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid, decimal, readline, zoneinfo' \
  || { echo "the runtime image's python3 lost a stdlib extension" >&2; exit 1; }
import_rootfs "$base_image"
echo "built $build_image $base_image"
