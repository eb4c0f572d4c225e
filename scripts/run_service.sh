#!/bin/sh
# Runs one service (firehose, indexer, fart, site or scheduler) in the foreground with the flags
# scripts/services.ts gives it for this environment, as `deno task start` does: the entrypoint of
# the image the Dockerfile builds.
#   sh scripts/run_service.sh fart
set -eu
cd "$(dirname "$0")/.."
args=$(deno run --quiet --allow-env scripts/services.ts "$@")
# One argument a line, none holding a space or a glob: split on newlines only.
IFS='
'
set -f
# The service takes this process's place, so that it gets the container's signals itself.
# shellcheck disable=SC2086
exec deno $args
