#!/usr/bin/env bash
# Makes sure the tools are here. With no argument: everything the tests need, redis-server and
# chromium (Debian packages) and the local Bluesky network harness (Node 22 + @atproto/dev-env,
# cached in .cache/pds-harness). With arguments: only those programs (`deno task start` asks for
# redis-server).
# As root with apt-get it installs what is missing; otherwise it prints the exact command and fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Debian package that brings a program.
package_of() {
  case "$1" in
    redis-benchmark) echo redis-tools ;;
    make | g++) echo build-essential ;;
    *) echo "$1" ;;
  esac
}

if (($#)); then
  tools=("$@")
else
  # The site's browser tests drive Debian's Chromium; python3, make and g++ build the harness's
  # native addon.
  tools=(redis-server redis-benchmark wrk chromium python3 make g++)
fi
need_apt=()
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null 2>&1 && continue
  package=$(package_of "$tool")
  [[ " ${need_apt[*]} " == *" $package "* ]] || need_apt+=("$package")
done
if ((${#need_apt[@]})); then
  if [ "$EUID" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing ${need_apt[*]} from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${need_apt[@]}" >&2
  else
    echo "Missing tools. Install them with:" >&2
    echo "  $([ "$EUID" = 0 ] || echo "sudo ")apt-get install -y ${need_apt[*]}" >&2
    exit 1
  fi
fi

# The local PDS harness, for the tests only: quick when already built for the same lockfile.
if ((!$#)); then
  bash shared/testing/pds/setup.sh >/dev/null
fi
