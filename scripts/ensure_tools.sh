#!/usr/bin/env bash
# Makes sure the tools the tests need are here: redis-server and chromium (Debian packages), the local
# Bluesky network harness (Node 22 + @atproto/dev-env, cached in .cache/pds-harness).
# As root it installs what is missing; otherwise it prints the exact command and fails.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v redis-benchmark >/dev/null 2>&1 || need_apt+=(redis-tools)
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
# The site's browser tests drive Debian's Chromium.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
for tool in python3 make g++; do
  command -v "$tool" >/dev/null 2>&1 || need_apt+=("$([ "$tool" = python3 ] && echo python3 || echo build-essential)")
done
if ((${#need_apt[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing ${need_apt[*]} from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${need_apt[@]}" >&2
  else
    echo "Missing tools. Install them with:" >&2
    echo "  sudo apt-get install -y ${need_apt[*]}" >&2
    exit 1
  fi
fi

# The local PDS harness: quick when already built for the same lockfile.
bash shared/testing/pds/setup.sh >/dev/null
