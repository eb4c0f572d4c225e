import assert from "node:assert/strict";
import { backoff, retryAtOf } from "./http.ts";

const NOW = 1_800_000_000_000;

Deno.test("retryAtOf() reads ratelimit-reset as epoch seconds (or a delay), retry-after as seconds, and nothing past an hour", () => {
  const at = (h: Record<string, string>) => retryAtOf(new Headers(h), NOW);
  assert.equal(at({ "ratelimit-reset": String(NOW / 1000 + 30) }), NOW + 30_000);
  assert.equal(at({ "ratelimit-reset": "30" }), NOW + 30_000);
  // A reset just past is now; one far away or not a number is not believed.
  assert.equal(at({ "ratelimit-reset": String(NOW / 1000 - 5) }), NOW);
  assert.equal(at({ "ratelimit-reset": String(NOW / 1000 + 7200) }), undefined);
  assert.equal(at({ "ratelimit-reset": "soon" }), undefined);
  assert.equal(at({ "retry-after": "12" }), NOW + 12_000);
  assert.equal(at({ "retry-after": "999999" }), NOW + 3_600_000);
  assert.equal(at({}), undefined);
});

Deno.test("backoff() doubles from its base up to its cap, jittered within the upper half", () => {
  for (let attempt = 1; attempt <= 20; attempt++) {
    const ceiling = Math.min(30_000, 500 * 2 ** (attempt - 1));
    const ms = backoff(attempt);
    assert.ok(ms >= ceiling / 2 && ms <= ceiling, `${attempt}: ${ms}`);
  }
});
