/**
 * Whether the API sends commands to Redis now. While Redis is away the API answers 503 at
 * once instead of letting callers wait for it: a dropped connection shows in the client's
 * status, and a server that stopped answering (a stalled process, a network that drops
 * packets) in a command that timed out. From then on, a PING at most every `probeMs`, sent
 * only when a request comes, tells when Redis answers again; a new connection says so too.
 */
import type { Logger } from "@bsky/shared/log";
import { isRedisUnavailable, type Redis } from "@bsky/shared/redis";
import { errorMessage } from "@bsky/shared/errors";
import { HttpError } from "./http.ts";

/** The Retry-After of a 503 while Redis is away: the client reconnects within a second. */
export const REDIS_AWAY_RETRY_AFTER_SECONDS = 2;

/** The answer while Redis is away: nothing of the cause is shown to the caller. */
export function storeUnavailable(): HttpError {
  return new HttpError(
    503,
    "The data store is unavailable for a moment: try again shortly",
    {},
    { "retry-after": String(REDIS_AWAY_RETRY_AFTER_SECONDS) },
  );
}

const gates = new WeakMap<Redis, RedisGate>();

export class RedisGate {
  #away = false;
  #probing = false;
  #lastProbe = -Infinity;

  private constructor(
    readonly redis: Redis,
    readonly log: Logger | undefined,
    readonly probeMs: number,
  ) {
    redis.on("ready", () => this.#back());
  }

  /** The one gate of a client, so that every app built on it shares what it learns. */
  static of(redis: Redis, log?: Logger, probeMs = 250): RedisGate {
    let gate = gates.get(redis);
    if (!gate) gates.set(redis, gate = new RedisGate(redis, log, probeMs));
    return gate;
  }

  /** Whether commands may be sent: the connection is up and Redis last answered. */
  get open(): boolean {
    if (this.redis.status !== "ready") return false;
    if (this.#away) this.#probe();
    return !this.#away;
  }

  /** The 503 to answer when `err` says Redis is away (noting it), else undefined. */
  unavailable(err: unknown): HttpError | undefined {
    if (!isRedisUnavailable(err)) return undefined;
    if (!this.#away) {
      this.#away = true;
      this.log?.warn("Redis is away: answering 503 until it is back", { err: errorMessage(err) });
    }
    return storeUnavailable();
  }

  /** Whether Redis answers a PING now (within the client's command timeout), for /healthz. */
  async answers(): Promise<boolean> {
    if (this.redis.status !== "ready") return false;
    try {
      await this.redis.ping();
      this.#back();
      return true;
    } catch (err) {
      this.unavailable(err);
      return false;
    }
  }

  #back() {
    if (!this.#away) return;
    this.#away = false;
    this.log?.info("Redis answers again");
  }

  #probe() {
    const now = performance.now();
    if (this.#probing || now - this.#lastProbe < this.probeMs) return;
    this.#probing = true;
    this.#lastProbe = now;
    this.redis.ping().then(() => this.#back(), () => {}).finally(() => this.#probing = false);
  }
}
