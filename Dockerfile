# The platform's image: compose.yaml runs every service from it, one per container. The
# entrypoint starts the service named as the command with the permission flags
# scripts/services.ts gives it for the container's environment, as `deno task start` does:
#   docker build -t bsky-circles . && docker run --rm -e REDIS_URL=redis://… bsky-circles fart
FROM denoland/deno:2.9.6

WORKDIR /app
# The base image's `deno` user owns the app and runs it: nothing runs as root.
RUN chown deno:deno /app
USER deno

COPY --chown=deno:deno . .
# The dependencies exactly as deno.lock has them: a dependency changed without its lock entry
# fails the build instead of being resolved afresh.
RUN deno install --frozen

ENTRYPOINT ["sh", "scripts/run_service.sh"]
