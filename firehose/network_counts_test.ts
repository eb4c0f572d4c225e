import assert from "node:assert/strict";
import { type FirehoseEvent, isKeptCollection } from "@bsky/shared/events";
import { networkKeys } from "@bsky/shared/keys";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { readCaptureFile } from "./capture.ts";
import type { Chunk } from "./chunk.ts";
import { decodeFrame } from "./frame.ts";
import { FrameProcessor } from "./frame_processor.ts";
import { DEFAULT_LIMITS, parseTime, splitPath } from "./normalize.ts";
import { Publisher } from "./publisher.ts";
import { normalizeFrame } from "./sources/relay.ts";

const CAPTURES = {
  "the recorded PDS capture": new URL("./bench/pds_capture.bin.gz", import.meta.url),
  "the real relay frames": new URL(
    "../testdata/relay-2026-07-04/frames.bin",
    import.meta.url,
  ),
};

interface Expected {
  events: Map<string, number>;
  active: Map<string, Set<string>>;
  created: Map<number, number>;
}

/** What the counters must hold, computed frame by frame from the decoded frames. */
function expected(frames: Uint8Array[]): Expected {
  const out: Expected = { events: new Map(), active: new Map(), created: new Map() };
  const inc = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
  const active = (kind: string, time: number, did: string) => {
    const key = networkKeys.activeHour(kind as "all", Math.floor(time / 3_600_000));
    out.active.set(key, (out.active.get(key) ?? new Set()).add(did));
  };
  const noop = { drop() {}, ignore() {} };
  for (const bytes of frames) {
    const events: FirehoseEvent[] = [];
    normalizeFrame(bytes, events, noop, DEFAULT_LIMITS);
    for (const e of events) {
      const field = e.kind === "commit" ? e.collection : e.kind;
      inc(out.events, `${networkKeys.eventsMinute(Math.floor(e.time / 60_000))}\t${field}`);
      active("all", e.time, e.did);
      if (e.kind === "commit" && e.action === "create") {
        if (e.collection === "app.bsky.feed.post") active("posters", e.time, e.did);
        if (e.collection === "app.bsky.feed.like") active("likers", e.time, e.did);
      }
    }
    const frame = decodeFrame(bytes);
    if (frame.type !== "#commit") continue;
    const time = parseTime(frame.body.time)!;
    if (frame.body.since === null) inc(out.created, Math.floor(time / 3_600_000));
    for (const op of frame.body.ops) {
      const [collection] = splitPath(op.path) ?? [];
      if (collection === undefined || isKeptCollection(collection)) continue;
      inc(out.events, `${networkKeys.eventsMinute(Math.floor(time / 60_000))}\t${collection}`);
      active("all", time, frame.body.repo);
    }
  }
  return out;
}

async function stored(redis: Redis, want: Expected) {
  const events = new Map<string, number>();
  for (const key of await redis.keys("stats:{firehose}:ev:m:*")) {
    for (const [field, n] of Object.entries(await redis.hgetall(key))) {
      events.set(`${key}\t${field}`, Number(n));
    }
  }
  assert.deepEqual(events, want.events);
  assert.deepEqual(
    new Set(await redis.keys("stats:{firehose}:act:*")),
    new Set(want.active.keys()),
  );
  for (const [key, dids] of want.active) {
    // The same set gives the same registers: the union with the truth changes nothing.
    await redis.pfadd(`truth:${key}`, ...dids);
    const count = await redis.pfcount(key);
    assert.equal(count, await redis.pfcount(`truth:${key}`), key);
    assert.equal(await redis.pfcount(key, `truth:${key}`), count, key);
    assert.ok(await redis.ttl(key) > 30 * 86400, key);
  }
  const created = new Map<number, number>();
  for (const key of await redis.keys("stats:{firehose}:new:h:*")) {
    created.set(Number(key.split(":").pop()), Number(await redis.get(key)));
  }
  assert.deepEqual(created, want.created);
}

for (const [name, url] of Object.entries(CAPTURES)) {
  Deno.test(`The publish step writes exact network counters for ${name}, also when frames are replayed after a restart`, async () => {
    const frames = await readCaptureFile(url);
    const want = expected(frames);
    assert.ok(want.events.size > 0);
    await using server = await startRedisServer();
    const redis = await connectRedis(server.url, { name: "test" });
    try {
      const publisher = new Publisher(redis, { partitions: 2, maxLen: 100_000, source: "relay" });
      // One processor result as a batch: each partition's chunk, if it has events.
      const batchOf = (chunks: Chunk[]) => chunks.map((c) => c.length ? [c] : []);
      const buffers = frames.map((f) => f.slice());
      // A first process writes the first half in two batches, the second one twice (a resend
      // after a lost reply), then dies.
      const first = new FrameProcessor("relay", DEFAULT_LIMITS, 2);
      const half = Math.floor(buffers.length / 2);
      const a = first.process(buffers.slice(0, half / 2));
      assert.equal(
        (await publisher.publish(batchOf(a.chunks), undefined, a.seq!, a.counts)).status,
        "applied",
      );
      const b = first.process(buffers.slice(half / 2, half));
      const batch = [batchOf(b.chunks), a.seq, b.seq!, b.counts] as const;
      assert.equal((await publisher.publish(...batch)).status, "applied");
      assert.equal((await publisher.publish(...batch)).status, "duplicate");
      // The next process resumes from the cursor; the relay replays from the start.
      const second = new FrameProcessor("relay", DEFAULT_LIMITS, 2);
      second.lastSeq = await publisher.loadCursor();
      const c = second.process(buffers);
      await publisher.publish(batchOf(c.chunks), b.seq, c.seq!, c.counts);
      await stored(redis, want);
    } finally {
      redis.disconnect();
    }
  });
}
