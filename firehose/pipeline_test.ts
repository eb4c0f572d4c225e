import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { readCaptureFile } from "./capture.ts";
import { chunkLines } from "./chunk.ts";
import type { ProcessResult } from "./frame_processor.ts";
import { DEFAULT_LIMITS, type Limits } from "./normalize.ts";
import { Pipeline } from "./pipeline.ts";

const frames = await readCaptureFile(new URL("./bench/pds_capture.bin.gz", import.meta.url));
/**
 * The frames as the socket hands them over: views of one buffer; every other one a Buffer,
 * whose slice() is another view rather than a copy.
 */
function buffers(): Uint8Array[] {
  const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  return frames.map((f, i) => {
    all.set(f, at);
    at += f.length;
    return i % 2
      ? Buffer.from(all.buffer, at - f.length, f.length)
      : all.subarray(at - f.length, at);
  });
}
/** Mentioned in posts of the capture's second half. */
const WATCHED = "did:plc:ubk4k27kvebl3zwmysrjy4vm";

/** Two runs at once, then the whole capture again from the first run's seq, watching. */
async function run(worker: boolean) {
  const limits: Limits = { ...DEFAULT_LIMITS };
  const p = new Pipeline({ source: "relay", limits, worker }, 2);
  try {
    const all = buffers();
    const results: ProcessResult[] = await Promise.all([
      p.process(all.slice(0, 1000)),
      p.process(all.slice(1000, 2000)),
    ]);
    await p.idle();
    p.reset(results[0].seq);
    // As the subscription does: inline shares its Limits, the worker is told.
    limits.watch = new Set([WATCHED]);
    p.watch([WATCHED]);
    results.push(await p.process(buffers()));
    assert.equal(p.inFlight, 0);
    // The views are left as they were: nothing moved their shared buffer away.
    assert.deepEqual(all.map((f) => f.length), frames.map((f) => f.length));
    return results;
  } finally {
    p.close();
  }
}

Deno.test("the decode worker gives the results of decoding inline, in order, with replays skipped and the watch list applied", async () => {
  const inline = await run(false);
  assert.deepEqual(inline.map((r) => r.seq), [1000, 2000, frames.length]);
  // The replay starts after the first run: the second run's events come again, watched.
  assert.ok(inline[2].count > inline[1].count && inline[1].count > 0);
  const watched = (r: ProcessResult) =>
    r.chunks.flatMap(chunkLines).some((line) => line.includes('"watched"'));
  assert.deepEqual(inline.map(watched), [false, false, true]);
  assert.deepEqual(await run(true), inline);
});
