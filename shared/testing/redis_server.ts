/**
 * Starts a real redis-server on a free loopback port for tests and benchmarks.
 * Each instance has its own data folder, removed on stop.
 */
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

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
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
