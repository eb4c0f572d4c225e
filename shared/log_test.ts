import assert from "node:assert/strict";
import { createLogger } from "./log.ts";

Deno.test("createLogger() writes one JSON line per call with service, level and bounded fields", () => {
  const lines: string[] = [];
  const log = createLogger("firehose", { level: "info", write: (l) => lines.push(l) });
  log.debug("hidden");
  log.child({ conn: 1 }).warn("Bad frame", { raw: "x".repeat(5000), list: new Array(50).fill(1) });
  assert.equal(lines.length, 1);
  assert.ok(lines[0].endsWith("\n"));
  const line = JSON.parse(lines[0]);
  assert.equal(line.service, "firehose");
  assert.equal(line.level, "warn");
  assert.equal(line.msg, "Bad frame");
  assert.equal(line.conn, 1);
  assert.ok(line.raw.length < 400, "long strings are cut");
  assert.equal(line.list.length, 11, "long arrays are cut");
});
