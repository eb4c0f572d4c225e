/**
 * A backfill run against a source in process (testing/fake_source.ts) and a real
 * redis-server: paging, resuming, failures tried again and recorded, hostile answers, the
 * concurrency and rate limits, and the live start and retention rules.
 */
import assert from "node:assert/strict";
import { systemClock } from "@bsky/shared/clock";
import { createLogger } from "@bsky/shared/log";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { profiles, topInteractions } from "@bsky/store/queries";
import { backfillHostName, DAY_MS, storeKeys } from "@bsky/store/layout";
import { loadBackfillConfig } from "../config.ts";
import { backfillMetrics } from "../metrics.ts";
import { type BackfillOptions, runBackfill } from "../run.ts";
import { repoCar } from "../testing/car.ts";
import { type FakeRepo, FakeSource } from "../testing/fake_source.ts";
import { did, TARGET, tid } from "../testing/ids.ts";

/** A repository with `likes` likes of TARGET's post, made `ago` ms ago. */
async function likesRepo(n: number, likes: number, ago = 3_600_000): Promise<FakeRepo> {
  const at = Date.now() - ago;
  const records: [string, unknown][] = [];
  for (let k = 0; k < likes; k++) {
    records.push([`app.bsky.feed.like/${tid(at, k)}`, {
      $type: "app.bsky.feed.like",
      subject: { uri: `at://${TARGET}/app.bsky.feed.post/${tid(at - DAY_MS)}`, cid: "bafy" },
      createdAt: new Date(at).toISOString(),
    }]);
  }
  return { did: did(n), car: await repoCar(did(n), records), handle: `user${n}.test` };
}

async function withRedis(fn: (redis: Redis, url: string) => Promise<void>) {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    await fn(redis, server.url);
  } finally {
    redis.disconnect();
  }
}

const quiet = createLogger("test", { level: "error", write: () => {} });

function options(
  redis: Redis,
  source: FakeSource,
  env: Record<string, string> = {},
): BackfillOptions {
  const config = loadBackfillConfig((n) =>
    ({
      BACKFILL_SOURCE_URL: source.url,
      BACKFILL_PAGE_SIZE: "2",
      BACKFILL_RATE_PER_SECOND: "1000",
      BACKFILL_RETRY_MS: "20",
      BACKFILL_MAX_ATTEMPTS: "3",
      ...env,
    } as Record<string, string>)[n]
  );
  return { ...config, redis, log: quiet, clock: systemClock, fetch: source.fetch };
}

/** Likes TARGET received from each account, as the store answers. */
async function received(redis: Redis): Promise<Map<string, number>> {
  const got = await topInteractions(redis, TARGET, {
    direction: "received",
    windowHours: 24 * 30,
    limit: 100,
    now: Date.now(),
  });
  return new Map((got ?? []).map((c) => [c.did, c.like]));
}

Deno.test("a run loads every repository over every page, and a later run finds the host done", async () => {
  await withRedis(async (redis) => {
    const source = new FakeSource(await Promise.all([1, 2, 3, 4, 5].map((n) => likesRepo(n, n))));
    const metrics = backfillMetrics();
    const summary = await runBackfill({ ...options(redis, source), metrics });
    assert.equal(summary.state, "done");
    assert.deepEqual(summary.repos, { loaded: 5, gone: 0, inactive: 0, skipped: 0, failed: 0 });
    assert.equal(summary.records.counted, 15);
    assert.deepEqual(await received(redis), new Map([1, 2, 3, 4, 5].map((n) => [did(n), n])));
    const [p] = await profiles(redis, [did(3)]);
    assert.equal(p.handle, "user3.test");
    assert.equal(source.requests.filter((r) => r.method.endsWith("listRepos")).length, 4);
    const host = await redis.hgetall(storeKeys.backfillHost(backfillHostName(source.url)));
    assert.equal(host.state, "done");
    assert.equal(host.done, "5");
    assert.equal(await redis.hlen(storeKeys.backfillRepos(backfillHostName(source.url))), 0);
    const text = await metrics.registry.render();
    assert.match(text, /backfill_repos_total\{outcome="loaded"\} 5/);
    assert.match(text, /backfill_records_total\{outcome="counted"\} 15/);
    assert.match(text, /backfill_repos_per_second \d/);
    assert.match(text, /backfill_eta_seconds /);
    const before = source.requests.length;
    assert.equal((await runBackfill(options(redis, source))).state, "done");
    assert.equal(source.requests.length, before, "nothing read again");
    assert.deepEqual(await received(redis), new Map([1, 2, 3, 4, 5].map((n) => [did(n), n])));
  });
});

Deno.test("a run stopped at its deadline leaves its marks; the next goes on and counts nothing twice", async () => {
  await withRedis(async (redis) => {
    const repos = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => likesRepo(n, 5)));
    const source = new FakeSource(repos);
    // The run's clock moves a minute on with each repository read, whatever the machine's
    // speed: the deadline falls after the third read.
    const start = Date.now();
    const reads = () => source.requests.filter((r) => r.method.endsWith("getRepo")).length;
    const clock = { now: () => start + 60_000 * reads() };
    const first = await runBackfill({
      ...options(redis, source, { BACKFILL_CONCURRENCY: "1", BACKFILL_BATCH_RECORDS: "2" }),
      clock,
      deadline: start + 150_000,
    });
    assert.equal(first.state, "listing");
    assert.equal(first.repos.loaded, 3, JSON.stringify(first.repos));
    const second = await runBackfill(options(redis, source, { BACKFILL_CONCURRENCY: "3" }));
    assert.equal(second.state, "done");
    assert.equal(first.repos.loaded + second.repos.loaded, 6);
    assert.deepEqual(await received(redis), new Map(repos.map((r) => [r.did, 5])));
  });
});

Deno.test("a failing repository is tried again after growing pauses, recorded, and loaded by a later run; the run goes on", async () => {
  await withRedis(async (redis) => {
    const repos = await Promise.all([1, 2, 3].map((n) => likesRepo(n, 2)));
    const source = new FakeSource(repos);
    const failing = repos[1].did;
    const fail = () => Response.json({ error: "InternalServerError" }, { status: 500 });
    source.answers.set(failing, [fail, fail, fail, fail, fail, fail]);
    const host = backfillHostName(source.url);
    const first = await runBackfill(options(redis, source, { BACKFILL_RETRY_MS: "100" }));
    assert.equal(first.state, "listed", "listed through, one failure left");
    assert.equal(first.repos.loaded, 2);
    assert.equal(first.failed, 1);
    const tries = source.getRepos(failing).map((r) => r.at);
    // 3 in the listing, 3 more at its end once the first pause (100 * 2^3 ms) passed.
    assert.equal(tries.length, 6);
    const gaps = tries.slice(1, 3).map((t, k) => t - tries[k]);
    assert.ok(gaps[0] >= 95 && gaps[1] >= 195 && gaps[1] < 400, `pauses grow: ${gaps}`);
    assert.ok(tries[3] - tries[2] >= 795, "the recorded failure is tried after its pause");
    const recorded = JSON.parse((await redis.hget(storeKeys.backfillFailed(host), failing))!);
    assert.equal(recorded.attempts, 6);
    assert.match(recorded.error, /500/);
    // The source is fixed: the next run loads it.
    const second = await runBackfill(options(redis, source));
    assert.equal(second.state, "done");
    assert.deepEqual([second.retried, second.recovered, second.failed], [1, 1, 0]);
    assert.equal(await redis.hlen(storeKeys.backfillFailed(host)), 0);
    assert.deepEqual(await received(redis), new Map(repos.map((r) => [r.did, 2])));
  });
});

Deno.test("hostile answers fail only their repository: a malformed listing entry, another account's CAR, a CAR past the bound, a CAR cut short", async () => {
  await withRedis(async (redis) => {
    const repos = await Promise.all([1, 2, 3, 4, 5].map((n) => likesRepo(n, 3)));
    const source = new FakeSource(repos);
    source.extraEntries = [{ did: "not a did" }, null, 42, { did: repos[0].did }];
    const other = repos[4].car;
    source.answers.set(repos[1].did, Array(3).fill(() => new Response(other)));
    source.answers.set(repos[2].did, Array(3).fill(() => new Response(new Uint8Array(5000))));
    source.answers.set(
      repos[3].did,
      Array(3).fill(() => new Response(repos[3].car.subarray(0, 99))),
    );
    const summary = await runBackfill(
      options(redis, source, { BACKFILL_MAX_REPO_BYTES: "4096", BACKFILL_MAX_ATTEMPTS: "1" }),
    );
    assert.equal(summary.failed, 3);
    assert.equal(summary.repos.loaded, 2);
    const failed = await redis.hgetall(storeKeys.backfillFailed(backfillHostName(source.url)));
    assert.match(JSON.parse(failed[repos[1].did]).error, /is of did:plc/);
    assert.match(JSON.parse(failed[repos[2].did]).error, /longer than 4096/);
    assert.match(JSON.parse(failed[repos[3].did]).error, /CAR/);
    assert.deepEqual(await received(redis), new Map([[repos[0].did, 3], [repos[4].did, 3]]));
  });
});

Deno.test("at most BACKFILL_CONCURRENCY repositories are read at once, at BACKFILL_RATE_PER_SECOND", async () => {
  await withRedis(async (redis) => {
    const source = new FakeSource(
      await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((n) => likesRepo(n, 1))),
    );
    source.delayMs = 30;
    const started = performance.now();
    const summary = await runBackfill(options(redis, source, {
      BACKFILL_CONCURRENCY: "3",
      BACKFILL_RATE_PER_SECOND: "40",
      BACKFILL_PAGE_SIZE: "100",
    }));
    const took = performance.now() - started;
    assert.equal(summary.repos.loaded, 8);
    assert.ok(source.maxInFlight <= 3 && source.maxInFlight >= 2, `${source.maxInFlight}`);
    // 2 listings, 8 getRepo, 8 describeRepo: 18 requests, 1/40 s apart.
    assert.equal(source.requests.length, 18);
    assert.ok(took >= 17 * 25 * 0.9, `paced: ${took} ms`);
  });
});

Deno.test("records made from the live start on are the live stream's; likes older than the retention are not loaded, follows are", async () => {
  await withRedis(async (redis) => {
    const now = Date.now();
    const like = (ago: number, k: number): [string, unknown] => [
      `app.bsky.feed.like/${tid(now - ago, k)}`,
      {
        $type: "app.bsky.feed.like",
        subject: { uri: `at://${TARGET}/app.bsky.feed.post/${tid(now - 40 * DAY_MS)}`, cid: "b" },
        createdAt: new Date(now - ago).toISOString(),
      },
    ];
    const follow: [string, unknown] = [`app.bsky.graph.follow/${tid(now - 400 * DAY_MS)}`, {
      $type: "app.bsky.graph.follow",
      subject: TARGET,
      createdAt: new Date(now - 400 * DAY_MS).toISOString(),
    }];
    const records = [like(DAY_MS, 1), like(40 * DAY_MS, 2), like(60_000, 3), follow];
    const source = new FakeSource([{ did: did(1), car: await repoCar(did(1), records) }]);
    const summary = await runBackfill(
      options(redis, source, { BACKFILL_LIVE_START: String(now - 10 * 60_000) }),
    );
    assert.deepEqual(summary.records, { counted: 2, before_window: 1, after_live_start: 1 });
    assert.equal(summary.liveStart, now - 10 * 60_000);
    assert.equal(Number(await redis.get(storeKeys.backfillLive)), now - 10 * 60_000);
    assert.deepEqual(await received(redis), new Map([[did(1), 1]]));
  });
});
