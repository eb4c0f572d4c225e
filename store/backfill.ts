/**
 * The store's side of the backfill (backfill/): loads a repository's records, as the
 * firehose's events for them, through the apply script's `m` and `b` operations, so that each
 * counts exactly as a live create would and only when the live stream has not shown it (see
 * scripts/apply_backfill.lua). A repository is loaded in parts, each one call that also
 * moves the repository's progress mark: a part is wholly loaded or not at all, and a run
 * that stopped anywhere goes on from the mark without counting anything twice.
 */
import type { AccountEvent, CommitWriteEvent, IdentityEvent } from "@bsky/shared/events";
import type { Redis } from "@bsky/shared/redis";
import { Applier, type ApplyOptions } from "./apply.ts";
import { HOUR_MS, storeKeys } from "./layout.ts";
import { defineScript } from "./lua.ts";

/** One call's worth of a repository's records. */
export interface RepoPart {
  did: string;
  /** The source host's key value (backfillHostName). */
  host: string;
  /** The progress mark this part starts from ("" before the first part) and moves to. */
  from: string;
  to: string;
  /** The run's token in `backfillActive`: the part is refused once it has lapsed. */
  token: string;
  /** The instant the backfill is at, and the one the repository was read at (ms). */
  now: number;
  readAt: number;
  /**
   * The records, each as the firehose's create event (its `time` the instant it counts
   * at); `recent` false for a follow or a block made before the retention, which is kept
   * only in the account's set and its blocks.
   */
  records: { event: CommitWriteEvent; recent: boolean }[];
}

/** What came of a part's records. */
export interface PartOutcome {
  /** Loaded: not seen live. */
  counted: number;
  /** In the record memory or tombstoned: the live stream has them (or their delete). */
  seenLive: number;
  /** Of an account the live stream saw deleted, deactivated or taken down. */
  hidden: number;
  /** Records whose create counts nothing, so not sent. */
  idle: number;
}

/** The repository's progress mark moved, or the run's hold lapsed: read the mark again. */
export class StaleProgressError extends Error {
  override name = "StaleProgressError";
}

export class BackfillStore {
  readonly applier: Applier;

  constructor(readonly redis: Redis, readonly options: ApplyOptions) {
    this.applier = new Applier(redis, options);
  }

  #header(): (string | number)[] {
    const { retentionDays, memoryHours } = this.options;
    return [retentionDays * 86400, memoryHours * 3600, memoryHours, "", "", 0, "", ""];
  }

  /**
   * An account's status, handle and profile as the source has them, each with seq 0: any
   * event of the live stream (seq above 0) wins over them, in either order.
   */
  async writeAccount(
    events: (AccountEvent | IdentityEvent | CommitWriteEvent)[],
  ): Promise<void> {
    if (events.length === 0) return;
    const zeroed = events.map((e) => ({ ...e, seq: 0 }));
    const ids = await this.applier.ids(zeroed.map((e) => e.did));
    await this.applier.run([...this.#header(), ...this.applier.ops(zeroed, ids)]);
  }

  /** Loads one part of a repository; throws StaleProgressError when it was refused. */
  async load(part: RepoPart): Promise<PartOutcome> {
    const dids = new Set<string>([part.did]);
    for (const { event: e } of part.records) {
      if (e.subject) dids.add(e.subject);
      if (e.parent) dids.add(e.parent);
      if (e.quote) dids.add(e.quote);
      for (const m of e.mentions ?? []) dids.add(m);
    }
    const ids = await this.applier.ids(dids);
    const ops: (string | number | Uint8Array)[] = [
      "m",
      storeKeys.backfillRepos(part.host),
      part.did,
      part.from,
      part.to,
      ids.get(part.did)!,
      part.token,
      Math.floor(part.now / HOUR_MS),
      Math.floor(part.readAt / HOUR_MS) - 1,
    ];
    let idle = 0;
    for (const { event, recent } of part.records) {
      if (event.did !== part.did) throw new TypeError(`A record of ${event.did} in ${part.did}`);
      // Opt codes act when posted live, never from a repository.
      const { opt: _, ...e } = event;
      // The record operation of its create, as the live stream's would be; a create that
      // counts nothing (a post without reply, quote, mention or language) has none.
      const made = this.applier.ops([{ ...e, seq: 0 }], ids);
      const at = made.findIndex((v, k) => v === "c" && made[k + 1] instanceof Uint8Array);
      if (at < 0) {
        idle++;
        continue;
      }
      ops.push("b", recent ? "1" : "0", made[at + 1]);
    }
    let applied: number, duplicate: number, unmatched: number;
    try {
      ({ applied, duplicate, unmatched } = await this.applier.run([...this.#header(), ...ops]));
    } catch (err) {
      if (err instanceof Error && /STALE/.test(err.message)) {
        throw new StaleProgressError(err.message.replace(/^.*STALE /, ""), { cause: err });
      }
      throw err;
    }
    // The part's own operation is one of the applied.
    return { counted: applied - 1, seenLive: duplicate, hidden: unmatched, idle };
  }
}

/**
 * Holds `token` in `backfillActive` for `seconds` more, by Redis's clock: while any token
 * holds, live deletes of records the memory does not hold leave tombstones. Returns false,
 * holding nothing, when the token's hold had ended (the run stalled past it: deletes may
 * have gone untombstoned since, so what it read before must be read again under a new
 * token); `fresh` starts a new token. Tokens whose hold ended a day ago are dropped.
 */
export async function holdBackfill(
  redis: Redis,
  token: string,
  seconds: number,
  fresh = false,
): Promise<boolean> {
  defineScript(redis, "holdBackfill", HOLD_SCRIPT, 1);
  const r = redis as unknown as { holdBackfill(...a: (string | number)[]): Promise<number> };
  return await r.holdBackfill(storeKeys.backfillActive, token, seconds, fresh ? 1 : 0) === 1;
}

/** Ends the token's hold. */
export async function releaseBackfill(redis: Redis, token: string): Promise<void> {
  await redis.zrem(storeKeys.backfillActive, token);
}

const HOLD_SCRIPT = `
local now = tonumber(redis.call('TIME')[1])
local held = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
if ARGV[3] ~= '1' and not (held and held >= now) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 86400)
return 1`;
