/**
 * Each job against a real redis-server filled through the real indexer's apply path with
 * generated events; the top lists are compared with every account's totals from the
 * store's own per-account query (the real-PDS test compares them with the workload's truth).
 */
import assert from "node:assert/strict";
import { jobKeys, networkKeys, statsKeys } from "@bsky/shared/keys";
import { createLogger } from "@bsky/shared/log";
import { connectRedis, serverTime } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { chunksOf, Publisher } from "@bsky/firehose/publisher";
import { countEvent, emptyCounts } from "@bsky/firehose/network_counts";
import { storeKeys } from "@bsky/store/layout";
import { generateEvents } from "@bsky/store/testing/generate";
import { loadSchedulerConfig } from "../config.ts";
import { rollUpCounters } from "../jobs/counters.ts";
import { ClockSkewError, MAX_CLOCK_SKEW_MS, rollUpStore } from "../jobs/rollup.ts";
import { sweep } from "../jobs/sweep.ts";
import { startScheduler } from "../service.ts";
import { checkTopListsAt, fill } from "../testing/top_lists_check.ts";

const HOUR = 3_600_000;

const quiet = createLogger("test", { level: "error", write: () => {} });

Deno.test("the top lists equal every account's totals from the store, before and after the store's roll-up", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const [before, after] = await checkTopListsAt(redis, Date.now(), {
      accounts: 300,
      events: 15_000,
      size: 100,
    });
    assert.ok(after < before, `the roll-up shrank the logs: ${before} to ${after}`);
  } finally {
    redis.disconnect();
  }
});

Deno.test("the roll-up refuses to run on a clock that is too far from Redis's, and leaves the logs alone", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    // Redis's own clock, so that only the skews below are off (also under faketime).
    const now = await serverTime(redis);
    await fill(redis, now, { accounts: 50, events: 2000 });
    const logs = async () => {
      const keys = (await redis.keys("l:*")).sort();
      return await Promise.all(keys.map((k) => redis.getBuffer(k)));
    };
    const kept = await logs();
    for (const skew of [MAX_CLOCK_SKEW_MS + 60_000, -MAX_CLOCK_SKEW_MS - 60_000]) {
      await assert.rejects(() => rollUpStore(redis, now + skew), ClockSkewError);
    }
    await assert.rejects(
      () => rollUpStore(redis, now + 2 * HOUR, { maxSkewMs: HOUR }),
      /Cannot roll up the store: this clock is 7\d{3} s from Redis's \(at most 3600 s allowed\)/,
    );
    assert.deepEqual(await logs(), kept);
    const rolled = await rollUpStore(redis, now);
    assert.ok(Object.values(rolled).some((r) => r.after < r.before), "in agreement, it rolls up");
  } finally {
    redis.disconnect();
  }
});

Deno.test("two schedulers at once run each job once per tick, and a failed run keeps the previous snapshot and is reported", async () => {
  await using server = await startRedisServer();
  const env: Record<string, string> = { REDIS_URL: server.url, SCHEDULER_METRICS_PORT: "0" };
  const config = loadSchedulerConfig((n) => env[n]);
  const noNetwork = () => Promise.reject(new Error("no network in this test"));
  const a = await startScheduler(config, quiet, { cron: false, fetch: noNetwork });
  const b = await startScheduler(config, quiet, { cron: false, fetch: noNetwork });
  try {
    // Redis's own clock: the roll-up job checks its clock against it.
    const now = await serverTime(a.redis);
    await fill(a.redis, now, { accounts: 300, events: 15_000 });
    for (const job of a.jobs) {
      const results = await Promise.all([
        a.tick(job, now),
        b.tick(b.jobs.find((j) => j.name === job.name)!, now),
      ]);
      const outcomes = results.map((r) => r.outcome).sort();
      assert.deepEqual(outcomes, ["ok", "skipped"], `${job.name}: ${JSON.stringify(results)}`);
      // The same tick again, later: already done.
      assert.equal((await b.tick(job, now)).outcome, "skipped");
    }
    const before = await a.redis.get(statsKeys.top("24h", "likes_received"));
    assert.ok(before);
    // A log that is not a string: the next run fails while reading.
    const week = Math.floor(now / HOUR / 168);
    await a.redis.hset(storeKeys.log(999_999, week), "x", "y");
    const top = a.jobs.find((j) => j.name === "top")!;
    const failed = await a.tick(top, now + 60_000);
    assert.equal(failed.outcome, "failed");
    assert.equal(await a.redis.get(statsKeys.top("24h", "likes_received")), before);
    const status = await a.redis.hgetall(jobKeys.status("top"));
    assert.equal(status.outcome, "failed");
    assert.match(status.error, /WRONGTYPE/);
    assert.ok(Number(status.lastSuccessAt) <= Number(status.startedAt));
    const metrics = await (await fetch(`http://127.0.0.1:${b.port}/metrics`)).text();
    assert.match(metrics, /scheduler_job_last_ok\{job="top"\} 0/);
    assert.match(metrics, /scheduler_job_last_ok\{job="counters"\} 1/);
    assert.match(metrics, /scheduler_job_runs_total\{job="top",outcome="skipped"\} [12]\n/);
  } finally {
    await a.stop();
    await b.stop();
  }
});

Deno.test("the counters job rolls minutes into hours and hours into days, trims, and sets TTLs", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const now = Math.floor(Date.now() / HOUR) * HOUR + 30 * 60_000;
    const publisher = new Publisher(redis, { partitions: 1, maxLen: 100_000, source: "relay" });
    const events = [...generateEvents({
      accounts: 500,
      events: 6000,
      seed: 3,
      start: now - 2 * HOUR,
      spanMs: 2 * HOUR,
    })];
    let cursor: number | undefined;
    for (let i = 0; i < events.length; i += 1000) {
      const batch = events.slice(i, i + 1000);
      const counts = emptyCounts();
      for (const e of batch) countEvent(counts, e);
      const to = batch[batch.length - 1].seq;
      assert.equal(
        (await publisher.publish(chunksOf(batch, 1), cursor, to, counts)).status,
        "applied",
      );
      cursor = to;
    }
    // Left over from long ago: must go.
    const oldMinute = Math.floor((now - 48 * HOUR) / 60_000) - 5;
    await redis.hset(networkKeys.eventsMinute(oldMinute), "app.bsky.feed.like", 1);
    await rollUpCounters(redis, now);
    await rollUpCounters(redis, now);
    for (let h = Math.floor(now / HOUR) - 2; h <= Math.floor(now / HOUR); h++) {
      const want: Record<string, string> = {};
      for (const e of events) {
        if (Math.floor(e.time / HOUR) !== h) continue;
        const field = e.kind === "commit" ? e.collection : e.kind;
        want[field] = String(Number(want[field] ?? 0) + 1);
      }
      assert.deepEqual(await redis.hgetall(networkKeys.eventsHour(h)), want, `hour ${h}`);
      if (Object.keys(want).length) {
        assert.ok(await redis.ttl(networkKeys.eventsHour(h)) > 29 * 86400);
      }
    }
    const day = Math.floor(now / 86_400_000);
    const dayEvents = events.filter((e) => Math.floor(e.time / 86_400_000) === day);
    const truth = `truth:${day}`;
    await redis.pfadd(truth, ...new Set(dayEvents.map((e) => e.did)));
    const key = networkKeys.activeDay("all", day);
    assert.equal(await redis.pfcount(key), await redis.pfcount(truth));
    assert.equal(await redis.pfcount(key, truth), await redis.pfcount(truth));
    assert.ok(await redis.ttl(key) > 30 * 86400);
    assert.equal(await redis.exists(networkKeys.eventsMinute(oldMinute)), 0);
  } finally {
    redis.disconnect();
  }
});

Deno.test("the sweep finds keys planted without a TTL, logs past the retention and idle profiles, and never touches id interning", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const now = Date.now();
    await fill(redis, now, { accounts: 300, events: 15_000 });
    const week = Math.floor(now / HOUR / 168);
    await redis.set(storeKeys.log(424_242, week), "abcde");
    await redis.sadd(storeKeys.graph(424_242), "1");
    await redis.set(storeKeys.log(424_243, week - 10), "abcde", "EX", 86400 * 365);
    // Profiles: idle through the retention (pruned), with a log this week, with follows,
    // opted out, deactivated (all kept).
    const profile = async (id: number, fields: Record<string, string>) => {
      await redis.hset(storeKeys.profile(id), { handle: `u${id}.test`, hseq: "1", ...fields });
      await redis.zadd(storeKeys.handles, 0, `u${id}.test\0${id}`);
    };
    const idle = 900_001, recent = 900_002, follows = 900_003, optedOut = 900_004, off = 900_005;
    await profile(idle, {});
    await profile(recent, { status: "active" });
    await redis.set(storeKeys.log(recent, week), "abcde", "EX", 3600);
    await profile(follows, {});
    await redis.sadd(storeKeys.graph(follows), "7");
    await redis.expire(storeKeys.graph(follows), 3600);
    await profile(optedOut, { optout: "1" });
    await profile(off, { status: "deactivated" });
    const idsBefore = await redis.hlen(storeKeys.didToId);
    const report = await sweep(redis, { retentionDays: 30, fix: false, now });
    assert.deepEqual(report.noTtl, { "l:{id}:<n>": 1, "g:{id}": 1 });
    assert.equal(report.expiredLogs, 1);
    assert.equal(report.keptWithoutTtl["ids:{ids}:did"], 1);
    assert.equal(await redis.ttl(storeKeys.log(424_242, week)), -1, "only reported");
    assert.equal(report.idleProfiles, 0, "only fixing prunes");
    assert.equal(await redis.exists(storeKeys.profile(idle)), 1);
    const fixed = await sweep(redis, { retentionDays: 30, fix: true, now });
    assert.equal(fixed.fixed, 2);
    assert.ok(fixed.idleProfiles >= 1);
    assert.equal(await redis.exists(storeKeys.profile(idle)), 0);
    assert.equal(await redis.zscore(storeKeys.handles, `u${idle}.test\0${idle}`), null);
    for (const id of [recent, follows, optedOut, off]) {
      assert.equal(await redis.exists(storeKeys.profile(id)), 1, `profile ${id} kept`);
      assert.equal(await redis.zscore(storeKeys.handles, `u${id}.test\0${id}`), "0");
    }
    assert.ok(await redis.ttl(storeKeys.log(424_242, week)) > 30 * 86400);
    assert.ok(await redis.ttl(storeKeys.graph(424_242)) > 0);
    assert.equal(await redis.exists(storeKeys.log(424_243, week - 10)), 0);
    assert.deepEqual((await sweep(redis, { retentionDays: 30, fix: true, now })).noTtl, {});
    assert.equal(await redis.hlen(storeKeys.didToId), idsBefore);
  } finally {
    redis.disconnect();
  }
});

Deno.test("a sweep whose fix Redis refuses fails with Redis's error instead of reporting it done", async () => {
  await using server = await startRedisServer();
  const admin = await connectRedis(server.url, { name: "test" });
  // A user that may do anything but set an expiry.
  await admin.acl("SETUSER", "sweeper", "on", "nopass", "~*", "&*", "+@all", "-expireat");
  const url = new URL(server.url);
  url.username = "sweeper";
  url.password = "any";
  const redis = await connectRedis(url.href, { name: "test" });
  try {
    const now = Date.now();
    const week = Math.floor(now / HOUR / 168);
    await admin.set(storeKeys.log(424_242, week), "abcde");
    const report = await sweep(redis, { retentionDays: 30, fix: false, now });
    assert.deepEqual(report.noTtl, { "l:{id}:<n>": 1 }, "reading is allowed");
    await assert.rejects(sweep(redis, { retentionDays: 30, fix: true, now }), /NOPERM|expireat/i);
    assert.equal(await admin.ttl(storeKeys.log(424_242, week)), -1, "nothing was fixed");
  } finally {
    redis.disconnect();
    admin.disconnect();
  }
});
