#!/usr/bin/env bash
# Build a wheelhouse: the service's wheel (DEST/cadchat-*.whl) plus every dependency as a binary
# wheel (DEST/deps/), so that a host or the Docker build installs with no package index:
#   pip install --no-index --find-links DEST/deps DEST/cadchat-*.whl
#
# Usage: scripts/build-wheelhouse.sh DEST [PYTHON_VERSION [PLATFORM]]
#   DEST            directory to fill (created; a finished one holds .complete and is reused)
#   PYTHON_VERSION  target interpreter, e.g. 3.11 (default: the running python's)
#   PLATFORM        target platform tag, e.g. manylinux_2_36_x86_64 (default: this machine's);
#                   older manylinux tags are accepted automatically
# Environment:
#   PYTHON                      interpreter whose pip is used (default python3); PIP_* are honoured
#   CADCHAT_SOURCE_DIR          the service's source tree (default: this repository's service/)
#   CADCHAT_WHEELHOUSE_PART     all (default), service (the service's wheel only) or deps (only the
#                               dependencies of the wheel in CADCHAT_SERVICE_WHEELHOUSE)
set -euo pipefail

dest=${1:?usage: build-wheelhouse.sh DEST [PYTHON_VERSION [PLATFORM]]}
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
pyver=${2:-$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')}
platform=${3:-$("$python" -c 'import platform, sysconfig
libc = platform.libc_ver()[1].replace(".", "_")
print("manylinux_%s_%s" % (libc, platform.machine()) if libc else sysconfig.get_platform().replace("-", "_").replace(".", "_"))')}

# pip takes a platform tag literally: list every manylinux_2_N from 2_17 up to the target's glibc,
# and the legacy manylinux2014 alias, so any wheel the target can load is accepted.
platforms() {
  local tag=$1 arch glibc n
  if [[ $tag =~ ^manylinux_2_([0-9]+)_(.+)$ ]]; then
    glibc=${BASH_REMATCH[1]} arch=${BASH_REMATCH[2]}
    for ((n = glibc; n >= 17; n--)); do printf -- '--platform manylinux_2_%d_%s ' "$n" "$arch"; done
    printf -- '--platform manylinux2014_%s' "$arch"
  else
    printf -- '--platform %s' "$tag"
  fi
}

if [ -f "$dest/.complete" ]; then
  echo "wheelhouse $dest complete, reused"
  exit 0
fi
rm -rf "$dest"
mkdir -p "$dest"
work=$(mktemp -d "${TMPDIR:-/tmp}/cadchat-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Build from a copy so the source tree gets no build/ or *.egg-info debris.
part=${CADCHAT_WHEELHOUSE_PART:-all}
source_dir=${CADCHAT_SOURCE_DIR:-$repo/service}
tar -C "$source_dir" --exclude='__pycache__' --exclude='*.egg-info' --exclude=build -c . | tar -C "$work" -x
service_wheelhouse=$dest
if [ "$part" = deps ]; then
  service_wheelhouse=${CADCHAT_SERVICE_WHEELHOUSE:?CADCHAT_SERVICE_WHEELHOUSE must name the service wheel directory}
else
  "$python" -m pip --disable-pip-version-check -q wheel --no-deps -w "$dest" "$work"
fi
if [ "$part" != service ]; then
  # shellcheck disable=SC2046 # one --platform option per word
  "$python" -m pip --disable-pip-version-check -q download -d "$work/dl" \
    --only-binary=:all: --python-version "$pyver" --implementation cp $(platforms "$platform") \
    "$service_wheelhouse"/cadchat-*.whl
  # pip evaluates environment markers for the interpreter it runs on, not for --python-version:
  # a target older than this Python misses dependencies such as `async-timeout; python_version <
  # "3.11"`. Read every downloaded wheel's Requires-Dist for the target version and fetch what is
  # missing, until nothing is.
  for _ in 1 2 3 4 5; do
    "$python" - "$work/dl" "$pyver" >"$work/missing.txt" <<'PY'
import sys
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

wheels, version = sorted(Path(sys.argv[1]).glob("*.whl")), sys.argv[2]
present = {canonicalize_name(parse_wheel_filename(w.name)[0]) for w in wheels}
target = {"python_version": version, "python_full_version": version + ".0", "extra": ""}
missing = set()
for wheel in wheels:
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        for line in archive.read(metadata).decode("utf-8").splitlines():
            if not line.startswith("Requires-Dist:"):
                continue
            requirement = Requirement(line.split(":", 1)[1].strip())
            if requirement.marker is not None and not requirement.marker.evaluate(target):
                continue
            if canonicalize_name(requirement.name) not in present:
                requirement.marker = None
                missing.add(str(requirement))
print("\n".join(sorted(missing)))
PY
    [ -s "$work/missing.txt" ] || break
    # shellcheck disable=SC2046 # one --platform option per word
    "$python" -m pip --disable-pip-version-check -q download -d "$work/dl" \
      --only-binary=:all: --python-version "$pyver" --implementation cp $(platforms "$platform") \
      -r "$work/missing.txt"
  done
  deps_dest=$dest
  [ "$part" = all ] && deps_dest=$dest/deps
  mkdir -p "$deps_dest"
  find "$work/dl" -name '*.whl' ! -name 'cadchat-*' -exec mv -t "$deps_dest" {} +
fi
echo "python $pyver, platform $platform" >"$dest/.complete"
find "$dest" -name '*.whl' | wc -l | xargs echo "wheelhouse $dest: wheels:"
