/** Test helpers: the site as a process started the way `deno task start` starts it. */
import assert from "node:assert/strict";
import { settled } from "@bsky/shared/testing/settled";
import { serviceArgs, SERVICES } from "../../scripts/services.ts";

const root = new URL("../../", import.meta.url).pathname;

/** Starts the site with its scoped permissions; resolves once it serves pages. */
export async function spawnSite(env: Record<string, string>): Promise<Deno.ChildProcess> {
  const spec = SERVICES.find((s) => s.name === "site")!;
  // The bundler's esbuild lives in Deno's cache, found through HOME or DENO_DIR.
  const inherited = Object.fromEntries(
    ["HOME", "DENO_DIR", "PATH"].flatMap((k) => Deno.env.get(k) ? [[k, Deno.env.get(k)!]] : []),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: serviceArgs(spec, env),
    cwd: root,
    env: { ...inherited, ...env },
    clearEnv: true,
    stdout: Deno.env.get("SITE_DEBUG") ? "inherit" : "null",
    stderr: "inherit",
  }).spawn();
  await settled(async () => {
    const res = await fetch(`http://127.0.0.1:${env.SITE_PORT}/about`);
    assert.equal(res.status, 200, await res.text());
  }, 30_000);
  return child;
}
