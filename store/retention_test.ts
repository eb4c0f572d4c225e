import assert from "node:assert/strict";
import { HOUR_MS, storeKeys, WEEK_HOURS } from "./layout.ts";
import { isPastRetention, profileIdOf, pruneIdleProfiles, storeExpiry } from "./retention.ts";
import { withStore } from "./testing/fixtures.ts";

const WEEK = 2900;
/** Monday noon of WEEK, and 30 days of retention. */
const options = { retentionDays: 30, now: (WEEK * WEEK_HOURS + 12) * HOUR_MS };
const nowS = options.now / 1000, retentionS = 30 * 86400;

Deno.test("storeExpiry() gives the store's keys without a TTL the one their writer sets", () => {
  // A week's log: the week's end and the retention.
  assert.equal(storeExpiry(storeKeys.log(42, WEEK), options), (WEEK + 1) * 604800 + retentionS);
  assert.equal(storeExpiry(storeKeys.log(42, WEEK - 2), options), (WEEK - 1) * 604800 + retentionS);
  assert.equal(storeExpiry(storeKeys.graph(42), options), nowS + retentionS);
  assert.equal(storeExpiry(storeKeys.records(3, 9000), options), nowS + 7 * 86400);
  assert.equal(storeExpiry(storeKeys.slotRecords("ab", 9000, 3), options), nowS + 7 * 86400);
  for (
    const key of [
      storeKeys.profile(42),
      storeKeys.handles,
      storeKeys.hidden,
      storeKeys.didToId,
      storeKeys.idToDid(300),
      storeKeys.nextId,
      storeKeys.recordBuckets,
      storeKeys.optCode("AB12CD34"),
      storeKeys.parked,
      storeKeys.settings,
    ]
  ) {
    assert.equal(storeExpiry(key, options), "keep", key);
  }
  for (const key of ["fart:c:x", "stats:{g}:top:24h:likes_received", "sched:{g}:lock:top"]) {
    assert.equal(storeExpiry(key, options), undefined, `${key} is not the store's`);
  }
});

Deno.test("isPastRetention() holds for logs of weeks wholly past the retention, and nothing else", () => {
  // 30 days back from Monday noon ends inside week WEEK - 5: weeks up to WEEK - 6 are past.
  assert.ok(isPastRetention(storeKeys.log(42, WEEK - 6), options));
  assert.ok(isPastRetention(storeKeys.log(42, WEEK - 60), options));
  assert.ok(!isPastRetention(storeKeys.log(42, WEEK - 5), options));
  assert.ok(!isPastRetention(storeKeys.log(42, WEEK), options));
  assert.ok(!isPastRetention(storeKeys.log(42, WEEK + 1), options));
  assert.ok(!isPastRetention(storeKeys.graph(42), options));
  assert.ok(!isPastRetention(storeKeys.records(1, WEEK - 60), options));
});

Deno.test("profileIdOf() reads the account id of a profile key only", () => {
  assert.equal(profileIdOf(storeKeys.profile(42)), 42);
  assert.equal(profileIdOf(storeKeys.graph(42)), undefined);
  assert.equal(profileIdOf(storeKeys.log(42, WEEK)), undefined);
  assert.equal(profileIdOf("p:{abc}"), undefined);
});

Deno.test("pruneIdleProfiles() deletes only the profiles of active accounts idle through the retention", async () => {
  await withStore(async (redis) => {
    const now = Date.now();
    const week = Math.floor(now / HOUR_MS / WEEK_HOURS);
    const profile = async (id: number, fields: Record<string, string>) => {
      await redis.hset(storeKeys.profile(id), { handle: `u${id}.test`, hseq: "1", ...fields });
      await redis.zadd(storeKeys.handles, 0, `u${id}.test\0${id}`);
    };
    const idle = 1, idleActive = 2, loggedLately = 3, loggedLongAgo = 4, follows = 5;
    const optedOut = 6, deactivated = 7;
    await profile(idle, {});
    await profile(idleActive, { status: "active" });
    await profile(loggedLately, {});
    await redis.set(storeKeys.log(loggedLately, week - 3), "abcde");
    await profile(loggedLongAgo, {});
    await redis.set(storeKeys.log(loggedLongAgo, week - 6), "abcde");
    await profile(follows, {});
    await redis.sadd(storeKeys.graph(follows), "9");
    await profile(optedOut, { optout: "1" });
    await profile(deactivated, { status: "deactivated" });
    const ids = [idle, idleActive, loggedLately, loggedLongAgo, follows, optedOut, deactivated];
    assert.equal(await pruneIdleProfiles(redis, ids, { retentionDays: 30, now }), 3);
    for (const id of ids) {
      const gone = [idle, idleActive, loggedLongAgo].includes(id);
      assert.equal(await redis.exists(storeKeys.profile(id)), gone ? 0 : 1, `profile ${id}`);
      const score = await redis.zscore(storeKeys.handles, `u${id}.test\0${id}`);
      assert.equal(score, gone ? null : "0", `handle of ${id}`);
    }
    // Run again, the others stay.
    await pruneIdleProfiles(redis, ids, { retentionDays: 30, now });
    assert.equal(await redis.exists(...ids.map(storeKeys.profile)), 4);
    assert.equal(await pruneIdleProfiles(redis, [], { retentionDays: 30, now }), 0);
  });
});
