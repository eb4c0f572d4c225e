/**
 * Test helpers: the whole platform as separate processes, each started the way
 * `deno task start` starts it (its entry and exactly its scoped flags), which a test can
 * kill and start again one at a time.
 */
import assert from "node:assert/strict";
import { freePort } from "@bsky/shared/testing/redis_server";
import { settled } from "@bsky/shared/testing/settled";
import { serviceArgs, SERVICES, unsetNeeds } from "../services.ts";

const root = new URL("../../", import.meta.url).pathname;

/**
 * Starts one service as a process with exactly its scoped flags and resolves once it
 * answers. Its log lines show when PLATFORM_DEBUG (or `debugVar`) is set; crashes always.
 */
export async function spawnService(
  name: string,
  given: Record<string, string>,
  debugVar = "PLATFORM_DEBUG",
): Promise<Deno.ChildProcess> {
  const spec = SERVICES.find((s) => s.name === name);
  if (!spec) throw new Error(`No service "${name}"`);
  // A metrics port the test leaves unset is a free one: processes never collide on a default
  // (two APIs in one test, or tests running side by side).
  const env: Record<string, string> = { ...given };
  for (const port of spec.env.filter((n) => n.endsWith("_METRICS_PORT") && !env[n])) {
    env[port] = String(freePort());
  }
  // The site's bundler finds esbuild in Deno's cache, through HOME or DENO_DIR.
  const inherited = Object.fromEntries(
    ["HOME", "DENO_DIR", "PATH"].flatMap((k) => Deno.env.get(k) ? [[k, Deno.env.get(k)!]] : []),
  );
  const debug = Boolean(Deno.env.get(debugVar) || Deno.env.get("PLATFORM_DEBUG"));
  const child = new Deno.Command(Deno.execPath(), {
    args: serviceArgs(spec, env),
    cwd: root,
    env: { ...inherited, ...env },
    clearEnv: true,
    stdout: debug ? "inherit" : "null",
    stderr: "inherit",
  }).spawn();
  const url = spec.health(env);
  try {
    await settled(async () => {
      const status = await Promise.race([child.status, Promise.resolve(undefined)]);
      if (status) throw new Error(`${name} exited with ${status.code} while starting`);
      const res = await fetch(url);
      await res.body?.cancel();
      assert.equal(res.status, 200, `${name} is not ready`);
    }, 60_000);
  } catch (err) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    throw err;
  }
  return child;
}

export class Platform implements AsyncDisposable {
  readonly #children = new Map<string, Deno.ChildProcess>();
  readonly #env: Record<string, string>;

  constructor(env: Record<string, string>) {
    this.#env = env;
  }

  /** The services to start: those whose needed settings the environment has. */
  get names(): string[] {
    return SERVICES.filter((s) => unsetNeeds(s, this.#env).length === 0).map((s) => s.name);
  }

  /**
   * Starts one service and waits until it answers; `as` names a further process of the same
   * service (another indexer), started with `overrides` over the platform's settings.
   */
  async start(name: string, as = name, overrides: Record<string, string> = {}): Promise<void> {
    this.#children.set(as, await spawnService(name, { ...this.#env, ...overrides }));
  }

  async startAll(): Promise<void> {
    for (const name of this.names) await this.start(name);
  }

  /** Kills one process (SIGKILL unless said otherwise) and waits for it to be gone. */
  async kill(name: string, signal: Deno.Signal = "SIGKILL"): Promise<void> {
    const child = this.#children.get(name);
    if (!child) return;
    this.#children.delete(name);
    try {
      child.kill(signal);
    } catch { /* already gone */ }
    await child.status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const name of [...this.#children.keys()].reverse()) await this.kill(name, "SIGTERM");
  }
}
