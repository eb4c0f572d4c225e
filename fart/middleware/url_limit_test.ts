import assert from "node:assert/strict";
import { HttpError } from "../http.ts";
import { compose } from "./compose.ts";
import { ctxOf } from "../testing/ctx.ts";
import { urlLimit } from "./url_limit.ts";

Deno.test("urlLimit refuses a path and query past the limit with 414, and lets one at the limit through", async () => {
  const handle = compose([urlLimit(20)], () => Promise.resolve(new Response("ok")));
  // "/v1/x?" and 14 characters: 20 in all.
  assert.equal(await (await handle(ctxOf(`/v1/x?${"a".repeat(14)}`))).text(), "ok");
  await assert.rejects(
    handle(ctxOf(`/v1/x?${"a".repeat(15)}`)),
    (e) =>
      e instanceof HttpError && e.status === 414 && /longer than 20 characters/.test(e.message),
  );
});
