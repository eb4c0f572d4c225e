/**
 * The local Redis Cluster the Cluster tests run on: 3 masters and 3 replicas that serve
 * every slot, a master killed with SIGKILL whose replica takes over with the data written
 * before, slots moved between masters, and nothing left behind once stopped. Also the
 * client every service gets from connectRedis() with REDIS_CLUSTER_NODES.
 */
import assert from "node:assert/strict";
import { connectRedis, isCluster, type RedisClient } from "../redis.ts";
import { commonEnv, loadConfig } from "../config.ts";
import { startRedisCluster } from "./redis_cluster.ts";

const KEYS = Array.from({ length: 300 }, (_, i) => `k:${i}`);

async function answers(port: number): Promise<boolean> {
  try {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("PING\r\n"));
    return (await conn.read(new Uint8Array(16))) !== null;
  } catch {
    return false;
  }
}

Deno.test("a local Redis Cluster: 3 masters with a replica each, failover keeps what was written, resharding moves slots, stop leaves nothing", async () => {
  const cluster = await startRedisCluster();
  let stopped = false;
  try {
    const nodes = await cluster.topology();
    const masters = nodes.filter((n) => n.role === "master");
    const replicas = nodes.filter((n) => n.role === "replica");
    assert.equal(masters.length, 3);
    assert.equal(replicas.length, 3);
    assert.equal(masters.reduce((n, m) => n + m.slots, 0), 16384, "every slot is served");
    for (const m of masters) {
      assert.equal(replicas.filter((r) => r.masterId === m.id).length, 1, "one replica each");
    }
    for (const port of cluster.ports) {
      assert.match(await cluster.cli(port, "CLUSTER", "INFO"), /^cluster_state:ok\r?$/m);
    }

    // One setting: the services' configuration selects the cluster over REDIS_URL.
    const config = loadConfig(
      commonEnv,
      (name) => ({ REDIS_URL: "redis://127.0.0.1:1", REDIS_CLUSTER_NODES: cluster.nodes })[name],
    );
    const redis = await connectRedis(config, { name: "test" });
    try {
      assert.equal(isCluster(redis), true);
      for (const k of KEYS) await redis.set(k, `v${k}`);
      // Keys of many slots: on every master.
      const owners = new Set(await Promise.all(KEYS.slice(0, 30).map((k) => cluster.masterOf(k))));
      assert.equal(owners.size, 3);
      // What each master holds is on its replica before the kill: WAIT on the connections
      // that wrote (on another connection it would answer at once, whatever the replica has).
      const client = redis as RedisClient;
      const writers = isCluster(client) ? client.nodes("master") : [];
      assert.equal(writers.length, 3);
      for (const node of writers) assert.equal(await node.wait(1, 5000), 1);

      const victim = await cluster.masterOf("k:0");
      const oldReplica = replicas.find((r) =>
        r.masterId === masters.find((m) => m.port === victim)!.id
      )!;
      const promoted = await cluster.killMaster(victim);
      assert.equal(promoted, oldReplica.port, "its replica took over");
      const after = await cluster.topology();
      assert.equal(after.find((n) => n.port === promoted)!.role, "master");
      assert.ok(after.find((n) => n.port === victim)!.failed);
      assert.equal(await cluster.masterOf("k:0"), promoted);
      assert.ok(!await answers(victim), "the killed master is gone");
      // Everything written before is readable after, through the same client.
      const values = await Promise.all(KEYS.map((k) => redis.get(k)));
      assert.deepEqual(values, KEYS.map((k) => `v${k}`));

      // The killed node comes back as a replica of the one that replaced it.
      await cluster.restart(victim);
      const back = (await cluster.topology()).find((n) => n.port === victim)!;
      assert.equal(back.role, "replica");
      assert.equal(back.masterId, after.find((n) => n.port === promoted)!.id);

      // 100 slots, and the keys in them, move to another master.
      const current = (await cluster.topology()).filter((n) => n.role === "master");
      const [a, b] = current;
      await cluster.reshard(a.port, b.port, 100);
      const moved = await cluster.topology();
      assert.equal(moved.find((n) => n.id === a.id)!.slots, a.slots - 100);
      assert.equal(moved.find((n) => n.id === b.id)!.slots, b.slots + 100);
      assert.deepEqual(await Promise.all(KEYS.map((k) => redis.get(k))), KEYS.map((k) => `v${k}`));
    } finally {
      redis.disconnect();
    }
    await cluster.stop();
    stopped = true;
    for (const port of cluster.ports) assert.ok(!await answers(port), `port ${port} is closed`);
    await assert.rejects(Deno.stat(cluster.dir), Deno.errors.NotFound);
  } finally {
    if (!stopped) await cluster.stop();
  }
});

Deno.test("REDIS_CLUSTER_NODES takes host:port lists and names what is wrong", () => {
  const parse = (value: string) =>
    loadConfig(commonEnv, (name) => name === "REDIS_CLUSTER_NODES" ? value : undefined);
  assert.deepEqual(parse("10.0.0.1:7000, redis-2.internal:7001,[::1]:7002").REDIS_CLUSTER_NODES, [
    "10.0.0.1:7000",
    "redis-2.internal:7001",
    "[::1]:7002",
  ]);
  assert.deepEqual(parse("").REDIS_CLUSTER_NODES, [], "empty is unset");
  assert.throws(
    () => parse("10.0.0.1:7000,10.0.0.2"),
    /REDIS_CLUSTER_NODES: "10.0.0.1:7000,10.0.0.2" is not a list of host:port \(such as 10.0.0.1:7000,10.0.0.2:7000\): "10.0.0.2" is not host:port/,
  );
  assert.throws(() => parse("10.0.0.1:70000"), /"10.0.0.1:70000" has no port in 1..65535/);
  assert.throws(() => parse("::1:7000"), /"::1:7000" is not host:port/);
  assert.throws(() => parse("a b:7000"), /does not start with an IP address or host name/);
  assert.throws(() => parse("redis://h:7000"), /is not host:port/);
});

Deno.test("connectRedis names the cluster it cannot reach", async () => {
  await assert.rejects(
    connectRedis({ REDIS_URL: "redis://127.0.0.1:1", REDIS_CLUSTER_NODES: ["127.0.0.1:1"] }, {
      name: "test",
      connectTimeoutMs: 1500,
    }),
    /Cannot connect to Redis at the Redis Cluster at 127.0.0.1:1: /,
  );
});
