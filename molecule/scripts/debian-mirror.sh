#!/usr/bin/env bash
# Print the Debian archive this host's apt uses (CADCHAT_DEBIAN_MIRROR overrides): the repository
# names no archive host of its own. Sourced by the image builders; also runnable on its own.
debian_mirror() {
  local m=${CADCHAT_DEBIAN_MIRROR:-}
  if [ -z "$m" ] && [ -r /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -r /etc/apt/sources.list ]; then
    m=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
  fi
  [ -n "$m" ] || { echo "no Debian mirror in the host's apt configuration; set CADCHAT_DEBIAN_MIRROR" >&2; return 1; }
  echo "$m"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  debian_mirror
fi
