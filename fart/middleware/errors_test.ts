import assert from "node:assert/strict";
import { createLogger } from "@bsky/shared/log";
import { HttpError } from "../http.ts";
import { compose } from "./compose.ts";
import { ctxOf } from "../testing/ctx.ts";
import { errors } from "./errors.ts";

function logged() {
  const lines: string[] = [];
  return { lines, log: createLogger("fart", { write: (line) => lines.push(line) }) };
}

Deno.test("errors: an HttpError is its JSON answer, with its headers, never stored, and not logged", async () => {
  const { lines, log } = logged();
  const ctx = ctxOf("/v1/x");
  ctx.route = "top";
  const res = await compose([errors(log)], () => {
    throw new HttpError(429, "Slow down", { parameter: "q" }, { "retry-after": "3" });
  })(ctx);
  assert.equal(res.status, 429);
  assert.equal(res.headers.get("retry-after"), "3");
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.deepEqual(await res.json(), {
    error: "TooManyRequests",
    message: "Slow down",
    parameter: "q",
  });
  assert.equal(ctx.route, "error", "counted as an error");
  assert.deepEqual(lines, []);
});

Deno.test("errors: anything else is a 500 that shows nothing of it, and the log has it", async () => {
  const { lines, log } = logged();
  const res = await compose([errors(log)], () => Promise.reject(new Error("secret detail")))(
    ctxOf("/v1/stats/jobs"),
  );
  assert.equal(res.status, 500);
  const body = await res.text();
  assert.doesNotMatch(body, /secret/);
  assert.deepEqual(JSON.parse(body), {
    error: "InternalServerError",
    message: "Something went wrong on our side",
  });
  assert.equal(lines.length, 1);
  assert.match(lines[0], /Request failed/);
  assert.match(lines[0], /secret detail/);
  assert.match(lines[0], /\/v1\/stats\/jobs/);
});
