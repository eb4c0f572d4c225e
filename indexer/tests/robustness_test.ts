/**
 * Invariants 2 and 4 for the indexer: at-least-once delivery never doubles a count, a
 * killed indexer loses nothing, two indexers give the result of one, Redis restarting with
 * AOF loses nothing, and malformed entries are parked without blocking their partition.
 */
import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { firehoseKeys } from "@bsky/shared/keys";
import { createLogger } from "@bsky/shared/log";
import { connectRedis, consumerGroups, type Redis } from "@bsky/shared/redis";
import { type RedisServer, startRedisServer } from "@bsky/shared/testing/redis_server";
import { chunksOf, Publisher } from "@bsky/firehose/publisher";
import { serviceArgs, SERVICES } from "../../scripts/services.ts";
import { Applier } from "@bsky/store/apply";
import { loadIndexerConfig } from "../config.ts";
import { topInteractions } from "@bsky/store/queries";
import { startIndexer } from "../service.ts";
import { didOf, generateEvents, recentStart, tidOf } from "@bsky/store/testing/generate";
import { A, account, applyCallOnly, block } from "@bsky/store/testing/fixtures";
import { storeKeys } from "@bsky/store/layout";

const ACCOUNTS = 300;
const quiet = createLogger("test", { level: "error", write: () => {} });
const root = new URL("../../", import.meta.url).pathname;

function workload(events: number, seed = 7): FirehoseEvent[] {
  return [
    ...generateEvents({ accounts: ACCOUNTS, events, seed, start: recentStart(), spanMs: 60_000 }),
  ];
}

/** Writes events into the firehose streams as the firehose would. */
async function publish(redis: Redis, events: FirehoseEvent[], partitions: number): Promise<void> {
  const publisher = new Publisher(redis, { partitions, maxLen: 10_000_000, source: "relay" });
  let cursor = await publisher.loadCursor();
  for (let i = 0; i < events.length; i += 1000) {
    const batch = events.slice(i, i + 1000);
    const to = batch.at(-1)!.seq;
    await publisher.publish(chunksOf(batch, partitions), cursor, to);
    cursor = to;
  }
}

/** Every actor's sent and received answers, keyed by actor and direction. */
async function snapshot(redis: Redis): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < ACCOUNTS; i++) {
    for (const direction of ["sent", "received"] as const) {
      const answer = await topInteractions(redis, didOf(i), {
        direction,
        windowHours: 24,
        limit: 1000,
        now: Date.now(),
      });
      // Ties are ranked by interned id, which depends on arrival order: compare by DID.
      out[`${i} ${direction}`] = answer?.sort((a, b) =>
        b.score - a.score || a.did.localeCompare(b.did)
      );
    }
  }
  return out;
}

/** The answers of applying the events once, directly, on a Redis of its own. */
async function reference(events: FirehoseEvent[]): Promise<Record<string, unknown>> {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "reference" });
  try {
    const applier = new Applier(redis, { retentionDays: 30, memoryHours: 48 });
    for (let i = 0; i < events.length; i += 1000) await applier.apply(events.slice(i, i + 1000));
    return await snapshot(redis);
  } finally {
    redis.disconnect();
  }
}

/** Compares two snapshots answer by answer, so that a difference prints small. */
async function assertAnswers(redis: Redis, want: Record<string, unknown>): Promise<void> {
  const got = await snapshot(redis);
  for (const key of Object.keys(want)) {
    if (JSON.stringify(got[key]) !== JSON.stringify(want[key])) {
      assert.deepEqual(got[key], want[key], `answers of ${key}`);
    }
  }
}

function env(server: RedisServer, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: server.url,
    INDEXER_METRICS_PORT: "0",
    FIREHOSE_PARTITIONS: "2",
    INDEXER_LEASE_MS: "2000",
    ...extra,
  };
}

async function drained(redis: Redis, partitions: number, group = "indexer", timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let left = 0;
    for (let p = 0; p < partitions; p++) {
      const g = (await consumerGroups(redis, firehoseKeys.stream(p))).find((g) => g.name === group);
      left += g ? (g.lag ?? 1) + g.pending : 1;
    }
    if (left === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("Timed out waiting for the indexer to drain its streams");
}

const events = workload(20_000);
const expected = await reference(events);

Deno.test("the indexer's answers equal applying the stream once, and replaying it changes nothing", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  const service = await startIndexer(loadIndexerConfig((n) => env(server)[n]), quiet);
  try {
    await publish(redis, events, 2);
    await drained(redis, 2);
    await assertAnswers(redis, expected);
    // The same stream delivered again, in full, to the same store.
    for (let p = 0; p < 2; p++) await redis.xgroup("SETID", firehoseKeys.stream(p), "indexer", "0");
    await drained(redis, 2);
    await assertAnswers(redis, expected);
    const applied = service.metrics.ops.get({ outcome: "duplicate" });
    assert.ok(applied > 10_000, "the replay was seen as duplicates");
  } finally {
    await service.stop();
    redis.disconnect();
  }
});

Deno.test("an indexer killed with SIGKILL mid-batch, and two indexers at once, give the result of one", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  const spec = SERVICES.find((s) => s.name === "indexer")!;
  const spawn = () =>
    new Deno.Command(Deno.execPath(), {
      args: serviceArgs(spec, env(server)),
      cwd: root,
      env: env(server, { INDEXER_BATCH_SIZE: "50" }),
      clearEnv: true,
      stdout: "null",
      stderr: "null",
    }).spawn();
  try {
    await publish(redis, events, 2);
    const first = spawn();
    // Kill it once it has made progress but is far from done.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const [g] = await consumerGroups(redis, firehoseKeys.stream(0));
      if ((g?.entriesRead ?? 0) > 500) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    first.kill("SIGKILL");
    await first.status;
    const [atKill] = await consumerGroups(redis, firehoseKeys.stream(0));
    const lagAtKill = atKill.lag ?? 0;
    assert.ok(lagAtKill > 0, "killed before the end of the stream");
    // Two indexers share the rest (one takes over the dead one's lease when it runs out).
    const a = spawn(), b = spawn();
    try {
      await drained(redis, 2);
    } finally {
      a.kill("SIGTERM");
      b.kill("SIGTERM");
      await Promise.all([a.status, b.status]);
    }
    await assertAnswers(redis, expected);
  } finally {
    redis.disconnect();
  }
});

Deno.test("Redis killed and restarted with AOF under the indexer: nothing lost, nothing doubled", async () => {
  await using server = await startRedisServer({ appendOnly: true, appendFsync: "always" });
  const redis = await connectRedis(server.url, { name: "test" });
  const service = await startIndexer(
    loadIndexerConfig((n) => env(server, { INDEXER_BATCH_SIZE: "100" })[n]),
    quiet,
  );
  try {
    await publish(redis, events, 2);
    // Several kills while batches are in flight, replies lost on the way.
    for (let kill = 0; kill < 3; kill++) {
      await new Promise((r) => setTimeout(r, 120));
      await server.kill("SIGKILL");
      await new Promise((r) => setTimeout(r, 300));
      await server.start();
    }
    await drained(redis, 2);
    await assertAnswers(redis, expected);
  } finally {
    await service.stop();
    redis.disconnect();
  }
});

Deno.test("malformed entries are parked and counted, and the partition goes on", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  const service = await startIndexer(
    loadIndexerConfig((n) => env(server, { FIREHOSE_PARTITIONS: "1" })[n]),
    quiet,
  );
  try {
    const stream = firehoseKeys.stream(0);
    const good = events.slice(0, 200);
    await redis.xadd(stream, "*", "v", "9", "e", "{}");
    await redis.xadd(stream, "*", "v", "1");
    await redis.xadd(stream, "*", "v", "1", "e", '{"v":1,"kind":"commit","seq":"x"}');
    await redis.xadd(stream, "*", "v", "1", "e", "not json");
    await publish(redis, good, 1);
    await drained(redis, 1);
    const m = service.metrics;
    assert.equal(m.parked.get({ reason: "unknown_version" }), 1);
    assert.equal(m.parked.get({ reason: "missing_field" }), 1);
    assert.equal(m.parked.get({ reason: "wrong_type" }), 1);
    assert.equal(m.parked.get({ reason: "bad_json" }), 1);
    assert.equal(await redis.xlen("idx:{firehose}:parked"), 4);
    const sample = await topInteractions(redis, (good[0] as { did: string }).did, {
      direction: "sent",
      windowHours: 24,
      limit: 5,
      now: Date.now(),
    });
    assert.ok(sample !== undefined, "the good entries after the bad ones were applied");
  } finally {
    await service.stop();
    redis.disconnect();
  }
});

Deno.test("a deleted account's blocks that a stop left unended are ended when the indexer starts", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  const applier = new Applier(redis, { retentionDays: 7, memoryHours: 48 });
  const subjects = Array.from({ length: 1_500 }, (_, i) => `did:plc:s${i}`);
  await applier.apply(subjects.map((s, i) => block(A, tidOf(i), s)));
  // The deletion's apply call alone, as a stop right after it leaves it: 500 blocks to end.
  await applyCallOnly(redis, applier, [account(A, false, "deleted")]);
  const a = String((await applier.ids([A])).get(A));
  const ids = await applier.ids(subjects);
  const blockedByA = async () => {
    let n = 0;
    for (const id of ids.values()) {
      if (await redis.zscore(storeKeys.blockedBy(id), a) !== null) n++;
    }
    return n;
  };
  assert.equal(await blockedByA(), 500);
  const service = await startIndexer(
    loadIndexerConfig((n) => env(server, { FIREHOSE_PARTITIONS: "1" })[n]),
    quiet,
  );
  try {
    assert.equal(await blockedByA(), 0);
    assert.equal(await redis.exists(storeKeys.blocksEnding, storeKeys.blocking(Number(a))), 0);
  } finally {
    await service.stop();
    redis.disconnect();
  }
});
