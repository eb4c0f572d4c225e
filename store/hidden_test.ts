import assert from "node:assert/strict";
import { hiddenAmong, hiddenIds, IdBits } from "./hidden.ts";
import { MAX_ID, storeKeys } from "./layout.ts";
import { withStore } from "./testing/fixtures.ts";

Deno.test("IdBits holds exactly the ids it was made of, up to the largest id the store gives", () => {
  const ids = [1, 7, 8, 9, 1000, 1000, MAX_ID];
  const bits = new IdBits(ids);
  assert.equal(bits.size, 6);
  for (let id = 0; id <= 1100; id++) assert.equal(bits.has(id), ids.includes(id), `${id}`);
  assert.ok(bits.has(MAX_ID));
  assert.ok(!bits.has(MAX_ID - 1));
  assert.ok(!bits.has(MAX_ID + 1));
  assert.ok(!new IdBits([]).has(0));
});

Deno.test("hiddenAmong() and hiddenIds() find the hidden accounts, past one batch and one page", async () => {
  await withStore(async (redis) => {
    // More than a batch of SMISMEMBER (1,000) and a page of SSCAN (10,000).
    const hidden = Array.from({ length: 12_000 }, (_, k) => 3 * k + 1);
    for (let i = 0; i < hidden.length; i += 1000) {
      await redis.sadd(storeKeys.hidden, ...hidden.slice(i, i + 1000));
    }
    const asked = Array.from({ length: 4000 }, (_, k) => k);
    const found = await hiddenAmong(redis, asked);
    assert.deepEqual([...found].sort((a, b) => a - b), asked.filter((id) => id % 3 === 1));
    assert.equal((await hiddenAmong(redis, [])).size, 0);
    const bits = await hiddenIds(redis);
    assert.equal(bits.size, hidden.length);
    for (let id = 0; id < 36_100; id++) assert.equal(bits.has(id), id % 3 === 1 && id < 36_000);
  });
});
