import assert from "node:assert/strict";
import { sleep } from "./sleep.ts";

Deno.test("sleep() waits its time, ends at once when its signal aborts, and does not wait on one aborted already", async () => {
  const abort = new AbortController();
  let done = false;
  const waiting = sleep(60_000, abort.signal).then(() => done = true);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(done, false, "still waiting");
  abort.abort();
  await waiting;
  // Aborted already: resolved before a timer of 0 ms fires.
  const order: string[] = [];
  const zero = new Promise((r) => setTimeout(r, 0)).then(() => order.push("timer"));
  await sleep(60_000, abort.signal).then(() => order.push("sleep"));
  await zero;
  assert.deepEqual(order, ["sleep", "timer"]);
});
