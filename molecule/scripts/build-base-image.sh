#!/usr/bin/env bash
# Build the local systemd base images Molecule boots (no registry is reachable here); an image
# that is already present is reused (CADCHAT_REBUILD_IMAGE=1 forces a rebuild).
#
# Usage: build-base-image.sh [IMAGE...]
#   IMAGE  cadchat-molecule/<platform>:latest, platform one of
#            debian12    Debian 12 (bookworm)
#            ubuntu2004  Ubuntu 20.04 (focal)
#            ubuntu2204  Ubuntu 22.04 (jammy)
#            ubuntu2404  Ubuntu 24.04 (noble)
#          default: $CADCHAT_MOLECULE_IMAGE or cadchat-molecule/debian12:latest
#
# Archives: Debian comes from the host's own apt configuration (CADCHAT_DEBIAN_MIRROR overrides),
# Ubuntu from debootstrap's built-in default mirror (CADCHAT_UBUNTU_MIRROR overrides). Ubuntu's
# archive keyring is taken from the archive's own ubuntu-keyring package and only the signing keys
# pinned in ubuntu-archive-signing-keys.txt (next to this script) are handed to debootstrap, which
# then verifies the suite's Release signature with them.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
packages=systemd,systemd-sysv,python3,python3-apt,sudo,iproute2,procps,ca-certificates

# shellcheck source=debian-mirror.sh
source "$here/debian-mirror.sh"

# The amd64 default of debootstrap's Ubuntu script (the same script serves every suite since gutsy).
ubuntu_mirror() {
  local m=${CADCHAT_UBUNTU_MIRROR:-}
  if [ -z "$m" ]; then
    m=$(awk '/default_mirror/ && !/old-releases/ && !/ports/ {print $2; exit}' \
      "${DEBOOTSTRAP_DIR:-/usr/share/debootstrap}/scripts/gutsy")
  fi
  [ -n "$m" ] || { echo "no Ubuntu mirror in debootstrap's scripts; set CADCHAT_UBUNTU_MIRROR" >&2; return 1; }
  echo "$m"
}

# Write a keyring holding exactly the pinned Ubuntu archive signing keys to $2.
ubuntu_keyring() {
  local mirror=$1 out=$2 suite=$3 work deb_path deb_sha gnupg fpr missing=0
  work=$(mktemp -d /var/tmp/cadchat-ubuntu-keyring.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" RETURN
  read -r deb_path deb_sha < <(curl -fsS "$mirror/dists/$suite/main/binary-amd64/Packages.gz" | zcat |
    awk '/^Package: ubuntu-keyring$/ {p = 1} p && /^Filename:/ {f = $2} p && /^SHA256:/ {s = $2}
         p && /^$/ {print f, s; exit}')
  [ -n "$deb_path" ] || { echo "ubuntu-keyring not found in $suite's Packages.gz" >&2; return 1; }
  curl -fsS -o "$work/keyring.deb" "$mirror/$deb_path"
  echo "$deb_sha  $work/keyring.deb" | sha256sum -c --quiet - >&2
  dpkg-deb -x "$work/keyring.deb" "$work/x"
  gnupg="$work/gnupg"
  mkdir -m 700 "$gnupg"
  gpg --homedir "$gnupg" --batch --quiet --import "$work/x/usr/share/keyrings/ubuntu-archive-keyring.gpg" 2>/dev/null
  local pinned=()
  while read -r fpr _; do
    case $fpr in '' | '#'*) continue ;; esac
    if gpg --homedir "$gnupg" --with-colons --list-keys "$fpr" 2>/dev/null | grep -q "^fpr:::::::::$fpr:"; then
      pinned+=("$fpr")
    else
      echo "pinned key $fpr is not in the archive's ubuntu-keyring" >&2
      missing=1
    fi
  done <"$here/ubuntu-archive-signing-keys.txt"
  [ "$missing" -eq 0 ] && [ ${#pinned[@]} -gt 0 ] || return 1
  gpg --homedir "$gnupg" --batch --export "${pinned[@]}" >"$out"
  # What debootstrap will trust: exactly the pinned fingerprints, nothing else.
  diff <(gpg --show-keys --with-colons "$out" 2>/dev/null | awk -F: '$1 == "pub" {getline; print $10}' | sort) \
       <(printf '%s\n' "${pinned[@]}" | sort) >&2
}

build() {
  local image=$1 platform suite distro mirror rootfs keyring dbdir
  platform=${image#*/}
  platform=${platform%%:*}
  case $platform in
    debian12) distro=debian suite=bookworm ;;
    ubuntu2004) distro=ubuntu suite=focal ;;
    ubuntu2204) distro=ubuntu suite=jammy ;;
    ubuntu2404) distro=ubuntu suite=noble ;;
    *) echo "unknown platform '$platform' in $image (debian12, ubuntu2004, ubuntu2204, ubuntu2404)" >&2; return 2 ;;
  esac
  if docker image inspect "$image" >/dev/null 2>&1 && [ -z "${CADCHAT_REBUILD_IMAGE:-}" ]; then
    echo "base image $image present, reused"
    return 0
  fi
  local start=$SECONDS
  rootfs=$(mktemp -d /var/tmp/cadchat-rootfs.XXXXXX)
  dbdir=$(mktemp -d /var/tmp/cadchat-debootstrap.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$rootfs' '$dbdir'" RETURN
  if [ "$distro" = debian ]; then
    mirror=$(debian_mirror)
    debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >/dev/null
    echo "deb $mirror $suite main" >"$rootfs/etc/apt/sources.list"
  else
    mirror=$(ubuntu_mirror)
    keyring="$dbdir/ubuntu-archive-keyring.gpg"
    ubuntu_keyring "$mirror" "$keyring" "$suite"
    # Debian 12's debootstrap predates noble; every Ubuntu suite since gutsy uses the same script.
    cp -a /usr/share/debootstrap "$dbdir/debootstrap"
    [ -e "$dbdir/debootstrap/scripts/$suite" ] || ln -s gutsy "$dbdir/debootstrap/scripts/$suite"
    DEBOOTSTRAP_DIR="$dbdir/debootstrap" debootstrap --variant=minbase --keyring="$keyring" \
      --include="$packages,ubuntu-keyring" "$suite" "$rootfs" "$mirror" >/dev/null
    # The sources a stock Ubuntu server image has (24.04 in deb822 form), on the same mirror.
    local components="main restricted universe multiverse"
    if [ "$suite" = noble ]; then
      echo "# Ubuntu sources have moved to /etc/apt/sources.list.d/ubuntu.sources" >"$rootfs/etc/apt/sources.list"
      cat >"$rootfs/etc/apt/sources.list.d/ubuntu.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates $suite-backports $suite-security
Components: $components
Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg
EOF
    else
      {
        echo "deb $mirror $suite $components"
        echo "deb $mirror $suite-updates $components"
        echo "deb $mirror $suite-backports $components"
        echo "deb $mirror $suite-security $components"
      } >"$rootfs/etc/apt/sources.list"
    fi
  fi
  # systemd in a container: no getty, no udev triggers; apt may run from Ansible immediately.
  rm -f "$rootfs"/etc/systemd/system/getty.target.wants/* \
        "$rootfs"/lib/systemd/system/multi-user.target.wants/getty.target
  tar -C "$rootfs" -c . | docker import -c 'CMD ["/lib/systemd/systemd"]' - "$image" >/dev/null
  echo "built $image ($suite from $mirror) in $((SECONDS - start)) s"
}

if [ $# -eq 0 ]; then
  set -- "${CADCHAT_MOLECULE_IMAGE:-cadchat-molecule/debian12:latest}"
fi
for image in "$@"; do
  build "$image"
done
