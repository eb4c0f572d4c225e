/**
 * crossSlotPipeline() on a real redis-server and on a real local Redis Cluster (3 masters,
 * 3 replicas): replies in the order of the commands, Buffer variants, errors in place, a
 * slot migrating (ASK) and moved (MOVED) meanwhile, and a master that does not answer.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { keySlot, masterOf } from "./cluster.ts";
import { crossSlotPipeline, type PipelineReply } from "./pipeline.ts";
import { type Cluster, connectRedis, isCluster, isRedisUnavailable, type Redis } from "./redis.ts";
import { startRedisCluster } from "./testing/redis_cluster.ts";
import { startRedisServer } from "./testing/redis_server.ts";

const ACCOUNTS = 60;
const str = (i: number) => `s:{acct${i}}`;
const hash = (i: number) => `h:{acct${i}}`;
/** Bytes that are not UTF-8, as the store's values are. */
const bytes = (i: number) => Buffer.from([0xff, 0x00, i, 0xfe, 0x80]);

async function fill(redis: Redis) {
  for (let i = 0; i < ACCOUNTS; i++) {
    await redis.set(str(i), `v${i}`);
    await redis.hset(hash(i), "f", bytes(i), "n", String(i));
  }
}

/** A command of each kind per account, and what each must answer. */
function commands(pipe: ReturnType<typeof crossSlotPipeline>) {
  const expected: unknown[] = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    pipe.get(str(i));
    expected.push(`v${i}`);
    pipe.hgetBuffer(hash(i), "f");
    expected.push(bytes(i));
    pipe.getBuffer(str(i));
    expected.push(Buffer.from(`v${i}`));
    (pipe as unknown as { callBuffer(...a: string[]): void }).callBuffer("HGET", hash(i), "f");
    expected.push(bytes(i));
    pipe.hmget(hash(i), "n", "none");
    expected.push([String(i), null]);
  }
  return expected;
}

function values(replies: PipelineReply[]): unknown[] {
  return replies.map(([err, v], k) => {
    assert.equal(err, null, `reply ${k}`);
    return v instanceof Uint8Array ? Buffer.from(v) : v;
  });
}

Deno.test("keySlot() of a key given as bytes is that of its text", () => {
  const encode = (k: string) => new TextEncoder().encode(k);
  for (const key of ["123456789", "foo{123456789}bar", "p:{42}", "é{ü}"]) {
    assert.equal(keySlot(encode(key)), keySlot(key), key);
  }
  assert.equal(keySlot(Buffer.from([0x7b, 0xff, 0x7d])), keySlot(Buffer.from([0xff])));
});

Deno.test("crossSlotPipeline() on one server is its pipeline: replies in order, Buffers, errors in place", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    await fill(redis);
    const pipe = crossSlotPipeline(redis);
    const expected = commands(pipe);
    pipe.get(hash(0));
    assert.equal(pipe.length, expected.length + 1);
    const replies = (await pipe.exec())!;
    assert.deepEqual(values(replies.slice(0, -1)), expected);
    assert.match(replies.at(-1)![0]!.message, /^WRONGTYPE/);
    const listed = await crossSlotPipeline(redis, [["get", str(1)], ["strlen", str(12)]]).exec();
    assert.deepEqual(listed, [[null, "v1"], [null, 3]]);
    assert.deepEqual(await crossSlotPipeline(redis).exec(), []);
  } finally {
    redis.disconnect();
  }
});

Deno.test("crossSlotPipeline() on a Redis Cluster: a pipeline per master, replies in order, through a slot's migration and a master that does not answer", async () => {
  await using cluster = await startRedisCluster();
  const redis = await cluster.connect();
  const failFast = await connectRedis(
    { REDIS_URL: "redis://127.0.0.1:1", REDIS_CLUSTER_NODES: cluster.nodes.split(",") },
    { name: "test", failFastMs: 1500 },
  );
  try {
    assert.equal(isCluster(redis), true);
    const c = redis as unknown as Cluster;
    await fill(redis);
    const masters = new Set<number>();
    for (let i = 0; i < ACCOUNTS; i++) masters.add(await cluster.masterOf(str(i)));
    assert.equal(masters.size, 3, "the accounts' keys are on every master");

    // The cluster client refuses one pipeline over them.
    const plain = redis.pipeline();
    for (let i = 0; i < ACCOUNTS; i++) plain.get(str(i));
    await assert.rejects(plain.exec(), /same slots allocation group/);

    const pipe = crossSlotPipeline(redis);
    const expected = commands(pipe);
    pipe.get(hash(0)).mget(str(0), str(1)).ping();
    const replies = (await pipe.exec())!;
    assert.equal(replies.length, expected.length + 3);
    assert.deepEqual(values(replies.slice(0, -3)), expected);
    const [wrongType, crossSlot, pong] = replies.slice(-3);
    assert.match(wrongType[0]!.message, /^WRONGTYPE/, "a command's error stays in its place");
    assert.match(crossSlot[0]!.message, /^CROSSSLOT/, "a command over two slots is refused");
    assert.deepEqual(pong, [null, "PONG"], "a command without a key is answered");
    const listed = await crossSlotPipeline(redis, [["get", str(1)], ["strlen", str(12)]]).exec();
    assert.deepEqual(listed, [[null, "v1"], [null, 3]]);
    assert.deepEqual(await crossSlotPipeline(redis).exec(), []);

    // A slot migrating: one of its two keys moved, the other not yet. The source answers
    // ASK for the first; the second is still read where it is.
    const moving = ["m:{mig}:1", "m:{mig}:2"];
    for (const key of moving) await redis.set(key, key);
    const slot = keySlot(moving[0]);
    const from = await cluster.masterOf(moving[0]);
    const others = [...masters].filter((p) => p !== from);
    const to = others[0];
    const id = async (port: number) => (await cluster.cli(port, "CLUSTER", "MYID")).trim();
    const [fromId, toId] = [await id(from), await id(to)];
    await cluster.cli(to, "CLUSTER", "SETSLOT", String(slot), "IMPORTING", fromId);
    await cluster.cli(from, "CLUSTER", "SETSLOT", String(slot), "MIGRATING", toId);
    const migrate = (key: string) =>
      cluster.cli(from, "MIGRATE", "127.0.0.1", String(to), "", "0", "5000", "KEYS", key);
    await migrate(moving[0]);
    const read = async () => {
      const p = crossSlotPipeline(redis);
      for (let i = 0; i < ACCOUNTS; i++) p.get(str(i));
      for (const key of moving) p.getBuffer(key);
      return values((await p.exec())!);
    };
    const want = [
      ...Array.from({ length: ACCOUNTS }, (_, i) => `v${i}`),
      ...moving.map((k) => Buffer.from(k)),
    ];
    assert.deepEqual(await read(), want, "while the slot migrates");

    // The slot moved: the client still sends it to its old master, which answers MOVED.
    await migrate(moving[1]);
    for (const port of [to, from, others[1]]) {
      await cluster.cli(port, "CLUSTER", "SETSLOT", String(slot), "NODE", toId);
    }
    assert.equal(masterOf(c, moving[0]), `127.0.0.1:${from}`, "the client's view is stale");
    assert.deepEqual(await read(), want, "once the slot moved");
    assert.equal(masterOf(c, moving[0]), `127.0.0.1:${to}`, "the client learnt the move");

    // A master that does not answer in time: its commands fail, each in its place; the
    // others' replies are there.
    const paused = await cluster.masterOf(str(0));
    const onPaused = await Promise.all(
      Array.from({ length: ACCOUNTS }, async (_, i) => await cluster.masterOf(str(i)) === paused),
    );
    await cluster.cli(paused, "CLIENT", "PAUSE", "6000", "ALL");
    const p = crossSlotPipeline(failFast);
    for (let i = 0; i < ACCOUNTS; i++) p.get(str(i));
    const late = (await p.exec())!;
    assert.equal(late.length, ACCOUNTS);
    late.forEach(([err, value], i) => {
      if (onPaused[i]) assert.ok(err && isRedisUnavailable(err), `${str(i)}: ${err}`);
      else assert.deepEqual([err, value], [null, `v${i}`]);
    });
  } finally {
    redis.disconnect();
    failFast.disconnect();
  }
});
