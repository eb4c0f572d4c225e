/** Test helpers: the API as a process started the way `deno task start` starts it. */
import assert from "node:assert/strict";
import { settled } from "@bsky/shared/testing/settled";
import { serviceArgs, SERVICES } from "../../scripts/services.ts";

const root = new URL("../../", import.meta.url).pathname;

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
