/**
 * The backfill as a scheduler job: off unless SCHEDULER_BACKFILL_SOURCE_URL is set, run
 * under the scheduler's lock (a tick while another process holds it is skipped), each tick
 * going on where the last stopped, its run recorded like any job's.
 */
import assert from "node:assert/strict";
import { jobKeys } from "@bsky/shared/keys";
import { createLogger } from "@bsky/shared/log";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { TokenLock } from "@bsky/shared/token_lock";
import { topInteractions } from "@bsky/store/queries";
import { repoCar } from "@bsky/backfill/testing/car";
import { FakeSource } from "@bsky/backfill/testing/fake_source";
import { loadSchedulerConfig } from "../config.ts";
import { jobsOf } from "../jobs.ts";
import { jobStatus } from "../runner.ts";
import { startScheduler } from "../service.ts";

const quiet = createLogger("test", { level: "error", write: () => {} });
const A = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", B = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb";

Deno.test("the backfill job is off unless SCHEDULER_BACKFILL_SOURCE_URL is set", () => {
  const off = jobsOf(loadSchedulerConfig(() => undefined));
  assert.ok(!off.some((j) => j.name === "backfill"));
  const on = jobsOf(
    loadSchedulerConfig((n) =>
      n === "SCHEDULER_BACKFILL_SOURCE_URL" ? "https://bsky.network" : undefined
    ),
  );
  const job = on.find((j) => j.name === "backfill");
  assert.equal(job?.schedule, "*/10 * * * *");
});

Deno.test("the backfill job loads its source under the scheduler's lock and records its run", async () => {
  await using server = await startRedisServer();
  const now = Date.now();
  const source = new FakeSource([{
    did: A,
    car: await repoCar(A, [["app.bsky.feed.like/3kaaaaaaaaab2", {
      $type: "app.bsky.feed.like",
      subject: { uri: `at://${B}/app.bsky.feed.post/3kaaaaaaaaaa2`, cid: "bafy" },
      createdAt: new Date(now - 3_600_000).toISOString(),
    }]]),
  }]);
  const env: Record<string, string> = {
    REDIS_URL: server.url,
    SCHEDULER_METRICS_PORT: "0",
    SCHEDULER_BACKFILL_SOURCE_URL: source.url,
    BACKFILL_RATE_PER_SECOND: "1000",
  };
  const scheduler = await startScheduler(loadSchedulerConfig((n) => env[n]), quiet, {
    cron: false,
    fetch: source.fetch,
    log: quiet,
  });
  try {
    const job = scheduler.jobs.find((j) => j.name === "backfill")!;
    // Another process holds the job's lock: this tick does nothing.
    const lock = new TokenLock(scheduler.redis, jobKeys.lock("backfill"));
    assert.ok(await lock.acquire(60_000));
    assert.deepEqual(await scheduler.tick(job, now), { outcome: "skipped", why: "locked" });
    assert.equal(source.requests.length, 0);
    await lock.release();
    const result = await scheduler.tick(job, now + 60_000);
    assert.equal(result.outcome, "ok", JSON.stringify(result));
    const status = await jobStatus(scheduler.redis, "backfill");
    assert.equal(JSON.parse(status!.details).state, "done");
    const got = await topInteractions(scheduler.redis, A, {
      direction: "sent",
      windowHours: 24,
      limit: 10,
      now,
    });
    assert.deepEqual(got?.map((c) => [c.did, c.like]), [[B, 1]]);
    // A later tick finds the host done and reads nothing.
    const before = source.requests.length;
    assert.equal((await scheduler.tick(job, now + 120_000)).outcome, "ok");
    assert.equal(source.requests.length, before);
  } finally {
    await scheduler.stop();
  }
});
