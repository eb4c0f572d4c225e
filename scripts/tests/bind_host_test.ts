/**
 * Where each service listens, started with the flags `deno task start` gives it: on loopback
 * only by default, so another machine cannot reach it, and on every address with
 * BIND_HOST=0.0.0.0 (what compose.yaml sets in containers). The kernel's table of listening
 * sockets says where; a connection to a non-loopback address of this machine, when it has
 * one, shows what another machine would see.
 */
import assert from "node:assert/strict";
import { freePort, startRedisServer } from "@bsky/shared/testing/redis_server";
import { serviceArgs, SERVICES, type ServiceSpec } from "../services.ts";
import { exampleEnv } from "../testing/example_env.ts";
import { signal } from "../testing/child.ts";

const root = new URL("../..", import.meta.url).pathname;

/** Addresses with a socket listening on TCP `port`, from /proc/net/tcp and tcp6. */
async function listeners(port: number): Promise<string[]> {
  const out: string[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await Deno.readTextFile(file).catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== "0A" || !local) continue; // 0A: LISTEN
      const [hex, portHex] = local.split(":");
      if (parseInt(portHex, 16) !== port) continue;
      if (hex.length === 8) {
        // IPv4, its bytes in host (little-endian) order.
        out.push(hex.match(/../g)!.reverse().map((b) => parseInt(b, 16)).join("."));
      } else {
        out.push(hex === "0".repeat(32) ? "::" : `ipv6:${hex}`);
      }
    }
  }
  return out;
}

/** An IPv4 address of this machine other than loopback, if it has one. */
function outsideAddress(): string | undefined {
  return Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."))
    ?.address;
}

async function reaches(hostname: string, port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname, port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** An environment in which `spec` runs here on free ports, with BIND_HOST as given. */
function envFor(spec: ServiceSpec, redisUrl: string, bindHost?: string): Record<string, string> {
  const env: Record<string, string> = {
    REDIS_URL: redisUrl,
    // Nothing answers there: the firehose keeps trying, its ops server up meanwhile.
    FIREHOSE_URL: "ws://127.0.0.1:1",
    FART_URL: `http://127.0.0.1:${freePort()}`,
    LOG_LEVEL: "error",
    ...exampleEnv(spec),
    ...(bindHost ? { BIND_HOST: bindHost } : {}),
  };
  for (const name of spec.env) if (name.endsWith("_PORT")) env[name] = String(freePort());
  return env;
}

/** Runs `spec` with exactly its flags until `fn` is done; `fn` gets the port it serves. */
async function withService(
  spec: ServiceSpec,
  env: Record<string, string>,
  fn: (port: number) => Promise<void>,
) {
  const inherited = Object.fromEntries(
    ["HOME", "DENO_DIR", "PATH"].flatMap((k) => Deno.env.get(k) ? [[k, Deno.env.get(k)!]] : []),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: serviceArgs(spec, env),
    cwd: root,
    env: { ...inherited, ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = Promise.all([child.stdout, child.stderr].map((s) => new Response(s).text()));
  let running = true;
  const status = child.status.finally(() => running = false);
  try {
    const url = spec.health(env);
    const deadline = Date.now() + 60_000;
    let answered = false;
    while (!answered && running && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      answered = await fetch(url).then(async (r) => (await r.body?.cancel(), true), () => false);
    }
    if (!answered) {
      // What the service said, when it stopped by itself or never answered.
      const exited = !running;
      if (running) signal(child, "SIGTERM");
      const [{ code }, [stdout, stderr]] = await Promise.all([status, output]);
      assert.fail(
        `${spec.name} does not answer at ${url}: ${
          exited ? `it exited with code ${code}` : "not within 60 s"
        }\n${stdout}\n${stderr}`,
      );
    }
    await fn(Number(new URL(url).port));
  } finally {
    if (running) signal(child, "SIGTERM");
    await Promise.all([status, output]);
  }
}

for (const spec of SERVICES) {
  Deno.test(`${spec.name} listens on loopback only by default, and on every address with BIND_HOST=0.0.0.0`, async () => {
    await using redis = await startRedisServer();
    const outside = outsideAddress();
    await withService(spec, envFor(spec, redis.url), async (port) => {
      assert.deepEqual(await listeners(port), ["127.0.0.1"]);
      if (outside) assert.equal(await reaches(outside, port), false, `not at ${outside}:${port}`);
    });
    await withService(spec, envFor(spec, redis.url, "0.0.0.0"), async (port) => {
      assert.deepEqual(await listeners(port), ["0.0.0.0"]);
      if (outside) assert.equal(await reaches(outside, port), true, `at ${outside}:${port}`);
    });
  });
}
