/**
 * What the network bench reads of a Redis server while it works: CPU time of its main
 * thread, the commands that blocked it longest (SLOWLOG), and its memory by key family
 * (MEMORY USAGE on a sample of each family's keys, and INFO memory).
 */
import type { Redis } from "@bsky/shared/redis";
import { random } from "@bsky/store/testing/generate";

/** A section of INFO as fields. */
export async function info(redis: Redis, section: string): Promise<Record<string, string>> {
  const text = await redis.info(section);
  const out: Record<string, string> = {};
  for (const line of text.split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** CPU time of the server's main thread (user + system), in ms. */
export async function redisCpuMs(redis: Redis): Promise<number> {
  const c = await info(redis, "cpu");
  const user = c.used_cpu_user_main_thread ?? c.used_cpu_user;
  const sys = c.used_cpu_sys_main_thread ?? c.used_cpu_sys;
  return (Number(user) + Number(sys)) * 1000;
}

export { type Blocking, SlowLog } from "./slow_log.ts";

/** A family of keys: a name and the prefix its keys start with (or the one key it is). */
export interface Family {
  name: string;
  prefix: string;
  /** The family is this one key. */
  exact?: boolean;
}

/**
 * The prefix a key-making function's keys share: the common start of its keys for two
 * different arguments ("l:{" from `(id, week) => "l:{id}:week"`).
 */
export function prefixOf(make: (a: number, b: number) => string): string {
  const a = make(1234567, 2345), b = make(7654321, 5432);
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}

export interface FamilyUsage {
  name: string;
  keys: number;
  /** Estimated bytes (mean MEMORY USAGE of the sample times the keys). */
  bytes: number;
  sampled: number;
  /** For string families: the sum of the values' lengths (all keys), and per-key overhead. */
  strlen?: number;
  overheadPerKey?: number;
}

export interface MemoryReport {
  families: FamilyUsage[];
  keys: number;
  /** Distinct ids of the keys of families whose keys carry an id tag ("{123}"), by family. */
  ids: Map<string, number>;
}

/**
 * Walks every key (SCAN), sorts it into its family (unknown keys under their first segment),
 * samples up to `sample` keys of each family for MEMORY USAGE (exact, SAMPLES 0), and sums
 * the lengths of the string families in `strings` exactly.
 */
export async function memoryByFamily(
  redis: Redis,
  families: Family[],
  { sample = 3000, strings = [] as string[], seed = 7 } = {},
): Promise<MemoryReport> {
  const rand = random(seed);
  const ordered = [...families].sort((a, b) => b.prefix.length - a.prefix.length);
  const familyOf = (key: string): string => {
    for (const f of ordered) {
      if (f.exact ? key === f.prefix : key.startsWith(f.prefix)) return f.name;
    }
    return `other ${key.split(":")[0]}`;
  };
  const count = new Map<string, number>();
  const reservoir = new Map<string, string[]>();
  const strlen = new Map<string, number>();
  const idSets = new Map<string, Set<number>>();
  let keys = 0;
  let cursor = "0";
  do {
    const [next, found] = await redis.scan(cursor, "COUNT", 5000);
    cursor = next;
    const lengths: [string, string][] = [];
    for (const key of found) {
      keys++;
      const name = familyOf(key);
      const n = (count.get(name) ?? 0) + 1;
      count.set(name, n);
      let r = reservoir.get(name);
      if (!r) reservoir.set(name, r = []);
      if (r.length < sample) r.push(key);
      else {
        const j = Math.floor(rand() * n);
        if (j < sample) r[j] = key;
      }
      if (strings.includes(name)) lengths.push([name, key]);
      const tag = /^[^{]*\{(\d+)\}/.exec(key);
      if (tag) {
        let s = idSets.get(name);
        if (!s) idSets.set(name, s = new Set());
        s.add(Number(tag[1]));
      }
    }
    if (lengths.length) {
      const res = (await redis.pipeline(lengths.map(([, k]) => ["strlen", k])).exec())!;
      lengths.forEach(([name], i) => strlen.set(name, (strlen.get(name) ?? 0) + Number(res[i][1])));
    }
  } while (cursor !== "0");
  const out: FamilyUsage[] = [];
  for (const [name, n] of count) {
    const r = reservoir.get(name)!;
    let total = 0, overhead = 0;
    for (let i = 0; i < r.length; i += 500) {
      const chunk = r.slice(i, i + 500);
      const pipe = redis.pipeline();
      for (const k of chunk) pipe.memory("USAGE", k, "SAMPLES", "0");
      if (strings.includes(name)) { for (const k of chunk) pipe.strlen(k); }
      const res = (await pipe.exec())!;
      chunk.forEach((_, j) => {
        const usage = Number(res[j][1] ?? 0);
        total += usage;
        if (strings.includes(name)) overhead += usage - Number(res[chunk.length + j][1] ?? 0);
      });
    }
    const usage: FamilyUsage = { name, keys: n, bytes: (total / r.length) * n, sampled: r.length };
    if (strings.includes(name)) {
      usage.strlen = strlen.get(name) ?? 0;
      usage.overheadPerKey = overhead / r.length;
    }
    out.push(usage);
  }
  out.sort((a, b) => b.bytes - a.bytes);
  return {
    families: out,
    keys,
    ids: new Map([...idSets].map(([k, s]) => [k, s.size])),
  };
}

/** Percentile of sorted numbers (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** Glob metacharacters escaped, for SCAN MATCH of a literal prefix. */
function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * used_memory once it stops moving: the server shrinks its key tables a little at a time
 * after many keys were deleted (read every 250 ms until two reads agree, 10 s at most).
 */
export async function usedMemory(redis: Redis): Promise<number> {
  let last = Number((await info(redis, "memory")).used_memory);
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const now = Number((await info(redis, "memory")).used_memory);
    if (Math.abs(now - last) < 4096) return now;
    last = now;
  }
  return last;
}

/**
 * What each family really takes: its keys are deleted (DEL, synchronously), one family after
 * the other, and the drop of used_memory is its size, the keyspace's own tables included.
 * Destroys the data: the last thing a bench does.
 */
export async function measureByDeleting(
  redis: Redis,
  families: Family[],
): Promise<Map<string, { bytes: number; keys: number }>> {
  const out = new Map<string, { bytes: number; keys: number }>();
  let before = await usedMemory(redis);
  for (const f of families) {
    let keys = 0;
    if (f.exact) keys += await redis.del(f.prefix);
    else {
      let cursor = "0";
      do {
        const [next, found] = await redis.scan(
          cursor,
          "MATCH",
          `${globEscape(f.prefix)}*`,
          "COUNT",
          5000,
        );
        cursor = next;
        if (found.length) keys += await redis.del(...found);
      } while (cursor !== "0");
    }
    const after = await usedMemory(redis);
    out.set(f.name, { bytes: before - after, keys });
    before = after;
  }
  return out;
}

/**
 * The longest stretch of CPU the server's main thread spent between two polls `everyMs`
 * apart, per label: a call holds the server for its whole CPU time, and other clients'
 * commands wait behind it, so the longest stretch bounds the longest call from above
 * (several short calls between two polls add up). Unlike SLOWLOG's elapsed times it does
 * not count time the server was preempted by other processes on the machine.
 */
export class CpuWatch {
  #label = "";
  #running: Promise<void> | undefined;
  #stop = false;
  readonly longest = new Map<string, number>();

  constructor(readonly redis: Redis, readonly everyMs = 5) {}

  start(): void {
    this.#running = (async () => {
      let last = await redisCpuMs(this.redis);
      while (!this.#stop) {
        await new Promise((r) => setTimeout(r, this.everyMs));
        const label = this.#label;
        const now = await redisCpuMs(this.redis);
        if (label && label === this.#label) {
          this.longest.set(label, Math.max(this.longest.get(label) ?? 0, now - last));
        }
        last = now;
      }
    })();
  }

  label(label: string): void {
    this.#label = label;
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#running;
  }

  get(label: string): number {
    return this.longest.get(label) ?? 0;
  }
}
