import { readCaptureFile } from "../capture.ts";
import { decodeFrame, decodeRecord, findBlocks } from "../frame.ts";
import { normalizeDecodedFrame, normalizeFrame } from "../relay.ts";
import { DEFAULT_LIMITS, graphemeLength } from "../normalize.ts";
import { firehoseMetrics } from "../metrics.ts";
import { encodeEvent, type FirehoseEvent } from "@bsky/shared/events";
import { countingStats } from "../testing/helpers.ts";
import { decodeWork } from "./workload.ts";
for (
  const path of [
    "firehose/bench/pds_capture.bin.gz",
    "../shared/testdata/relay-2026-07-04/frames.bin",
  ]
) {
  const frames = await readCaptureFile(path);
  const { stats } = countingStats();
  const m = firehoseMetrics();
  const time = (name: string, f: (b: Uint8Array) => void) => {
    for (let w = 0; w < 5; w++) for (const b of frames) f(b);
    const n = Math.ceil(100000 / frames.length);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) for (const b of frames) f(b);
    console.log(
      path.split("/").pop()!.padEnd(20),
      name.padEnd(34),
      ((performance.now() - t0) * 1000 / (n * frames.length)).toFixed(2),
      "µs/frame",
    );
  };
  time("decodeFrame", (b) => decodeFrame(b));
  time("decodeWork (decode-only ceiling)", (b) => decodeWork(b));
  let out: FirehoseEvent[] = [];
  time("normalizeFrame", (b) => {
    out.length = 0;
    normalizeFrame(b, out, stats, DEFAULT_LIMITS);
  });
  time("normalize + encodeEvent", (b) => {
    out.length = 0;
    normalizeFrame(b, out, stats, DEFAULT_LIMITS);
    for (const e of out) encodeEvent(e);
  });
  time("normalize + metrics(handle+advance)", (b) => {
    out.length = 0;
    m.bytes.inc(undefined, b.length);
    const f = decodeFrame(b);
    m.frames.inc({ type: f.type === "other" ? f.t : f.type });
    const o = normalizeDecodedFrame(f, out, m.stats, DEFAULT_LIMITS);
    m.seq.set(undefined, 1);
    for (const e of out) {
      m.events.inc({ kind: e.kind, collection: e.kind === "commit" ? e.collection : "" });
    }
    if (out.length) m.lag.set(undefined, (Date.now() - out[out.length - 1].time) / 1000);
  });
  // the publish args build (without the socket)
  time("normalize + args + encode", (b) => {
    out.length = 0;
    normalizeFrame(b, out, stats, DEFAULT_LIMITS);
    const args: (string | number)[] = [];
    for (const e of out) args.push(0, encodeEvent(e));
  });
  const texts: string[] = [];
  for (const b of frames) {
    const f = decodeFrame(b);
    if (f.type !== "#commit") continue;
    const c = f.body.ops.filter((o) => o.cid && o.path.startsWith("app.bsky.feed.post/")).map((o) =>
      o.cid!.bytes
    );
    for (const blk of findBlocks(f.body.blocks, c)) {
      if (blk) texts.push((decodeRecord(blk) as { text: string }).text);
    }
  }
  const nonAscii = texts.filter((t) => !/^[\x00-\x0c\x0e-\x7f]*$/.test(t)).length;
  let t0 = performance.now();
  let k = 0;
  for (let i = 0; i < 200; i++) for (const t of texts) k += graphemeLength(t);
  console.log(
    `posts ${texts.length}, non-ASCII ${nonAscii}, graphemeLength ${
      ((performance.now() - t0) * 1000 / (200 * texts.length)).toFixed(2)
    } µs/post`,
  );
}
