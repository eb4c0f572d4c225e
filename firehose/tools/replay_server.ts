/**
 * Serves a capture of firehose frames over WebSocket from 127.0.0.1, as fast as the
 * client reads, honouring `?cursor=`. Looping rewrites each frame's seq so that seqs keep
 * rising: seq = baseSeq + loop * frames + index + 1. Also serves Jetstream JSON lines.
 *
 * CLI: deno run --allow-net=127.0.0.1 --allow-read firehose/tools/replay_server.ts \
 *        --capture firehose/bench/pds_capture.bin.gz --port 9100 --loops 0
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

/** The first `count` frames a replay would send (looping), for tests to compare against. */
export function replayedFrames(
  frames: Uint8Array[],
  count: number,
  baseSeq = 2 ** 32,
): Uint8Array[] {
  const templates = frames.map(template);
  return Array.from({ length: count }, (_, i) => {
    const idx = i % frames.length;
    return withSeq(templates[idx], frames[idx], baseSeq + i + 1);
  });
}

export function startReplayServer(options: ReplayOptions): ReplayServer {
  const { frames } = options;
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
    },
  });
  if (!values.capture) {
    console.error(
      "Usage: replay_server.ts --capture FILE [--port 9100] [--loops 0] [--chunk 1024]",
    );
    Deno.exit(2);
  }
  const frames = await readCaptureFile(values.capture);
  const server = startReplayServer({
    frames,
    port: Number(values.port),
    loops: Number(values.loops),
    chunk: Number(values.chunk),
  });
  console.error(`Replaying ${frames.length} frames at ${server.url}`);
}
