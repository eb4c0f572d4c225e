import assert from "node:assert/strict";
import { commonEnv, env, listenEnv, loadConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";

const from = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("loadConfig() applies defaults when variables are unset or empty", () => {
  const config = loadConfig({ ...commonEnv, N: env.int(3) }, from({ N: "" }));
  assert.deepEqual(config, {
    REDIS_URL: "redis://127.0.0.1:6379",
    LOG_LEVEL: "info",
    BIND_HOST: "127.0.0.1",
    REDIS_CLUSTER_NODES: [],
    N: 3,
  });
});

Deno.test("BIND_HOST is loopback unless set, and takes an IP address or a host name but nothing more", () => {
  const bind = (value: string) => loadConfig(listenEnv, from({ BIND_HOST: value })).BIND_HOST;
  assert.equal(bind(""), "127.0.0.1");
  for (const host of ["0.0.0.0", "10.1.2.3", "::", "::1", "fd00::2", "localhost", "api.internal"]) {
    assert.equal(bind(host), host);
  }
  for (
    const bad of ["0.0.0.0:8000", "[::1]", "http://0.0.0.0", "1.2.3", "300.1.1.1", "a b", "a/b"]
  ) {
    assert.throws(
      () => bind(bad),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message ===
          `Cannot parse configuration: BIND_HOST: "${bad}" is not an IP address or host name`,
      bad,
    );
  }
});

Deno.test("loadConfig() parses integers, booleans, URLs and enums", () => {
  const config = loadConfig({
    N: env.int(1, { min: 1 }),
    B: env.bool(false),
    U: env.url(undefined, ["ws", "wss"]),
    E: env.oneOf(["a", "b"] as const, "a"),
    F: env.number(0.5),
  }, from({ N: "12", B: "true", U: "wss://relay.example/", E: "b", F: "2.5" }));
  assert.deepEqual(config, { N: 12, B: true, U: "wss://relay.example", E: "b", F: 2.5 });
});

Deno.test("loadConfig() names the variable and quotes the value that does not parse", () => {
  assert.throws(
    () => loadConfig({ FIREHOSE_PARTITIONS: env.int(1) }, from({ FIREHOSE_PARTITIONS: "abc" })),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.message === 'Cannot parse configuration: FIREHOSE_PARTITIONS: "abc" is not an integer',
  );
});

Deno.test("loadConfig() reports every bad variable at once, never falling back to a default", () => {
  assert.throws(
    () =>
      loadConfig(
        { REDIS_URL: commonEnv.REDIS_URL, N: env.int(1, { min: 1, max: 64 }), R: env.string() },
        from({ REDIS_URL: "http://x", N: "0" }),
      ),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /REDIS_URL: "http:\/\/x" is not a redis or rediss URL/);
      assert.match(err.message, /N: "0" is out of range 1\.\.64/);
      assert.match(err.message, /R: is required/);
      return true;
    },
  );
});

Deno.test("REDIS_CLUSTER_NODES takes a list of host:port seed nodes and names itself when it cannot", () => {
  const nodes = (value: string) => loadConfig(commonEnv, from({ REDIS_CLUSTER_NODES: value }));
  assert.deepEqual(nodes("10.0.0.1:7000, redis-2.internal:7001").REDIS_CLUSTER_NODES, [
    "10.0.0.1:7000",
    "redis-2.internal:7001",
  ]);
  for (const bad of ["10.0.0.1", "10.0.0.1:99999", "a b:7000", "10.0.0.1:7000,,"]) {
    assert.throws(() => nodes(bad), (e: unknown) => {
      assert.ok(e instanceof ConfigError, bad);
      assert.match(e.message, /REDIS_CLUSTER_NODES/);
      return true;
    });
  }
});
