/**
 * The batcher's pipelined writes against a real redis-server: several batches are sent
 * before the first is answered, and whatever happens to one of them (a lost request, a
 * cursor moved by another writer, consumers too far behind) every event lands exactly once,
 * in order per partition, with the cursor that covers it.
 */
import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { firehoseKeys } from "@bsky/shared/keys";
import { createLogger } from "@bsky/shared/log";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Batcher } from "./batcher.ts";
import { firehoseMetrics } from "./metrics.ts";
import { Publisher, type PublishResult } from "./publisher.ts";
import { deadline, readStreams, waitFor } from "./testing/helpers.ts";

const PARTITIONS = 3;
const quiet = createLogger("test", { level: "error", write: () => {} });

const like = (seq: number): FirehoseEvent => ({
  v: 1,
  kind: "commit",
  seq,
  time: 1_700_000_000_000 + seq,
  did: `did:plc:${"abcdefg"[seq % 7].repeat(24)}`,
  action: "create",
  collection: "app.bsky.feed.like",
  rkey: `3k${seq}`,
  subject: "did:plc:subject",
});

/** A publisher that counts the writes in flight and can make one of them fail unsent. */
class WatchedPublisher extends Publisher {
  inFlight = 0;
  mostInFlight = 0;
  calls = 0;
  /** What each call came to, in call order: a status, or "lost". */
  outcomes: string[] = [];
  /** Call numbers (1-based) that fail without reaching Redis, as a lost request would. */
  lose = new Set<number>();
  /** Every call fails so, while set. */
  failing = false;
  /** Runs before the call of that number is sent. */
  before = new Map<number, () => Promise<void>>();

  override async publish(
    ...args: Parameters<Publisher["publish"]>
  ): Promise<PublishResult> {
    const call = ++this.calls;
    this.inFlight++;
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
    try {
      await this.before.get(call)?.();
      if (this.failing || this.lose.has(call)) {
        await new Promise((r) => setTimeout(r, 5));
        this.outcomes[call - 1] = "lost";
        throw new Error("connection lost");
      }
      const result = await super.publish(...args);
      this.outcomes[call - 1] = result.status;
      return result;
    } finally {
      this.inFlight--;
    }
  }
}

async function withBatcher(
  fn: (
    ctx: {
      redis: Redis;
      publisher: WatchedPublisher;
      batcher: Batcher;
      events: { conflicts: number; full: number };
      abort: AbortController;
    },
  ) => Promise<void>,
  maxLen = 100_000,
) {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  const abort = new AbortController();
  try {
    const publisher = new WatchedPublisher(redis, {
      partitions: PARTITIONS,
      maxLen,
      source: "relay",
    });
    const events = { conflicts: 0, full: 0 };
    const batcher = new Batcher(
      publisher,
      firehoseMetrics(),
      quiet,
      50,
      abort.signal,
      () => events.conflicts++,
      () => events.full++,
      4,
    );
    await batcher.load();
    await fn({ redis, publisher, batcher, events, abort });
  } finally {
    abort.abort();
    redis.disconnect();
  }
}

/** Feeds events seq from..to one at a time, as frames come, without waiting for writes. */
function feed(batcher: Batcher, from: number, to: number) {
  for (let seq = from; seq <= to; seq++) {
    batcher.addEvent(like(seq));
    batcher.advance(seq);
  }
}

/** Every stream's seqs in stream order, and all of them sorted. */
async function written(redis: Redis) {
  const perPartition: number[][] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    perPartition.push((await readStreams(redis, [firehoseKeys.stream(p)])).map((e) => e.seq));
  }
  return { perPartition, all: perPartition.flat().sort((a, b) => a - b) };
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, k) => from + k);

function assertInOrder(perPartition: number[][]) {
  for (const seqs of perPartition) {
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "in order within a partition");
  }
}

Deno.test("the batcher sends several batches before the first is answered, and every event lands once, in order", async () => {
  await withBatcher(async ({ redis, publisher, batcher }) => {
    feed(batcher, 1, 2000);
    await batcher.drain();
    assert.ok(publisher.mostInFlight > 1, `at most ${publisher.mostInFlight} in flight`);
    assert.ok(publisher.mostInFlight <= 4);
    const { perPartition, all } = await written(redis);
    assert.deepEqual(all, range(1, 2000));
    assertInOrder(perPartition);
    assert.equal(await publisher.loadCursor(), 2000);
    assert.equal(batcher.durable, 2000);
    assert.equal(batcher.unwritten, 0);
  });
});

Deno.test("a batch lost on its way makes the ones behind it go again from the durable cursor: nothing twice, nothing out of order", async () => {
  await withBatcher(async ({ redis, publisher, batcher }) => {
    publisher.lose.add(3);
    feed(batcher, 1, 1000);
    await batcher.drain();
    assert.equal(publisher.outcomes[2], "lost");
    assert.ok(
      publisher.outcomes.slice(3).includes("conflict"),
      `a batch sent behind the lost one was refused: ${publisher.outcomes}`,
    );
    const { perPartition, all } = await written(redis);
    assert.deepEqual(all, range(1, 1000));
    assertInOrder(perPartition);
    assert.equal(await publisher.loadCursor(), 1000);
  });
});

Deno.test("a cursor moved by another writer while batches are in flight: the batcher resumes from the stored cursor", async () => {
  await withBatcher(async ({ redis, publisher, batcher, events }) => {
    feed(batcher, 1, 100);
    await batcher.drain();
    // Once our next batch has landed, another process moves the cursors to 175, before the
    // batch after it arrives.
    publisher.before.set(publisher.calls + 2, async () => {
      await new Promise((r) => setTimeout(r, 20));
      for (const key of publisher.cursorKeys) await redis.set(key, "175");
    });
    feed(batcher, 101, 400);
    await batcher.drain();
    assert.equal(events.conflicts, 1);
    assert.equal(batcher.durable, 175);
    assert.equal(batcher.seq, 175, "what was processed after the stored cursor comes again");
    const { perPartition, all } = await written(redis);
    // Our batch up to 150 landed; nothing of ours after the other writer's cursor did.
    assert.deepEqual(all, range(1, 150));
    assertInOrder(perPartition);
  });
});

Deno.test("consumers too far behind: no batch lands past what they can keep, and they read every event once, in order", async () => {
  await withBatcher(async ({ redis, publisher, batcher, events }) => {
    const streams = Array.from({ length: PARTITIONS }, (_, p) => firehoseKeys.stream(p));
    for (const key of streams) await redis.xgroup("CREATE", key, "slow", "$", "MKSTREAM");
    // Fed as frames come, a batch's worth at a time, while fewer than 200 wait for Redis.
    let done = false;
    const fed = (async () => {
      for (let seq = 1; seq <= 900; seq += 50) {
        feed(batcher, seq, seq + 49);
        while (batcher.unwritten > 200) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const settled = fed.then(() => batcher.drain()).then(() => done = true);
    // The consumers start reading only once a batch was refused.
    while (events.full === 0) await new Promise((r) => setTimeout(r, 10));
    const read: number[][] = streams.map(() => []);
    for (let idle = 0; idle < 3;) {
      const got = await redis.xreadgroup(
        "GROUP",
        "slow",
        "c",
        "COUNT",
        1000,
        "STREAMS",
        ...streams,
        ...streams.map(() => ">"),
      ) as [string, [string, string[]][]][] | null;
      if (!got) {
        idle = done ? idle + 1 : 0;
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      for (const [key, entries] of got) {
        const p = streams.indexOf(key);
        for (const [, fields] of entries) read[p].push(JSON.parse(fields[3]).seq);
        await redis.xack(key, "slow", ...entries.map(([id]) => id));
      }
    }
    await settled;
    assert.ok(events.full >= 1);
    assert.deepEqual(read.flat().sort((a, b) => a - b), range(1, 900));
    assertInOrder(read);
    assert.equal(await publisher.loadCursor(), 900);
  }, 150);
});

for (
  const [what, fill] of [
    ["events", (b: Batcher) => feed(b, 1, 1000)],
    ["only a cursor (frames that kept no event)", (b: Batcher) => {
      b.advance(1000);
      b.flushSoon(); // as the batch timer would
    }],
  ] as const
) {
  Deno.test(`stopping while every write fails (a slot stuck mid-migration), with ${what} unwritten: drain() gives up, and nothing is tried after it`, async () => {
    await withBatcher(async ({ publisher, batcher, abort }) => {
      publisher.failing = true;
      fill(batcher);
      await waitFor("the first failed write", () => publisher.outcomes.includes("lost"), 5_000);
      abort.abort();
      await deadline("drain()", 3_000, batcher.drain());
      const calls = publisher.calls;
      // Longer than the wait between two tries (500 ms): a write retried on its own shows.
      await new Promise((r) => setTimeout(r, 1_200));
      assert.equal(publisher.calls, calls, "no write is tried once drain() returned");
      assert.equal(await publisher.loadCursor(), undefined, "nothing counts as written");
    });
  });
}
