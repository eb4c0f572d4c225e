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
import { applyEnvFile } from "./env_file.ts";
import { type Running, supervise } from "./supervisor.ts";
import { readCaptureFile } from "../firehose/capture.ts";
import {
  type ReplayServer,
  shiftToNow,
  startReplayServer,
} from "../firehose/tools/replay_server.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: { demo: { type: "boolean" }, "env-file": { type: "string" } },
});
const demo = flags.demo ?? false;
const root = new URL("..", import.meta.url).pathname;
const CAPTURE = "testdata/demo-pds/capture.bin.gz";
const env: Record<string, string | undefined> = Deno.env.toObject();
const encoder = new TextEncoder();
let redis: Running | undefined;
let replay: ReplayServer | undefined;
let standIn: Deno.HttpServer | undefined;

/** Writes one line to stdout whole, so lines of different processes never interleave. */
function writeLine(line: string) {
  const bytes = encoder.encode(line + "\n");
  for (let p = 0; p < bytes.length;) p += Deno.stdout.writeSync(bytes.subarray(p));
}

function say(msg: string, fields: Record<string, unknown> = {}, level = "info") {
  writeLine(
    JSON.stringify({ time: new Date().toISOString(), level, service: "start", msg, ...fields }),
  );
}

/** A process's line as a log line of `service`: JSON lines with a service pass through. */
function asLogLine(line: string, service: string, level: string): string {
  try {
    const value = JSON.parse(line);
    if (value && typeof value === "object" && !Array.isArray(value)) {
      return typeof value.service === "string" ? line : JSON.stringify({ service, ...value });
    }
  } catch { /* not JSON: wrapped below */ }
  return JSON.stringify({ time: new Date().toISOString(), level, service, msg: line });
}

async function forward(stream: ReadableStream<Uint8Array>, service: string, level: string) {
  let rest = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true });
    const lines = (rest + text).split("\n");
    rest = lines.pop()!;
    for (const line of lines) if (line.trim()) writeLine(asLogLine(line, service, level));
  }
  rest += decoder.decode();
  if (rest.trim()) writeLine(asLogLine(rest, service, level));
}

function fail(msg: string, fields: Record<string, unknown> = {}): never {
  say(msg, fields, "error");
  try {
    redis?.kill("SIGKILL");
  } catch { /* gone */ }
  Deno.exit(1);
}

async function redisAnswers(port: number): Promise<boolean> {
  try {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(encoder.encode("PING\r\n"));
    const buf = new Uint8Array(16);
    const n = await conn.read(buf);
    return n !== null && new TextDecoder().decode(buf.subarray(0, n)).startsWith("+PONG");
  } catch {
    return false;
  }
}

/** Whether a program runs: spawning one that is not on the PATH throws at once. */
async function runs(program: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(program, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * Installs redis-server when it is missing, as the test command does: scripts/ensure_tools.sh
 * installs Debian's package as root, and otherwise prints the command to run, which the
 * error line then names.
 */
async function ensureRedisServer() {
  if (await runs("redis-server", ["--version"])) return;
  say("redis-server is not installed: installing it with scripts/ensure_tools.sh (apt-get)");
  let installed = false;
  let output = "";
  try {
    const out = await new Deno.Command("bash", {
      args: [`${root}scripts/ensure_tools.sh`, "redis-server"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    installed = out.success;
    output = new TextDecoder().decode(out.stderr).trim();
  } catch (err) {
    output = `Cannot run scripts/ensure_tools.sh: ${(err as Error).message}`;
  }
  if (installed && await runs("redis-server", ["--version"])) {
    say("Installed redis-server");
    return;
  }
  const command = output.match(/(?:sudo )?apt-get install -y [^\n]+/)?.[0] ??
    "sudo apt-get install -y redis-server";
  fail(
    `Cannot start a local redis-server: it is not installed; install it with \`${command}\` ` +
      "or set REDIS_URL to a Redis 7 server",
    output.startsWith("Missing tools") ? {} : { output: output.slice(-2000) },
  );
}

/** Why a local redis-server could not start, with fields for the log line. */
class RedisStartError extends Error {
  override name = "RedisStartError";
  constructor(message: string, readonly fields: Record<string, unknown> = {}) {
    super(message);
  }
}

/** Starts redis-server on 127.0.0.1:`port` and waits until it answers. */
async function startRedis(port: number, dir: string, persist: boolean): Promise<Deno.ChildProcess> {
  await ensureRedisServer();
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
  } catch {
    // Whatever listens there is not ours: never write into it.
    throw new RedisStartError(`Cannot start a local redis-server: port ${port} is in use`, {
      hint: demo ? "set DEMO_REDIS_PORT to a free port" : "set REDIS_URL to use that server",
    });
  }
  await Deno.mkdir(dir, { recursive: true });
  const persistence = persist ? ["--appendonly", "yes"] : ["--appendonly", "no"];
  // In a session of its own, so that Ctrl-C reaches the services first and Redis is
  // stopped after they have written what they hold.
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("setsid", {
      args: ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--dir", dir]
        .concat(persistence, ["--save", "", "--loglevel", "warning"]),
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    throw new RedisStartError(`Cannot start a local redis-server: ${(err as Error).message}`);
  }
  forward(child.stdout, "redis", "info");
  forward(child.stderr, "redis", "error");
  let exited = false;
  child.status.then(() => exited = true);
  for (let i = 0; i < 100 && !exited; i++) {
    if (await redisAnswers(port)) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    child.kill("SIGKILL");
  } catch { /* gone */ }
  throw new RedisStartError("Cannot start a local redis-server", { port, exited });
}

/** The local redis-server's settings, to start it again the same way after a crash. */
let redisStart: (() => Promise<Deno.ChildProcess>) | undefined;

/** Starts the local redis-server, or stops here with a line saying why it cannot. */
async function firstRedis(port: number, dir: string, persist: boolean) {
  redisStart = () => startRedis(port, dir, persist);
  try {
    return await redisStart();
  } catch (err) {
    if (err instanceof RedisStartError) fail(err.message, err.fields);
    throw err;
  }
}

const demoDir = `${root}.data/demo-redis`;

/** The CDN's path of an account's avatar thumbnail (fart/avatar.ts asks for it so). */
const AVATAR_PATH =
  /^\/img\/avatar_thumbnail\/plain\/(did:[a-z]+:[a-zA-Z0-9._:-]+)\/(b[a-z2-7]+)@jpeg$/;

/**
 * The demo's stand-in for the network's services the API and the scheduler ask: the capture's
 * avatars where the CDN serves thumbnails, by DID and blob CID as the sidecar names them, and
 * a 404 for anything else (a DID document, a handle), as the real ones answer for the
 * capture's accounts, which live on no public PDS.
 */
async function startStandIn(sidecar: {
  accounts: { did: string; avatar?: string | null; avatarFile?: string | null }[];
}): Promise<Deno.HttpServer<Deno.NetAddr>> {
  const folder = `${root}${CAPTURE.replace(/[^/]*$/, "")}`;
  const avatars = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const { did, avatar, avatarFile } of sidecar.accounts) {
    if (!avatar || !avatarFile || !/^[\w-]+(\/[\w.-]+)*$/.test(avatarFile)) continue;
    avatars.set(`${did}/${avatar}`, await Deno.readFile(`${folder}${avatarFile}`));
  }
  const { promise: listening, resolve } = Promise.withResolvers<void>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => resolve() },
    (req) => {
      const m = AVATAR_PATH.exec(new URL(req.url).pathname);
      const bytes = m && req.method === "GET" ? avatars.get(`${m[1]}/${m[2]}`) : undefined;
      if (!bytes) return new Response("Not found", { status: 404 });
      return new Response(bytes, {
        headers: { "content-type": "image/jpeg", "cache-control": "public, max-age=86400" },
      });
    },
  );
  await listening;
  return server;
}

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

  const frames = await readCaptureFile(`${root}${CAPTURE}`).catch((err) =>
    fail(`Cannot read the demo capture "${CAPTURE}"`, { err: String(err) })
  );
  const shift = shiftToNow(frames);
  replay = startReplayServer({ frames, port: 0, loops: 1, timeShiftMs: shift });
  Object.assign(env, { FIREHOSE_URL: replay.url, FIREHOSE_SOURCE: "relay", FIREHOSE_VERIFY: "" });
  // The replay goes through the capture once and then stays quiet: that is not a stall.
  env.FIREHOSE_STALL_SECONDS ||= "3600";
  const sidecar = JSON.parse(await Deno.readTextFile(`${root}${CAPTURE}.json`));
  const server = await startStandIn(sidecar).catch((err) =>
    fail("Cannot serve the demo capture's avatars", { err: String(err) })
  );
  standIn = server;
  const local = `http://127.0.0.1:${server.addr.port}`;
  // Every outside service a process would ask is the stand-in: the demo stays on this machine.
  Object.assign(env, {
    FART_AVATAR_CDN_URL: local,
    FART_PLC_URL: local,
    FART_HANDLE_RESOLVER_URL: local,
    SCHEDULER_PLC_URL: local,
    SCHEDULER_HANDLE_RESOLVER_URL: local,
    FIREHOSE_PLC_URL: local,
  });
  say("Serving the capture's avatars, and standing in for the directory and handle resolver", {
    url: local,
  });
  say("Replaying a recorded PDS capture with its event times moved to now", {
    url: replay.url,
    frames: frames.length,
    shiftedByHours: Math.round(shift / 36e5),
    try: `http://127.0.0.1:${env.FART_PORT || 8000}/v1/circles/${
      sidecar.accounts[0].handle
    }.svg?window=24h`,
  });
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
