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

/** An error thrown `depth` calls deep, with room in its stack for every call. */
function deepError(depth: number, message = "Cannot apply a batch"): Error {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = depth + 10;
  try {
    const call = (n: number): Error => n ? call(n - 1) : new Error(message);
    return call(depth);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function logged(fields: Record<string, unknown>) {
  const lines: string[] = [];
  createLogger("indexer", { write: (l) => lines.push(l) }).error("Failed", fields);
  return JSON.parse(lines[0]);
}

Deno.test("createLogger() logs an error's whole stack trace, far past the cap on strings", () => {
  const err = deepError(40, "Cannot apply a batch");
  err.cause = deepError(30, "Connection reset");
  const line = logged({ err });
  assert.ok(err.stack!.length > 1000, `a deep stack: ${err.stack!.length} characters`);
  assert.equal(line.err.stack, err.stack);
  assert.equal(line.err.message, "Cannot apply a batch");
  assert.equal(line.err.cause.stack, (err.cause as Error).stack);
});

Deno.test("createLogger() cuts upstream text inside a stack like any string, and a stack at 16,000 characters", () => {
  const err = deepError(20, `Bad record: ${"x".repeat(5000)}`);
  const line = logged({ err });
  const frames = err.stack!.slice(err.stack!.indexOf("\n    at "));
  assert.ok(line.err.message.length < 400);
  assert.ok(line.err.stack.endsWith(frames), "every frame is kept");
  assert.ok(line.err.stack.length < 400 + frames.length, "the message in it is cut");

  const huge = new Error("Loop");
  huge.stack = "Error: Loop" + "\n    at step (file:///app/loop.ts:1:1)".repeat(2000);
  const stack: string = logged({ err: huge }).err.stack;
  assert.ok(stack.startsWith("Error: Loop\n    at step"));
  assert.ok(stack.length > 16_000 && stack.length < 16_100, `${stack.length} characters`);
});

Deno.test("createLogger() logs an error whose cause leads back to itself", () => {
  const err = new Error("Loop");
  err.cause = err;
  const line = logged({ err });
  assert.equal(line.err.message, "Loop");
  assert.equal(typeof line.err.stack, "string");
});
