import assert from "node:assert/strict";
import { ctxOf } from "../testing/ctx.ts";
import { compose, type Middleware } from "./compose.ts";

Deno.test("compose() runs the middlewares first outermost around the handler, each before and after next()", async () => {
  const seen: string[] = [];
  const mark = (name: string): Middleware => async (_ctx, next) => {
    seen.push(`${name} in`);
    const res = await next();
    seen.push(`${name} out`);
    res.headers.append("x-order", name);
    return res;
  };
  const handle = compose([mark("a"), mark("b")], (ctx) => {
    seen.push("handler");
    return Promise.resolve(new Response(ctx.url.pathname));
  });
  const res = await handle(ctxOf("/x"));
  assert.equal(await res.text(), "/x");
  assert.deepEqual(seen, ["a in", "b in", "handler", "b out", "a out"]);
  assert.equal(res.headers.get("x-order"), "b, a");
});

Deno.test("compose(): a middleware may answer without calling next(), and calling it twice is an error", async () => {
  let reached = false;
  const stop: Middleware = () => Promise.resolve(new Response(null, { status: 204 }));
  const handler = () => {
    reached = true;
    return Promise.resolve(new Response("handler"));
  };
  assert.equal((await compose([stop], handler)(ctxOf("/"))).status, 204);
  assert.equal(reached, false);
  const twice: Middleware = async (_ctx, next) => {
    await next();
    return await next();
  };
  await assert.rejects(compose([twice], handler)(ctxOf("/")), /next\(\) twice/);
});
