/**
 * `deno task start`: every service in its own permission-scoped process, one log stream,
 * clean shutdown on Ctrl-C. Without REDIS_URL, a local redis-server with its own data
 * folder (.data/redis, AOF on) is started and stopped with the platform.
 */
import { serviceArgs, SERVICES } from "./services.ts";

const root = new URL("..", import.meta.url).pathname;
const env: Record<string, string | undefined> = Deno.env.toObject();
const children: { name: string; child: Deno.ChildProcess }[] = [];
const say = (msg: string, fields: Record<string, unknown> = {}) =>
  console.log(
    JSON.stringify({
      time: new Date().toISOString(),
      level: "info",
      service: "start",
      msg,
      ...fields,
    }),
  );

async function pipe(stream: ReadableStream<Uint8Array>, out: typeof Deno.stdout) {
  for await (const chunk of stream) await out.write(chunk);
}

let redis: Deno.ChildProcess | undefined;
if (!env.REDIS_URL) {
  const port = 6379;
  const dir = `${root}.data/redis`;
  await Deno.mkdir(dir, { recursive: true });
  const installed = await new Deno.Command("redis-server", { args: ["--version"], stdout: "null" })
    .output().then(() => true, () => false);
  if (!installed) {
    console.error(
      "redis-server is not installed. Install it with:\n  sudo apt-get install -y redis-server\n" +
        "or set REDIS_URL to a Redis 7 server.",
    );
    Deno.exit(1);
  }
  try {
    // In a session of its own, so that Ctrl-C reaches the services first and Redis is
    // stopped after they have written what they hold.
    redis = new Deno.Command("setsid", {
      args: [
        "redis-server",
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--appendonly",
        "yes",
        "--save",
        "",
      ],
      stdout: "null",
      stderr: "inherit",
    }).spawn();
  } catch (err) {
    throw new Error("Cannot start redis-server", { cause: err });
  }
  env.REDIS_URL = `redis://127.0.0.1:${port}`;
  say("Started a local redis-server", { url: env.REDIS_URL, dir });
  await new Promise((r) => setTimeout(r, 300));
}

const deno = Deno.execPath();
for (const spec of SERVICES) {
  const args = serviceArgs(spec, env);
  const child = new Deno.Command(deno, {
    args,
    cwd: root,
    env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<
      string,
      string
    >,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  pipe(child.stdout, Deno.stdout);
  pipe(child.stderr, Deno.stderr);
  children.push({ name: spec.name, child });
  say("Started service", { name: spec.name, args: args.slice(0, -1) });
}

let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  say("Stopping");
  for (const { child } of children) {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
  }
  await Promise.all(children.map(({ child }) => child.status));
  if (redis) {
    redis.kill("SIGTERM");
    await redis.status;
  }
  Deno.exit(code);
}
Deno.addSignalListener("SIGINT", () => stop(0));
Deno.addSignalListener("SIGTERM", () => stop(0));
const first = await Promise.race(
  children.map(async ({ name, child }) => ({ name, status: await child.status })),
);
if (!stopping) {
  say("A service exited; stopping the platform", { name: first.name, code: first.status.code });
  await stop(1);
}
