/**
 * Each service, started with exactly the flags `deno task start` gives it, is refused
 * whatever lies outside them (another host, an undeclared variable, files, processes), and
 * its own code fails loudly, naming the permission, when it reaches outside.
 */
import assert from "node:assert/strict";
import { freePort, startRedisServer } from "@bsky/shared/testing/redis_server";
import { serviceArgs, SERVICES, type ServiceSpec } from "./services.ts";
import { exampleEnv } from "./testing/example_env.ts";

const root = new URL("..", import.meta.url).pathname;
const PROBE = new URL("./testing/permission_probe.ts", import.meta.url).pathname;
const OUTSIDE_HOST = "permission-probe.invalid";
const UNDECLARED_ENV = "PERMISSION_PROBE_UNDECLARED";
const decoder = new TextDecoder();

/** An environment for `spec` with every port it reads on a free port. */
function envFor(spec: ServiceSpec, redisUrl: string): Record<string, string> {
  const env: Record<string, string> = { REDIS_URL: redisUrl, ...exampleEnv(spec) };
  for (const name of spec.env) if (name.endsWith("_PORT")) env[name] = String(freePort());
  return env;
}

/** Runs `args` with only `env` and returns the exit code and the output. */
async function run(args: string[], env: Record<string, string>, timeoutMs = 60_000) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  return { code: out.code, out: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

const REFUSED = (kind: string) => new RegExp(`^NotCapable: Requires ${kind} access`);

for (const spec of SERVICES) {
  Deno.test(`${spec.name}, started with its task's flags, is refused another host and an undeclared variable`, async () => {
    const env = envFor(spec, "redis://127.0.0.1:6390");
    const args = serviceArgs(spec, env);
    const probe = {
      outsideHost: OUTSIDE_HOST,
      undeclaredEnv: UNDECLARED_ENV,
      env: spec.env,
      net: spec.net(env),
    };
    // The probe runs first, with the same permissions, and exits before the service starts.
    const withProbe = [
      ...args.slice(0, -1),
      `--preload=${PROBE}`,
      args.at(-1)!,
      JSON.stringify(probe),
    ];
    const { code, out } = await run(withProbe, { ...env, [UNDECLARED_ENV]: "secret" });
    assert.equal(code, 0, out);
    const report = JSON.parse(out.trim().split("\n").pop()!);
    assert.match(report.net, REFUSED("net"));
    assert.match(report.net, new RegExp(OUTSIDE_HOST));
    assert.match(report.env, REFUSED("env"));
    assert.match(report.env, new RegExp(UNDECLARED_ENV));
    assert.match(report.envAll, REFUSED("env"));
    assert.match(report.read, REFUSED("read"));
    assert.match(report.write, REFUSED("write"));
    assert.match(report.run, REFUSED("run"));
    // ...while what it declares is granted: the probe ran with the service's own flags.
    assert.deepEqual(report.declaredEnv, spec.env.map(() => "granted"));
    assert.deepEqual(report.declaredNet, probe.net.map(() => "granted"));
  });

  Deno.test(`${spec.name}'s flags are scoped: no -A, and every --allow-* lists what it allows`, () => {
    const envs = [
      {},
      { REDIS_URL: "rediss://user:pw@redis.example.com:6380", FIREHOSE_VERIFY: "true" },
      { REDIS_URL: "redis://[::1]:6379", FIREHOSE_URL: "ws://127.0.0.1:9100" },
    ];
    for (const env of envs) {
      const args = serviceArgs(spec, env);
      assert.equal(args.at(-1), spec.entry);
      for (const arg of args) {
        assert.ok(!["-A", "--allow-all"].includes(arg), `${spec.name}: ${arg}`);
        if (!arg.startsWith("--allow-") && !/^-[A-Za-z]+$/.test(arg)) continue;
        // Short forms (-N, -E, -R...) and bare --allow-net/--allow-env grant everything.
        const m = /^--allow-[a-z-]+=(.+)$/.exec(arg);
        assert.ok(m, `${spec.name} has an unscoped permission: ${arg}`);
        for (const item of m[1].split(",")) {
          assert.ok(item.trim() !== "" && item !== "*", `${spec.name}: "${arg}" lists "${item}"`);
        }
      }
      const flag = (name: string) => args.filter((a) => a.startsWith(`--allow-${name}`));
      assert.equal(flag("net").length, 1, `${spec.name} has one --allow-net`);
      assert.equal(flag("env").length, 1, `${spec.name} has one --allow-env`);
      assert.deepEqual(flag("run"), [], `${spec.name} may not run programs`);
      assert.deepEqual(flag("write"), [], `${spec.name} may not write files`);
    }
  });

  if (spec.env.includes("REDIS_URL")) {
    Deno.test(`${spec.name} exits 1 naming the permission when REDIS_URL is a host its flags do not list`, async () => {
      await using redis = await startRedisServer();
      // Flags computed for one Redis, environment pointing at another (a working one).
      const env = envFor(spec, `redis://127.0.0.1:${freePort()}`);
      const args = serviceArgs(spec, env);
      const { code, out } = await run(args, { ...env, REDIS_URL: redis.url });
      assert.equal(code, 1, out);
      assert.match(out, /Requires net access to \\"127\.0\.0\.1:\d+\\"/);
      assert.ok(out.includes(`127.0.0.1:${redis.port}`), out);
    });
  }

  Deno.test(`${spec.name} exits 1 naming the variable when its flags lack one it reads`, async () => {
    const env = envFor(spec, "redis://127.0.0.1:1");
    const missing = spec.env.at(-1)!;
    const args = serviceArgs({ ...spec, env: spec.env.slice(0, -1) }, env);
    const { code, out } = await run(args, env);
    assert.equal(code, 1, out);
    assert.match(out, new RegExp(`Requires env access to \\\\"${missing}\\\\"`));
  });
}
