/**
 * The roll-up of the interaction logs (encoded as log.ts says): entries of closed hours
 * become counts per counterpart and hour (about 3 bytes instead of 5), and once a day has
 * been over for 25 hours, per counterpart and day (about 2 bytes); entries that cancel out
 * (a create and its delete) go, and so does the growth slack appending leaves. Windows of
 * up to 24 hours stay exact to the hour, also for a reader whose clock is up to an hour
 * behind the roll-up's; longer ones round their oldest day (see scanLog). The new log is
 * made here and swapped in by a script (scripts/swap_log.lua) that checks the log still
 * starts with what was read, so it is safe while the indexer appends; running it twice
 * changes nothing. A log of STEP_BYTES or more (a heavy account's, with a digest of many
 * fields) is swapped in steps instead, none of which holds Redis long: staged under a
 * lock, then renamed into place by one short script (swapLogInSteps). The scheduler runs it every hour for the current and the previous week;
 * logs with nothing to roll up are skipped after reading their first 5 bytes.
 */
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import { crossSlotPipeline, repliesOf } from "@bsky/shared/pipeline";
import { type Redis, scanKeys } from "@bsky/shared/redis";
import { TokenLock } from "@bsky/shared/token_lock";
import { CountTable } from "./count_table.ts";
import {
  buildDay,
  CODES,
  decodeIndex,
  DIGEST_MIN_HELD,
  digestFields,
  type DigestIndex,
  encodeIndex,
} from "./digest.ts";
import { DEFAULT_WEIGHTS } from "./interactions.ts";
import {
  ENTRY_BYTES,
  firstHourCellDay,
  HOUR_MS,
  keyValues,
  rolledLength,
  rollUpLog,
  scanLog,
  storeKeys,
  TYPES,
  WEEK_HOURS,
} from "./layout.ts";
import type { RollUpStats } from "./log.ts";
import { defineScript, withKeys } from "./lua.ts";
import swapLog from "./scripts/swap_log.lua" with { type: "text" };
import swapStaged from "./scripts/swap_staged.lua" with { type: "text" };

/** The swap of a log's rolled-up start: see scripts/swap_log.lua. */
const SWAP_SCRIPT = withKeys(swapLog);
/** The last step of a swap in steps: see scripts/swap_staged.lua. */
const SWAP_STAGED_SCRIPT = withKeys(swapStaged);

type RollRedis = Redis & {
  swapLog(...args: (string | number | Buffer)[]): Promise<number>;
  swapStaged(...args: (string | number | Buffer)[]): Promise<number>;
};

/** Windows of up to this many hours stay exact to the hour. */
export const EXACT_HOURS = 24;
/**
 * How far behind the roll-up's clock a reader's may be while its windows of EXACT_HOURS
 * stay exact: the API and the scheduler may run on different hosts.
 */
export const CLOCK_MARGIN_HOURS = 1;

/** The last hour of the week that can be rolled up at `now`, or -1 for none yet. */
export function lastRollableHour(week: number, now: number): number {
  const nowHour = Math.floor(now / HOUR_MS) - week * WEEK_HOURS;
  // A day [24d, 24d + 23] is rollable once its last hour is EXACT_HOURS plus the margin
  // behind: a window of EXACT_HOURS at any reader's now then starts after that day.
  const days = Math.min(7, Math.floor((nowHour - EXACT_HOURS - CLOCK_MARGIN_HOURS + 1) / 24));
  return days <= 0 ? -1 : days * 24 - 1;
}

/** Bytes before and after a roll-up, and how many logs there were. */
export interface RollUpCount {
  before: number;
  after: number;
  keys: number;
}

/** How the roll-up digests heavy accounts' logs (digest.ts); the defaults in production. */
export interface DigestOptions {
  /** Interactions a week's log must hold to be digested (DIGEST_MIN_HELD). */
  digestMinHeld?: number;
  /** Bytes of each head (HEAD_BYTES). */
  headBytes?: number;
  /** Bytes of a log from which it is rolled up in steps (STEP_BYTES). */
  stepBytes?: number;
  /** Bytes of a log read per call in a roll-up in steps (READ_BYTES). */
  readBytes?: number;
  /** How long the lock and staged keys of a roll-up in steps live (STAGING_TTL_MS). */
  stagingTtlMs?: number;
  /** Called with the log's key before the last step of a roll-up in steps (for tests). */
  beforeSwap?: (key: string) => Promise<void>;
  /** Called with the log's key before each write of a roll-up in steps (for tests). */
  beforeStep?: (key: string) => Promise<void>;
}

/**
 * Rolls up every interaction log of `week` as far as `now` allows; returns the bytes
 * before and after, and how many logs there were.
 */
export async function compactWeek(
  redis: Redis,
  week: number,
  now: number,
  options: DigestOptions = {},
): Promise<RollUpCount> {
  const out: RollUpCount = { before: 0, after: 0, keys: 0 };
  for await (const found of scanKeys(redis, { match: storeKeys.log("*", week) })) {
    await rollUpLogs(redis, found, week, now, options, out);
  }
  return out;
}

/** Logs shorter than this cannot hold DIGEST_MIN_HELD: their digest is not looked for. */
const minDigestBytes = (held: number) => Math.floor(held / 64);
/** Logs this long get a digest even when there is nothing to roll up. */
const DIGEST_CATCH_UP_BYTES = 256 * 1024;

/**
 * Rolls up the given logs of `week` as far as `now` allows, adding their bytes before and
 * after, and their number, to `count`. A log that holds at least `digestMinHeld`
 * interactions, or has a digest already, gets its day digests written with the swap.
 */
export async function rollUpLogs(
  redis: Redis,
  found: string[],
  week: number,
  now: number,
  options: DigestOptions = {},
  count: RollUpCount = { before: 0, after: 0, keys: 0 },
): Promise<RollUpCount> {
  const r = redis as RollRedis;
  defineScript(redis, "swapLog", SWAP_SCRIPT, 3);
  defineScript(redis, "swapStaged", SWAP_STAGED_SCRIPT, 6);
  const lastDayHour = lastRollableHour(week, now);
  const lastHour = Math.min(WEEK_HOURS - 1, Math.floor(now / HOUR_MS) - week * WEEK_HOURS - 1);
  // The header and length first: most logs of a past week need nothing. The logs are of
  // many accounts: a slot each (crossSlotPipeline), and a failed read fails the run.
  const heads = crossSlotPipeline(redis);
  for (const key of found) heads.getrangeBuffer(key, 0, ENTRY_BYTES - 1).strlen(key);
  const h = repliesOf(await heads.exec());
  const todo: string[] = [], large: [string, number][] = [];
  found.forEach((key, k) => {
    const head = h[2 * k][1] as Buffer, length = h[2 * k + 1][1] as number;
    if (!head || length === 0) return;
    count.keys++;
    const day = firstHourCellDay(head);
    const rollable = length > rolledLength(head) || (day >= 0 && day * 24 + 23 <= lastDayHour);
    if (lastHour >= 0 && rollable) {
      todo.push(key);
    } else if (lastHour >= 0 && length >= DIGEST_CATCH_UP_BYTES) {
      large.push([key, length]);
    } else {
      count.before += length;
      count.after += length;
    }
  });
  // A large log with nothing to roll up gets its digest if it has none (a log rolled up
  // before digests were written, or before the threshold was lowered).
  if (large.length) {
    const has = crossSlotPipeline(redis);
    for (const [key] of large) has.hexists(digestKeyOf(key), digestFields.index);
    repliesOf(await has.exec()).forEach(([, exists], k) => {
      if (exists) {
        count.before += large[k][1];
        count.after += large[k][1];
      } else todo.push(large[k][0]);
    });
  }
  // Large logs are rolled up in steps, each under a lock taken before the log is read.
  const stepBytes = options.stepBytes ?? STEP_BYTES;
  const lengths = new Map<string, number>();
  found.forEach((key, k) => lengths.set(key, (h[2 * k + 1][1] as number) ?? 0));
  const inSteps = (key: string) => (lengths.get(key) ?? 0) >= stepBytes;
  // The others are read whole, in one pipeline.
  const pipe = crossSlotPipeline(redis);
  for (const key of todo) if (!inSteps(key)) pipe.getBuffer(key);
  const read = repliesOf(await pipe.exec()).map(([, log]) => log as Buffer | null).reverse();
  for (const key of todo) {
    const log = inSteps(key) ? null : read.pop() ?? null;
    let lock: TokenLock | undefined;
    try {
      if (inSteps(key)) {
        lock = new TokenLock(redis, lockKeyOf(key));
        // Another run holds this large log: it is left to that run.
        if (!await lock.acquire(options.stagingTtlMs ?? STAGING_TTL_MS)) {
          lock = undefined;
          throw new Skip();
        }
      }
      await rollUpOne(
        r,
        key,
        lock ? await readLog(r, key, options) : log,
        lastDayHour,
        lastHour,
        options,
        count,
        lock,
      );
    } catch (e) {
      if (!(e instanceof Skip)) throw e;
      const length = lengths.get(key) ?? 0;
      count.before += length;
      count.after += length;
    } finally {
      await lock?.release();
    }
  }
  return count;
}

/** A log left as it is, to a roll-up under way elsewhere. */
class Skip extends Error {}

/** Bytes of a log from which it is rolled up in steps (swapLogInSteps). */
export const STEP_BYTES = 128 * 1024;
/** How long a step's lock and staged keys live (a run that stops lets go by then). */
export const STAGING_TTL_MS = 10 * 60_000;
/**
 * Fields, and bytes of them, written to a staged digest per call; a read of kept fields asks
 * for at most FIELDS_PER_CALL of them, whatever their size.
 */
const FIELDS_PER_CALL = 256, BYTES_PER_CALL = 128 * 1024;
/** Bytes of a locked log read per call. */
const READ_BYTES = 256 * 1024;
/** Bytes of the log's start and of its end as read that the swap checks. */
const CHECK_BYTES = 64;
/** Times a roll-up reads a log again when the log or its digest changed in between. */
const ATTEMPTS = 5;

/** Rolls up one log read as `log` (see rollUpLogs); in steps when it holds `lock`. */
async function rollUpOne(
  r: RollRedis,
  key: string,
  log: Buffer | null,
  lastDayHour: number,
  lastHour: number,
  options: DigestOptions,
  count: RollUpCount,
  lock: TokenLock | undefined,
): Promise<void> {
  const minHeld = options.digestMinHeld ?? DIGEST_MIN_HELD;
  const digestKey = digestKeyOf(key);
  // The digest's index only where one may be (the swap checks it was right).
  let index: Buffer | null = log && log.length >= minDigestBytes(minHeld)
    ? await r.hgetBuffer(digestKey, digestFields.index)
    : null;
  for (let attempt = 0; log; attempt++) {
    if (attempt === ATTEMPTS) throw new Skip();
    const stats: RollUpStats = { held: 0, changedDays: 0 };
    const out = rollUpLog(log, lastDayHour, lastHour, stats);
    const old = decodeIndex(index);
    const digest = old !== undefined || stats.held >= minHeld;
    if (!out && (!digest || old)) {
      count.before += log.length;
      count.after += log.length;
      return;
    }
    const next = out ?? log;
    const update = digest
      ? digestUpdate(next, old, stats.changedDays, lastHour, options)
      : undefined;
    let len: number;
    if (lock) {
      len = await swapLogInSteps(r, key, log, out, index, update, lock, options);
    } else {
      const sha = createHash("sha1").update(log).digest("hex");
      const args = update ? [update.gone.length, ...update.gone, ...update.set] : [0];
      len = await r.swapLog(
        key,
        digestKey,
        lockKeyOf(key),
        log.length,
        sha,
        Buffer.from(next),
        index ?? "",
        ...args,
      );
    }
    if (len >= 0) {
      count.before += log.length;
      count.after += len;
      return;
    }
    if (len === -2) throw new Skip();
    // Changed in between: read it again.
    [log, index] = await Promise.all([
      lock ? readLog(r, key, options) : r.getBuffer(key),
      r.hgetBuffer(digestKey, digestFields.index),
    ]);
  }
}

/**
 * A log read in parts of READ_BYTES (`readBytes`), for a run that holds its lock: only appends change it
 * meanwhile, so the parts make up the log as it stood when the last was read. Null when
 * there is no log.
 */
async function readLog(r: RollRedis, key: string, options: DigestOptions) {
  const parts: Buffer[] = [], bytes = options.readBytes ?? READ_BYTES;
  for (let at = 0;; at += bytes) {
    const part = await r.getrangeBuffer(key, at, at + bytes - 1);
    parts.push(part);
    if (part.length < bytes) break;
  }
  const log = Buffer.concat(parts);
  return log.length ? log : null;
}

/**
 * The swap of a large log in steps, each call of bounded work while the run holds the
 * log's lock: the rolled-up log (`out`, if any) is staged whole in one SET (Redis keeps
 * the argument it read as the value); the new digest is staged field by field in calls of
 * FIELDS_PER_CALL fields or BYTES_PER_CALL bytes at most, those of the old one that stay
 * read from it and written again the same way; then one script (scripts/swap_staged.lua)
 * checks the log and digest are as read and renames the staged keys into place, after
 * appending to the staged log what the indexer appended since. Readers see the old log and
 * digest or the new ones, never a mix. The old digest is unlinked last (freed apart from
 * the event loop). Returns the log's new length, -1 when it changed, -2 when the lock
 * was lost.
 */
async function swapLogInSteps(
  r: RollRedis,
  key: string,
  log: Buffer,
  out: Uint8Array | undefined,
  index: Buffer | null,
  update: DigestUpdate | undefined,
  lock: TokenLock,
  options: DigestOptions,
): Promise<number> {
  const [id, week] = keyValues("log", key)!;
  const run = lock.token;
  const stagedLog = storeKeys.logStaging(id, week, run);
  const stagedDigest = storeKeys.digestStaging(id, week, run);
  const retired = storeKeys.digestRetired(id, week, run);
  const ttl = options.stagingTtlMs ?? STAGING_TTL_MS;
  // A run slower than the lock's life keeps it, and its staged keys, alive: each step
  // renews them (the first, too: reading and rolling up the log took some of the lock's
  // life). A run stopped between two steps lets them expire, and finds the lock gone if it
  // wakes.
  const step = async () => {
    if (options.beforeStep) await options.beforeStep(key);
    const [renewed] = await Promise.all([
      lock.renew(ttl),
      r.pexpire(stagedLog, ttl),
      r.pexpire(stagedDigest, ttl),
    ]);
    if (!renewed) throw new LockLost();
  };
  try {
    await step();
    if (out) await r.set(stagedLog, Buffer.from(out), "PX", ttl);
    let fields = -1;
    if (update) {
      fields = 0;
      const write = async (pairs: (string | Buffer)[]) => {
        await step();
        const [[err, added]] = (await r.multi().hset(stagedDigest, ...pairs)
          .pexpire(stagedDigest, ttl).exec())!;
        if (err) throw err;
        fields += added as number;
      };
      // The old digest's fields that stay, read and written again in bounded calls.
      for (const names of chunks(update.kept, () => 64)) {
        const values = await r.hmgetBuffer(digestKeyOf(key), ...names);
        const pairs: [string, Buffer][] = [];
        values.forEach((v, k) => v && pairs.push([names[k], v]));
        // A field gone missing: the digest changed (its index tells, at the swap). A day's
        // heads can be tens of KiB: written within the calls' byte bound too.
        for (const part of chunks(pairs, ([, v]) => v.length)) await write(part.flat());
      }
      const set: [string, Buffer][] = [];
      for (let k = 0; k < update.set.length; k += 2) {
        set.push([update.set[k] as string, update.set[k + 1] as Buffer]);
      }
      for (const part of chunks(set, ([, v]) => v.length)) await write(part.flat());
    }
    if (options.beforeSwap) await options.beforeSwap(key);
    await step();
    const head = log.subarray(0, Math.min(CHECK_BYTES, log.length));
    const end = log.subarray(Math.max(0, log.length - CHECK_BYTES));
    return await r.swapStaged(
      key,
      digestKeyOf(key),
      lock.key,
      stagedLog,
      stagedDigest,
      retired,
      run,
      log.length,
      head,
      end,
      index ?? "",
      out ? 1 : 0,
      fields,
    );
  } catch (e) {
    if (e instanceof LockLost) return -2;
    throw e;
  } finally {
    await r.unlink(stagedLog, stagedDigest, retired);
  }
}

/** The lock of a roll-up in steps ran out, or another run holds it now. */
class LockLost extends Error {}

/** Splits `items` into runs of at most FIELDS_PER_CALL items and BYTES_PER_CALL bytes. */
function* chunks<T>(items: T[], bytes: (item: T) => number): Generator<T[]> {
  let part: T[] = [], size = 0;
  for (const item of items) {
    const b = bytes(item);
    if (part.length && (part.length === FIELDS_PER_CALL || size + b > BYTES_PER_CALL)) {
      yield part;
      part = [];
      size = 0;
    }
    part.push(item);
    size += b;
  }
  if (part.length) yield part;
}

/** The lock key of a log key: its roll-up in steps under way. */
function lockKeyOf(logKey: string): string {
  const [id, week] = keyValues("log", logKey)!;
  return storeKeys.rollUpLock(id, week);
}

/** The digest key of a log key (same account and week). */
function digestKeyOf(logKey: string): string {
  const [id, week] = keyValues("log", logKey)!;
  return storeKeys.digest(id, week);
}

/**
 * The digest's update for the rolled-up log `log`, whose hours up to `lastHour` are
 * rolled up: the fields that go, the fields written and their values (the index among
 * them), and the old fields that stay. Every day with counts in the rolled-up part is digested
 * (the current one as far as its hours are over); days whose counts did not change
 * (`changedDays`: those of the entries this roll-up took in) keep their fields, also when
 * their hour cells became day cells.
 */
function digestUpdate(
  log: Uint8Array,
  old: DigestIndex | undefined,
  changedDays: number,
  lastHour: number,
  options: DigestOptions,
): DigestUpdate {
  const weights = TYPES.map((t) => DEFAULT_WEIGHTS[t]);
  const same = old !== undefined && old.weights.every((w, t) => w === weights[t]);
  // Each day's counts by counterpart, from its day cells or its hour cells.
  const rows = Array.from({ length: 7 }, () => new CountTable(CODES));
  let days = 0, hourDays = 0;
  scanLog(log, 0, WEEK_HOURS - 1, (cp, received, type, by, hour, day) => {
    const d = Math.floor(hour / 24);
    // Entries (day undefined) stay the readers' to scan.
    if (day === undefined) return;
    days |= 1 << d;
    if (!day) hourDays |= 1 << d;
    if (type <= 5) rows[d].add(cp, (received ? 5 : 0) + type - 1, by);
  });
  const rebuild = same ? (changedDays & days) | (days ^ old.days) : days | (old?.days ?? 0);
  const index: DigestIndex = {
    gen: ((old?.gen ?? 0) + 1) % 2 ** 32,
    rolled: rolledLength(log),
    days,
    hourDays,
    unusable: same ? old.unusable & ~rebuild : 0,
    lastHour,
    weights,
    buckets: same ? [...old.buckets] : [0, 0, 0, 0, 0, 0, 0],
  };
  const gone: string[] = [], set: (string | Buffer)[] = [], kept: string[] = [];
  for (let d = 0; d < 7; d++) {
    if (!(rebuild & (1 << d))) {
      if (old && old.days & (1 << d)) {
        kept.push(digestFields.heads(d));
        for (let b = 0; b < old.buckets[d]; b++) kept.push(digestFields.bucket(d, b));
      }
      continue;
    }
    if (old && old.days & (1 << d)) {
      gone.push(digestFields.heads(d));
      for (let b = 0; b < old.buckets[d]; b++) gone.push(digestFields.bucket(d, b));
    }
    index.buckets[d] = 0;
    if (!(days & (1 << d))) continue;
    const built = buildDay(rows[d], weights, options.headBytes);
    if (!built) {
      index.unusable |= 1 << d;
      continue;
    }
    index.buckets[d] = built.buckets.length;
    set.push(digestFields.heads(d), Buffer.from(built.heads));
    built.buckets.forEach((b, k) => set.push(digestFields.bucket(d, k), Buffer.from(b)));
  }
  set.push(digestFields.index, Buffer.from(encodeIndex(index)));
  return { gone, set, kept };
}

/**
 * A digest's update: the fields that go, the field / value pairs written (the index
 * among them) and the fields of the old digest that stay as they are.
 */
interface DigestUpdate {
  gone: string[];
  set: (string | Buffer)[];
  kept: string[];
}

/** Rolls up, as of `now`, every week that can still change: this one and the one before. */
export async function rollUpWeeks(
  redis: Redis,
  now: number,
  options: DigestOptions = {},
): Promise<Record<string, RollUpCount>> {
  const week = Math.floor(now / HOUR_MS / WEEK_HOURS);
  const out: Record<string, RollUpCount> = {};
  // The previous week's last days close during the current week's first day.
  for (const w of [week - 1, week]) out[String(w)] = await compactWeek(redis, w, now, options);
  return out;
}
