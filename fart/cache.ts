/**
 * Answers cached in Redis for a short time, computed once however many ask at the same
 * moment: in one process the callers share one promise, across processes the first takes
 * a short lock and the others wait for its answer instead of computing it again.
 */
import { Buffer } from "node:buffer";
import type { Redis } from "@bsky/shared/redis";

const LOCK_MS = 10_000;
const POLL_MS = 20;

export class AnswerCache {
  #inflight = new Map<string, Promise<Uint8Array>>();
  hits = 0;
  misses = 0;

  constructor(readonly redis: Redis, readonly ttlSeconds: number) {}

  /** The cached bytes under `key`, or what `compute` gives (then cached). */
  get(key: string, compute: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const running = this.#inflight.get(key);
    if (running) return running;
    const p = this.#load(key, compute).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  async #load(key: string, compute: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const k = `fart:c:${key}`;
    const hit = await this.redis.getBuffer(k);
    if (hit) {
      this.hits++;
      return hit;
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
        return done;
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
        this.ttlSeconds,
      );
      return value;
    } finally {
      await this.redis.eval(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        1,
        lock,
        token,
      );
    }
  }
}
