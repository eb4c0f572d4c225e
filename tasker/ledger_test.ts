import assert from "node:assert/strict";
import { connectRedis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Ledger, MENTION_TTL_MS, type PlanRequest, taskerKeys } from "./ledger.ts";

const T = 1_800_000_000_000;
const request = (n: number, extra: Partial<PlanRequest> = {}): PlanRequest => ({
  uri: `at://did:plc:alice/app.bsky.feed.post/3k${n}`,
  requester: "did:plc:alice",
  kind: "circles",
  rkey: `3kreply${n}`,
  now: T,
  cooldownMs: 600_000,
  perHour: 300,
  maxWaitMs: 60_000,
  ...extra,
});

async function withLedger(fn: (ledger: Ledger) => Promise<void>) {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    await fn(new Ledger(redis));
  } finally {
    redis.disconnect();
  }
}

Deno.test("Ledger.plan() decides a mention once: asked again, it gives back the same plan", async () => {
  await withLedger(async (ledger) => {
    const first = await ledger.plan(request(1));
    assert.equal(first.kind, "circles");
    assert.equal(first.state, "planned");
    assert.equal(first.rkey, "3kreply1");
    // Later, with another key and kind proposed (a redelivery after a restart): the same plan.
    assert.deepEqual(
      await ledger.plan(request(1, { now: T + 5000, rkey: "x", kind: "help" })),
      first,
    );
    assert.deepEqual(await ledger.get(request(1).uri), first);
    const ttl = await ledger.redis.pttl(taskerKeys.mention(request(1).uri));
    assert.ok(ttl > MENTION_TTL_MS - 10_000 && ttl <= MENTION_TTL_MS);
    await ledger.done(request(1).uri, "circles", "at://did:plc:bot/app.bsky.feed.post/3kreply1");
    const done = await ledger.get(request(1).uri);
    assert.equal(done?.state, "done");
    assert.equal(done?.reply, "at://did:plc:bot/app.bsky.feed.post/3kreply1");
  });
});

Deno.test("Ledger.plan() answers a request in the cooldown once with the minutes left, then with silence", async () => {
  await withLedger(async (ledger) => {
    assert.equal((await ledger.plan(request(1))).kind, "circles");
    const notice = await ledger.plan(request(2, { now: T + 61_000, kind: "help" }));
    assert.equal(notice.kind, "cooldown");
    assert.equal(notice.minutes, 9);
    const silent = await ledger.plan(request(3, { now: T + 62_000 }));
    assert.equal(silent.kind, "silent");
    assert.equal(silent.state, "done");
    // Another account is not affected.
    assert.equal((await ledger.plan(request(4, { requester: "did:plc:bob" }))).kind, "circles");
    // With no cooldown, every request is answered.
    const free = { requester: "did:plc:carol", cooldownMs: 0 };
    assert.equal((await ledger.plan(request(5, free))).kind, "circles");
    assert.equal((await ledger.plan(request(6, free))).kind, "circles");
  });
});

Deno.test("Ledger.plan() spaces posts by the hourly rate after a burst, and gives up on a slot too far away", async () => {
  await withLedger(async (ledger) => {
    // 60 an hour: a burst of 6, then one a minute.
    const plans = [];
    for (let i = 0; i < 8; i++) {
      plans.push(
        await ledger.plan(
          request(i, { requester: `did:plc:u${i}`, perHour: 60, maxWaitMs: 90_000 }),
        ),
      );
    }
    assert.deepEqual(plans.slice(0, 6).map((p) => p.notBefore), Array(6).fill(T));
    assert.equal(plans[6].notBefore, T + 60_000);
    assert.equal(plans[7].kind, "rate_limited");
    assert.equal(plans[7].state, "done");
    // A request refused by the rate limit does not start the requester's cooldown.
    const again = await ledger.plan(
      request(9, { requester: "did:plc:u7", now: T + 120_000, perHour: 60 }),
    );
    assert.equal(again.kind, "circles");
  });
});
