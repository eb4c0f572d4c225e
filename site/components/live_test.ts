import assert from "node:assert/strict";
import { formatLag } from "./live.ts";

Deno.test("formatLag() reads seconds while short, then minutes, then hours and minutes", () => {
  assert.equal(formatLag(null, "en"), "–");
  assert.equal(formatLag(0.4, "en"), "0 s");
  assert.equal(formatLag(42, "en"), "42 s");
  assert.equal(formatLag(89, "en"), "89 s");
  assert.equal(formatLag(90, "en"), "2 min");
  assert.equal(formatLag(14 * 60 + 10, "en"), "14 min");
  assert.equal(formatLag(3 * 3600 + 5 * 60, "en"), "3 h 5 min");
  assert.equal(formatLag(30 * 3600, "pt-BR"), "30 h 0 min");
});
