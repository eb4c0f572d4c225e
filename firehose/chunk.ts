/**
 * A chunk: events' JSON lines (see encodeEvent), joined by newlines, as UTF-8 bytes. The
 * frame processor encodes each run's lines once; they wait for Redis as bytes (outside the
 * garbage-collected heap), and a batch's chunks are copied into one Buffer per partition,
 * which the Redis client sends without encoding it again (it still copies it into the
 * command it writes).
 */
import { Buffer } from "node:buffer";

export type Chunk = Uint8Array<ArrayBuffer>;

const encoder = new TextEncoder();
const NEWLINE = 0x0a;

/** The chunk of these JSON lines (empty when none). */
export function encodeChunk(lines: readonly string[]): Chunk {
  return encoder.encode(lines.join("\n"));
}

/** One partition's chunks as one publish argument: joined by newlines, in order. */
export function joinChunks(chunks: readonly Chunk[] | undefined): Buffer {
  if (!chunks || chunks.length === 0) return Buffer.alloc(0);
  let length = chunks.length - 1;
  for (const c of chunks) length += c.length;
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  for (let i = 0; i < chunks.length; i++) {
    if (i > 0) out[at++] = NEWLINE;
    out.set(chunks[i], at);
    at += chunks[i].length;
  }
  return out;
}

const decoder = new TextDecoder();

/** The JSON lines of a chunk (tests and tools). */
export function chunkLines(chunk: Chunk): string[] {
  return chunk.length === 0 ? [] : decoder.decode(chunk).split("\n");
}
