import assert from "node:assert/strict";
import { BoundedMap, stringBytes } from "./bounded_map.ts";

const sized = (maxEntries: number, maxBytes: number) =>
  new BoundedMap<string, string>({
    maxEntries,
    maxBytes,
    sizeOf: (k, v) => stringBytes(k) + stringBytes(v),
  });

Deno.test("BoundedMap keeps at most its entries, the least recently used going first", () => {
  const map = sized(3, 1 << 20);
  for (const k of ["a", "b", "c"]) map.set(k, k);
  assert.equal(map.get("a"), "a", "a is now the most recently used");
  map.set("d", "d");
  assert.deepEqual([...map.entries()].map(([k]) => k), ["c", "a", "d"]);
  assert.equal(map.size, 3);
  assert.equal(map.peek("b"), undefined);
});

Deno.test("BoundedMap counts the bytes of keys as well as values, and never holds more than its bound", () => {
  const map = sized(1_000_000, 10_000);
  for (let i = 0; i < 5_000; i++) {
    map.set(`${i}:${"k".repeat(1000)}`, "v");
    assert.ok(map.bytes <= 10_000, `${map.bytes} bytes after ${i + 1} long keys`);
  }
  assert.equal(map.size, Math.floor(10_000 / (stringBytes(`4999:${"k".repeat(1000)}`) + 18)));
  assert.equal(map.set("huge", "x".repeat(10_000)), false, "larger than the bound: not kept");
  assert.equal(map.has("huge"), false);
  map.clear();
  assert.deepEqual([map.size, map.bytes], [0, 0]);
});

Deno.test("BoundedMap replaces a key's value and its bytes, and delete gives them back", () => {
  const map = sized(10, 1000);
  map.set("a", "x".repeat(100));
  map.set("a", "y");
  assert.equal(map.bytes, stringBytes("a") + stringBytes("y"));
  assert.equal(map.delete("a"), true);
  assert.equal(map.delete("a"), false);
  assert.deepEqual([map.size, map.bytes], [0, 0]);
});
