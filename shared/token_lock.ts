/**
 * A lock in Redis that only its holder can renew or release: the key holds the holder's
 * token, with a TTL so that a holder that dies lets go by itself. Taken with SET NX PX;
 * renewed (PEXPIRE) and released (DEL) by scripts that first check the key still holds the
 * token, so a holder whose lock ran out and was taken by another process never extends or
 * deletes the other's. The scheduler's job locks, the API's answer-cache locks and the
 * stream partitions' leases (partition_leases.ts) are such locks.
 */
import type { Redis } from "./redis.ts";

/** Extends KEYS[1] by ARGV[2] ms only while it holds the token ARGV[1]; 1 when it did. */
const RENEW_SCRIPT =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";
/** Deletes KEYS[1] only while it holds the token ARGV[1]; 1 when it did. */
const RELEASE_SCRIPT =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

type LockRedis = Redis & {
  renewTokenLock(key: string, token: string, ms: number): Promise<number>;
  releaseTokenLock(key: string, token: string): Promise<number>;
};

export class TokenLock {
  readonly #redis: LockRedis;

  /** The lock `key`, held under `token` (a fresh random one unless given). */
  constructor(
    redis: Redis,
    readonly key: string,
    readonly token: string = crypto.randomUUID(),
  ) {
    if (!("renewTokenLock" in redis)) {
      redis.defineCommand("renewTokenLock", { lua: RENEW_SCRIPT, numberOfKeys: 1 });
      redis.defineCommand("releaseTokenLock", { lua: RELEASE_SCRIPT, numberOfKeys: 1 });
    }
    this.#redis = redis as LockRedis;
  }

  /** Takes the lock for `ttlMs` if nobody holds it; true when taken. */
  async acquire(ttlMs: number): Promise<boolean> {
    return await this.#redis.set(this.key, this.token, "PX", ttlMs, "NX") === "OK";
  }

  /** Extends the lock to `ttlMs` from now if it is still ours; false when it is not. */
  async renew(ttlMs: number): Promise<boolean> {
    return await this.#redis.renewTokenLock(this.key, this.token, ttlMs) === 1;
  }

  /** Lets the lock go if it is still ours; false when it was not (ran out, or taken). */
  async release(): Promise<boolean> {
    return await this.#redis.releaseTokenLock(this.key, this.token) === 1;
  }
}
