#!/usr/bin/env bash
# Run `molecule test` for every scenario directory under molecule/ (each one holding a
# molecule.yml), print each scenario's wall time and a summary; exit non-zero if any failed.
# Installs nothing. Uses $DOCKER_HOST when it answers, else molecule/scripts/ensure-dockerd.sh.
#
# Usage: molecule/run-all.sh [-j JOBS] [SCENARIO...]
#   -j JOBS   scenarios run in parallel (default $CADCHAT_MOLECULE_JOBS or 2); each scenario has
#             its own container (cadchat-<scenario>), so they do not interfere.
#   SCENARIO  run only these (default: all)
# Logs: $CADCHAT_MOLECULE_LOG_DIR (default /var/tmp/cadchat-molecule-logs)/<scenario>.log
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
jobs=${CADCHAT_MOLECULE_JOBS:-2}
log_dir=${CADCHAT_MOLECULE_LOG_DIR:-/var/tmp/cadchat-molecule-logs}

while getopts "j:h" opt; do
  case $opt in
    j) jobs=$OPTARG ;;
    h) sed -n '2,10p' "$0"; exit 0 ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))

# molecule lives next to the python that has it: prefer the repo venv, then PATH.
if [ -x "$repo/.venv/bin/molecule" ]; then
  PATH="$repo/.venv/bin:$PATH"
fi
command -v molecule >/dev/null || { echo "molecule not found (install the dev requirements)" >&2; exit 2; }

if [ -z "${DOCKER_HOST:-}" ] || ! docker info >/dev/null 2>&1; then
  DOCKER_HOST=$("$here/scripts/ensure-dockerd.sh") || exit 2
fi
export DOCKER_HOST
"$here/scripts/build-base-image.sh" || exit 2

if [ $# -gt 0 ]; then
  scenarios=("$@")
else
  scenarios=()
  for f in "$here"/*/molecule.yml; do
    [ -e "$f" ] && scenarios+=("$(basename "$(dirname "$f")")")
  done
fi
[ ${#scenarios[@]} -gt 0 ] || { echo "no scenarios found under $here" >&2; exit 2; }

mkdir -p "$log_dir"
cd "$repo" || exit 2

run_one() {
  local s=$1 start end rc
  start=$(date +%s)
  molecule test -s "$s" >"$log_dir/$s.log" 2>&1
  rc=$?
  end=$(date +%s)
  echo "$rc $((end - start))" >"$log_dir/$s.result"
}

total_start=$(date +%s)
for s in "${scenarios[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  echo "==> $s started ($(date -u +%H:%M:%S)), log: $log_dir/$s.log"
  rm -f "$log_dir/$s.result"
  run_one "$s" &
done
wait

failed=0
printf '\n%-12s %-7s %s\n' scenario result "wall time"
for s in "${scenarios[@]}"; do
  if [ -f "$log_dir/$s.result" ]; then
    read -r rc secs <"$log_dir/$s.result"
  else
    rc=1 secs=0
  fi
  if [ "$rc" -eq 0 ]; then result=ok; else result=FAILED; failed=$((failed + 1)); fi
  printf '%-12s %-7s %dm%02ds\n' "$s" "$result" $((secs / 60)) $((secs % 60))
done
total=$(( $(date +%s) - total_start ))
printf 'total wall time %dm%02ds, %d scenario(s), %d failed (jobs=%s)\n' \
  $((total / 60)) $((total % 60)) ${#scenarios[@]} "$failed" "$jobs"

# Show the end of each failed scenario's log, where Molecule prints what broke.
for s in "${scenarios[@]}"; do
  read -r rc _ <"$log_dir/$s.result" 2>/dev/null || rc=1
  if [ "$rc" -ne 0 ]; then
    echo; echo "----- $s: last 60 lines of $log_dir/$s.log -----"
    tail -n 60 "$log_dir/$s.log"
  fi
done
[ "$failed" -eq 0 ]
