/**
 * Partitions of the firehose streams, each held by one consumer process at a time: a lease
 * per partition in Redis (SET NX PX, the process's name as its token), renewed while held
 * and released by compare-and-delete, so that a stopping process hands its partitions over
 * at once instead of letting the leases run out. The indexer and the tasker share it.
 */
import type { Logger } from "./log.ts";
import type { Redis } from "./redis.ts";

/** Extends a lease only while it still holds our token. */
const RENEW_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;
/** Deletes a lease only while it still holds our token. */
const RELEASE_SCRIPT =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

type LeaseRedis = Redis & {
  renewPartitionLease(key: string, token: string, ms: number): Promise<number>;
};

export interface PartitionLeaseOptions {
  partitions: number;
  /** This process's token in the leases. */
  name: string;
  leaseMs: number;
  /** The lease key of a partition. */
  key: (partition: number) => string;
  log: Logger;
  /** Told how many partitions are held after each refresh (a metric). */
  onHeld?: (count: number) => void;
}

export class PartitionLeases {
  #held = new Set<number>();

  constructor(readonly redis: Redis, readonly options: PartitionLeaseOptions) {
    if (!("renewPartitionLease" in redis)) {
      redis.defineCommand("renewPartitionLease", { lua: RENEW_SCRIPT, numberOfKeys: 1 });
    }
  }

  /** The partitions held, in order. */
  get held(): number[] {
    return [...this.#held].sort((a, b) => a - b);
  }

  get size(): number {
    return this.#held.size;
  }

  has(partition: number): boolean {
    return this.#held.has(partition);
  }

  /** Forgets a partition whose lease was found taken by another process. */
  lost(partition: number): void {
    this.#held.delete(partition);
  }

  /** Takes free partitions and renews held ones; returns the partitions newly taken. */
  async refresh(): Promise<number[]> {
    const { partitions, name, leaseMs, key, log } = this.options;
    const taken: number[] = [];
    for (let p = 0; p < partitions; p++) {
      if (this.#held.has(p)) {
        const renewed = await (this.redis as LeaseRedis).renewPartitionLease(key(p), name, leaseMs);
        if (renewed !== 1) {
          this.#held.delete(p);
          log.warn("Lost the lease of a partition", { partition: p });
        }
      } else if (await this.redis.set(key(p), name, "PX", leaseMs, "NX") === "OK") {
        this.#held.add(p);
        taken.push(p);
        log.info("Took a partition", { partition: p });
      }
    }
    this.options.onHeld?.(this.#held.size);
    return taken;
  }

  /** Hands every held partition over at once (errors ignored: the leases run out anyway). */
  async releaseAll(): Promise<void> {
    for (const p of this.#held) {
      await this.redis.eval(RELEASE_SCRIPT, 1, this.options.key(p), this.options.name)
        .catch(() => {});
    }
    this.#held.clear();
  }
}
