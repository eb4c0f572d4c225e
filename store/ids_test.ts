import assert from "node:assert/strict";
import { didsOf, idOf } from "./ids.ts";
import { ID_BUCKET, storeKeys } from "./layout.ts";
import { withStore } from "./testing/fixtures.ts";
import { didOf } from "./testing/generate.ts";

Deno.test("idOf() and didsOf() read the interning both ways, across the reverse map's hashes", async () => {
  await withStore(async (redis, applier) => {
    const dids = Array.from({ length: ID_BUCKET + 5 }, (_, k) => didOf(k));
    dids.push("did:web:example.com");
    const ids = await applier.ids(dids);
    assert.equal(new Set(ids.values()).size, dids.length, "one id each");
    for (const did of dids) assert.equal(await idOf(redis, did), ids.get(did));
    const all = dids.map((did) => ids.get(did)!);
    assert.deepEqual(await didsOf(redis, all), dids);
    assert.deepEqual(await didsOf(redis, all.map(String)), dids, "ids as strings too");
    // Ids past the first hash of the reverse map live in the next ones.
    assert.ok(Math.max(...all) >= ID_BUCKET);
    assert.ok(await redis.exists(storeKeys.idToDid(Math.max(...all))));
    assert.equal(await idOf(redis, "did:plc:neverseen"), undefined);
    assert.deepEqual(await didsOf(redis, [Math.max(...all) + 1]), [undefined]);
    assert.deepEqual(await didsOf(redis, []), []);
  });
});
