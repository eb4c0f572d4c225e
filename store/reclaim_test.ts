import assert from "node:assert/strict";
import { IdsChangedError } from "./apply.ts";
import { idOf } from "./ids.ts";
import { DAY_MS, HOUR_MS, storeKeys } from "./layout.ts";
import { accountKeyKinds, findIdleIds, reclaimRetired, retiringIds } from "./reclaim.ts";
import { isPastRetention } from "./retention.ts";
import { create, like, T0, withStore } from "./testing/fixtures.ts";
import { didOf } from "./testing/generate.ts";

const options = { retentionDays: 30, now: T0 };

Deno.test("an account's own keys are every kind tagged by its id alone or by its id and a week", () => {
  const { single, weekly } = accountKeyKinds();
  for (const name of ["graph", "profile", "blocking", "blockedBy"] as const) {
    assert.ok(single.includes(name), name);
  }
  assert.deepEqual([...weekly].sort(), ["digest", "log"]);
  assert.ok(!single.includes("didToId") && !single.includes("hidden"));
});

Deno.test("reclaimed ids are interned again first, and a batch of ids read before is refused whole", async () => {
  await withStore(async (redis, applier) => {
    const [a, b] = [didOf(1), didOf(2)];
    await applier.apply([like(a, "3kaaaaaaaaaa2", b)]);
    const ids = await applier.ids([a, b]);
    // Both are idle once their logs are gone; the first sweep's walk finds them, the next
    // one reclaims them.
    for (const key of await redis.keys("l:*")) await redis.del(key);
    const bucket = Math.floor(ids.get(a)! / 128);
    assert.equal(await findIdleIds(redis, [bucket], options), 2);
    assert.deepEqual(await reclaimRetired(redis, options), { reclaimed: 0, retiring: 2 });
    assert.deepEqual(await reclaimRetired(redis, options), { reclaimed: 2, retiring: 0 });
    assert.equal(await idOf(redis, a), undefined);
    assert.equal(await redis.get(storeKeys.idEpoch), "1");
    // The applier still has both cached: arguments it did not prepare are refused, with
    // nothing written, and its cache is emptied.
    const header = [30 * 86400, 48 * 3600, 48, "", "", 0, "", ""];
    const stale = applier.ops([{ ...like(a, "3kaaaaaaaaaa3", b), seq: 7 }], ids);
    await assert.rejects(() => applier.run([...header, ...stale]), IdsChangedError);
    assert.equal((await redis.keys("l:*")).length, 0, "nothing written");
    // Ids read again: the free ones first, oldest first.
    const again = await applier.ids([didOf(3), a]);
    assert.deepEqual([again.get(didOf(3)), again.get(a)], [ids.get(a), ids.get(b)]);
    // prepare() makes its arguments again by itself.
    await applier.apply([like(a, "3kaaaaaaaaaa4", b)]);
    assert.equal(await idOf(redis, a), ids.get(b));
    assert.notEqual(await idOf(redis, b), ids.get(b), "b is interned anew");
  });
});

Deno.test("an account whose only keys left are its posts by language keeps its id until their hours are past the retention", async () => {
  await withStore(async (redis, applier) => {
    const post = (did: string, rkey: string, time: number) =>
      create(did, "app.bsky.feed.post", rkey, { chars: 5, langs: ["en"] }, time);
    const [a, c, d] = [didOf(1), didOf(2), didOf(3)];
    await applier.apply([post(a, "3kaaaaaaaaaa2", T0 - 2 * HOUR_MS), like(c, "3kaaaaaaaaaa3", d)]);
    const ids = await applier.ids([a, c, d]);
    const bucket = Math.floor(ids.get(a)! / 128);
    assert.equal(bucket, Math.floor(ids.get(c)! / 128));
    for (const key of await redis.keys("l:*")) await redis.del(key);
    // a has nothing but its post, counted in the top posters of its language: it is not
    // idle. c and d are.
    assert.equal(await findIdleIds(redis, [bucket], options), 2);
    assert.deepEqual(await reclaimRetired(redis, options), { reclaimed: 0, retiring: 2 });
    // c posts while its id retires: it takes its id back at once.
    await applier.apply([post(c, "3kaaaaaaaaaa4", T0)]);
    assert.equal(await retiringIds(redis), 1);
    assert.deepEqual(await reclaimRetired(redis, options), { reclaimed: 1, retiring: 0 });
    assert.equal(await idOf(redis, d), undefined);
    assert.equal(await idOf(redis, a), ids.get(a));
    assert.equal(await idOf(redis, c), ids.get(c));
    // Retiring whatever the walk found, a poster is still not reclaimed.
    await redis.sadd(storeKeys.retiringIds, ids.get(a)!, -ids.get(a)!);
    assert.deepEqual(await reclaimRetired(redis, options), { reclaimed: 0, retiring: 0 });
    assert.equal(await idOf(redis, a), ids.get(a));
    // Thirty days on, a's post's hour is past the retention (its string is deleted by the
    // sweep, whatever its TTL) and its id goes back; c's, an hour later, is still kept.
    const later = { retentionDays: 30, now: T0 + 30 * DAY_MS };
    const hourOf = (t: number) => storeKeys.languagePosts(Math.floor(t / HOUR_MS));
    assert.ok(!isPastRetention(hourOf(T0 - 2 * HOUR_MS), options));
    assert.ok(isPastRetention(hourOf(T0 - 2 * HOUR_MS), later));
    assert.ok(!isPastRetention(hourOf(T0), later));
    assert.equal(await findIdleIds(redis, [bucket], later), 1);
    await reclaimRetired(redis, later);
    assert.deepEqual(await reclaimRetired(redis, later), { reclaimed: 1, retiring: 0 });
    assert.equal(await idOf(redis, a), undefined);
    assert.equal(await idOf(redis, c), ids.get(c));
  });
});

Deno.test("a post takes its author out of the ids waiting to retire, and posts stamped ahead of the clock keep their authors' ids", async () => {
  await withStore(async (redis, applier) => {
    const post = (did: string, rkey: string, time: number) =>
      create(did, "app.bsky.feed.post", rkey, { chars: 5, langs: ["pt"] }, time);
    const [a, b, c] = [didOf(1), didOf(2), didOf(3)];
    // c's post is stamped three hours ahead of the sweep's clock.
    await applier.apply([
      like(a, "3kaaaaaaaaaa2", b),
      like(c, "3kaaaaaaaaaa3", b),
      post(c, "3kaaaaaaaaaa5", T0 + 3 * HOUR_MS),
    ]);
    const ids = await applier.ids([a, b, c]);
    const bucket = Math.floor(ids.get(a)! / 128);
    for (const key of await redis.keys("l:*")) await redis.del(key);
    assert.equal(await findIdleIds(redis, [bucket], options), 2, "a and b; c has posted");
    // a posts while its id waits for the next sweep: it waits no more.
    await applier.apply([post(a, "3kaaaaaaaaaa4", T0)]);
    assert.equal(await redis.sismember(storeKeys.pendingIds, ids.get(a)!), 0);
    assert.deepEqual(await reclaimRetired(redis, options), { reclaimed: 0, retiring: 1 });
    assert.deepEqual(await reclaimRetired(redis, options), { reclaimed: 1, retiring: 0 });
    assert.equal(await idOf(redis, a), ids.get(a));
    assert.equal(await idOf(redis, c), ids.get(c), "a post ahead of the clock keeps the id");
    assert.equal(await idOf(redis, b), undefined);
  });
});
