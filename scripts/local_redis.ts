/**
 * The local redis-server the starter runs when no Redis is set: installed when missing (the
 * way the tests' tools are, scripts/ensure_tools.sh), started on 127.0.0.1 in a session of
 * its own with its data folder, and waited for until it answers PING.
 */
import { serverArgs } from "@bsky/shared/redis_settings";
import { forward, say } from "./log_stream.ts";

/** Stops the starter with an error line. */
export type Fail = (msg: string, fields?: Record<string, unknown>) => never;

const encoder = new TextEncoder();

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
async function ensureRedisServer(root: string, fail: Fail) {
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
export class RedisStartError extends Error {
  override name = "RedisStartError";
  constructor(message: string, readonly fields: Record<string, unknown> = {}) {
    super(message);
  }
}

/** Starts redis-server on 127.0.0.1:`port` and waits until it answers. */
export async function startRedis(
  { port, dir, persist, root, portHint, fail }: {
    port: number;
    dir: string;
    persist: boolean;
    root: string;
    /** What to do when the port is taken, for the error line. */
    portHint: string;
    fail: Fail;
  },
): Promise<Deno.ChildProcess> {
  await ensureRedisServer(root, fail);
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
  } catch {
    // Whatever listens there is not ours: never write into it.
    throw new RedisStartError(`Cannot start a local redis-server: port ${port} is in use`, {
      hint: portHint,
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
        .concat(persistence, ["--save", "", "--loglevel", "warning"], serverArgs()),
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
