/** Test helpers: the API as a process started the way `deno task start` starts it. */
import assert from "node:assert/strict";
import { serviceArgs, SERVICES } from "../../scripts/services.ts";

const root = new URL("../../", import.meta.url).pathname;

/** Retries `check` until it passes or the time is up (then its last error is thrown). */
export async function settled(check: () => Promise<void>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Starts the API as a process with its scoped permissions; resolves once it answers. */
export async function spawnFart(env: Record<string, string>): Promise<Deno.ChildProcess> {
  const spec = SERVICES.find((s) => s.name === "fart")!;
  const child = new Deno.Command(Deno.execPath(), {
    args: serviceArgs(spec, env),
    cwd: root,
    env,
    clearEnv: true,
    stdout: Deno.env.get("FART_DEBUG") ? "inherit" : "null",
    stderr: "inherit",
  }).spawn();
  await settled(async () => {
    const res = await fetch(`http://127.0.0.1:${env.FART_PORT}/healthz`);
    assert.equal(res.status, 200, await res.text());
  }, 20_000);
  return child;
}
