#!/usr/bin/env bash
# Start a Docker daemon for Molecule when none answers; print the DOCKER_HOST to export.
# The daemon we start keeps its own data/exec roots so it never touches another one on the box,
# and its pid is written to $CADCHAT_DOCKERD_PIDFILE so only it gets stopped later.
set -euo pipefail

state_dir=${CADCHAT_DOCKERD_DIR:-/var/tmp/cadchat-dockerd}
sock="unix://${state_dir}/docker.sock"
pidfile=${CADCHAT_DOCKERD_PIDFILE:-${state_dir}/dockerd.pid}

if [ -n "${DOCKER_HOST:-}" ] && docker info >/dev/null 2>&1; then
  echo "$DOCKER_HOST"
  exit 0
fi
if DOCKER_HOST="$sock" docker info >/dev/null 2>&1; then
  echo "$sock"
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "dockerd not installed (apt-get install -y docker.io)" >&2
  exit 1
fi

mkdir -p "$state_dir/data" "$state_dir/exec"
nohup dockerd --data-root "$state_dir/data" --exec-root "$state_dir/exec" \
  -H "$sock" --pidfile "$state_dir/dockerd.internal.pid" \
  >"$state_dir/dockerd.log" 2>&1 &
echo $! >"$pidfile"
for _ in $(seq 1 60); do
  if DOCKER_HOST="$sock" docker info >/dev/null 2>&1; then
    echo "$sock"
    exit 0
  fi
  sleep 1
done
echo "dockerd did not answer within 60 s; see $state_dir/dockerd.log" >&2
exit 1
