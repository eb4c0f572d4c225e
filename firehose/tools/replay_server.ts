/**
 * Serves a capture of firehose frames over WebSocket from 127.0.0.1, as fast as the
 * client reads, honouring `?cursor=`. Looping rewrites each frame's seq so that seqs keep
 * rising: seq = baseSeq + loop * frames + index + 1. Also serves Jetstream JSON lines.
 * With `timeShiftMs`, every frame's `time` is moved by that much (`--shift-to-now` moves
 * the capture so that its newest event happened when the server started).
 *
 * CLI: deno run --allow-net=127.0.0.1 --allow-read firehose/tools/replay_server.ts \
 *        --capture firehose/bench/pds_capture.bin.gz --port 9100 --loops 0 [--shift-to-now]
 */
import { parseArgs } from "node:util";
import { decodeFirst } from "@atcute/cbor";
import { readCaptureFile } from "../capture.ts";

export interface ReplayOptions {
  frames: Uint8Array[];
  port?: number;
  /** How many times to go through the capture; 0 = forever. Default 1. */
  loops?: number;
  /** Seq of the first frame is baseSeq + 1. Default 2^32 so every seq encodes in 9 bytes. */
  baseSeq?: number;
  /** Frames sent between yields to the event loop. */
  chunk?: number;
  /** Close each connection after this many frames (for restart tests). */
  closeAfter?: number;
  /** Keep the socket open with no frames after the capture ends (default true). */
  holdOpen?: boolean;
  /** Milliseconds added to each frame's `time` (see shiftedTime and shiftToNow). */
  timeShiftMs?: number;
}

export interface ReplayServer extends AsyncDisposable {
  url: string;
  port: number;
  /** Frames sent so far over all connections. */
  readonly sent: number;
  close(): Promise<void>;
}

interface Template {
  head: Uint8Array;
  tail: Uint8Array;
}

/** Splits a frame around its body's seq value, so any seq can be put in without re-encoding. */
function template(frame: Uint8Array): Template | undefined {
  const [, rest] = decodeFirst(frame);
  const bodyStart = frame.length - rest.length;
  // "seq" as a CBOR text key; DAG-CBOR key order puts it before any byte string.
  for (let i = bodyStart; i < frame.length - 4; i++) {
    if (
      frame[i] === 0x63 && frame[i + 1] === 0x73 && frame[i + 2] === 0x65 && frame[i + 3] === 0x71
    ) {
      const start = i + 4;
      const info = frame[start] & 0x1f;
      if (frame[start] >> 5 !== 0) return undefined;
      const len = info < 24 ? 1 : info === 24 ? 2 : info === 25 ? 3 : info === 26 ? 5 : 9;
      return { head: frame.subarray(0, start), tail: frame.subarray(start + len) };
    }
  }
  return undefined;
}

function encodeUint(n: number): Uint8Array {
  if (n < 24) return Uint8Array.of(n);
  if (n < 0x100) return Uint8Array.of(0x18, n);
  if (n < 0x10000) return Uint8Array.of(0x19, n >> 8, n & 0xff);
  if (n < 0x100000000) {
    return Uint8Array.of(0x1a, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  }
  const out = new Uint8Array(9);
  out[0] = 0x1b;
  new DataView(out.buffer).setBigUint64(1, BigInt(n));
  return out;
}

/** The frame with its seq replaced. */
export function withSeq(t: Template | undefined, frame: Uint8Array, seq: number): Uint8Array {
  if (!t) return frame;
  const s = encodeUint(seq);
  const out = new Uint8Array(t.head.length + s.length + t.tail.length);
  out.set(t.head, 0);
  out.set(s, t.head.length);
  out.set(t.tail, t.head.length + s.length);
  return out;
}

/** Where a CBOR item's head ends, its major type and its argument. */
function readHead(buf: Uint8Array, p: number): { major: number; arg: number; next: number } {
  if (p >= buf.length) throw new RangeError("Cannot read CBOR: unexpected end of data");
  const major = buf[p] >> 5;
  const info = buf[p] & 0x1f;
  if (info < 24) return { major, arg: info, next: p + 1 };
  const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
  if (size === 0) throw new RangeError(`Cannot read CBOR: additional info ${info} at byte ${p}`);
  if (p + 1 + size > buf.length) throw new RangeError("Cannot read CBOR: unexpected end of data");
  let arg = 0;
  for (let i = 1; i <= size; i++) arg = arg * 256 + buf[p + i];
  return { major, arg, next: p + 1 + size };
}

/** Where the CBOR item starting at `p` ends. DAG-CBOR has no indefinite lengths. */
function skipItem(buf: Uint8Array, p: number): number {
  const { major, arg, next } = readHead(buf, p);
  switch (major) {
    case 2:
    case 3:
      return next + arg;
    case 4: {
      let q = next;
      for (let i = 0; i < arg; i++) q = skipItem(buf, q);
      return q;
    }
    case 5: {
      let q = next;
      for (let i = 0; i < 2 * arg; i++) q = skipItem(buf, q);
      return q;
    }
    case 6:
      return skipItem(buf, next);
    default:
      // Integers, simple values and floats: the head holds the whole item.
      return next;
  }
}

function textHead(length: number): Uint8Array {
  if (length < 24) return Uint8Array.of(0x60 | length);
  if (length < 0x100) return Uint8Array.of(0x78, length);
  return Uint8Array.of(0x79, length >> 8, length & 0xff);
}

/** Where the body's top-level `time` value sits in a frame, and its value in ms. */
function findTime(frame: Uint8Array): { start: number; end: number; ms: number } | undefined {
  const [, rest] = decodeFirst(frame);
  const map = readHead(frame, frame.length - rest.length);
  if (map.major !== 5) return undefined;
  let p = map.next;
  for (let i = 0; i < map.arg; i++) {
    const key = readHead(frame, p);
    const start = skipItem(frame, p);
    const end = skipItem(frame, start);
    const isTime = key.major === 3 && key.arg === 4 && frame[key.next] === 0x74 &&
      frame[key.next + 1] === 0x69 && frame[key.next + 2] === 0x6d && frame[key.next + 3] === 0x65;
    if (isTime) {
      const value = readHead(frame, start);
      if (value.major !== 3) return undefined;
      const ms = Date.parse(new TextDecoder().decode(frame.subarray(value.next, end)));
      return Number.isNaN(ms) ? undefined : { start, end, ms };
    }
    p = end;
  }
  return undefined;
}

/**
 * The frame with the body's top-level `time` (an RFC 3339 string) moved by `shiftMs`,
 * written as `Date#toISOString()` writes it. Walking the map, rather than searching for the
 * bytes of "time", cannot touch a path or record that happens to contain them. Frames
 * without a readable `time` come back as they are. A commit's signature covers its blocks,
 * not the event's time, so the frame stays valid for a verifying consumer too.
 */
export function shiftedTime(frame: Uint8Array, shiftMs: number): Uint8Array {
  const found = shiftMs === 0 ? undefined : findTime(frame);
  if (!found) return frame;
  const text = new TextEncoder().encode(new Date(found.ms + shiftMs).toISOString());
  const head = textHead(text.length);
  const out = new Uint8Array(found.start + head.length + text.length + frame.length - found.end);
  out.set(frame.subarray(0, found.start), 0);
  out.set(head, found.start);
  out.set(text, found.start + head.length);
  out.set(frame.subarray(found.end), found.start + head.length + text.length);
  return out;
}

/** The newest event `time` in a capture (ms since the epoch), if any frame has one. */
export function newestTime(frames: Uint8Array[]): number | undefined {
  let newest: number | undefined;
  for (const frame of frames) {
    const ms = findTime(frame)?.ms;
    if (ms !== undefined && (newest === undefined || ms > newest)) newest = ms;
  }
  return newest;
}

/** The shift that makes the capture's newest event happen at `now`. */
export function shiftToNow(frames: Uint8Array[], now = Date.now()): number {
  const newest = newestTime(frames);
  return newest === undefined ? 0 : now - newest;
}

/** The first `count` frames a replay would send (looping), for tests to compare against. */
export function replayedFrames(
  frames: Uint8Array[],
  count: number,
  baseSeq = 2 ** 32,
  timeShiftMs = 0,
): Uint8Array[] {
  if (timeShiftMs) frames = frames.map((f) => shiftedTime(f, timeShiftMs));
  const templates = frames.map(template);
  return Array.from({ length: count }, (_, i) => {
    const idx = i % frames.length;
    return withSeq(templates[idx], frames[idx], baseSeq + i + 1);
  });
}

export function startReplayServer(options: ReplayOptions): ReplayServer {
  const shift = options.timeShiftMs ?? 0;
  const frames = shift ? options.frames.map((f) => shiftedTime(f, shift)) : options.frames;
  const templates = frames.map(template);
  const loops = options.loops ?? 1;
  const base = options.baseSeq ?? 2 ** 32;
  const total = loops === 0 ? Infinity : loops * frames.length;
  const chunk = options.chunk ?? 1024;
  let sent = 0;
  const sockets = new Set<WebSocket>();
  const ac = new AbortController();

  const serve = async (ws: WebSocket, cursor: number | undefined) => {
    let i = cursor === undefined ? 0 : Math.max(0, cursor - base);
    let sentHere = 0;
    while (i < total && ws.readyState === WebSocket.OPEN) {
      for (let k = 0; k < chunk && i < total; k++, i++) {
        const idx = i % frames.length;
        ws.send(withSeq(templates[idx], frames[idx], base + i + 1));
        sent++;
        if (options.closeAfter && ++sentHere >= options.closeAfter) {
          ws.close(1000, "closeAfter");
          return;
        }
      }
      // Let the socket drain: Deno queues sends, so bound what sits in memory.
      while (ws.bufferedAmount > 4 * 1024 * 1024 && ws.readyState === WebSocket.OPEN) {
        await new Promise((r) => setTimeout(r, 1));
      }
      await new Promise((r) => setTimeout(r, 0));
    }
    if (options.holdOpen === false && ws.readyState === WebSocket.OPEN) ws.close(1000, "end");
  };

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    signal: ac.signal,
    onListen: () => {},
  }, (req) => {
    const url = new URL(req.url);
    if (req.headers.get("upgrade") !== "websocket") return new Response("replay server\n");
    const c = url.searchParams.get("cursor");
    const cursor = c === null ? undefined : Number(c);
    const { socket, response } = Deno.upgradeWebSocket(req);
    sockets.add(socket);
    socket.onopen = () => serve(socket, cursor);
    socket.onclose = () => sockets.delete(socket);
    socket.onerror = () => {};
    return response;
  });
  const port = server.addr.port;
  const close = async () => {
    for (const s of sockets) {
      try {
        s.close();
      } catch { /* gone */ }
    }
    ac.abort();
    await server.finished;
  };
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    get sent() {
      return sent;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      capture: { type: "string" },
      port: { type: "string", default: "9100" },
      loops: { type: "string", default: "0" },
      chunk: { type: "string", default: "1024" },
      "shift-to-now": { type: "boolean", default: false },
    },
  });
  if (!values.capture) {
    console.error(
      "Usage: replay_server.ts --capture FILE [--port 9100] [--loops 0] [--chunk 1024] " +
        "[--shift-to-now]",
    );
    Deno.exit(2);
  }
  const frames = await readCaptureFile(values.capture);
  const server = startReplayServer({
    frames,
    port: Number(values.port),
    loops: Number(values.loops),
    chunk: Number(values.chunk),
    timeShiftMs: values["shift-to-now"] ? shiftToNow(frames) : 0,
  });
  console.error(`Replaying ${frames.length} frames at ${server.url}`);
}
