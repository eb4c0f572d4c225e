/**
 * The commands that blocked a Redis server longest (SLOWLOG), by label: what the network
 * bench reads of a server while it works, with probe.ts.
 */
import type { Redis } from "@bsky/shared/redis";

/** The slowest calls seen under one label. */
export interface Blocking {
  /** The longest a single call held the server, in ms, and what it was. */
  maxMs: number;
  command: string;
  /** Calls of at least 10 ms and of at least 50 ms. */
  over10: number;
  over50: number;
  /** Calls logged (at least the threshold). */
  logged: number;
  /**
   * The longest of the calls that do a fixed, tiny amount of work (TTL, EXISTS, HGET…): what
   * the machine's scheduling adds to any call (the server preempted by other processes).
   */
  noiseMs: number;
  /** Durations of the logged calls, in ms (for percentiles). */
  durations: number[];
  /** The slowest calls: duration, command and its first arguments (shortened), client. */
  slowest: { ms: number; call: string; client: string }[];
}

/** Commands whose work does not depend on the data: their time in SLOWLOG is noise. */
const CHEAP = new Set([
  "ttl",
  "exists",
  "hget",
  "hmget",
  "sismember",
  "smismember",
  "zscore",
  "zmscore",
  "strlen",
  "getrange",
  "expire",
  "expireat",
  "ping",
  "incr",
  "set",
  "hset",
  "zadd",
]);

const emptyBlocking = (): Blocking => ({
  maxMs: 0,
  command: "",
  over10: 0,
  over50: 0,
  logged: 0,
  noiseMs: 0,
  durations: [],
  slowest: [],
});

function merge(into: Blocking, b: Blocking): Blocking {
  if (b.maxMs > into.maxMs) {
    into.maxMs = b.maxMs;
    into.command = b.command;
  }
  into.over10 += b.over10;
  into.over50 += b.over50;
  into.logged += b.logged;
  into.noiseMs = Math.max(into.noiseMs, b.noiseMs);
  for (const d of b.durations) into.durations.push(d);
  into.slowest = [...into.slowest, ...b.slowest].sort((x, y) => y.ms - x.ms).slice(0, 5);
  return into;
}

/**
 * Reads SLOWLOG while work runs: every call slower than the server's
 * slowlog-log-slower-than is attributed to the label current when it is drained (every
 * `everyMs` on the probe connection, and when the label changes), then the log is reset.
 */
export class SlowLog {
  #label = "";
  #timer: ReturnType<typeof setInterval> | undefined;
  #draining: Promise<void> = Promise.resolve();
  readonly byLabel = new Map<string, Blocking>();

  constructor(readonly probe: Redis, readonly everyMs = 200) {}

  async start(): Promise<void> {
    await this.probe.slowlog("RESET");
    this.#timer = setInterval(() => this.#drain(), this.everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#drain();
  }

  #drain(): Promise<void> {
    const label = this.#label;
    this.#draining = this.#draining.then(async () => {
      const entries = await this.probe.call("SLOWLOG", "GET", "-1") as unknown[][];
      await this.probe.slowlog("RESET");
      if (!label) return;
      for (const entry of entries) {
        const ms = Number(entry[2]) / 1000;
        const args = ((entry[3] as unknown[]) ?? []).map(String);
        const client = String(entry[5] ?? "");
        // Counted per label and client: "apply firehose", "apply indexer"…
        const key = `${label} ${client}`;
        const b = this.byLabel.get(key) ?? emptyBlocking();
        this.byLabel.set(key, b);
        b.logged++;
        b.durations.push(ms);
        const name = String(args[0] ?? "").toLowerCase();
        if (CHEAP.has(name)) b.noiseMs = Math.max(b.noiseMs, ms);
        if (ms >= 10) b.over10++;
        if (ms >= 50) b.over50++;
        if (ms > b.maxMs) {
          b.maxMs = ms;
          b.command = `${String(args[0] ?? "").toUpperCase()}${
            name === "evalsha" ? " (script)" : ""
          } from ${client || "?"}`;
        }
        if (b.slowest.length < 5 || ms > b.slowest[b.slowest.length - 1].ms) {
          const call = args.slice(0, 4).map((a) => a.length > 40 ? `${a.slice(0, 40)}…` : a)
            .join(" ");
          b.slowest = [...b.slowest, { ms, call, client }].sort((x, y) => y.ms - x.ms)
            .slice(0, 5);
        }
      }
    }).catch(() => {});
    return this.#draining;
  }

  /** Runs `work` with its slow calls counted under `label`. */
  async during<T>(label: string, work: () => Promise<T>): Promise<T> {
    await this.#drain();
    this.#label = label;
    try {
      return await work();
    } finally {
      await this.#drain();
      this.#label = "";
    }
  }

  /** Counts slow calls under `label` from now until the next label. */
  async label(label: string): Promise<void> {
    await this.#drain();
    this.#label = label;
  }

  /** What was counted under `label`, of every client or of one. */
  get(label: string, client?: string): Blocking {
    const out = emptyBlocking();
    for (const [key, b] of this.byLabel) {
      if (client ? key === `${label} ${client}` : key.startsWith(`${label} `)) merge(out, b);
    }
    return out;
  }
}

/** What Redis spent on scripts while a piece of work ran (scriptTime()). */
export interface ScriptTime {
  calls: number;
  /** All the calls' time, ms (INFO commandstats). */
  totalMs: number;
  /**
   * The longest call, ms: from SLOWLOG for calls of 1 ms or more; a single shorter call's
   * own time; 1 (a bound) when several calls were all shorter.
   */
  longestMs: number;
}

/**
 * Runs `work` and returns what Redis spent on script calls (EVAL, EVALSHA) meanwhile. Resets
 * the server's command statistics and slow log. The slow log keeps calls of 1 ms or more
 * only: Redis 7 logs the commands a script calls too, and logging every one of them would
 * slow the script it measures.
 */
export async function scriptTime(redis: Redis, work: () => Promise<unknown>): Promise<ScriptTime> {
  const [threshold] = (await redis.config("GET", "slowlog-log-slower-than") as string[]).slice(1);
  await redis.config("SET", "slowlog-log-slower-than", "1000");
  await redis.config("RESETSTAT");
  await redis.slowlog("RESET");
  try {
    await work();
    const stats = await redis.info("commandstats");
    let calls = 0, usec = 0;
    for (const m of stats.matchAll(/^cmdstat_(?:eval|evalsha):calls=(\d+),usec=(\d+)/gm)) {
      calls += Number(m[1]);
      usec += Number(m[2]);
    }
    const log = await redis.slowlog("GET", -1) as [number, number, number, string[]][];
    const logged = log.filter((e) => /^eval(sha)?$/i.test(e[3][0])).map((e) => e[2]);
    const longest = logged.length ? Math.max(...logged) : calls === 1 ? usec : Math.min(1000, usec);
    return { calls, totalMs: usec / 1000, longestMs: longest / 1000 };
  } finally {
    await redis.config("SET", "slowlog-log-slower-than", threshold);
  }
}
