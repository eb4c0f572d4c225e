/**
 * The store's side of the backfill (backfill/): loads a repository's records, as the
 * firehose's events for them, through the apply script's `m` and `b` operations, so that each
 * counts exactly as a live create would and only when the live stream has not shown it (see
 * scripts/apply_backfill.lua). A repository is loaded in parts, each one call that also
 * moves the repository's progress mark: a part is wholly loaded or not at all, and a run
 * that stopped anywhere goes on from the mark without counting anything twice. On a Redis
 * Cluster the same operations go through the apply's two rounds (cluster_apply.ts), each
 * part as one entry of the host's own partition, and a repository's mark is kept in its
 * account's slot (`bf:{<tag>}:repos:<host>`).
 */
import type { AccountEvent, CommitWriteEvent, IdentityEvent } from "@bsky/shared/events";
import { errorMessage } from "@bsky/shared/errors";
import { crossSlotPipeline, repliesOf } from "@bsky/shared/pipeline";
import { isCluster, type Redis, type RedisClient } from "@bsky/shared/redis";
import { Applier, type ApplyOptions } from "./apply.ts";
import {
  ClusterApplier,
  type ClusterApplyStats,
  type EntryReads,
  memorySpans,
  ReplicasBehindError,
  SPAN_HOURS,
  spanOf,
} from "./cluster_apply.ts";
import { beginWriting, endWriting } from "./reclaim.ts";
import { idsOf } from "./ids.ts";
import { HOUR_MS, storeKeys } from "./layout.ts";
import { defineScript } from "./lua.ts";
import { eventOps } from "./operations.ts";
import { recordTag } from "./record_arg.ts";

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
  /** On a Redis Cluster: the apply in two rounds (cluster_apply.ts). */
  readonly #cluster: ClusterApplier | undefined;
  /** The part being written on a Cluster, after which the next one goes. */
  #parts: Promise<unknown> = Promise.resolve();

  /**
   * On a Redis Cluster, parts go through `cluster` when given (tests stop it between the
   * rounds), else through an applier of its own that waits for a replica (1 s at most).
   */
  constructor(readonly redis: Redis, readonly options: ApplyOptions, cluster?: ClusterApplier) {
    this.applier = new Applier(redis, options);
    const client = redis as RedisClient;
    this.#cluster = isCluster(client)
      ? cluster ?? new ClusterApplier(client, this.applier, { waitReplicas: 1, waitMs: 1000 })
      : undefined;
  }

  /** Whether parts go through the apply's two rounds (on a Redis Cluster). */
  get clustered(): boolean {
    return this.#cluster !== undefined;
  }

  #header(): (string | number)[] {
    const { retentionDays, memoryHours } = this.options;
    return [retentionDays * 86400, memoryHours * 3600, memoryHours, "", "", 0, "", ""];
  }

  /**
   * An account's status, handle and profile as the source has them, each with seq 0: any
   * event of the live stream (seq above 0) wins over them, in either order. `run` is the
   * host and token of the run writing it (on a Redis Cluster: #clusterPart()).
   */
  async writeAccount(
    events: (AccountEvent | IdentityEvent | CommitWriteEvent)[],
    run: { host: string; token: string } = { host: "", token: "" },
  ): Promise<void> {
    if (events.length === 0) return;
    const zeroed = events.map((e) => ({ ...e, seq: 0 }));
    if (this.#cluster) {
      await this.#clusterPart(run.host, run.token, async () => {
        const ids = await this.applier.ids(zeroed.map((e) => e.did));
        return { author: ids.get(zeroed[0].did)!, ops: eventOps(zeroed, ids, true) };
      });
      return;
    }
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
    const bySlot = this.#cluster !== undefined;
    let idle = 0;
    const build = async () => {
      const ids = await this.applier.ids(dids);
      const author = ids.get(part.did)!;
      const ops: (string | number | Uint8Array)[] = [
        "m",
        bySlot ? marksKey(part.host, author) : storeKeys.backfillRepos(part.host),
        part.did,
        part.from,
        part.to,
        author,
        part.token,
        Math.floor(part.now / HOUR_MS),
        Math.floor(part.readAt / HOUR_MS) - 1,
      ];
      // On a Cluster, what the call must know first: the record memory's spans it looks in
      // and those it remembers in, and whether each block's subject has it in `bi:`.
      const { memoryHours } = this.options;
      const read = bySlot ? memorySpans(spanOf(part.now), memoryHours) : [];
      const open = new Set<number>();
      const members: [string, string][] = [];
      idle = 0;
      for (const { event, recent } of part.records) {
        if (event.did !== part.did) throw new TypeError(`A record of ${event.did} in ${part.did}`);
        // Opt codes act when posted live, never from a repository.
        const { opt: _, ...e } = event;
        // The record operation of its create, as the live stream's would be; a create that
        // counts nothing (a post without reply, quote, mention or language) has none.
        const made = eventOps([{ ...e, seq: 0 }], ids, bySlot);
        const at = made.findIndex((v, k) => v === "c" && made[k + 1] instanceof Uint8Array);
        if (at < 0) {
          idle++;
          continue;
        }
        ops.push("b", recent ? "1" : "0", made[at + 1]);
        if (!bySlot) continue;
        const s = spanOf(event.time);
        // Remembered while the memory spans it (the call decides by Redis's clock; a span
        // opened for nothing only gets its bucket count).
        if (recent && (s + 1) * SPAN_HOURS * HOUR_MS + (memoryHours + 1) * HOUR_MS > part.now) {
          open.add(s);
        }
        if (e.collection === "app.bsky.graph.block" && e.subject && e.subject !== e.did) {
          members.push([storeKeys.blockedBy(ids.get(e.subject)!), String(author)]);
        }
      }
      return { author, ops, reads: { open, read, members } };
    };
    let applied: number, duplicate: number, unmatched: number;
    try {
      if (this.#cluster) {
        ({ applied, duplicate, unmatched } = await this.#clusterPart(part.host, part.token, build));
      } else {
        const { ops } = await build();
        ({ applied, duplicate, unmatched } = await this.applier.run([...this.#header(), ...ops]));
      }
    } catch (err) {
      if (err instanceof Error && /STALE/.test(err.message)) {
        const message = err.message.replace(/^.*STALE /, "").replace(/[;)].*$/s, "");
        throw new StaleProgressError(message, { cause: err });
      }
      throw err;
    }
    // The part's own operation is one of the applied.
    return { counted: applied - 1, seenLive: duplicate, hidden: unmatched, idle };
  }

  /**
   * On a Redis Cluster, one part of a host's backfill as one entry of its own partition
   * (`bf.<host>`) in both rounds (ClusterApplier.applyEntry()). The run says it writes
   * (reclaim.ts: beginWriting(), waiting while the sweep's fence is up) until the part is
   * written whole. Before the part: the second round of a part a stop left half written is
   * written (its id and author are kept in the host's hash, `pending`, from before its
   * first round until after its second); the run's hold must still be on (checked here: no
   * call of the first round reaches `{g}`). The ids are read after that, the epoch checked.
   */
  #clusterPart(host: string, token: string, build: () => Promise<Built>) {
    // One part at a time: a partition's entries go in order (repositories are read at once).
    const run = this.#parts.then(() => this.#clusterPartNow(host, token, build));
    this.#parts = run.catch(() => {});
    return run;
  }

  async #clusterPartNow(host: string, token: string, build: () => Promise<Built>) {
    const hostKey = storeKeys.backfillHost(host), writer = writerOf(host);
    await this.#own(host, token);
    // A part a stop left half written: its second round first, with the ids it was read with
    // (it reads none, so the sweep's fence does not hold it back).
    await this.#finishPending(host);
    // Said before ids are read, and not while the sweep reclaims ids (reclaim.ts).
    let epoch: string | null;
    while ((epoch = await beginWriting(this.redis, writer, token)) === null) {
      await new Promise((r) => setTimeout(r, FENCE_PAUSE_MS));
    }
    let started = false;
    try {
      await this.applier.checkEpoch(epoch);
      const { author, ops, reads } = await build();
      const seq = await this.redis.hincrby(hostKey, "seq", 1);
      const id = `${seq}-0`;
      await this.redis.hset(hostKey, "pending", `${id} ${author}`);
      started = true;
      const stats = await this.#written(host, id, author, ops, reads);
      await this.#donePending(host, author);
      await endWriting(this.redis, writer, token);
      return stats;
    } catch (err) {
      // Refused in the first round: nothing of it written, nothing pending.
      if (started && /STALE/.test(errorMessage(err))) await this.redis.hdel(hostKey, "pending");
      // Said no longer once nothing is left half written (else until the next part).
      if (await this.redis.hget(hostKey, "pending") === null) {
        await endWriting(this.redis, writer, token);
      }
      throw err;
    }
  }

  /**
   * Makes the run `token` the host's (K.backfillHost's `run`), unless another run's hold is
   * on (two runs of a host would share its partition, whose entries must come from one
   * writer); throws StaleProgressError when this run's own hold is off (checked here: no
   * call of the first round reaches `{g}`).
   */
  async #own(host: string, token: string): Promise<void> {
    defineScript(this.redis, "backfillRun", RUN_SCRIPT, 2);
    const owner = await (this.redis as unknown as {
      backfillRun(...a: string[]): Promise<number>;
    }).backfillRun(storeKeys.backfillHost(host), storeKeys.backfillActive, token);
    if (owner === -1) throw new StaleProgressError(`The backfill no longer holds ${token}`);
    if (owner === 0) throw new Error(`Another run of ${host} is going on: no part is loaded`);
  }

  /**
   * The part as entry `id` of the host's partition in both rounds; when a call's WAIT came
   * short of its replica, sent again without its operations (what it wrote is skipped, its
   * marks written again and waited for) until one is on, REPLICA_TRIES times at most.
   */
  async #written(
    host: string,
    id: string,
    author: number,
    ops: (string | number | Uint8Array)[],
    reads?: EntryReads,
  ) {
    const cluster = this.#cluster!;
    let stats: ClusterApplyStats | undefined;
    for (let attempt = 1;; attempt++) {
      try {
        const now = await cluster.applyEntry(
          partitionOf(host),
          id,
          author,
          stats ? [] : ops,
          reads,
        );
        return stats ?? now;
      } catch (err) {
        if (!(err instanceof ReplicasBehindError) || attempt >= REPLICA_TRIES) throw err;
        stats ??= err.stats;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }

  /**
   * Writes the second round of the host's part a stop left half written, if any, and the
   * host's run no longer says it writes (what it said was for that part).
   */
  async #finishPending(host: string): Promise<void> {
    const pending = await this.redis.hget(storeKeys.backfillHost(host), "pending");
    if (!pending) return;
    const writer = writerOf(host);
    const said = await this.redis.hget(storeKeys.idWriters, writer);
    const [id, author] = pending.split(" ");
    // Sent again without its operations: its first round returns what it returned then.
    await this.#written(host, id, Number(author), []);
    await this.#donePending(host, Number(author));
    if (said !== null) await endWriting(this.redis, writer, said);
  }

  /**
   * A part is written whole: it is no longer pending, and what its first round kept of it
   * for the second (the slot's journal of the host's partition) goes.
   */
  async #donePending(host: string, author: number): Promise<void> {
    await this.redis.hdel(storeKeys.backfillHost(host), "pending");
    // The first round's journal field: "j", then the partition (apply_cluster_run.lua).
    await this.redis.hdel(storeKeys.slotWatermarks(recordTag(author)), `j${partitionOf(host)}`);
  }

  /**
   * On a Redis Cluster, writes the second round of the host's part a stop left half
   * written, if any (a run does when it starts and when it ends: a host's last part has no
   * next one to do it). Nothing to do on one server, nor while the sweep's fence is up (the
   * next part or run does it).
   */
  async finishHost(host: string, token: string): Promise<void> {
    if (!this.#cluster) return;
    await (this.#parts = this.#parts.then(async () => {
      await this.#own(host, token);
      await this.#finishPending(host);
    }).catch(() => {}));
  }

  /**
   * Makes the run `token` the host's, waiting up to `waitMs` for the hold of a run before
   * it (one that stopped without letting go) to lapse; throws when it does not. On one
   * server, nothing.
   */
  async claimHost(host: string, token: string, waitMs: number): Promise<void> {
    if (!this.#cluster) return;
    for (let waited = 0;; waited += CLAIM_POLL_MS) {
      try {
        return await this.#own(host, token);
      } catch (err) {
        if (err instanceof StaleProgressError || waited >= waitMs) throw err;
      }
      await new Promise((r) => setTimeout(r, CLAIM_POLL_MS));
    }
  }
}

/**
 * A host's run on a Redis Cluster (KEYS[1] its hash, KEYS[2] K.backfillActive, ARGV[1] the
 * run's token): -1 when its hold is off, 0 when another run's hold is on, else 1 (the host's
 * run is this one now).
 */
const RUN_SCRIPT = `
local now = tonumber(redis.call('TIME')[1])
local held = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]))
if not held or held < now then return -1 end
local owner = redis.call('HGET', KEYS[1], 'run')
if owner and owner ~= ARGV[1] then
  local theirs = tonumber(redis.call('ZSCORE', KEYS[2], owner))
  if theirs and theirs >= now then return 0 end
end
redis.call('HSET', KEYS[1], 'run', ARGV[1])
return 1`;

/** On a Redis Cluster, a host's partition of the apply (its parts are its entries). */
const partitionOf = (host: string) => `bf.${host}`;
/** A host's name among the writers that read ids (reclaim.ts). */
const writerOf = (host: string) => `bf:${host}`;

/** A part's operations, of one author, and what its first round must know first. */
interface Built {
  author: number;
  ops: (string | number | Uint8Array)[];
  reads?: EntryReads;
}

/** How long a run waits at the reclaiming's fence before it looks again (ms). */
const FENCE_PAUSE_MS = 100;
/** Sends of a part whose WAIT came short, at most. */
const REPLICA_TRIES = 10;
/** How often a run looks whether the run before it let the host go (ms). */
const CLAIM_POLL_MS = 1000;

/**
 * The marks of repositories of `host` (how far each is loaded: "" when not started), kept
 * by the load's calls: in one hash on one server; on a Redis Cluster in their accounts'
 * slots (a repository not interned yet has none).
 */
export async function repoMarks(redis: Redis, host: string, dids: readonly string[]) {
  if (dids.length === 0) return [];
  if (!isCluster(redis as RedisClient)) {
    return (await redis.hmget(storeKeys.backfillRepos(host), ...dids)).map((m) => m ?? "");
  }
  const ids = await idsOf(redis, dids);
  const marks = repliesOf(
    await crossSlotPipeline(
      redis,
      dids.map((did, k) => ["hget", marksKey(host, ids[k] ?? 0), did]),
    ).exec(),
  );
  return marks.map(([, m], k) => ids[k] === undefined ? "" : (m as string | null) ?? "");
}

/** Drops the marks of repositories of `host` (on one server, within `tx`, when given). */
export async function dropRepoMarks(
  redis: Redis,
  host: string,
  dids: readonly string[],
  tx?: ReturnType<Redis["multi"]>,
): Promise<void> {
  if (dids.length === 0) return;
  if (!isCluster(redis as RedisClient)) {
    if (tx) tx.hdel(storeKeys.backfillRepos(host), ...dids);
    else await redis.hdel(storeKeys.backfillRepos(host), ...dids);
    return;
  }
  const ids = await idsOf(redis, dids);
  const pipe = crossSlotPipeline(redis);
  dids.forEach((did, k) => ids[k] !== undefined && pipe.hdel(marksKey(host, ids[k]!), did));
  repliesOf(await pipe.exec());
}

/** On a Redis Cluster, the marks' hash of the repositories in account `id`'s slot. */
const marksKey = (host: string, id: number) => storeKeys.slotBackfillRepos(recordTag(id), host);

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
