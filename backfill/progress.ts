/**
 * A host's backfill progress in Redis (keys in store/layout.ts), so that a run stopped
 * anywhere, even by SIGKILL, goes on where it was:
 * - the listRepos cursor of the oldest page not yet finished (pages finish in order: the
 *   cursor moves past a page once all of its repositories are done or recorded as failed,
 *   in one step with dropping their marks);
 * - each repository's mark in the pages in progress (the last record path loaded, or
 *   "done"), moved by the store in the same call that loads a part (store/backfill.ts);
 * - the failed repositories, with their attempts and when to try again;
 * - counts and the state: "listing", "listed" (every page done, failures left), "done".
 */
import { isCluster, type Redis, type RedisClient } from "@bsky/shared/redis";
import { dropRepoMarks, repoMarks } from "@bsky/store/backfill";
import { storeKeys } from "@bsky/store/layout";

export type HostState = "listing" | "listed" | "done";

/** A repository that failed: tried again from `nextAt` on. */
export interface Failure {
  attempts: number;
  error: string;
  at: number;
  nextAt: number;
  /** Listed as active (false: only its status is written). */
  active: boolean;
  status?: string;
}

export interface HostProgress {
  state: HostState;
  cursor?: string;
  listed: number;
  done: number;
}

export class Progress {
  readonly hostKey: string;
  readonly reposKey: string;
  readonly failedKey: string;

  constructor(readonly redis: Redis, readonly host: string) {
    this.hostKey = storeKeys.backfillHost(host);
    this.reposKey = storeKeys.backfillRepos(host);
    this.failedKey = storeKeys.backfillFailed(host);
  }

  /**
   * The instant the platform started reading the live stream: `given` when set (it then
   * replaces the one kept), else the one kept, else `now`, kept from then on.
   */
  async liveStart(now: number, given?: number): Promise<number> {
    const key = storeKeys.backfillLive;
    if (given !== undefined) {
      await this.redis.set(key, given);
      return given;
    }
    await this.redis.set(key, now, "NX");
    return Number(await this.redis.get(key));
  }

  async read(): Promise<HostProgress> {
    const h = await this.redis.hgetall(this.hostKey);
    return {
      state: (h.state as HostState | undefined) ?? "listing",
      cursor: h.cursor || undefined,
      listed: Number(h.listed ?? 0),
      done: Number(h.done ?? 0),
    };
  }

  /** Marks the host's state; `startedAt` is kept from the first run. */
  async begin(now: number): Promise<void> {
    await this.redis.hsetnx(this.hostKey, "startedAt", now);
    await this.redis.hsetnx(this.hostKey, "state", "listing");
  }

  /** The repositories' marks ("" when not started). */
  async marks(dids: string[]): Promise<string[]> {
    return await repoMarks(this.redis, this.host, dids);
  }

  async mark(did: string): Promise<string> {
    return (await this.marks([did]))[0];
  }

  /** A page was listed: how many repositories it has. */
  async listed(count: number): Promise<void> {
    await this.redis.hincrby(this.hostKey, "listed", count);
  }

  /** A repository is done (loaded, gone, or inactive). */
  async finished(): Promise<void> {
    await this.redis.hincrby(this.hostKey, "done", 1);
  }

  /**
   * The oldest pages are finished: the cursor moves to `next` (none: the listing is over)
   * and the marks of their repositories go, except those of failed ones, in one step.
   */
  async pagesDone(next: string | undefined, dids: string[]): Promise<void> {
    const tx = this.redis.multi();
    if (next === undefined) tx.hdel(this.hostKey, "cursor").hset(this.hostKey, "state", "listed");
    else tx.hset(this.hostKey, "cursor", next);
    // On a Redis Cluster the marks are in their accounts' slots: they go after the cursor
    // moved (a stop in between leaves marks of finished pages, which nothing reads again).
    const cluster = isCluster(this.redis as RedisClient);
    if (!cluster) await dropRepoMarks(this.redis, this.host, dids, tx);
    await tx.exec();
    if (cluster) await dropRepoMarks(this.redis, this.host, dids);
  }

  async failures(): Promise<Map<string, Failure>> {
    const out = new Map<string, Failure>();
    for (const [did, json] of Object.entries(await this.redis.hgetall(this.failedKey))) {
      try {
        out.set(did, JSON.parse(json));
      } catch {
        out.set(did, { attempts: 0, error: "unreadable record", at: 0, nextAt: 0, active: true });
      }
    }
    return out;
  }

  async fail(did: string, failure: Failure): Promise<void> {
    await this.redis.hset(this.failedKey, did, JSON.stringify(failure));
  }

  /** A failed repository is done now: its record and its mark go. */
  async recovered(did: string): Promise<void> {
    const tx = this.redis.multi().hdel(this.failedKey, did);
    const cluster = isCluster(this.redis as RedisClient);
    if (!cluster) await dropRepoMarks(this.redis, this.host, [did], tx);
    await tx.exec();
    if (cluster) await dropRepoMarks(this.redis, this.host, [did]);
  }

  /** Every page is done and no failure is left: the host is done. */
  async complete(now: number): Promise<void> {
    await this.redis.hset(this.hostKey, "state", "done", "finishedAt", now);
  }
}
