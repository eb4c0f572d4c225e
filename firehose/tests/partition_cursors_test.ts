/**
 * Each partition's stream has its own cursor, in its own hash slot: the firehose resumes
 * from the smallest, and the publish script skips, per partition, what it holds already.
 * On one redis-server. Also the move from the layout where every stream shared one slot
 * and one cursor.
 */
import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { encodeEvent } from "@bsky/shared/events";
import { firehoseKeys, partitionOf } from "@bsky/shared/keys";
import { createLogger } from "@bsky/shared/log";
import { connectRedis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Batcher } from "../batcher.ts";
import { firehoseMetrics } from "../metrics.ts";
import { chunksOf, Publisher, type PublishResult } from "../publisher.ts";
import { readStreams } from "../testing/helpers.ts";

const PARTITIONS = 3;

const like = (seq: number): FirehoseEvent => ({
  v: 1,
  kind: "commit",
  seq,
  time: 1_700_000_000_000 + seq * 1000,
  did: `did:plc:${"abcdefg"[seq % 7].repeat(24)}`,
  action: "create",
  collection: "app.bsky.feed.like",
  rkey: `3k${seq}`,
  subject: "did:plc:subject",
});

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, k) => from + k);

const seqsOf = (events: FirehoseEvent[]) => events.map((e) => e.seq);

Deno.test("every partition and the counters have a cursor in their own slot; a restart from the smallest writes into each partition only what it lacks", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const publisher = new Publisher(redis, {
      partitions: PARTITIONS,
      maxLen: 10_000,
      source: "relay",
    });
    // Each partition's stream and cursor share a hash tag of their own.
    for (let p = 0; p < PARTITIONS; p++) {
      const tag = `{fh:${p}}`;
      assert.ok(publisher.streamKeys[p].includes(tag));
      assert.ok(publisher.partitionCursorKeys[p].includes(tag));
    }
    const all = range(1, 90).map(like);
    assert.deepEqual(
      await publisher.publish(chunksOf(all.slice(0, 60), PARTITIONS), undefined, 60),
      {
        status: "applied",
      },
    );
    for (const key of publisher.cursorKeys) assert.equal(await redis.get(key), "60");

    // As a crash between the writes of separate slots leaves them (on Cluster): partition 0
    // and the counters got up to 60, partition 1 up to 30, partition 2 up to 45.
    const cut = (p: number, upTo: number) =>
      all.filter((e) => partitionOf(e.did, PARTITIONS) === p && e.seq > upTo).length;
    for (const [p, upTo] of [[1, 30], [2, 45]]) {
      const stream = publisher.streamKeys[p];
      const ids = (await redis.xrange(stream, "-", "+")).map(([id]) => id);
      const extra = cut(p, upTo) - cut(p, 60);
      for (const id of ids.slice(ids.length - extra)) await redis.xdel(stream, id);
      await redis.set(publisher.partitionCursorKeys[p], String(upTo));
    }
    const restarted = new Publisher(redis, {
      partitions: PARTITIONS,
      maxLen: 10_000,
      source: "relay",
    });
    assert.equal(await restarted.loadCursor(), 30, "resumes from the smallest cursor");
    // The batches after the restart start at 30: a partition further on keeps its place.
    assert.deepEqual(
      await restarted.publish(chunksOf(all.slice(30, 50), PARTITIONS), 30, 50),
      { status: "applied" },
    );
    assert.deepEqual(
      await restarted.publish(chunksOf(all.slice(50, 90), PARTITIONS), 50, 90),
      { status: "applied" },
    );
    for (let p = 0; p < PARTITIONS; p++) {
      const seqs = seqsOf(await readStreams(redis, [restarted.streamKeys[p]]));
      assert.deepEqual(
        seqs,
        all.filter((e) => partitionOf(e.did, PARTITIONS) === p).map((e) => e.seq),
        `partition ${p}: each event once, in order`,
      );
    }
    for (const key of restarted.cursorKeys) assert.equal(await redis.get(key), "90");
    // A batch resent after a lost reply changes nothing.
    assert.deepEqual(
      await restarted.publish(chunksOf(all.slice(50, 90), PARTITIONS), 50, 90),
      { status: "duplicate" },
    );
    // A batch that starts past a partition's cursor would leave a gap: refused whole.
    assert.deepEqual(
      await restarted.publish(chunksOf([like(95)], PARTITIONS), 92, 95),
      { status: "conflict", current: 90 },
    );
    assert.equal((await readStreams(redis, restarted.streamKeys)).length, 90);
  } finally {
    redis.disconnect();
  }
});

Deno.test("the layout where every stream shared one slot moves once: streams renamed with their entries and consumer groups, each partition's cursor started from the one cursor", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const old = range(1, 40).map(like);
    for (const e of old) {
      const p = partitionOf(e.did, PARTITIONS);
      await redis.xadd(firehoseKeys.legacyStream(p), "*", "v", "1", "e", encodeEvent(e));
    }
    await redis.set(`${firehoseKeys.cursor}:relay`, "40");
    // An indexer had read 10 entries of partition 0's stream.
    const legacy0 = firehoseKeys.legacyStream(0);
    await redis.xgroup("CREATE", legacy0, "indexer", "0");
    await redis.xreadgroup("GROUP", "indexer", "i1", "COUNT", 10, "STREAMS", legacy0, ">");
    // Its new stream already exists, empty: an indexer started first made it.
    await redis.xgroup("CREATE", firehoseKeys.stream(0), "indexer", "$", "MKSTREAM");

    const publisher = new Publisher(redis, {
      partitions: PARTITIONS,
      maxLen: 10_000,
      source: "relay",
    });
    assert.equal(await publisher.loadCursor(), 40);
    for (let p = 0; p < PARTITIONS; p++) {
      assert.equal(await redis.exists(firehoseKeys.legacyStream(p)), 0);
      assert.equal(await redis.get(publisher.partitionCursorKeys[p]), "40");
    }
    const [group] = await redis.xinfo("GROUPS", firehoseKeys.stream(0)) as unknown[][];
    const fields = Object.fromEntries(
      Array.from({ length: group.length / 2 }, (_, k) => [group[2 * k], group[2 * k + 1]]),
    );
    assert.equal(fields.name, "indexer");
    assert.equal(fields["entries-read"], 10, "the group kept its place");
    // Once moved, never again: a second start changes nothing.
    assert.equal(
      await new Publisher(redis, { partitions: PARTITIONS, maxLen: 10_000, source: "relay" })
        .loadCursor(),
      40,
    );

    const next = range(41, 60).map(like);
    assert.deepEqual(await publisher.publish(chunksOf(next, PARTITIONS), 40, 60), {
      status: "applied",
    });
    assert.deepEqual(
      seqsOf(await readStreams(redis, publisher.streamKeys)).sort((a, b) => a - b),
      range(1, 60),
    );
  } finally {
    redis.disconnect();
  }
});

/** A publisher whose first call lands in Redis and then fails, as a reply lost on the way. */
class LosingReplies extends Publisher {
  calls = 0;
  override async publish(...args: Parameters<Publisher["publish"]>): Promise<PublishResult> {
    const call = ++this.calls;
    if (call === 1) {
      await super.publish(...args);
      // The next batch is sent meanwhile, and lands too.
      await new Promise((r) => setTimeout(r, 30));
      throw new Error("connection lost");
    }
    return await super.publish(...args);
  }
}

Deno.test("a batch whose reply was lost while every batch behind it landed: nothing is sent again, nothing is lost", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  const abort = new AbortController();
  try {
    const publisher = new LosingReplies(redis, {
      partitions: PARTITIONS,
      maxLen: 10_000,
      source: "relay",
    });
    const batcher = new Batcher(
      publisher,
      firehoseMetrics(),
      createLogger("test", { level: "error", write: () => {} }),
      50,
      abort.signal,
      () => {},
      () => {},
      4,
    );
    await batcher.load();
    for (let seq = 1; seq <= 100; seq++) {
      batcher.addEvent(like(seq));
      batcher.advance(seq);
    }
    await batcher.drain();
    assert.equal(publisher.calls, 2, "both batches were sent once");
    assert.equal(batcher.durable, 100);
    assert.deepEqual(
      seqsOf(await readStreams(redis, publisher.streamKeys)).sort((a, b) => a - b),
      range(1, 100),
    );
  } finally {
    abort.abort();
    redis.disconnect();
  }
});
