/**
 * `deno task bench:network`: what one Redis node holds of the real network. A model of the
 * whole network scaled down (network_model.ts: accounts, activity, popularity and the mix
 * of events calibrated to public figures, with the network's top accounts kept whole) goes
 * through the firehose's publish step (streams, cursor, network counters) and the store's
 * write path (Applier, reading the stream through a consumer group as the indexer does)
 * into a local redis-server, in time order over a window that ends at `--now`, while the
 * scheduler's jobs run at their simulated times. Then it prints:
 *
 * - apply throughput and CPU per 10^6 interactions, of Redis and of this process;
 * - Redis memory by key family (prefixes from the store's layout), fitted as a model (bytes
 *   per interaction, per active account, per account ever seen) and extrapolated to the
 *   whole network for windows of 24 h, 7 d and 30 d;
 * - circles (topInteractions) latency, uncached, for the heaviest account and typical ones;
 * - each job's duration and the longest any one of its Redis calls held the server;
 * - what a day of the retention sweep deletes;
 *
 * and ends with one JSON line.
 *
 *   deno run --allow-all store/bench/bench_network.ts [--scale 0.01] [--days 7] [--seed 42]
 *     [--celebrities 4]
 *
 * `--celebrities N` keeps the network's N most popular accounts whole (4 unless given; their
 * traffic, about 330,000 interactions a day, is the same at every scale and sets the run's
 * length at small scales); with 0, the heaviest account queried is the scaled network's busiest.
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { decodeEvent, type FirehoseEvent } from "@bsky/shared/events";
import { firehoseKeys } from "@bsky/shared/keys";
import { connectRedis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { chunksOf, Publisher } from "@bsky/firehose/publisher";
import { countEvent, emptyCounts } from "@bsky/firehose/network_counts";
import { Applier } from "@bsky/store/apply";
import {
  DAY_MS,
  HOUR_MS,
  INTERNING_KEYS,
  KEY_NAMES,
  type KeyName,
  keyPrefix,
  storeKeys,
} from "@bsky/store/layout";
import { idOf, topInteractions, totals } from "@bsky/store/queries";
import { scanParts } from "./scan_parts.ts";
import { rollUpCounters } from "@bsky/scheduler/jobs/counters";
import { refreshProfiles } from "@bsky/scheduler/jobs/profiles";
import { rollUpStore } from "@bsky/scheduler/jobs/rollup";
import { sweep } from "@bsky/scheduler/jobs/sweep";
import { computeTopLists } from "@bsky/scheduler/jobs/top_lists";
import {
  activeShare,
  jetstreamMix,
  meanActivity,
  NETWORK,
  networkDaily,
  NetworkModel,
  timelineShape,
} from "./network_model.ts";
import {
  CpuWatch,
  type Family,
  info,
  measureByDeleting,
  memoryByFamily,
  percentile,
  prefixOf,
  redisCpuMs,
  SlowLog,
  usedMemory,
} from "./probe.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    scale: { type: "string", default: "0.01" },
    days: { type: "string", default: "7" },
    seed: { type: "string", default: "42" },
    celebrities: { type: "string" },
    batch: { type: "string", default: "1000" },
    "rollup-hours": { type: "string", default: "24" },
    queries: { type: "string", default: "100" },
    maxmemory: { type: "string", default: "20gb" },
    "stream-maxlen": { type: "string", default: "2000000" },
    now: { type: "string" },
    "redis-nice": { type: "string", default: "-10" },
  },
});
const SCALE = Number(values.scale), DAYS = Number(values.days), SEED = Number(values.seed);
const BATCH = Number(values.batch), ROLLUP_HOURS = Number(values["rollup-hours"]);
const QUERIES = Number(values.queries), STREAM_MAXLEN = Number(values["stream-maxlen"]);
/** The instant the window ends: the only reading of the clock, here at the entry point. */
const NOW = values.now ? Number(values.now) : Date.now();
const RETENTION_DAYS = DAYS;
const MEMORY_HOURS = 48;
const GROUP = "indexer";
const SCALED = 1 / SCALE;

const say = (s = "") => console.log(s);
const fmt = (n: number, d = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const gb = (b: number) => `${(b / 1e9).toFixed(2)} GB`;
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

// ---------------------------------------------------------------------------------------
// The model and the server.
const model = new NetworkModel({
  scale: SCALE,
  days: DAYS,
  end: NOW,
  seed: SEED,
  rememberedHours: MEMORY_HOURS + 8,
  celebrities: values.celebrities === undefined ? undefined : Number(values.celebrities),
});
const daily = networkDaily();
/** The code measured: the commit, and whether the services' folders had changes on top. */
const code = await (async () => {
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", {
      args,
      cwd: new URL("../..", import.meta.url),
      stdout: "piped",
      stderr: "null",
    }).output().catch(() => undefined);
    return out?.success ? new TextDecoder().decode(out.stdout).trim() : "";
  };
  const commit = await git("rev-parse", "--short", "HEAD");
  const changed = (await git("status", "--porcelain", "store", "scheduler", "firehose", "shared"))
    .split("\n").filter(Boolean).length;
  return commit ? `${commit}${changed ? ` with ${changed} files changed` : ""}` : "unknown";
})();
say(`Code: ${code}`);
say(
  `Network model at scale 1/${fmt(SCALED)}: ${fmt(model.population)} accounts ` +
    `(${fmt(model.engagedAtStart)} that may be active), ${DAYS} days ending ` +
    `${new Date(NOW).toISOString()}, seed ${SEED}`,
);
say(
  `  whole network: ${fmt(daily.events / 1e6, 1)}M events/day kept by the firehose ` +
    `(${fmt(daily.events / 86400)}/s on average), ${fmt(daily.interactions / 1e6, 1)}M ` +
    `interactions/day; modelled active accounts: ${
      fmt(meanActivity() * model.engagedAtStart * SCALED)
    } a day, ` +
    `${fmt(activeShare(7) * model.engagedAtStart * SCALED)} a week, ` +
    `${fmt(activeShare(30) * model.engagedAtStart * SCALED)} a month`,
);
say(
  model.celebrityWeekly.length
    ? `  celebrities kept whole: ${
      model.celebrityWeekly.map((w) => fmt(w)).join(", ")
    } interactions received per 7 days`
    : "  no celebrities kept whole: the top accounts' traffic is scaled with the rest",
);

await using server = await startRedisServer({
  extraArgs: [
    "--maxmemory",
    values.maxmemory!,
    "--maxmemory-policy",
    "noeviction",
    "--slowlog-log-slower-than",
    "1000",
    "--slowlog-max-len",
    "100000",
  ],
});
const connect = (name: string) => connectRedis(server.url, { name });
const fire = await connect("firehose");
const idx = await connect("indexer");
const jobs = await connect("scheduler");
const query = await connect("api");
const probe = await connect("probe");
const watch = new CpuWatch(await connect("watch"));
const memEmpty = Number((await info(probe, "memory")).used_memory);
// On a machine shared with other work, the server is given a higher CPU priority so that
// SLOWLOG measures the calls rather than the time other processes held the CPU.
const REDIS_NICE = Number(values["redis-nice"]);
if (REDIS_NICE !== 0) {
  const pid = (await info(probe, "server")).process_id;
  const out = await new Deno.Command("renice", {
    args: ["-n", String(REDIS_NICE), "-p", pid],
    stdout: "null",
    stderr: "piped",
  }).output().catch(() => undefined);
  if (!out?.success) {
    say(`  (could not renice redis-server to ${REDIS_NICE}: SLOWLOG will be noisier)`);
  }
}

const publisher = new Publisher(fire, {
  partitions: 1,
  maxLen: STREAM_MAXLEN,
  source: "relay",
});
const applier = new Applier(idx, { retentionDays: RETENTION_DAYS, memoryHours: MEMORY_HOURS });
const stream = firehoseKeys.stream(0);
await idx.xgroup("CREATE", stream, GROUP, "0", "MKSTREAM");
const slow = new SlowLog(probe);
await slow.start();
watch.start();

// ---------------------------------------------------------------------------------------
// Scheduler jobs, at simulated instants.
interface JobRun {
  at: number;
  ms: number;
  cpuMs: number;
  redisMs: number;
  result: unknown;
}
const runs = new Map<string, JobRun[]>();
async function runJob<T>(name: string, at: number, work: () => Promise<T>): Promise<T> {
  const cpu0 = process.cpuUsage(), redis0 = await redisCpuMs(probe), t0 = performance.now();
  watch.label(`job ${name}`);
  const result = await slow.during(`job ${name}`, work);
  watch.label("apply");
  const ms = performance.now() - t0;
  const own = process.cpuUsage(cpu0);
  const run = {
    at,
    ms,
    cpuMs: (own.user + own.system) / 1000,
    redisMs: await redisCpuMs(probe) - redis0,
    result,
  };
  runs.set(name, [...runs.get(name) ?? [], run]);
  return result;
}

/** The profile upkeep's view of the identity network: answered here, from the model. */
const PLC = "http://plc.bench.invalid", RESOLVER = "http://resolver.bench.invalid";
const PDS = "http://pds.bench.invalid";
const stubFetch: typeof fetch = (input) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const handleOf = (did: string) => `h${did.slice(-10)}.bsky.social`;
  if (url.origin === PLC) {
    const did = decodeURIComponent(url.pathname.slice(1));
    return Promise.resolve(Response.json({
      id: did,
      alsoKnownAs: [`at://${handleOf(did)}`],
      service: [{ id: "#atproto_pds", type: "AtprotoPersonalDataServer", serviceEndpoint: PDS }],
    }));
  }
  if (url.origin === RESOLVER) {
    const handle = url.searchParams.get("handle") ?? "";
    const tail = handle.slice(1, 11);
    return Promise.resolve(Response.json({ did: `did:plc:${tail.padStart(24, "a")}` }));
  }
  return Promise.resolve(Response.json({
    value: {
      displayName: "A name of sixteen",
      avatar: { ref: { $link: "bafkrei" + "a".repeat(52) } },
    },
  }));
};

type JobName = "counters" | "rollup" | "sweep" | "top" | "profiles";
const jobAt: Record<JobName, (t: number) => Promise<unknown>> = {
  counters: (t) => runJob("counters", t, () => rollUpCounters(jobs, t)),
  // The replay's instants are in the past of Redis's clock: the skew check is widened.
  rollup: (t) =>
    runJob("rollup", t, () => rollUpStore(jobs, t, { maxSkewMs: (DAYS + 2) * DAY_MS })),
  sweep: (t) =>
    runJob("sweep", t, () => sweep(jobs, { retentionDays: RETENTION_DAYS, fix: true, now: t })),
  top: (t) => runJob("top", t, () => computeTopLists(jobs, { size: 100, now: t })),
  profiles: (t) =>
    runJob("profiles", t, () =>
      refreshProfiles(jobs, {
        now: t,
        plcUrl: PLC,
        handleResolverUrl: RESOLVER,
        budget: 300,
        maxAgeHours: 24,
        allowPrivate: true,
        fetch: stubFetch,
      })),
};
/** When each job runs next: minutes past the hour (counters :01, roll-up :20 every few hours), daily ones at their hour. */
const schedule: { job: JobName; next: number; every: number }[] = (() => {
  const first = (offset: number, every: number) => {
    const t = Math.floor(model.start / every) * every + offset;
    return t <= model.start ? t + every : t;
  };
  return [
    { job: "counters", next: first(60_000, HOUR_MS), every: HOUR_MS },
    {
      job: "rollup",
      next: first(20 * 60_000, ROLLUP_HOURS * HOUR_MS),
      every: ROLLUP_HOURS * HOUR_MS,
    },
    { job: "sweep", next: first((3 * 60 + 40) * 60_000, DAY_MS), every: DAY_MS },
    { job: "top", next: first(12 * HOUR_MS + 5 * 60_000, DAY_MS), every: DAY_MS },
    { job: "profiles", next: first(12 * HOUR_MS + 15 * 60_000, DAY_MS), every: DAY_MS },
  ];
})();

// ---------------------------------------------------------------------------------------
// The replay: publish each batch as the firehose does, read it back through the consumer
// group and apply it with its acknowledgement, as the indexer does.
const phase = {
  publish: { wall: 0, cpu: 0, redis: 0, maxRedis: 0 },
  index: { wall: 0, cpu: 0, redis: 0, maxRedis: 0 },
};
const applied = { applied: 0, duplicate: 0, unmatched: 0, late: 0 };
let batch: FirehoseEvent[] = [];
let cursor: number | undefined;
let batches = 0;
const replayCpu0 = process.cpuUsage();
const replayT0 = performance.now();
await slow.label("apply");
watch.label("apply");

async function flush(): Promise<void> {
  if (batch.length === 0) return;
  const events = batch;
  batch = [];
  const to = events[events.length - 1].seq;
  const c0 = process.cpuUsage(), r0 = await redisCpuMs(probe), w0 = performance.now();
  const counts = emptyCounts();
  for (const e of events) countEvent(counts, e);
  const res = await publisher.publish(chunksOf(events, 1), cursor, to, counts);
  if (res.status !== "applied") throw new Error(`Cannot publish a batch: ${res.status}`);
  cursor = to;
  const c1 = process.cpuUsage(), r1 = await redisCpuMs(probe), w1 = performance.now();
  const read = await idx.xreadgroup(
    "GROUP",
    GROUP,
    "bench",
    "COUNT",
    events.length,
    "STREAMS",
    stream,
    ">",
  ) as [string, [string, string[]][]][];
  const entries = read[0][1];
  const decoded: FirehoseEvent[] = [];
  for (const [, fields] of entries) {
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
    decoded.push(decodeEvent(f.v, f.e));
  }
  const stats = await applier.apply(decoded, {
    stream,
    group: GROUP,
    entryIds: entries.map(([id]) => id),
  });
  const c2 = process.cpuUsage(), r2 = await redisCpuMs(probe), w2 = performance.now();
  for (const k of Object.keys(applied) as (keyof typeof applied)[]) applied[k] += stats[k];
  const cpu = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) =>
    (b.user - a.user + b.system - a.system) / 1000;
  phase.publish.wall += w1 - w0;
  phase.publish.cpu += cpu(c0, c1);
  phase.publish.redis += r1 - r0;
  phase.index.wall += w2 - w1;
  phase.index.cpu += cpu(c1, c2);
  phase.index.redis += r2 - r1;
  // Redis's CPU time for a batch's calls: no call of the batch held the server longer.
  phase.publish.maxRedis = Math.max(phase.publish.maxRedis, r1 - r0);
  phase.index.maxRedis = Math.max(phase.index.maxRedis, r2 - r1);
  batches++;
}

async function runDue(until: number): Promise<void> {
  for (;;) {
    const due = schedule.reduce((a, b) => (b.next < a.next ? b : a));
    if (due.next > until) return;
    await flush();
    // The last two roll-ups run after the replay (the very last one rolls up one hour).
    if (due.job !== "rollup" || due.next <= NOW - 2 * HOUR_MS) await jobAt[due.job](due.next);
    due.next += due.every;
    await slow.label("apply");
  }
}

let lastReport = performance.now();
for (const e of model.events()) {
  if (e.time >= schedule.reduce((m, s) => Math.min(m, s.next), Infinity)) await runDue(e.time);
  batch.push(e);
  if (batch.length >= BATCH) {
    await flush();
    if (performance.now() - lastReport > 30_000) {
      lastReport = performance.now();
      console.error(
        `… ${new Date(e.time).toISOString()}: ${fmt(model.stats.events)} events, ` +
          `${fmt(model.stats.interactions)} interactions`,
      );
    }
  }
}
await flush();
const replayWall = performance.now() - replayT0;
const replayCpuUsage = process.cpuUsage(replayCpu0);
const replayCpu = (replayCpuUsage.user + replayCpuUsage.system) / 1000;
const jobsDuringReplay = [...runs.values()].flat().reduce(
  (a, r) => ({ cpu: a.cpu + r.cpuMs, wall: a.wall + r.ms }),
  { cpu: 0, wall: 0 },
);
const generationCpu = replayCpu - phase.publish.cpu - phase.index.cpu - jobsDuringReplay.cpu;

// Steady state at the end of the window: the last roll-ups (the hourly one timed on its
// own), the network counters, the top lists (three runs), the profile upkeep.
await runJob("counters", NOW, () => rollUpCounters(jobs, NOW));
await runJob(
  "rollup",
  NOW - HOUR_MS,
  () => rollUpStore(jobs, NOW - HOUR_MS, { maxSkewMs: (DAYS + 2) * DAY_MS }),
);
const hourlyRollup = await (async () => {
  await jobAt.rollup(NOW);
  return runs.get("rollup")!.at(-1)!;
})();
for (let i = 0; i < 3; i++) await jobAt.top(NOW);
await jobAt.profiles(NOW);
const sweepsInReplay = (runs.get("sweep") ?? []).slice();
// The walk alone (report only), timed at the end.
await runJob(
  "sweep-walk",
  NOW,
  () => sweep(jobs, { retentionDays: RETENTION_DAYS, fix: false, now: NOW }),
);
await slow.stop();
watch.label("");
await watch.stop();

// ---------------------------------------------------------------------------------------
// Memory by key family.
// The store's families are its key names (KEY_NAMES in store/layout.ts), by their prefixes.
const OTHER_FAMILIES = [
  { name: "firehose partitions", prefix: prefixOf((a) => firehoseKeys.stream(a)) },
  { name: "firehose cursor", prefix: firehoseKeys.cursor },
  { name: "network counters", prefix: "stats:{firehose}:" },
  { name: "top lists", prefix: "stats:{g}:" },
  { name: "scheduler", prefix: "sched:" },
] as const;
type FamilyName = KeyName | typeof OTHER_FAMILIES[number]["name"];
const families: Family[] = [
  ...(Object.keys(KEY_NAMES) as KeyName[]).map((name) => ({
    name,
    prefix: keyPrefix(name),
    exact: !KEY_NAMES[name].includes("<"),
  })),
  ...OTHER_FAMILIES,
];
/** Families by what drives them (the rest is constant); a name no family has fails to type-check. */
const GROUPS: Record<string, FamilyName[]> = {
  /** Besides the logs' own keys: an active account's sets, blocks, profile and handle. */
  account: ["graph", "blocking", "blockedBy", "profile", "handles"],
  /** Every account interned: the DID ↔ id maps, the reclaiming's lists, the hidden set. */
  seen: [...INTERNING_KEYS, "hidden"],
  records: ["records", "recordBuckets"],
  streams: ["firehose partitions"],
  /** Heavy accounts' day digests (a week's log of 100,000 interactions or more). */
  heavy: ["digest"],
  /** Posts by language and hour. */
  posts: ["languagePosts"],
};
const memInfo = await info(probe, "memory");
const used = Number(memInfo.used_memory);
const report = await memoryByFamily(probe, families, { strings: ["log"] });
const fam = (name: FamilyName) =>
  report.families.find((f) => f.name === name) ?? { name, keys: 0, bytes: 0, sampled: 0 };
/** A follow set's cost a member, small (an intset) and past 512 members (a hash table). */
const setCost = await (async () => {
  const cost = async (n: number) => {
    const key = `bench:set:${n}`;
    await probe.sadd(key, ...Array.from({ length: n }, (_, k) => 1_000_000 + k * 37));
    const bytes = Number(await probe.memory("USAGE", key, "SAMPLES", "0"));
    await probe.del(key);
    return bytes / n;
  };
  return { small: await cost(200), large: await cost(2000) };
})();
/** Accounts interned now (ids of idle accounts may have been reclaimed). */
const nextId = await probe.hlen(storeKeys.didToId);
const streamLength = await probe.xlen(stream);

// ---------------------------------------------------------------------------------------
// Queries: circles as the API asks them (both directions, 49 people, blocked ones left out),
// uncached, for the heaviest account, the busiest other one and a typical (median) one.
const CIRCLE = 8 + 15 + 26;
async function latency(did: string, windowHours: number, n: number) {
  const ms: number[] = [], cpu: number[] = [];
  let people = 0;
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const items = await topInteractions(query, did, {
      direction: "both",
      windowHours,
      limit: CIRCLE,
      now: NOW,
      excludeBlocked: true,
    });
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    people = items?.length ?? 0;
  }
  ms.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const t = await totals(query, did, windowHours, NOW);
  const sum = (x?: Record<string, number>) =>
    x ? Object.entries(x).filter(([k]) => k !== "block").reduce((a, [, v]) => a + v, 0) : 0;
  return {
    p50: percentile(ms, 0.5),
    p99: percentile(ms, 0.99),
    /** This process's CPU time per query: the wall time without other processes' share. */
    cpuP50: percentile(cpu, 0.5),
    cpuP99: percentile(cpu, 0.99),
    interactions: sum(t?.sent) + sum(t?.received),
    people,
  };
}
// Accounts by what they did in the window (from the model), celebrities apart.
const byActivity: number[] = [];
let busiest = -1;
for (let i = model.celebrities.length; i < model.accounts; i++) {
  const n = model.sentBase[i] + model.received[i];
  if (model.lastBaseDay[i] === 0 || n === 0) continue;
  byActivity.push(i);
  if (busiest < 0 || n > model.sentBase[busiest] + model.received[busiest]) busiest = i;
}
const activity = (i: number) => model.sentBase[i] + model.received[i];
const heavyDid = model.didOf(model.celebrities[0] ?? busiest);
const weekHours = Math.min(DAYS, 7) * 24;
const heavy = await latency(heavyDid, weekHours, QUERIES);
const heavy30 = await latency(heavyDid, 30 * 24, Math.max(10, QUERIES / 2));
byActivity.sort((a, b) => activity(a) - activity(b) || a - b);
const typicalId = byActivity[Math.floor(byActivity.length / 2)];
const p99Id = byActivity[Math.floor(byActivity.length * 0.99)];
const typical = await latency(model.didOf(typicalId), weekHours, QUERIES * 2);
const active99 = await latency(model.didOf(p99Id), weekHours, QUERIES * 2);
const busy = await latency(model.didOf(busiest), weekHours, QUERIES);
// What decoding the heaviest account's whole window costs, as a scan without digests would.
const heavyParts = await scanParts(
  query,
  (await idOf(query, heavyDid))!,
  weekHours,
  NOW,
  Math.max(5, QUERIES / 5),
);
/** Distinct people in the heaviest account's window (sent or received). */
const heavyPeople = heavyParts.people;

// ---------------------------------------------------------------------------------------
// Exact sizes: each family deleted in turn (the queries are done), with what is left over.
const exact = await measureByDeleting(probe, [
  ...families,
  ...report.families.filter((f) => f.name.startsWith("other ")).map((f) => ({
    name: f.name,
    prefix: `${f.name.slice(6)}:`,
  })),
]);
const leftOver = await usedMemory(probe) - memEmpty;
const withShare = (name: string) => exact.get(name)?.bytes ?? 0;

// ---------------------------------------------------------------------------------------
// The model of memory: each family by what drives it, and the whole network from it.
const st = model.stats;
const interactions = st.interactions;
const logs = fam("log");
const logKeys = logs.keys;
const logAccounts = report.ids.get("log") ?? 0;
const sumOf = (names: FamilyName[]) => names.reduce((a, n) => a + withShare(n), 0);
const perInteraction = (logs.strlen ?? 0) / interactions;
const perLogKey = (withShare("log") - (logs.strlen ?? 0)) / logKeys;
const accountBytes = sumOf(GROUPS.account);
const perActive = (logKeys * perLogKey + accountBytes) / logAccounts;
const internBytes = sumOf(GROUPS.seen);
const perSeen = internBytes / nextId;
const recordBytes = sumOf(GROUPS.records);
const perRecord = recordBytes / Math.max(1, st.remembered);
const streamBytes = sumOf(GROUPS.streams);
const perStreamEntry = streamBytes / Math.max(1, streamLength);
const heavyBytes = sumOf(GROUPS.heavy);
const postBytes = sumOf(GROUPS.posts);
const postsHeld = st.posts.all + (st.celebrityLabels["post create"] ?? 0);
const perPost = postBytes / Math.max(1, postsHeld);
const grouped = new Set(["log", ...Object.values(GROUPS).flat()]);
const constantBytes = report.families.filter((f) => !grouped.has(f.name))
  .reduce((a, f) => a + withShare(f.name), 0);

// The whole network's drivers per window.
const celebPerDay = model.celebrityWeekly.reduce((a, b) => a + b, 0) / 7;
const netInteractionsPerDay = st.baseInteractions / DAYS * SCALED + celebPerDay;
const netRecordsPerDay = (st.rememberedAll - st.celebrityInteractions) / DAYS * SCALED +
  celebPerDay;
const measuredActive = (days: number) => model.activeIn(Math.min(days, DAYS), true) * SCALED;
const a1 = measuredActive(1), aD = measuredActive(DAYS);
const growth = DAYS > 1 ? Math.log(aD / a1) / Math.log(DAYS) : 0.5;
const networkActive = (days: number) =>
  days <= DAYS ? measuredActive(days) : aD * (days / DAYS) ** growth;
const keysPerAccount = logKeys / logAccounts;
/** Accounts named by the scaled network's events over `days` days, on the whole network. */
const seenD = model.seenBaseIn(DAYS) * SCALED, seen1 = model.seenBaseIn(1) * SCALED;
const seenGrowth = DAYS > 1 ? Math.log(seenD / seen1) / Math.log(DAYS) : 0.5;
const networkSeen = (days: number) =>
  Math.min(
    NETWORK.accounts.value,
    days <= DAYS ? model.seenBaseIn(days) * SCALED : seenD * (days / DAYS) ** seenGrowth,
  );
/** Accounts whose week holds 10^5 interactions or more: the network's top ranks. */
const heavyOnNetwork = Math.floor(
  (NETWORK.heaviestPerWeek.value / 1e5) ** (1 / NETWORK.popularityExponent.value),
);
const netPostsPerDay = st.posts.all / DAYS * SCALED +
  (st.celebrityLabels["post create"] ?? 0) / DAYS;
/**
 * The whole network's memory with a retention of `days`: "data" holds that many days,
 * "peak" the logs of whole weeks (a week's log lives until the week ends plus the
 * retention: up to 7 days more), "long run" the peak with every account of the network
 * interned (ids kept alive by follow sets that name them, or never reclaimed).
 */
function extrapolate(days: number, mode: "data" | "peak" | "long run") {
  const held = mode === "data" ? days : days + 7;
  const active = networkActive(Math.min(30, held));
  const weeks = Math.min(held / 7 + 1, keysPerAccount * (held / 7 + 1) / (DAYS / 7 + 1));
  const parts = {
    logEntries: perInteraction * netInteractionsPerDay * held,
    logKeys: perLogKey * active * Math.max(1, weeks),
    accountKeys: accountBytes / logAccounts * networkActive(days),
    interning: perSeen *
      (mode === "long run" ? NETWORK.accounts.value : networkSeen(Math.min(30, held))),
    heavyDigests: heavyBytes / Math.max(1, model.celebrities.length) * heavyOnNetwork *
      Math.min(held / 7 + 1, 6) / Math.min(DAYS / 7 + 1, 6),
    languagePosts: perPost * netPostsPerDay * held,
    recordMemory: perRecord * netRecordsPerDay * (MEMORY_HOURS + 8) / 24,
    streams: perStreamEntry * STREAM_MAXLEN,
    constant: constantBytes,
  };
  return { held, active, parts, total: Object.values(parts).reduce((a, b) => a + b, 0) };
}
const windows = { "24h": 1, "7d": 7, "30d": 30 } as const;
const byWindow = (mode: "data" | "peak" | "long run") =>
  Object.fromEntries(
    Object.entries(windows).map(([k, d]) => [k, extrapolate(d, mode)]),
  ) as Record<keyof typeof windows, ReturnType<typeof extrapolate>>;
const extrapolated = byWindow("data");
const peak = byWindow("peak");
const longRun = byWindow("long run");

// ---------------------------------------------------------------------------------------
// Checks of the model against the real samples.
const relay = jetstreamMix(
  await Deno.readTextFile(
    new URL("../../testdata/relay-2026-07-04/expected_v1.jsonl", import.meta.url),
  ),
);
const timeline = timelineShape(
  JSON.parse(
    await Deno.readTextFile(
      new URL("../../testdata/records/atproto-dart-2023/getTimeline.json", import.meta.url),
    ),
  ),
);

say();
say("Model against the real samples (shares of events the firehose keeps):");
const baseTotal = Object.values(st.labels).reduce((a, b) => a + b, 0);
const labelsShown = [
  ...new Set([...Object.keys(relay.labels), ...Object.keys(st.labels)]),
].sort((a, b) => (st.labels[b] ?? 0) - (st.labels[a] ?? 0));
say(`  ${"event".padEnd(16)} ${"model".padStart(7)} ${"relay".padStart(7)} (relay count)`);
for (const l of labelsShown) {
  say(
    `  ${l.padEnd(16)} ${pct((st.labels[l] ?? 0) / baseTotal).padStart(7)} ${
      pct((relay.labels[l] ?? 0) / relay.events).padStart(7)
    } (${relay.labels[l] ?? 0})`,
  );
}
const ps = st.posts;
say(
  `  posts: replies ${pct(ps.replies / ps.all)} (relay ${pct(8 / 17)}, timeline ${
    pct(timeline.replies / timeline.all)
  }), self-replies ${pct(ps.selfReplies / Math.max(1, ps.replies))} of replies (timeline ${
    pct(timeline.selfReplies / timeline.replies)
  }), quotes ${pct(ps.quotes / ps.all)} (timeline ${pct(timeline.quotes / timeline.all)}), ` +
    `with mentions ${pct(ps.mentioning / ps.all)} (timeline ${
      pct(timeline.mentioning / timeline.all)
    })`,
);
const windowDistinct = st.distinctAuthors / Math.max(1, st.authorWindows);
const fullPairs = (152 * 151 / 2) * st.authorConcentration * SCALE;
say(
  `  distinct authors per 152 consecutive events: relay ${relay.authors} of ${relay.events}; model ` +
    `${windowDistinct.toFixed(1)} at this scale, ${(152 - fullPairs).toFixed(1)} expected ` +
    `on the whole network`,
);
const senders = byActivity.map((i) => model.sentBase[i]).sort((a, b) => b - a);
const sentTotal = senders.reduce((a, b) => a + b, 0);
const topShare = senders.slice(0, Math.ceil(senders.length / 100)).reduce((a, b) => a + b, 0) /
  sentTotal;
say(
  `  per-account activity (interactions sent in ${DAYS} d, active accounts): median ${
    percentile([...senders].reverse(), 0.5)
  }, p99 ${percentile([...senders].reverse(), 0.99)}, max ${senders[0]}; the top 1% send ${
    pct(topShare)
  }`,
);
const posters = st.postersPerDay.reduce((a, b) => a + b, 0) / st.postersPerDay.length;
say(
  `  posters a day: ${fmt(posters * SCALED)} on the whole network (public figure ${
    fmt(NETWORK.postersPerDay.value)
  }); posts a day ${fmt(ps.all / DAYS * SCALED)} (${fmt(NETWORK.postsPerDay.value)})`,
);
say(
  `  accounts active (sent or received) on the whole network: ${fmt(a1)} in a day, ${
    fmt(aD)
  } in ${DAYS} days`,
);

say();
say(
  `Replay: ${fmt(st.events)} events (${fmt(st.celebrityInteractions)} of them to the ` +
    `celebrities), ${fmt(interactions)} interactions, ${fmt(batches)} batches of ${BATCH}, ` +
    `in ${(replayWall / 1000).toFixed(1)} s (jobs in between ${
      (jobsDuringReplay.wall / 1000).toFixed(1)
    } s)`,
);
say(
  `  applied ${fmt(applied.applied)}, duplicate ${fmt(applied.duplicate)}, deletes unmatched ` +
    `${
      fmt(applied.unmatched)
    } (their records' memory had expired: Redis's clock is the real one), ` +
    `late ${fmt(applied.late)}`,
);
const per1M = (ms: number) => ms / 1000 / (interactions / 1e6);
const indexRate = interactions / (phase.index.wall / 1000);
const indexCore = interactions / (phase.index.cpu / 1000);
const redisCeiling = interactions / ((phase.index.redis + phase.publish.redis) / 1000);
say(
  `  index (XREADGROUP, decode, intern, apply + XACK): ${fmt(indexRate)} interactions/s ` +
    `(${fmt(st.events / (phase.index.wall / 1000))} events/s) wall`,
);
say(
  `  CPU-seconds per 10^6 interactions: applier ${per1M(phase.index.cpu).toFixed(2)}, Redis ` +
    `${per1M(phase.index.redis).toFixed(2)} (index) + ${
      per1M(phase.publish.redis).toFixed(2)
    } (publish); the firehose's publish step ${per1M(phase.publish.cpu).toFixed(2)}; ` +
    `the model ${per1M(generationCpu).toFixed(2)}`,
);
const avgRate = netInteractionsPerDay / 86400;
say(
  `  one applier core keeps ${fmt(indexCore)} interactions/s, Redis ${fmt(redisCeiling)}/s ` +
    `(publish and index): ${(Math.min(indexCore, redisCeiling) / avgRate).toFixed(0)}× the ` +
    `network's average ${fmt(avgRate)} interactions/s`,
);
const redisNetworkCores = (phase.index.redis + phase.publish.redis) / 1000 / interactions *
  avgRate;
const topRuns = runs.get("top")!.slice(-3);
/** The whole network's interactions held against this run's, over the same days. */
const logScale = netInteractionsPerDay * DAYS / interactions;
say(
  `  Redis CPU at the network's average rate: ${pct(redisNetworkCores)} of a core for ` +
    `the writes; Redis's CPU for one batch at most: publish ${
      phase.publish.maxRedis.toFixed(1)
    } ms, index ${phase.index.maxRedis.toFixed(1)} ms (no call of the batch held it longer); ` +
    `longest stretch of Redis CPU while applying ${watch.get("apply").toFixed(1)} ms`,
);
const applyBlock = slow.get("apply", "indexer");
const publishBlock = slow.get("apply", "firehose");
const applyDurations = [...applyBlock.durations].sort((a, b) => a - b);
const publishDurations = [...publishBlock.durations].sort((a, b) => a - b);
say(
  `  the firehose's publish script: ${fmt(publishBlock.logged)} calls of at least 1 ms, p50 ${
    percentile(publishDurations, 0.5).toFixed(1)
  } ms, p99 ${percentile(publishDurations, 0.99).toFixed(1)} ms, longest ${
    publishBlock.maxMs.toFixed(1)
  } ms`,
);
say(
  `  the indexer's calls of at least 1 ms: ${fmt(applyBlock.logged)} (of ${
    fmt(batches)
  } batches), p50 ${percentile(applyDurations, 0.5).toFixed(1)} ms, p99 ${
    percentile(applyDurations, 0.99).toFixed(1)
  } ms, longest ${
    applyBlock.maxMs.toFixed(1)
  } ms (${applyBlock.command}); ${applyBlock.over50} ≥ 50 ms; ` +
    `O(1) calls took up to ${applyBlock.noiseMs.toFixed(1)} ms (the machine's scheduling noise)`,
);
const slowest = (b: { slowest: { ms: number; call: string }[] }) =>
  b.slowest.slice(0, 3).map((c) => `${c.ms.toFixed(1)} ms ${c.call}`).join("; ");
say(`    slowest: ${slowest(applyBlock)}`);

say();
say(
  `Redis memory: used_memory ${gb(used)} (${mb(used - memEmpty)} over the empty server), rss ${
    gb(Number(memInfo.used_memory_rss))
  }, fragmentation ${memInfo.mem_fragmentation_ratio}; ${fmt(report.keys)} keys`,
);
say(
  `  ${"family".padEnd(19)} ${"keys".padStart(11)} ${"MB".padStart(9)} ${"B/key".padStart(8)} ${
    "MEMORY USAGE".padStart(13)
  }`,
);
for (const f of report.families) {
  const bytes = withShare(f.name);
  say(
    `  ${f.name.padEnd(19)} ${fmt(f.keys).padStart(11)} ${fmt(bytes / 1e6, 1).padStart(9)} ${
      fmt(bytes / f.keys).padStart(8)
    } ${fmt(f.bytes / 1e6, 1).padStart(10)} MB`,
  );
}
say(
  `  (MB: used_memory's drop when the family is deleted, the keyspace's tables included; ` +
    `MEMORY USAGE: of up to 3,000 sampled keys each, times the keys; left when all are ` +
    `deleted: ${mb(leftOver)})`,
);
say(
  `  follow sets: ${setCost.small.toFixed(1)} B a member up to 512 members, ${
    setCost.large.toFixed(1)
  } B past that (${fmt(fam("graph").keys)} sets here)`,
);
say(
  `  logs: ${fmt(logKeys)} keys of ${fmt(logAccounts)} accounts, ${
    mb(logs.strlen ?? 0)
  } of entries (${perInteraction.toFixed(2)} B per interaction), ${
    perLogKey.toFixed(0)
  } B per key besides`,
);
say();
say("Memory model (measured here):");
say(`  per interaction held:      ${perInteraction.toFixed(2)} B (log entries, both sides)`);
say(
  `  per active account:        ${perActive.toFixed(0)} B (${
    keysPerAccount.toFixed(2)
  } log keys × ${perLogKey.toFixed(0)} B, follows+blocks, profiles and handles)`,
);
say(
  `  per account ever seen:     ${
    perSeen.toFixed(1)
  } B (DID ↔ id interning, hidden set; interned: ${fmt(nextId)} ids)`,
);
say(
  `  per remembered record:     ${
    perRecord.toFixed(1)
  } B (record memory, ${MEMORY_HOURS} h + a span: ${fmt(st.remembered)} records)`,
);
say(
  `  per stream entry:          ${perStreamEntry.toFixed(0)} B (${
    fmt(streamLength)
  } entries; the cap is ${fmt(STREAM_MAXLEN)})`,
);
say(`  constant:                  ${mb(constantBytes)} (counters, top lists, scheduler, …)`);
const modelled = perInteraction * interactions + perActive * logAccounts + perSeen * nextId +
  recordBytes + streamBytes + constantBytes;
say(`  sum: ${gb(modelled)} against ${gb(used - memEmpty)} measured`);
say();
say(
  `Whole network (${fmt(NETWORK.accounts.value / 1e6)}M accounts, ${
    fmt(netInteractionsPerDay / 1e6, 1)
  }M interactions/day, ${fmt(networkSeen(DAYS) / 1e6, 1)}M accounts named in ${DAYS} d, ` +
    `${heavyOnNetwork} heavy accounts):`,
);
say(
  `  ${"window".padEnd(7)} ${"data".padStart(9)} ${"peak".padStart(9)} ${
    "long run".padStart(9)
  }  (data: the window's days; peak: logs live whole weeks, so retention W holds up to ` +
    `W + 7 days; long run: the peak with all ${
      fmt(NETWORK.accounts.value / 1e6)
    }M accounts interned)`,
);
for (const w of Object.keys(windows) as (keyof typeof windows)[]) {
  say(
    `  ${w.padEnd(7)} ${gb(extrapolated[w].total).padStart(9)} ${gb(peak[w].total).padStart(9)} ${
      gb(longRun[w].total).padStart(9)
    }`,
  );
}
for (const w of ["7d", "30d"] as const) {
  say(
    `  ${w} peak by part: ${
      Object.entries(peak[w].parts).map(([k, v]) => `${k} ${gb(v)}`).join(", ")
    } (active accounts ${fmt(peak[w].active)})`,
  );
}

say();
say(
  `Circles (topInteractions, both directions, ${CIRCLE} people, uncached, ${
    weekHours / 24
  } d window):`,
);
for (
  const [label, q] of [
    ["heaviest (celebrity)", heavy],
    [`heaviest, 30 d window`, heavy30],
    ["busiest other", busy],
    ["p99 active account", active99],
    ["typical (median)", typical],
  ] as const
) {
  say(
    `  ${label.padEnd(22)} ${fmt(q.interactions).padStart(10)} interactions: p50 ${
      q.p50.toFixed(1)
    } ms, p99 ${q.p99.toFixed(1)} ms (CPU time of this process: p50 ${
      q.cpuP50.toFixed(1)
    } ms, p99 ${q.cpuP99.toFixed(1)} ms)`,
  );
}
say(
  `  the heaviest account's ${weekHours / 24} d window holds ${fmt(heavyPeople)} people; ` +
    `decoding its whole window (what the query does without day digests): fetching ${
      mb(heavyParts.bytes)
    } of logs ${heavyParts.fetchMs.toFixed(1)} ms, ` +
    `tallying ${fmt(heavyParts.visits)} entries into ${fmt(heavyParts.rows)} rows ${
      heavyParts.tallyMs.toFixed(1)
    } ms (p50s; ranking them is more)`,
);

say();
say("Scheduler jobs (duration; longest single Redis call; Redis CPU):");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const jobSummary: Record<string, unknown> = {};
for (const [name, rs] of runs) {
  const b = slow.get(`job ${name}`);
  const last = rs.at(-1)!;
  jobSummary[name] = {
    runs: rs.length,
    lastMs: Math.round(last.ms),
    medianMs: Math.round(median(rs.map((r) => r.ms))),
    maxBlockMs: b.maxMs,
    blockCommand: b.command,
    over50: b.over50,
    noiseMs: b.noiseMs,
    longestRedisCpuMs: watch.get(`job ${name}`),
    redisCpuMs: Math.round(last.redisMs),
  };
  say(
    `  ${name.padEnd(15)} ${rs.length} runs, last ${fmt(last.ms)} ms (median ${
      fmt(median(rs.map((r) => r.ms)))
    }), longest call ${b.maxMs ? `${b.maxMs.toFixed(1)} ms (${b.command})` : "< 1 ms"}, ` +
      `${b.over50} ≥ 50 ms, O(1) calls up to ${b.noiseMs.toFixed(1)} ms; longest stretch of ` +
      `Redis CPU ${watch.get(`job ${name}`).toFixed(1)} ms; Redis CPU ${fmt(last.redisMs)} ms`,
  );
  if (b.slowest.length) say(`    slowest: ${slowest(b)}`);
}
say(
  `  roll-up of the last hour: ${fmt(hourlyRollup.ms)} ms, ${JSON.stringify(hourlyRollup.result)}`,
);
const daySweep = sweepsInReplay.length > 1 ? sweepsInReplay.at(-1)! : runs.get("sweep")!.at(-1)!;
say(
  `  a day of the retention sweep (${new Date(daySweep.at).toISOString()}): ${
    fmt(daySweep.ms)
  } ms, ${JSON.stringify(daySweep.result)}`,
);
const keyScale = (extrapolated["7d"].parts.logKeys / perLogKey) / Math.max(1, logKeys);
const lastOf = (name: string) => runs.get(name)!.at(-1)!;
const walk = lastOf("sweep-walk");
const counterRun = lastOf("counters");
/** Each job on the whole network (7 d): its duration, and its Redis CPU as a share of a core. */
/** A job's CPU (this process and Redis), scaled: its own work by `own`, Redis's by `keys`. */
const project = (r: JobRun, own: number, every: number) => ({
  seconds: (r.cpuMs * own + r.redisMs * keyScale) / 1000,
  core: r.redisMs / 1000 * keyScale / every,
});
const topMedian = [...topRuns].sort((a, b) => a.ms - b.ms)[1] ?? topRuns[0];
const networkJobs = {
  top: project(topMedian, logScale, 300),
  rollup: project(hourlyRollup, keyScale, 3600),
  sweep: project(walk, keyScale, 86400),
  counters: project(counterRun, 1, 60),
};
say(
  `  on the whole network (7 d), from CPU times (the job's own tallying scaled by the ` +
    `interactions held ×${logScale.toFixed(0)}, Redis's and the rest by log keys ×${
      keyScale.toFixed(0)
    }): ${
      Object.entries(networkJobs).map(([k, v]) =>
        `${k} about ${fmt(v.seconds, 1)} s a run, ${pct(v.core)} of Redis's core`
      ).join("; ")
    }`,
);
const redisCoreTotal = redisNetworkCores +
  Object.values(networkJobs).reduce((a, v) => a + v.core, 0);
say(
  `  Redis's main thread on the whole network: ${pct(redisCoreTotal)} of a core on average ` +
    `(writes ${pct(redisNetworkCores)}, jobs the rest)`,
);

console.log(JSON.stringify({
  bench: "network",
  scale: SCALE,
  days: DAYS,
  seed: SEED,
  code,
  accounts: nextId,
  population: model.population,
  events: st.events,
  interactions,
  redisBytes: used - memEmpty,
  usedMemory: used,
  extrapolated: Object.fromEntries(
    Object.entries(extrapolated).map(([k, v]) => [k, Math.round(v.total)]),
  ),
  extrapolatedPeak: Object.fromEntries(
    Object.entries(peak).map(([k, v]) => [k, Math.round(v.total)]),
  ),
  extrapolatedLongRun: Object.fromEntries(
    Object.entries(longRun).map(([k, v]) => [k, Math.round(v.total)]),
  ),
  extrapolatedParts: Object.fromEntries(
    Object.entries(peak).map(([k, v]) => [k, v.parts]),
  ),
  model: {
    perInteraction,
    perActiveAccount: perActive,
    perAccountSeen: perSeen,
    perRecord,
    perStreamEntry,
    constant: constantBytes,
  },
  heavyInteractions: heavy.interactions,
  heavyCpuP99Ms: heavy.cpuP99,
  heavyP50Ms: heavy.p50,
  heavyP99Ms: heavy.p99,
  heavyPeople,
  heavy30dInteractions: heavy30.interactions,
  heavy30dP99Ms: heavy30.p99,
  typicalInteractions: typical.interactions,
  typicalP50Ms: typical.p50,
  typicalP99Ms: typical.p99,
  applyInteractionsPerSecond: Math.round(indexRate),
  cpuSecondsPerMillion: {
    applier: per1M(phase.index.cpu),
    redisIndex: per1M(phase.index.redis),
    redisPublish: per1M(phase.publish.redis),
    publisher: per1M(phase.publish.cpu),
  },
  redisCoreOnNetwork: redisCoreTotal,
  networkJobs,
  applyMaxBlockMs: applyBlock.maxMs,
  batchMaxRedisCpuMs: { publish: phase.publish.maxRedis, index: phase.index.maxRedis },
  applyLongestRedisCpuMs: watch.get("apply"),
  applyP99BlockMs: percentile(applyDurations, 0.99),
  applyNoiseMs: applyBlock.noiseMs,
  heavyBreakdown: heavyParts,
  jobs: jobSummary,
}));
for (const r of [fire, idx, jobs, query, probe, watch.redis]) r.disconnect();
