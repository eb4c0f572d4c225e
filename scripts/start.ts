/**
 * `deno task start`: every service in its own permission-scoped process, one log stream,
 * clean shutdown on Ctrl-C or SIGTERM. Without REDIS_URL (or REDIS_CLUSTER_NODES, a Redis
 * Cluster's nodes), a local redis-server with its own data folder (.data/redis, AOF on) is
 * started and stopped with the platform. A process that
 * exits by itself, a service or that redis-server, is started again with backoff
 * (scripts/supervisor.ts); one that crashes 5 times within a minute stops the platform, with
 * exit status 1.
 *
 * `deno task demo` (`--demo`): the same, fed from the bundled capture of a real PDS
 * (testdata/demo-pds/capture.bin.gz) replayed from 127.0.0.1 with its event times moved
 * to now. The demo always runs its own throwaway redis-server (DEMO_REDIS_PORT, 6380 by
 * default, no persistence, data folder .data/demo-redis emptied at start and stop), so demo
 * data never mixes with a real run's Redis; REDIS_URL and REDIS_CLUSTER_NODES are ignored. The capture's avatars
 * (testdata/demo-pds/avatars/) are served from 127.0.0.1 in the CDN's manner, and the
 * directory and handle resolver the API and the scheduler would ask are stood in for there
 * too: the demo never reaches the internet.
 *
 * Settings come from the environment and from `.env` at the repository root when present
 * (`--env-file FILE` reads another file); a variable set in the environment wins.
 * redis-server, when needed and missing, is installed the way the tests' tools are
 * (scripts/ensure_tools.sh), or the one command to run is named.
 *
 * Every line of the stream is a JSON object with a `service` field: services log through
 * shared/log.ts, and anything else a process prints is wrapped into such a line.
 */
import { parseArgs } from "node:util";
import { localHost, serviceArgs, SERVICES, siteKeyEnv, unsetNeeds } from "./services.ts";
import { startDemoSources } from "./demo.ts";
import { applyEnvFile } from "./env_file.ts";
import { RedisStartError, startRedis } from "./local_redis.ts";
import { forward, say } from "./log_stream.ts";
import { type Running, supervise } from "./supervisor.ts";
import type { ReplayServer } from "../firehose/tools/replay_server.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: { demo: { type: "boolean" }, "env-file": { type: "string" } },
});
const demo = flags.demo ?? false;
const root = new URL("..", import.meta.url).pathname;
const env: Record<string, string | undefined> = Deno.env.toObject();
let redis: Running | undefined;
let replay: ReplayServer | undefined;
let standIn: Deno.HttpServer | undefined;

function fail(msg: string, fields: Record<string, unknown> = {}): never {
  say(msg, fields, "error");
  try {
    redis?.kill("SIGKILL");
  } catch { /* gone */ }
  Deno.exit(1);
}

/** The local redis-server's settings, to start it again the same way after a crash. */
let redisStart: (() => Promise<Deno.ChildProcess>) | undefined;

/** Starts the local redis-server, or stops here with a line saying why it cannot. */
async function firstRedis(port: number, dir: string, persist: boolean) {
  redisStart = () =>
    startRedis({
      port,
      dir,
      persist,
      root,
      portHint: demo ? "set DEMO_REDIS_PORT to a free port" : "set REDIS_URL to use that server",
      fail,
    });
  try {
    return await redisStart();
  } catch (err) {
    if (err instanceof RedisStartError) fail(err.message, err.fields);
    throw err;
  }
}

const demoDir = `${root}.data/demo-redis`;

const envFile = flags["env-file"] ?? `${root}.env`;
try {
  const read = await applyEnvFile(envFile, env);
  if (flags["env-file"] && !read.found) fail(`Cannot read settings: "${envFile}" does not exist`);
  // Names only: values may be secrets.
  if (read.found) {
    say("Read settings from a file", { file: envFile, taken: read.taken, kept: read.kept });
  }
} catch (err) {
  fail(`Cannot read settings from "${envFile}": ${(err as Error).message}`);
}

if (demo) {
  if (env.REDIS_URL) say("The demo uses its own Redis; REDIS_URL is ignored", {}, "warn");
  if (env.REDIS_CLUSTER_NODES?.trim()) {
    say("The demo uses its own Redis; REDIS_CLUSTER_NODES is ignored", {}, "warn");
  }
  env.REDIS_CLUSTER_NODES = "";
  const port = Number(env.DEMO_REDIS_PORT || 6380);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    fail(`Cannot parse DEMO_REDIS_PORT: "${env.DEMO_REDIS_PORT}" is not a port`);
  }
  await Deno.remove(demoDir, { recursive: true }).catch(() => {});
  redis = await firstRedis(port, demoDir, false);
  env.REDIS_URL = `redis://127.0.0.1:${port}`;
  say("Started the demo's redis-server (no persistence)", { url: env.REDIS_URL, pid: redis.pid });

  ({ replay, standIn } = await startDemoSources(root, env, fail));
} else if (env.REDIS_CLUSTER_NODES?.trim()) {
  // Every service uses the cluster (shared/config.ts): no local redis-server.
  say("Using the Redis Cluster of REDIS_CLUSTER_NODES; no local redis-server", {
    nodes: env.REDIS_CLUSTER_NODES.split(",").map((n) => n.trim()).filter(Boolean),
  });
} else if (!env.REDIS_URL) {
  const port = 6379;
  const dir = `${root}.data/redis`;
  redis = await firstRedis(port, dir, true);
  env.REDIS_URL = `redis://127.0.0.1:${port}`;
  say("Started a local redis-server", { url: env.REDIS_URL, dir, pid: redis.pid });
}

// Services started together talk to each other: the site reads this API, on its port.
env.FART_URL ||= `http://${localHost(env)}:${env.FART_PORT || 8000}`;
// ... and the site has its own key, so its visitors are not limited as one client.
Object.assign(env, siteKeyEnv(env));

/** Each service's current process, and whether it has exited. */
const children = new Map<string, { child: Running; exited: boolean }>();
const childEnv = Object.fromEntries(
  Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
);
let stopping = false;
/** Aborted on stop: no process is started again from then on. */
const stopped = new AbortController();

function startService(spec: (typeof SERVICES)[number], restarts = 0): Running {
  const args = serviceArgs(spec, env);
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    env: childEnv,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  forward(child.stdout, spec.name, "info");
  forward(child.stderr, spec.name, "error");
  const entry = { child, exited: false };
  children.set(spec.name, entry);
  say("Started service", {
    name: spec.name,
    pid: child.pid,
    ...(restarts ? { restarts } : {}),
    args: args.slice(0, -1),
  });
  child.status.then(({ code, signal }) => {
    entry.exited = true;
    const clean = stopping && code === 0;
    say(
      "Service exited",
      { name: spec.name, pid: child.pid, code, signal },
      clean ? "info" : "error",
    );
  });
  return child;
}

/** Restarts `name` whenever it exits; stops everything when it crashes too often. */
function watch(name: string, first: Running, start: (restarts: number) => Promise<Running>) {
  let restarts = 0;
  supervise(name, first, {
    start: () => start(++restarts),
    signal: stopped.signal,
    log: say,
  }).then((crashes) => {
    if (crashes === undefined || stopping) return;
    say(
      `Cannot keep ${name} running: it crashed ${crashes} times within a minute; stopping the platform`,
      { name, crashes },
      "error",
    );
    return stop(1);
  });
}

async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  stopped.abort();
  say("Stopping");
  const running = [...children].filter(([, entry]) => !entry.exited);
  for (const [, { child }] of running) {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
  }
  // Services give up on pending writes after 10 s; past that, something is stuck.
  const force = setTimeout(() => {
    for (const [name, { child }] of running) {
      try {
        child.kill("SIGKILL");
        say("Killed a service that did not stop", { name }, "error");
      } catch { /* gone */ }
    }
  }, 20_000);
  const statuses = await Promise.all(running.map(([, { child }]) => child.status));
  clearTimeout(force);
  await replay?.close();
  await standIn?.shutdown();
  if (redis) {
    try {
      redis.kill("SIGTERM");
    } catch { /* already gone */ }
    await redis.status;
    say("Stopped redis-server", { pid: redis.pid });
  }
  if (demo) await Deno.remove(demoDir, { recursive: true }).catch(() => {});
  Deno.exit(code || (statuses.every((s) => s.code === 0) ? 0 : 1));
}
Deno.addSignalListener("SIGINT", () => stop(0));
Deno.addSignalListener("SIGTERM", () => stop(0));

for (const spec of SERVICES) {
  const unset = unsetNeeds(spec, env);
  if (unset.length > 0) {
    say(`The ${spec.name} is off: ${unset.join(", ")} is not set`, { name: spec.name });
    continue;
  }
  watch(spec.name, startService(spec), (restarts) => Promise.resolve(startService(spec, restarts)));
}
if (redis && redisStart) {
  const again = redisStart;
  watch("redis", redis, async (restarts) => {
    redis = await again();
    say("Started redis-server again", { url: env.REDIS_URL, pid: redis.pid, restarts });
    return redis;
  });
}
