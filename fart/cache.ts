/**
 * Answers cached in Redis for a short time, computed once however many ask at the same
 * moment: in one process the callers share one promise, across processes the first takes
 * a short lock and the others wait for its answer instead of computing it again. A process
 * also keeps the answers it has seen until their Redis copy expires (bounded in bytes), so
 * a cached answer usually needs no Redis call at all: an answer never changes while it is
 * cached, so the copies always agree.
 */
import { Buffer } from "node:buffer";
import type { Redis } from "@bsky/shared/redis";

const LOCK_MS = 10_000;
const POLL_MS = 20;
/** Bytes of answers a process keeps besides Redis. */
const LOCAL_BYTES = 64 * 1024 * 1024;

export class AnswerCache {
  #inflight = new Map<string, Promise<Uint8Array>>();
  /** Answers seen, oldest first, with when their Redis copy expires. */
  #local = new Map<string, { body: Uint8Array; until: number }>();
  #localBytes = 0;
  hits = 0;
  misses = 0;

  constructor(readonly redis: Redis, readonly ttlSeconds: number) {}

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
      this.#forget(key);
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
    const lock = `${k}:lock`;
    const token = crypto.randomUUID();
    const deadline = Date.now() + LOCK_MS;
    while (await this.redis.set(lock, token, "PX", LOCK_MS, "NX") === null) {
      // Another process computes it: wait for its answer rather than compute it again.
      await new Promise((r) => setTimeout(r, POLL_MS));
      const done = await this.redis.getBuffer(k);
      if (done) {
        this.hits++;
        return this.#keep(key, done, ttlSeconds * 1000 - POLL_MS);
      }
      if (Date.now() > deadline) break;
    }
    this.misses++;
    try {
      const value = await compute();
      await this.redis.set(
        k,
        Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        "EX",
        ttlSeconds,
      );
      return this.#keep(key, value, ttlSeconds * 1000);
    } finally {
      await this.redis.eval(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        1,
        lock,
        token,
      );
    }
  }

  /** Keeps an answer in the process for as long as its Redis copy lives (`ttlMs`). */
  #keep(key: string, body: Uint8Array, ttlMs: number): Uint8Array {
    if (ttlMs <= 0 || body.byteLength > LOCAL_BYTES / 16) return body;
    this.#forget(key);
    this.#local.set(key, { body, until: Date.now() + ttlMs });
    this.#localBytes += body.byteLength;
    for (const [old] of this.#local) {
      if (this.#localBytes <= LOCAL_BYTES) break;
      this.#forget(old);
    }
    return body;
  }

  #forget(key: string): void {
    const seen = this.#local.get(key);
    if (!seen) return;
    this.#local.delete(key);
    this.#localBytes -= seen.body.byteLength;
  }
}
