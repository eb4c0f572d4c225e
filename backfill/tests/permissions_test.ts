/**
 * `deno task backfill` runs the backfill with scoped flags (scripts/services.ts BACKFILL):
 * its source host, Redis and its metrics port, its own variables, nothing else; with them it
 * is refused anything outside, and a setting that does not parse stops it naming it.
 */
import assert from "node:assert/strict";
import { freePort } from "@bsky/shared/testing/redis_server";
import { BACKFILL, serviceArgs } from "../../scripts/services.ts";

const root = new URL("../..", import.meta.url).pathname;
const PROBE = new URL("../../scripts/testing/permission_probe.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

async function run(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  return { code: out.code, out: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

const env = () => ({
  REDIS_URL: "redis://127.0.0.1:6390",
  BACKFILL_SOURCE_URL: "https://pds.example.com",
  BACKFILL_METRICS_PORT: String(freePort()),
});

Deno.test("the backfill's flags list its source host, Redis and metrics port, and nothing is unscoped", () => {
  const e = env();
  const args = serviceArgs(BACKFILL, e);
  assert.equal(args.at(-1), "backfill/main.ts");
  const net = args.find((a) => a.startsWith("--allow-net="))!;
  assert.deepEqual(net.slice("--allow-net=".length).split(",").sort(), [
    `127.0.0.1:${e.BACKFILL_METRICS_PORT}`,
    "127.0.0.1:6390",
    "pds.example.com:443",
  ]);
  for (const arg of args.filter((a) => a.startsWith("-"))) {
    assert.match(arg, /^--(allow-(net|env)=[^*]+|quiet)$/, arg);
  }
  const other = serviceArgs(BACKFILL, { ...e, BACKFILL_SOURCE_URL: "http://10.0.0.5:2583" });
  assert.ok(other.some((a) => a.startsWith("--allow-net=") && a.includes("10.0.0.5:2583")));
});

Deno.test("with its flags the backfill is refused another host, a variable not its own, files and programs", async () => {
  const e = env();
  const args = serviceArgs(BACKFILL, e);
  const probe = {
    outsideHost: "permission-probe.invalid",
    undeclaredEnv: "PERMISSION_PROBE_UNDECLARED",
    env: BACKFILL.env,
    net: BACKFILL.net(e),
  };
  const { code, out } = await run(
    [...args.slice(0, -1), `--preload=${PROBE}`, args.at(-1)!, JSON.stringify(probe)],
    { ...e, PERMISSION_PROBE_UNDECLARED: "secret" },
  );
  assert.equal(code, 0, out);
  const report = JSON.parse(out.trim().split("\n").pop()!);
  for (const kind of ["net", "env", "read", "write", "run"]) {
    assert.match(report[kind], new RegExp(`^NotCapable: Requires ${kind} access`), kind);
  }
  assert.deepEqual(report.declaredEnv, BACKFILL.env.map(() => "granted"));
  assert.deepEqual(report.declaredNet, probe.net.map(() => "granted"));
});

Deno.test("the backfill exits 1 naming a setting that does not parse", async () => {
  const e = { ...env(), BACKFILL_CONCURRENCY: "many" };
  const { code, out } = await run(serviceArgs(BACKFILL, e), e);
  assert.equal(code, 1, out);
  const line = JSON.parse(out.trim().split("\n").pop()!);
  assert.equal(line.service, "backfill");
  assert.match(line.msg, /BACKFILL_CONCURRENCY: "many" is not an integer/);
});
