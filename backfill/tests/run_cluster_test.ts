/**
 * The backfill on a real local Redis Cluster (3 masters, 3 replicas), against the same
 * store on one redis-server: a run over the same repositories (from a source in process,
 * testing/fake_source.ts), with records the live stream showed before (a like, and a like
 * deleted live: its tombstone), loads the same store on both; and a part stopped between
 * its two rounds on the cluster is written whole by the next, with nothing counted twice.
 */
import assert from "node:assert/strict";
import type { CommitWriteEvent, FirehoseEvent } from "@bsky/shared/events";
import { systemClock } from "@bsky/shared/clock";
import { firehoseKeys } from "@bsky/shared/keys";
import { createLogger } from "@bsky/shared/log";
import type { Redis, RedisClient } from "@bsky/shared/redis";
import { startRedisCluster, withServerAndCluster } from "@bsky/shared/testing/redis_cluster";
import { Applier } from "@bsky/store/apply";
import { BackfillStore, holdBackfill } from "@bsky/store/backfill";
import { ClusterApplier, type EntryReads } from "@bsky/store/cluster_apply";
import { DAY_MS, HOUR_MS, storeKeys } from "@bsky/store/layout";
import { topInteractions } from "@bsky/store/queries";
import { storeContents } from "@bsky/store/testing/two_rounds";
import { loadBackfillConfig } from "../config.ts";
import { type BackfillOptions, runBackfill } from "../run.ts";
import { repoCar } from "../testing/car.ts";
import { type FakeRepo, FakeSource } from "../testing/fake_source.ts";
import { did, TARGET, tid } from "../testing/ids.ts";

const NOW = Date.now();
const LIKED = NOW - 3 * HOUR_MS;

/** Account n's repository: likes of TARGET's post, follows and a block, some long ago. */
async function repo(n: number): Promise<FakeRepo> {
  const records: [string, unknown][] = [];
  const post = `at://${TARGET}/app.bsky.feed.post/${tid(NOW - 2 * DAY_MS)}`;
  for (let k = 0; k < n; k++) {
    records.push([`app.bsky.feed.like/${tid(LIKED, k)}`, {
      $type: "app.bsky.feed.like",
      subject: { uri: post, cid: "bafy" },
      createdAt: new Date(LIKED).toISOString(),
    }]);
  }
  const old = NOW - 90 * DAY_MS;
  records.push([`app.bsky.graph.follow/${tid(old, n)}`, {
    $type: "app.bsky.graph.follow",
    subject: did(n + 1),
    createdAt: new Date(old).toISOString(),
  }]);
  if (n % 2 === 0) {
    records.push([`app.bsky.graph.block/${tid(NOW - DAY_MS, n)}`, {
      $type: "app.bsky.graph.block",
      subject: did(n + 3),
      createdAt: new Date(NOW - DAY_MS).toISOString(),
    }]);
  }
  records.sort(([a], [b]) => a < b ? -1 : 1);
  return { did: did(n), car: await repoCar(did(n), records), handle: `user${n}.test` };
}

const quiet = createLogger("test", { level: "error", write: () => {} });

function options(redis: Redis, source: FakeSource): BackfillOptions {
  const config = loadBackfillConfig((n) =>
    ({
      BACKFILL_SOURCE_URL: source.url,
      BACKFILL_PAGE_SIZE: "3",
      BACKFILL_BATCH_RECORDS: "4",
      // One repository at a time: both stores intern the accounts in the same order.
      BACKFILL_CONCURRENCY: "1",
      BACKFILL_RATE_PER_SECOND: "1000",
    } as Record<string, string>)[n]
  );
  return { ...config, redis, log: quiet, clock: systemClock, fetch: source.fetch };
}

/** What a store holds, but the backfill's own progress keys and tombstones, laid out apart. */
async function contents(redis: RedisClient): Promise<Map<string, string>> {
  const out = await storeContents(redis);
  for (const key of [...out.keys()]) if (/^(bf|bt):\{/.test(key)) out.delete(key);
  return out;
}

function assertSame(x: Map<string, string>, y: Map<string, string>) {
  const only = (a: Map<string, string>, b: Map<string, string>) =>
    [...a.keys()].filter((k) => !b.has(k));
  assert.deepEqual([only(x, y), only(y, x)], [[], []], "the same keys");
  for (const [key, value] of x) assert.equal(y.get(key), value, key);
}

/** Live events applied before the backfill: on one server, and on the cluster in two rounds. */
async function applyLive(one: Redis, many: Redis, events: FirehoseEvent[]) {
  await new Applier(one, { retentionDays: 30, memoryHours: 48 }).apply(events);
  const two = new ClusterApplier(many, new Applier(many, { retentionDays: 30, memoryHours: 48 }));
  const stream = firehoseKeys.stream(0);
  const entries = events.map((event, k) => ({ id: `1-${k + 1}`, event }));
  await two.apply(0, entries, { stream, group: "indexer", entryIds: entries.map((e) => e.id) });
}

/** A like of TARGET's post by account n, made then; deleted now. */
const like = (n: number, rkey: string, action: "create" | "delete"): FirehoseEvent => ({
  v: 1,
  kind: "commit",
  seq: n,
  time: action === "create" ? LIKED : NOW,
  did: did(n),
  action,
  collection: "app.bsky.feed.like",
  rkey,
  ...(action === "create" ? { subject: TARGET } : {}),
} as CommitWriteEvent);

Deno.test("on a Redis Cluster a backfill run loads the same store as on one server", async () => {
  await withServerAndCluster(async (one, many) => {
    const repos = await Promise.all([1, 2, 3, 4, 5, 6, 7].map(repo));
    // A like the live stream showed, and one it saw deleted while a backfill held (a
    // tombstone): neither counts again.
    for (const redis of [one, many]) await holdBackfill(redis, "live", 600, true);
    await applyLive(one, many, [
      like(1, tid(LIKED, 0), "create"),
      like(2, tid(LIKED, 1), "delete"),
    ]);
    const [a, b] = [
      await runBackfill(options(one, new FakeSource(repos))),
      await runBackfill(options(many, new FakeSource(repos))),
    ];
    assert.equal(b.state, "done");
    assert.deepEqual(b.repos, a.repos);
    assert.deepEqual(b.records, a.records);
    assert.equal(a.records.counted, 28 - 2 + 7 + 3, "likes, follows and blocks, once each");
    assert.equal(a.records.seen_live, 2);
    const received = async (redis: Redis) =>
      (await topInteractions(redis, TARGET, {
        direction: "received",
        windowHours: 24 * 7,
        limit: 10,
        now: NOW,
      }))?.map((c) => [c.did, c.like]);
    assert.deepEqual(await received(many), await received(one));
    assertSame(await contents(one), await contents(many));
    assert.equal(await many.hlen(storeKeys.idWriters), 0, "no part left half written");
  });
});

/** An applier that stops once between the two rounds of an entry, as a killed run would. */
class StopsOnce extends ClusterApplier {
  stop = true;
  override async applyEntry(
    partition: string,
    id: string,
    author: number,
    ops: readonly (string | number | Uint8Array)[],
    reads?: EntryReads,
  ) {
    if (!this.stop || ops.length === 0) {
      return await super.applyEntry(partition, id, author, ops, reads);
    }
    this.stop = false;
    await this.applyEntryFirst(partition, id, author, ops, reads);
    throw new Error("stopped between the rounds");
  }
}

const STORE = { retentionDays: 30, memoryHours: 48 };

/** Account n's likes of TARGET's post, keys k, as a repository's part (`run`'s) holds them. */
const part = (n: number, from: string, to: string, keys: number[]) => ({
  did: did(n),
  host: "pds.example",
  from,
  to,
  token: "run",
  now: NOW,
  readAt: NOW,
  records: keys.map((k) => ({
    event: like(n, tid(LIKED, 100 + k), "create") as CommitWriteEvent,
    recent: true,
  })),
});

/**
 * A store on one server and one on the local cluster, whose backfill stops once between a
 * part's rounds, both held by the run `run`.
 */
async function withStopping(
  fn: (one: Redis, many: Redis, single: BackfillStore, split: BackfillStore) => Promise<void>,
) {
  await withServerAndCluster(async (one, many) => {
    const single = new BackfillStore(one, STORE);
    const split = new BackfillStore(many, STORE, new StopsOnce(many, new Applier(many, STORE)));
    for (const redis of [one, many]) await holdBackfill(redis, "run", 600, true);
    await fn(one, many, single, split);
  });
}

Deno.test("on a Redis Cluster a backfill part stopped between its rounds is written whole by the next part, once", async () => {
  await withStopping(async (one, many, single, split) => {
    const first = part(1, "", "app.bsky.feed.like/x", [0, 1]);
    await single.load(first);
    await assert.rejects(() => split.load(first), /stopped between the rounds/);
    // The first round was written, and the part is kept pending until its second is: the
    // run stays among the writers (the reclaiming of ids waits for it).
    assert.deepEqual(await many.hgetall(storeKeys.idWriters), { "bf:pds.example": "run" });
    assert.ok(await many.hget(storeKeys.backfillHost("pds.example"), "pending"));
    // The next part (the repository goes on from the mark the first one moved) writes it.
    const second = part(1, "app.bsky.feed.like/x", "done", [2]);
    assert.deepEqual(await split.load(second), await single.load(second));
    assert.equal(await many.hlen(storeKeys.idWriters), 0);
    assert.equal(await many.hget(storeKeys.backfillHost("pds.example"), "pending"), null);
    assertSame(await contents(one), await contents(many));
  });
});

Deno.test("on a Redis Cluster a host's last part stopped between its rounds is written when the run ends, and a second run of the host loads nothing", async () => {
  await withStopping(async (one, many, single, split) => {
    const last = part(3, "", "done", [200, 201, 202]);
    await single.load(last);
    await assert.rejects(() => split.load(last), /stopped between the rounds/);
    // Another run of the host, while this one holds: refused before anything.
    await holdBackfill(many, "other", 600, true);
    const other = new BackfillStore(many, STORE);
    await assert.rejects(
      () => other.load({ ...last, token: "other", from: "done" }),
      /Another run of pds\.example is going on/,
    );
    await assert.rejects(
      () => other.claimHost("pds.example", "other", 1500),
      /Another run of pds\.example is going on/,
      "a run waits for the one before to let go, then gives up",
    );
    // No part comes after the last: the run writes it when it ends, even while the sweep's
    // fence is up (it reads no ids; the fence waits for it).
    await many.set(storeKeys.idFence, "sweep");
    await split.finishHost("pds.example", "run");
    assert.equal(await many.hget(storeKeys.backfillHost("pds.example"), "pending"), null);
    assert.equal(await many.hlen(storeKeys.idWriters), 0);
    await many.del(storeKeys.idFence);
    assertSame(await contents(one), await contents(many));
  });
});

Deno.test("on a Redis Cluster a run reading repositories at once loads each part once, one after another", async () => {
  await using cluster = await startRedisCluster();
  const many = await cluster.connect();
  try {
    const repos = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(repo));
    const run = await runBackfill({
      ...options(many, new FakeSource(repos)),
      BACKFILL_CONCURRENCY: 4,
    });
    assert.equal(run.state, "done");
    assert.equal(run.records.counted, 36 + 8 + 4);
    const got = await topInteractions(many, TARGET, {
      direction: "received",
      windowHours: 24 * 7,
      limit: 10,
      now: NOW,
    });
    assert.deepEqual(
      new Map(got?.map((c) => [c.did, c.like])),
      new Map([1, 2, 3, 4, 5, 6, 7, 8].map((n) => [did(n), n])),
    );
    assert.equal(await many.hlen(storeKeys.idWriters), 0);
  } finally {
    many.disconnect();
  }
});
