import assert from "node:assert/strict";
import { VisitorLimiter } from "./visitor_limit.ts";

Deno.test("VisitorLimiter lets a visitor make a minute's calls at once, then one per interval, and each visitor has its own", () => {
  let now = 1_000_000;
  const limiter = new VisitorLimiter(6, () => now);
  const seen = Array.from({ length: 8 }, () => limiter.take("192.0.2.1").allowed);
  assert.deepEqual(seen, [true, true, true, true, true, true, false, false]);
  const refused = limiter.take("192.0.2.1");
  assert.equal(refused.retryAfterSeconds, 10, "one call every 10 s at 6 a minute");
  assert.equal(limiter.take("192.0.2.2").allowed, true, "another visitor");
  now += 10_000;
  assert.equal(limiter.take("192.0.2.1").allowed, true);
  assert.equal(limiter.take("192.0.2.1").allowed, false);
  now += 60_000;
  assert.equal(
    Array.from({ length: 7 }, () => limiter.take("192.0.2.1").allowed).filter(Boolean).length,
    6,
  );
});

Deno.test("VisitorLimiter remembers a bounded number of visitors", () => {
  const limiter = new VisitorLimiter(60);
  for (let i = 0; i < 60_000; i++) limiter.take(`198.18.${i >> 8}.${i & 255}:${i}`);
  assert.ok(limiter.visitors <= 50_000, `${limiter.visitors} visitors`);
});
