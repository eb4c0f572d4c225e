import assert from "node:assert/strict";
import { z } from "zod";
import { HttpError, parseQuery } from "./http.ts";

Deno.test("parseQuery() gives the same answer for a query it has seen, and a wrong one is refused every time", () => {
  const schema = z.strictObject({ limit: z.coerce.number().int().min(1).max(100).prefault(10) });
  const url = (q: string) => new URL(`http://api.test/v1/x${q}`);
  const first = parseQuery(url("?limit=5"), schema);
  assert.deepEqual(first, { limit: 5 });
  assert.equal(parseQuery(url("?limit=5"), schema), first, "the parsed query is reused");
  assert.ok(Object.isFrozen(first), "shared, so it cannot be changed");
  assert.deepEqual(parseQuery(url(""), schema), { limit: 10 });
  for (let i = 0; i < 2; i++) {
    assert.throws(
      () => parseQuery(url("?limit=0"), schema),
      (e) => e instanceof HttpError && e.status === 400,
    );
    assert.throws(() => parseQuery(url("?limt=5"), schema), /not a parameter/);
  }
  // Another schema does not see the first one's answers.
  const other = z.strictObject({ limit: z.string() });
  assert.deepEqual(parseQuery(url("?limit=5"), other), { limit: "5" });
});
