#!/usr/bin/env bash
# Run `molecule test` over a matrix of scenarios x platforms, print each run's wall time and a
# summary; exit non-zero if any run failed. Installs nothing. Uses $DOCKER_HOST when it answers,
# else molecule/scripts/ensure-dockerd.sh; builds the base images the runs need when missing.
#
# Usage: molecule/run-all.sh [-j JOBS] [RUN...]
#   -j JOBS  runs in parallel (default $CADCHAT_MOLECULE_JOBS or 2)
#   RUN      SCENARIO (on its default platform) or SCENARIO@PLATFORM, e.g. site@ubuntu2004.
#            Default: the matrix in molecule/matrix (scenario and its platforms per line); every
#            scenario directory not listed there runs once on the platform its molecule.yml names.
#   PLATFORM debian12 | ubuntu2004 | ubuntu2204 | ubuntu2404 (image cadchat-molecule/PLATFORM:latest)
# A run on an explicit platform gets its own container name (<prefix>-<platform>-<scenario>) and
# its own Molecule state directory, so one scenario can run on several platforms at once.
# Logs: $CADCHAT_MOLECULE_LOG_DIR (default /var/tmp/cadchat-molecule-logs)/<scenario>[@<platform>].log
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
jobs=${CADCHAT_MOLECULE_JOBS:-2}
log_dir=${CADCHAT_MOLECULE_LOG_DIR:-/var/tmp/cadchat-molecule-logs}
prefix=${CADCHAT_MOLECULE_PREFIX:-cadchat}

while getopts "j:h" opt; do
  case $opt in
    j) jobs=$OPTARG ;;
    h) sed -n '2,15p' "$0"; exit 0 ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))

# molecule lives next to the python that has it: prefer the repo venv, then PATH.
if [ -x "$repo/.venv/bin/molecule" ]; then
  PATH="$repo/.venv/bin:$PATH"
fi
command -v molecule >/dev/null || { echo "molecule not found (install the dev requirements)" >&2; exit 2; }

# The platform a scenario's molecule.yml boots when CADCHAT_MOLECULE_IMAGE is unset.
default_platform() {
  sed -n 's|.*image: *\${CADCHAT_MOLECULE_IMAGE:-cadchat-molecule/\([a-z0-9]*\):.*|\1|p; s|.*image: *cadchat-molecule/\([a-z0-9]*\):.*|\1|p' \
    "$here/$1/molecule.yml" | head -n 1
}

runs=()
if [ $# -gt 0 ]; then
  runs=("$@")
else
  declare -A in_matrix=()
  if [ -f "$here/matrix" ]; then
    while read -r scenario platforms; do
      case $scenario in '' | '#'*) continue ;; esac
      [ -f "$here/$scenario/molecule.yml" ] || continue
      in_matrix[$scenario]=1
      for p in $platforms; do runs+=("$scenario@$p"); done
    done <"$here/matrix"
  fi
  for f in "$here"/*/molecule.yml; do
    [ -e "$f" ] || continue
    s=$(basename "$(dirname "$f")")
    [ -n "${in_matrix[$s]:-}" ] || runs+=("$s")
  done
fi
[ ${#runs[@]} -gt 0 ] || { echo "no scenarios found under $here" >&2; exit 2; }

images=()
for r in "${runs[@]}"; do
  s=${r%@*}
  [ -f "$here/$s/molecule.yml" ] || { echo "no scenario $s (molecule/$s/molecule.yml)" >&2; exit 2; }
  if [ "$r" = "$s" ]; then p=$(default_platform "$s"); else p=${r#*@}; fi
  [ -n "$p" ] && images+=("cadchat-molecule/$p:latest")
done
mapfile -t images < <(printf '%s\n' "${images[@]}" | sort -u)

if [ -z "${DOCKER_HOST:-}" ] || ! docker info >/dev/null 2>&1; then
  DOCKER_HOST=$("$here/scripts/ensure-dockerd.sh") || exit 2
fi
export DOCKER_HOST
"$here/scripts/build-base-image.sh" "${images[@]}" || exit 2

mkdir -p "$log_dir"
cd "$repo" || exit 2
state_root=$(mktemp -d "/var/tmp/cadchat-molecule-state.XXXXXX")
trap 'rm -rf "$state_root"' EXIT

run_one() {
  local r=$1 s=${1%@*} start end rc
  start=$(date +%s)
  if [ "$r" = "$s" ]; then
    molecule test -s "$s" >"$log_dir/$r.log" 2>&1
  else
    local p=${r#*@}
    CADCHAT_MOLECULE_IMAGE="cadchat-molecule/$p:latest" CADCHAT_MOLECULE_PREFIX="$prefix-$p" \
      MOLECULE_EPHEMERAL_DIRECTORY="$state_root/$s@$p" \
      molecule test -s "$s" >"$log_dir/$r.log" 2>&1
  fi
  rc=$?
  end=$(date +%s)
  echo "$rc $((end - start))" >"$log_dir/$r.result"
}

total_start=$(date +%s)
for r in "${runs[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  echo "==> $r started ($(date -u +%H:%M:%S)), log: $log_dir/$r.log"
  rm -f "$log_dir/$r.result"
  run_one "$r" &
done
wait

failed=0
printf '\n%-28s %-7s %s\n' run result "wall time"
for r in "${runs[@]}"; do
  if [ -f "$log_dir/$r.result" ]; then
    read -r rc secs <"$log_dir/$r.result"
  else
    rc=1 secs=0
  fi
  if [ "$rc" -eq 0 ]; then result=ok; else result=FAILED; failed=$((failed + 1)); fi
  printf '%-28s %-7s %dm%02ds\n' "$r" "$result" $((secs / 60)) $((secs % 60))
done
total=$(($(date +%s) - total_start))
printf 'total wall time %dm%02ds, %d run(s), %d failed (jobs=%s)\n' \
  $((total / 60)) $((total % 60)) ${#runs[@]} "$failed" "$jobs"

# Show the end of each failed run's log, where Molecule prints what broke.
for r in "${runs[@]}"; do
  read -r rc _ <"$log_dir/$r.result" 2>/dev/null || rc=1
  if [ "$rc" -ne 0 ]; then
    echo
    echo "----- $r: last 60 lines of $log_dir/$r.log -----"
    tail -n 60 "$log_dir/$r.log"
  fi
done
[ "$failed" -eq 0 ]
