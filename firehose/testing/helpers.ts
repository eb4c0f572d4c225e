/** Helpers for the firehose's tests and benchmarks. */
import { decodeEvent, type FirehoseEvent } from "@bsky/shared/events";
import { createLogger, type Logger } from "@bsky/shared/log";
import type { Redis } from "@bsky/shared/redis";
import { loadFirehoseConfig } from "../config.ts";
import { readCaptureFile } from "../capture.ts";
import { DEFAULT_LIMITS, type NormalizeStats } from "../normalize.ts";
import { type FirehoseService, startFirehose } from "../service.ts";
import { normalizeFrame } from "../sources/relay.ts";

export const corpusUrl = new URL("../../testdata/relay-2026-07-04/", import.meta.url);

export function corpusFrames(): Promise<Uint8Array[]> {
  return readCaptureFile(new URL("frames.bin", corpusUrl));
}

/** A logger that keeps its lines in memory. */
export function memoryLogger(
  onLine?: (line: Record<string, unknown>) => void,
): Logger & { lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger("test", {
    level: "debug",
    write: (l) => {
      const line = JSON.parse(l);
      lines.push(line);
      onLine?.(line);
    },
  });
  return Object.assign(log, { lines });
}

/** Stats that count into plain objects. */
export function countingStats() {
  const dropped: Record<string, number> = {};
  const ignored: Record<string, number> = {};
  const stats: NormalizeStats = {
    drop: (r) => void (dropped[r] = (dropped[r] ?? 0) + 1),
    ignore: (c) => void (ignored[c] = (ignored[c] ?? 0) + 1),
  };
  return { stats, dropped, ignored };
}

/** The events of relay frames, normalized one by one as the service does. */
export function normalizedEvents(frames: Iterable<Uint8Array>): FirehoseEvent[] {
  const out: FirehoseEvent[] = [];
  const { stats } = countingStats();
  for (const f of frames) normalizeFrame(f, out, stats, DEFAULT_LIMITS);
  return out;
}

/** A firehose config for tests: defaults plus overrides. */
export function testConfig(vars: Record<string, string>) {
  return loadFirehoseConfig((name) => vars[name]);
}

/**
 * The firehose service reading `upstream` into the Redis at `redisUrl`, with metrics on a
 * free port and its log kept in memory; `vars` adds or overrides settings.
 */
export async function startTestFirehose(
  redisUrl: string,
  upstream: string,
  vars: Record<string, string> = {},
): Promise<{ service: FirehoseService; log: ReturnType<typeof memoryLogger> }> {
  const log = memoryLogger();
  const config = testConfig({
    REDIS_URL: redisUrl,
    FIREHOSE_URL: upstream,
    FIREHOSE_METRICS_PORT: "0",
    ...vars,
  });
  return { service: await startFirehose(config, log), log };
}

/** Every event in the given streams, in stream order per stream. */
export async function readStreams(redis: Redis, keys: string[]): Promise<FirehoseEvent[]> {
  const out: FirehoseEvent[] = [];
  for (const key of keys) {
    let start = "-";
    while (true) {
      const entries = await redis.xrange(key, start, "+", "COUNT", 5000);
      for (const [, fields] of entries) {
        const f: Record<string, string> = {};
        for (let i = 0; i < fields.length; i += 2) f[fields[i]] = fields[i + 1];
        out.push(decodeEvent(f.v, f.e));
      }
      if (entries.length < 5000) break;
      start = "(" + entries[entries.length - 1][0];
    }
  }
  return out;
}

/** `work`, or a rejection once `ms` passed without it: a hang fails instead of stalling. */
export function deadline<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Polls until `check` returns true or the timeout passes. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`Timed out waiting for ${what}`);
}
