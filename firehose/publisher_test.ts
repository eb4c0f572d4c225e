import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { firehoseKeys, partitionOf } from "@bsky/shared/keys";
import { connectRedis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { chunksOf, Publisher } from "./publisher.ts";
import { readStreams } from "./testing/helpers.ts";

const like = (seq: number, did: string): FirehoseEvent => ({
  v: 1,
  kind: "commit",
  seq,
  time: 1_700_000_000_000 + seq,
  did,
  action: "create",
  collection: "app.bsky.feed.like",
  rkey: `3k${seq}`,
  subject: "did:plc:subject",
});

Deno.test("Publisher writes events and cursor together, and refuses a batch built on another cursor", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const publisher = new Publisher(redis, { partitions: 4, maxLen: 10_000, source: "relay" });
    assert.equal(await publisher.loadCursor(), undefined);
    const dids = ["did:plc:a", "did:plc:b", "did:plc:c", "did:plc:d", "did:plc:e"];
    const batch1 = dids.map((d, i) => like(i + 1, d));
    assert.deepEqual(await publisher.publish(chunksOf(batch1, 4), undefined, 5), {
      status: "applied",
    });
    assert.equal(await publisher.loadCursor(), 5);
    // The same batch again (a resend after a lost reply) changes nothing.
    assert.deepEqual(await publisher.publish(chunksOf(batch1, 4), undefined, 5), {
      status: "duplicate",
    });
    // A batch built on a cursor past the stored one (it would leave a gap) is refused whole.
    assert.deepEqual(await publisher.publish(chunksOf([like(9, "did:plc:a")], 4), 7, 9), {
      status: "conflict",
      current: 5,
    });
    assert.deepEqual(await publisher.publish(chunksOf([like(6, "did:plc:a")], 4), 5, 6), {
      status: "applied",
    });
    const events = await readStreams(redis, firehoseKeys.streams(4));
    assert.equal(events.length, 6);
    for (let p = 0; p < 4; p++) {
      for (const e of await readStreams(redis, [firehoseKeys.stream(p)])) {
        assert.equal(partitionOf(e.did, 4), p);
      }
    }
    assert.equal(await redis.get(publisher.cursorKey), "6");
  } finally {
    redis.disconnect();
  }
});

Deno.test("Publisher stops on a stored cursor that is not an integer: our own state is corrupt", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const publisher = new Publisher(redis, { partitions: 1, maxLen: 10_000, source: "relay" });
    await redis.set(publisher.cursorKey, "abc");
    await assert.rejects(
      publisher.loadCursor(),
      /Cannot parse stored cursor: "abc" is not an integer/,
    );
  } finally {
    redis.disconnect();
  }
});

Deno.test("Publisher refuses a batch that would trim what a group has not read, unless the group is best-effort", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const options = { partitions: 1, maxLen: 1000, source: "relay" };
    const publisher = new Publisher(redis, { ...options, bestEffortGroups: ["tasker"] });
    const batch = (from: number, n: number) =>
      chunksOf(Array.from({ length: n }, (_, k) => like(from + k, "did:plc:a")), 1);
    // A bot's group that reads nothing holds nothing back.
    await redis.xgroup("CREATE", firehoseKeys.stream(0), "tasker", "$", "MKSTREAM");
    let cursor: number | undefined;
    for (let k = 0; k < 3; k++) {
      const to = (k + 1) * 600;
      assert.deepEqual(await publisher.publish(batch(k * 600 + 1, 600), cursor, to), {
        status: "applied",
      });
      cursor = to;
    }
    assert.equal(await publisher.consumerLag(), 0);
    // The cap holds: 1,800 events written, at most the cap plus one node of 100 entries kept
    // (a trim drops whole nodes), the newest of them.
    const kept = await redis.xlen(firehoseKeys.stream(0));
    assert.ok(kept >= 1000 && kept <= 1100, `${kept} entries kept with a cap of 1,000`);
    const [[, newest]] = await redis.xrevrange(firehoseKeys.stream(0), "+", "-", "COUNT", 1);
    assert.equal(JSON.parse(newest[3]).seq, 1800);
    // The indexer's group, as far behind, does.
    await redis.xgroup("CREATE", firehoseKeys.stream(0), "indexer", "0", "MKSTREAM");
    assert.ok(await publisher.consumerLag() >= 900);
    assert.deepEqual(await publisher.publish(batch(1801, 600), cursor, 2400), { status: "full" });
    assert.equal(await publisher.loadCursor(), 1800);
    // Without the setting, the bot's group holds the firehose back too.
    await redis.xgroup("DESTROY", firehoseKeys.stream(0), "indexer");
    const strict = new Publisher(redis, options);
    assert.deepEqual(await strict.publish(batch(1801, 1000), cursor, 2800), { status: "full" });
  } finally {
    redis.disconnect();
  }
});

Deno.test("Publisher holds a batch against the cap by its events, exactly, not by its bytes", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const publisher = new Publisher(redis, { partitions: 1, maxLen: 1000, source: "relay" });
    const batch = (from: number, n: number) =>
      chunksOf(Array.from({ length: n }, (_, k) => like(from + k, "did:plc:a")), 1);
    await redis.xgroup("CREATE", firehoseKeys.stream(0), "indexer", "0", "MKSTREAM");
    assert.deepEqual(await publisher.publish(batch(1, 400), undefined, 400), {
      status: "applied",
    });
    // 400 unread and 600 more reach the cap and no further: written.
    assert.deepEqual(await publisher.publish(batch(401, 600), 400, 1000), { status: "applied" });
    assert.equal(await publisher.consumerLag(), 1000);
    // One more would pass it.
    assert.deepEqual(await publisher.publish(batch(1001, 1), 1000, 1001), { status: "full" });
    assert.equal(await redis.xlen(firehoseKeys.stream(0)), 1000);
  } finally {
    redis.disconnect();
  }
});

Deno.test("Publisher trims only streams a batch adds to, and keeps a stream at its cap however large the batches", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const publisher = new Publisher(redis, { partitions: 2, maxLen: 15_000, source: "relay" });
    // Two authors, one in each partition.
    const authors = [0, 1].map((p) =>
      Array.from({ length: 50 }, (_, k) => `did:plc:a${k}`).find((d) => partitionOf(d, 2) === p)!
    );
    // Partition 1's stream is over the cap (the cap was lowered) and its group has read
    // nothing of it: a batch that brings partition 1 nothing must not trim it.
    for (let k = 0; k < 16_000; k++) {
      await redis.xadd(
        firehoseKeys.stream(1),
        "*",
        "v",
        "1",
        "e",
        JSON.stringify(like(k, authors[1])),
      );
    }
    await redis.xgroup("CREATE", firehoseKeys.stream(1), "indexer", "0");
    const only0 = (from: number, n: number) =>
      chunksOf(Array.from({ length: n }, (_, k) => like(from + k, authors[0])), 2);
    assert.deepEqual(await publisher.publish(only0(1, 10), undefined, 10), { status: "applied" });
    assert.equal(await redis.xlen(firehoseKeys.stream(1)), 16_000, "nothing unread trimmed");
    // Batches of 12,000, each trimmed back to the cap (a trim's default bound is 10,000
    // entries, so without a larger one the stream would grow by the rest each time).
    let cursor = 10;
    for (let b = 0; b < 5; b++) {
      const n = 12_000;
      assert.deepEqual(await publisher.publish(only0(cursor + 1, n), cursor, cursor + n), {
        status: "applied",
      });
      cursor += n;
      const kept = await redis.xlen(firehoseKeys.stream(0));
      assert.ok(kept <= 15_100, `${kept} entries kept with a cap of 15,000`);
    }
  } finally {
    redis.disconnect();
  }
});
