/** Each service, started with its own flags, stops at once on a bad setting, naming it. */
import assert from "node:assert/strict";
import { serviceArgs, SERVICES, type ServiceSpec } from "./services.ts";

const root = new URL("..", import.meta.url).pathname;

/** Runs a service with only `env`, as `deno task start` would, and returns its exit. */
async function run(spec: ServiceSpec, env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: serviceArgs(spec, env),
    cwd: root,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
}

/** An integer setting each service reads. */
const INTEGER_SETTING: Record<string, string> = {
  firehose: "FIREHOSE_PARTITIONS",
  indexer: "FIREHOSE_PARTITIONS",
  fart: "FART_RATE_PER_IP",
  site: "SITE_CACHE_SECONDS",
  scheduler: "SCHEDULER_TOP_SIZE",
};

for (const spec of SERVICES) {
  Deno.test(`${spec.name} exits 1 and names the variable when a setting does not parse`, async () => {
    const name = INTEGER_SETTING[spec.name];
    assert.ok(spec.env.includes(name), `${spec.name} reads ${name}`);
    const out = await run(spec, { REDIS_URL: "redis://127.0.0.1:1", [name]: "many" });
    assert.equal(out.code, 1);
    const line = JSON.parse(out.stdout.trim().split("\n").pop()!);
    assert.equal(line.service, spec.name);
    assert.equal(line.level, "error");
    assert.match(line.msg, new RegExp(`${name}: "many" is not an integer`));
  });

  // The site reads only from the API, never from Redis.
  if (!spec.env.includes("REDIS_URL")) continue;
  Deno.test(`${spec.name} exits 1 with a clear message when Redis cannot be reached`, async () => {
    const out = await run(spec, { REDIS_URL: "redis://127.0.0.1:1" });
    assert.equal(out.code, 1);
    assert.match(out.stdout, /Cannot connect to Redis at \\"redis:\/\/127.0.0.1:1\\"/);
  });
}
