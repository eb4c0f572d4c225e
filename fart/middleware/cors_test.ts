import assert from "node:assert/strict";
import { compose } from "./compose.ts";
import { ctxOf } from "../testing/ctx.ts";
import { cors, CORS_HEADERS, preflight } from "./cors.ts";

const answer = (status: number) => () => Promise.resolve(new Response("x", { status }));

Deno.test("cors sets the CORS headers on every answer, errors included", async () => {
  for (const status of [200, 404, 500]) {
    const res = await compose([cors], answer(status))(ctxOf("/v1/stats/jobs"));
    assert.equal(res.status, status);
    for (const [k, v] of Object.entries(CORS_HEADERS)) assert.equal(res.headers.get(k), v);
    assert.match(res.headers.get("access-control-expose-headers")!, /\blocation\b/);
  }
});

Deno.test("preflight answers OPTIONS at any path with 204 and counts it as a preflight; other methods go on", async () => {
  const handle = compose([cors, preflight], answer(200));
  for (const path of ["/v1/interactions/alice.test", "/nowhere"]) {
    const ctx = ctxOf(path, { method: "OPTIONS" });
    const res = await handle(ctx);
    assert.equal(res.status, 204);
    assert.equal(ctx.route, "preflight");
    assert.match(res.headers.get("access-control-allow-headers")!, /authorization/);
  }
  const get = ctxOf("/v1/stats/jobs");
  assert.equal((await handle(get)).status, 200);
  assert.equal(get.route, "error", "left to the router");
});
