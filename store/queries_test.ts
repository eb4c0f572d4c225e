import assert from "node:assert/strict";
import { IdBits } from "./queries.ts";
import { MAX_ID } from "./layout.ts";

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
