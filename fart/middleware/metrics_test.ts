import assert from "node:assert/strict";
import { fartMetrics } from "../metrics.ts";
import { compose, type Middleware } from "./compose.ts";
import { ctxOf } from "../testing/ctx.ts";
import { measure } from "./metrics.ts";

Deno.test("measure counts each answer by the route the request was counted as and its status, and times it", async () => {
  const metrics = fartMetrics();
  const named = (route: string, status: number): Middleware => (ctx) => {
    ctx.route = route;
    return Promise.resolve(new Response(null, { status }));
  };
  for (const [route, status] of [["top", 200], ["top", 200], ["top", 404], ["error", 400]]) {
    await compose([measure(metrics), named(route as string, status as number)], () => {
      throw new Error("not reached");
    })(ctxOf("/v1/stats/top"));
  }
  const text = await metrics.registry.render();
  assert.match(text, /fart_requests_total\{route="top",status="200"\} 2\n/);
  assert.match(text, /fart_requests_total\{route="top",status="404"\} 1\n/);
  assert.match(text, /fart_requests_total\{route="error",status="400"\} 1\n/);
  assert.match(text, /fart_request_seconds_count 4\n/);
});
