import assert from "node:assert/strict";
import { privateAnswers } from "./cache_control.ts";
import { compose } from "./compose.ts";
import { ctxOf } from "../testing/ctx.ts";

const answering = (cacheControl: string) => () =>
  Promise.resolve(new Response("x", { headers: { "cache-control": cacheControl } }));

Deno.test("privateAnswers lets only the client's own cache keep an answer, for as long as before", async () => {
  const cases = [
    ["public, max-age=60", "private, max-age=60"],
    ["public, max-age=86400", "private, max-age=86400"],
    ["no-store", "no-store"],
  ];
  for (const [given, sent] of cases) {
    const res = await compose([privateAnswers], answering(given))(ctxOf("/v1/stats/jobs"));
    assert.equal(res.headers.get("cache-control"), sent, given);
  }
});
