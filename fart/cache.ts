/**
 * Answers cached in Redis for a short time, computed once however many ask at the same
 * moment: in one process the callers share one promise, across processes the first takes
 * a short lock and the others wait for its answer instead of computing it again. A process
 * also keeps the answers it has seen until their Redis copy expires (bounded in bytes), so
 * a cached answer usually needs no Redis call at all: an answer never changes while it is
 * cached, so the copies always agree.
 */
import { Buffer } from "node:buffer";
import { BoundedMap, stringBytes } from "@bsky/shared/bounded_map";
import type { Redis } from "@bsky/shared/redis";
import { TokenLock } from "@bsky/shared/token_lock";

const LOCK_MS = 10_000;
const POLL_MS = 20;
/** Bytes a process keeps besides Redis: answers, their keys and their compressed copies. */
export const LOCAL_BYTES = 64 * 1024 * 1024;
/** Answers a process keeps besides Redis. */
export const LOCAL_ENTRIES = 20_000;
/**
 * A kept answer may also hold a br and a gzip copy (http.ts compressed() keeps them with
 * the answer), each no larger than the answer for what is compressed at all: an answer
 * counts three times its bytes.
 */
const COPIES = 3;

interface Kept {
  body: Uint8Array;
  /** When its Redis copy expires. */
  until: number;
}

export class AnswerCache {
  #inflight = new Map<string, Promise<Uint8Array>>();
  /** Answers seen, least recently used first. */
  #local = new BoundedMap<string, Kept>({
    maxEntries: LOCAL_ENTRIES,
    maxBytes: LOCAL_BYTES,
    sizeOf: (key, kept) => stringBytes(key) + COPIES * kept.body.byteLength + 64,
  });
  hits = 0;
  misses = 0;

  /**
   * `key` names an answer: callers build it from the parsed, validated query (never from
   * the raw query string), so the keys are as many as the distinct answers.
   */
  constructor(readonly redis: Redis, readonly ttlSeconds: number) {}

  /** Answers kept in the process, and the bytes they are counted for. */
  get local(): { entries: number; bytes: number } {
    return { entries: this.#local.size, bytes: this.#local.bytes };
  }

  /** The cached bytes under `key`, or what `compute` gives (then cached for `ttlSeconds`). */
  get(
    key: string,
    compute: () => Promise<Uint8Array>,
    ttlSeconds = this.ttlSeconds,
  ): Promise<Uint8Array> {
    const seen = this.#local.get(key);
    if (seen) {
      if (seen.until > Date.now()) {
        this.hits++;
        return Promise.resolve(seen.body);
      }
      this.#local.delete(key);
    }
    const running = this.#inflight.get(key);
    if (running) return running;
    const p = this.#load(key, compute, ttlSeconds).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  async #load(
    key: string,
    compute: () => Promise<Uint8Array>,
    ttlSeconds: number,
  ): Promise<Uint8Array> {
    const k = `fart:c:${key}`;
    const [[, hit], [, ttl]] = (await this.redis.pipeline().getBuffer(k).pttl(k).exec())! as [
      [unknown, Buffer | null],
      [unknown, number],
    ];
    if (hit) {
      this.hits++;
      return this.#keep(key, hit, ttl);
    }
    const lock = new TokenLock(this.redis, `${k}:lock`);
    const deadline = Date.now() + LOCK_MS;
    while (!await lock.acquire(LOCK_MS)) {
      // Another process computes it: wait for its answer rather than compute it again.
      await new Promise((r) => setTimeout(r, POLL_MS));
      const done = await this.redis.getBuffer(k);
      if (done) {
        this.hits++;
        return this.#keep(key, done, ttlSeconds * 1000 - POLL_MS);
      }
      if (Date.now() > deadline) break;
    }
    try {
      // Another process may have set it and let go of the lock between our first read and
      // our taking it: its answer, not a second computation.
      const done = await this.redis.getBuffer(k);
      if (done) {
        this.hits++;
        return this.#keep(key, done, ttlSeconds * 1000 - POLL_MS);
      }
      this.misses++;
      const value = await compute();
      await this.redis.set(
        k,
        Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        "EX",
        ttlSeconds,
      );
      return this.#keep(key, value, ttlSeconds * 1000);
    } finally {
      await lock.release();
    }
  }

  /** Keeps an answer in the process for as long as its Redis copy lives (`ttlMs`). */
  #keep(key: string, body: Uint8Array, ttlMs: number): Uint8Array {
    if (ttlMs <= 0 || COPIES * body.byteLength > LOCAL_BYTES / 16) return body;
    this.#local.set(key, { body, until: Date.now() + ttlMs });
    return body;
  }
}
