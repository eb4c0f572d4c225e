/**
 * Starts a real redis-server on a free loopback port for tests and benchmarks.
 * Each instance has its own data folder, removed on stop.
 */
import { connectRedis, type Redis } from "../redis.ts";
import { serverArgs } from "../redis_settings.ts";

export interface RedisServerOptions {
  /** Turn on AOF persistence (appendfsync everysec unless said otherwise). */
  appendOnly?: boolean;
  appendFsync?: "always" | "everysec" | "no";
  port?: number;
  extraArgs?: string[];
}

export interface RedisServer extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Kills the server (SIGKILL by default) without removing its data. */
  kill(signal?: Deno.Signal): Promise<void>;
  /** Starts it again on the same port and data folder. */
  start(): Promise<void>;
  /**
   * Sends a signal and returns at once: SIGSTOP stalls the server with its connections
   * open (as a hung host or a network that drops packets would), SIGCONT resumes it.
   */
  signal(signal: "SIGSTOP" | "SIGCONT"): void;
  /** Stops the server and removes its data folder. */
  stop(): Promise<void>;
}

/**
 * Where freePort() looks: below the ephemeral ports (32768 and up on Linux, 49152 and up
 * elsewhere), which the system also gives to outgoing connections. A port asked of the system
 * could be taken by a client's connection before the server it was meant for listens on it.
 */
export const FREE_PORTS = { from: 20_000, to: 32_768 };
/** The ports this process has handed out: none is handed out twice. */
const handedOut = new Set<number>();

/** A port free to listen on (127.0.0.1), from FREE_PORTS, never one handed out before. */
export function freePort(): number {
  const span = FREE_PORTS.to - FREE_PORTS.from;
  const start = Math.floor(Math.random() * span);
  for (let k = 0; k < span; k++) {
    const port = FREE_PORTS.from + (start + k) % span;
    if (handedOut.has(port)) continue;
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
    } catch (err) {
      if (err instanceof Deno.errors.AddrInUse) continue;
      throw err;
    }
    handedOut.add(port);
    return port;
  }
  throw new Error(`No free port from ${FREE_PORTS.from} to ${FREE_PORTS.to - 1}`);
}

async function ping(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(new TextEncoder().encode("PING\r\n"));
      const buf = new Uint8Array(16);
      const n = await conn.read(buf);
      return n !== null && new TextDecoder().decode(buf.subarray(0, n)).startsWith("+PONG");
    } finally {
      conn.close();
    }
  } catch {
    return false;
  }
}

/** Starts redis-server; throws with install advice when it is not on the PATH. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? freePort();
  const dir = await Deno.makeTempDir({ prefix: "redis-test-" });
  let child: Deno.ChildProcess | undefined;
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    options.appendOnly ? "yes" : "no",
    "--appendfsync",
    options.appendFsync ?? "everysec",
    "--daemonize",
    "no",
    "--loglevel",
    "warning",
    ...serverArgs(),
    ...(options.extraArgs ?? []),
  ];
  const start = async () => {
    try {
      child = new Deno.Command("redis-server", { args, stdout: "null", stderr: "null" }).spawn();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new Error(
          "Cannot start redis-server: it is not installed (apt-get install -y redis-server)",
          { cause: err },
        );
      }
      throw err;
    }
    for (let i = 0; i < 200; i++) {
      if (await ping(port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`Cannot start redis-server: no answer on port ${port}`);
  };
  const kill = async (signal: Deno.Signal = "SIGKILL") => {
    if (!child) return;
    try {
      child.kill(signal);
    } catch { /* already gone */ }
    await child.status;
    child = undefined;
  };
  await start();
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    kill,
    start,
    signal: (signal) => child?.kill(signal),
    stop: async () => {
      // A stalled server would never stop.
      try {
        child?.kill("SIGCONT");
      } catch { /* already gone */ }
      await kill("SIGTERM");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
    [Symbol.asyncDispose]: () => server.stop(),
  };
  return server;
}

/** Runs `fn` with a client of a redis-server of its own, stopped afterwards. */
export async function withRedis(fn: (redis: Redis) => Promise<void>): Promise<void> {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    await fn(redis);
  } finally {
    redis.disconnect();
  }
}
