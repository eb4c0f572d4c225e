/**
 * Partitions of the firehose streams, each held by one consumer process at a time: a lease
 * per partition in Redis (a TokenLock with the process's name as its token), renewed while
 * held and released by compare-and-delete, so that a stopping process hands its partitions
 * over at once instead of letting the leases run out. The indexer and the tasker share it.
 */
import type { Logger } from "./log.ts";
import type { Redis } from "./redis.ts";
import { TokenLock } from "./token_lock.ts";

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
  /** Each partition's lease. */
  #leases: TokenLock[];

  constructor(readonly redis: Redis, readonly options: PartitionLeaseOptions) {
    this.#leases = Array.from(
      { length: options.partitions },
      (_, p) => new TokenLock(redis, options.key(p), options.name),
    );
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
    const { leaseMs, log } = this.options;
    const taken: number[] = [];
    for (const [p, lease] of this.#leases.entries()) {
      if (this.#held.has(p)) {
        if (!await lease.renew(leaseMs)) {
          this.#held.delete(p);
          log.warn("Lost the lease of a partition", { partition: p });
        }
      } else if (await lease.acquire(leaseMs)) {
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
    for (const p of this.#held) await this.#leases[p].release().catch(() => {});
    this.#held.clear();
  }
}
