/** Each service, started with its own flags, stops at once on a bad setting, naming it. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { serviceArgs, SERVICES, type ServiceSpec, siteKeyEnv } from "./services.ts";
import { apiKeyHashes, loadFartConfig } from "../fart/config.ts";
import { exampleEnv } from "./testing/example_env.ts";

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
  tasker: "TASKER_COOLDOWN_SECONDS",
};

for (const spec of SERVICES) {
  Deno.test(`${spec.name} exits 1 and names the variable when a setting does not parse`, async () => {
    const name = INTEGER_SETTING[spec.name];
    assert.ok(spec.env.includes(name), `${spec.name} reads ${name}`);
    const out = await run(spec, {
      REDIS_URL: "redis://127.0.0.1:1",
      ...exampleEnv(spec),
      [name]: "many",
    });
    assert.equal(out.code, 1);
    const line = JSON.parse(out.stdout.trim().split("\n").pop()!);
    assert.equal(line.service, spec.name);
    assert.equal(line.level, "error");
    assert.match(line.msg, new RegExp(`${name}: "many" is not an integer`));
  });

  // The site reads only from the API, never from Redis.
  if (!spec.env.includes("REDIS_URL")) continue;
  Deno.test(`${spec.name} exits 1 with a clear message when Redis cannot be reached`, async () => {
    const out = await run(spec, { REDIS_URL: "redis://127.0.0.1:1", ...exampleEnv(spec) });
    assert.equal(out.code, 1);
    assert.match(out.stdout, /Cannot connect to Redis at \\"redis:\/\/127.0.0.1:1\\"/);
  });
}

Deno.test("siteKeyEnv() gives the site a key the API knows, and keeps configured keys", () => {
  const sha = (key: string) => createHash("sha256").update(key).digest("hex");
  // Nothing configured: a fresh key each run; the API still serves callers without one.
  const fresh = siteKeyEnv({});
  assert.ok(fresh.SITE_FART_KEY.length >= 32);
  assert.notEqual(siteKeyEnv({}).SITE_FART_KEY, fresh.SITE_FART_KEY);
  const config = loadFartConfig((name) => fresh[name]);
  assert.equal(apiKeyHashes(config).get(sha(fresh.SITE_FART_KEY)), "site");
  assert.equal(config.FART_KEYS_OPTIONAL, true);
  // A site key that is set is added to the API's keys, which stay required if they were.
  const partner = `partner:${sha("p")}`;
  assert.deepEqual(siteKeyEnv({ SITE_FART_KEY: "s", FART_API_KEYS: partner }), {
    SITE_FART_KEY: "s",
    FART_API_KEYS: `${partner},site:${sha("s")}`,
  });
  // Already listed: nothing changes. Keys required and no site key: none is invented.
  assert.deepEqual(siteKeyEnv({ SITE_FART_KEY: "s", FART_API_KEYS: `web:${sha("s")}` }), {
    SITE_FART_KEY: "s",
  });
  assert.deepEqual(siteKeyEnv({ FART_API_KEYS: partner }), {});
});
