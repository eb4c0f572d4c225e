import assert from "node:assert/strict";
import { IdsChangedError } from "./apply.ts";
import { idOf } from "./ids.ts";
import { storeKeys } from "./layout.ts";
import { accountKeyKinds, findIdleIds, reclaimRetired } from "./reclaim.ts";
import { like, T0, withStore } from "./testing/fixtures.ts";
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
