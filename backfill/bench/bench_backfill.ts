/**
 * `deno task bench:backfill`: a local PDS filled with accounts and their records (likes,
 * reposts, posts with replies, quotes and mentions, follows, blocks, made over the last
 * weeks), then the backfill run over it, in this process, into a local redis-server. Prints:
 *
 * - repositories/s and records/s end to end (the PDS on the same machine serving getRepo),
 *   of the second of two runs into an emptied store (the first compiles the code);
 * - this process's CPU per record (reading, decoding, normalizing, the store's calls) and
 *   Redis's CPU per record loaded, and the read-and-normalize path alone on the same CARs;
 * - the estimate for the whole network (about 40 million repositories) on one machine, from
 *   the network model's figures (store/bench/network_model.ts);
 *
 * and ends with one JSON line.
 *
 *   deno run --allow-all backfill/bench/bench_backfill.ts [--accounts 40] [--records 300]
 *     [--concurrency 4]
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { systemClock } from "@bsky/shared/clock";
import { createLogger } from "@bsky/shared/log";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startPds } from "@bsky/shared/testing/pds";
import { type Account, PdsClient } from "@bsky/shared/testing/pds_client";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { DAY_MS } from "@bsky/store/layout";
import { loadBackfillConfig } from "../config.ts";
import { recordEvent } from "../records.ts";
import { readRepo } from "../repo.ts";
import { runBackfill } from "../run.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    accounts: { type: "string", default: "40" },
    records: { type: "string", default: "300" },
    concurrency: { type: "string", default: "4" },
    cores: { type: "string", default: "2" },
    seed: { type: "string", default: "7" },
  },
});
const ACCOUNTS = Number(values.accounts), RECORDS = Number(values.records);
/** The machine of the estimate: its cores, and its link (Gbit/s). */
const CORES = Number(values.cores), LINK_GBPS = 1;

/** The whole network, from the network model's figures (store/bench/network_model.ts). */
const NETWORK_REPOS = 40e6;
const POSTS_PER_DAY = 2.2e6;
/** Kept records a day per post: the post, 105/17 likes, 15/17 reposts, 6/17 follows, 1/17 blocks. */
const RECORDS_PER_POST = 1 + (105 + 15 + 6 + 1) / 17;
/** Assumed: today's rates over two years make the records repositories hold. */
const DAYS_OF_RECORDS = 730;
const RETENTION_DAYS = 30;

let seed = Number(values.seed);
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];

async function redisCpuMs(redis: Redis): Promise<number> {
  const text = await redis.info("cpu");
  const field = (name: string) => Number(new RegExp(`^${name}:(.*)$`, "m").exec(text)?.[1] ?? 0);
  return (field("used_cpu_user") + field("used_cpu_sys")) * 1000;
}

console.error(`Starting a local PDS and redis-server…`);
await using pds = await startPds();
await using server = await startRedisServer();
const client = new PdsClient(pds.pdsUrl, { adminPassword: pds.adminPassword });
const now = Date.now();

// Accounts, each with one post to be liked, reposted, replied to and quoted.
const accounts: Account[] = [];
const posts: { uri: string; cid: string }[] = [];
for (let i = 0; i < ACCOUNTS; i++) {
  const a = await client.createAccount(`bench${i}`);
  accounts.push(a);
  posts.push(await a.post({ text: `hello from ${i}` }));
}
const writeStarted = performance.now();
let written = 0;
for (const a of accounts) {
  const writes: Record<string, unknown>[] = [];
  for (let k = 0; k < RECORDS; k++) {
    const createdAt = new Date(now - random() * 20 * DAY_MS).toISOString();
    const r = random();
    const other = pick(accounts.filter((b) => b !== a));
    const post = pick(posts);
    const subject = { uri: post.uri, cid: post.cid };
    let collection: string, value: Record<string, unknown>;
    if (r < 0.6) [collection, value] = ["app.bsky.feed.like", { subject, createdAt }];
    else if (r < 0.68) [collection, value] = ["app.bsky.feed.repost", { subject, createdAt }];
    else if (r < 0.88) {
      collection = "app.bsky.feed.post";
      value = { text: `post ${k} @${other.handle}`, createdAt };
      if (random() < 0.5) value.reply = { root: subject, parent: subject };
      if (random() < 0.2) value.embed = { $type: "app.bsky.embed.record", record: subject };
      if (random() < 0.3) {
        value.facets = [{
          index: {
            byteStart: (value.text as string).indexOf("@"),
            byteEnd: (value.text as string).length,
          },
          features: [{ $type: "app.bsky.richtext.facet#mention", did: other.did }],
        }];
      }
    } else if (r < 0.98) {
      [collection, value] = ["app.bsky.graph.follow", { subject: other.did, createdAt }];
    } else [collection, value] = ["app.bsky.graph.block", { subject: other.did, createdAt }];
    writes.push({
      $type: "com.atproto.repo.applyWrites#create",
      collection,
      value: { $type: collection, ...value },
    });
  }
  for (let i = 0; i < writes.length; i += 200) {
    await client.call("com.atproto.repo.applyWrites", {
      auth: `Bearer ${a.accessJwt}`,
      body: { repo: a.did, writes: writes.slice(i, i + 200) },
    });
  }
  written += writes.length;
}
console.error(
  `Wrote ${written} records in ${ACCOUNTS} repositories in ${
    ((performance.now() - writeStarted) / 1000).toFixed(1)
  } s`,
);

// The backfill, end to end.
const redis = await connectRedis(server.url, { name: "bench" });
const config = loadBackfillConfig((n) =>
  ({
    BACKFILL_SOURCE_URL: pds.pdsUrl,
    REDIS_URL: server.url,
    BACKFILL_CONCURRENCY: values.concurrency,
    BACKFILL_RATE_PER_SECOND: "10000",
  } as Record<string, string | undefined>)[n]
);
/** One backfill of the whole PDS into an empty store: its summary, time and CPU. */
async function backfillOnce() {
  await redis.flushall();
  const cpu0 = process.cpuUsage(), redis0 = await redisCpuMs(redis), t0 = performance.now();
  const summary = await runBackfill({
    ...config,
    redis,
    log: createLogger("backfill", { level: "warn" }),
    clock: systemClock,
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    summary,
    seconds,
    cpuMs: (cpu.user + cpu.system) / 1000,
    redisMs: (await redisCpuMs(redis)) - redis0,
  };
}
// The first run compiles the code; the second, measured, is the steady state.
const cold = await backfillOnce();
const { summary, seconds, cpuMs, redisMs } = await backfillOnce();
const records = summary.recordsRead;
const loaded = summary.records.counted ?? 0;
const repos = summary.repos.loaded;

// The read-and-normalize path alone, on the same CARs held in memory.
const cars: [string, Uint8Array][] = [];
let carBytes = 0;
for (const a of accounts) {
  const res = await fetch(`${pds.pdsUrl}/xrpc/com.atproto.sync.getRepo?did=${a.did}`);
  const car = new Uint8Array(await res.arrayBuffer());
  carBytes += car.length;
  cars.push([a.did, car]);
}
let decoded = 0;
const d0 = process.cpuUsage();
for (let round = 0; round < 3; round++) {
  for (const [did, car] of cars) {
    for (const r of readRepo(car, did).records) {
      recordEvent(did, r.collection, r.rkey, r.block, now);
      decoded++;
    }
  }
}
const d = process.cpuUsage(d0);
const decodeUs = (d.user + d.system) / decoded;

// The whole network: every record read and normalized, the retention's likes, reposts and
// posts and every follow and block written.
const networkRecords = POSTS_PER_DAY * RECORDS_PER_POST * DAYS_OF_RECORDS;
const graphShare = (6 + 1) / 17 / RECORDS_PER_POST;
const networkWritten = networkRecords *
  (graphShare + (1 - graphShare) * RETENTION_DAYS / DAYS_OF_RECORDS);
const cpuPerRecordUs = cpuMs * 1000 / records;
const redisPerLoadedUs = loaded ? redisMs * 1000 / loaded : 0;
const bytesPerRecord = carBytes / decoded * 3;
const hours = (us: number) => us / 1e6 / 3600;
const estimate = {
  repos: NETWORK_REPOS,
  records: Math.round(networkRecords),
  recordsWritten: Math.round(networkWritten),
  backfillCpuHours: hours(networkRecords * cpuPerRecordUs),
  redisCpuHours: hours(networkWritten * redisPerLoadedUs),
  downloadTB: networkRecords * bytesPerRecord / 1e12,
  /** CPU-bound on the machine's cores (the backfill and Redis together), or its link. */
  wallHours: 0,
  /** The request rate that keeps the machine busy: what the sources must allow. */
  requestsPerSecond: 0,
};
estimate.wallHours = Math.max(
  (estimate.backfillCpuHours + estimate.redisCpuHours) / CORES,
  estimate.downloadTB * 8e12 / (LINK_GBPS * 1e9) / 3600,
);
estimate.requestsPerSecond = NETWORK_REPOS * 2 / (estimate.wallHours * 3600);

const row = (k: string, v: string) => console.log(`| ${k} | ${v} |`);
console.log(`\n| backfill of a local PDS (${repos} repositories, ${records} records) | |`);
console.log("| --- | --- |");
row("repositories/s, end to end", (repos / seconds).toFixed(1));
row("records/s, end to end", Math.round(records / seconds).toLocaleString("en"));
row("records loaded (the rest: seen live, idle, dropped)", loaded.toLocaleString("en"));
row("backfill CPU per record (this process)", `${cpuPerRecordUs.toFixed(1)} µs`);
row(
  "the same, first run (compiling)",
  `${(cold.cpuMs * 1000 / cold.summary.recordsRead).toFixed(1)} µs`,
);
row("Redis CPU per record loaded", `${redisPerLoadedUs.toFixed(1)} µs`);
row("read and normalize only (CAR in memory), per record", `${decodeUs.toFixed(1)} µs`);
row("CAR bytes per record", bytesPerRecord.toFixed(0));
console.log(`\n| the whole network on one machine (estimate) | |`);
console.log("| --- | --- |");
row("repositories", NETWORK_REPOS.toLocaleString("en"));
row(
  `records (${
    POSTS_PER_DAY / 1e6
  } M posts/day and what comes with them, over ${DAYS_OF_RECORDS} days)`,
  `${(networkRecords / 1e9).toFixed(1)} billion`,
);
row(
  `records written (follows, blocks, ${RETENTION_DAYS} days of interactions)`,
  `${(networkWritten / 1e9).toFixed(2)} billion`,
);
row("backfill CPU", `${estimate.backfillCpuHours.toFixed(0)} core-hours`);
row("Redis CPU", `${estimate.redisCpuHours.toFixed(0)} core-hours`);
row("download", `${estimate.downloadTB.toFixed(1)} TB`);
row(
  `on one machine of ${CORES} cores and ${LINK_GBPS} Gbit/s`,
  `${estimate.wallHours.toFixed(0)} hours (${(estimate.wallHours / 24).toFixed(1)} days)`,
);
row(
  "getRepo and describeRepo a second that keeps it busy",
  Math.round(estimate.requestsPerSecond).toLocaleString("en"),
);
row(
  "at BACKFILL_RATE_PER_SECOND=10 (one source host, both calls)",
  `${(NETWORK_REPOS * 2 / 10 / 86400).toFixed(0)} days`,
);
console.log(JSON.stringify({
  bench: "backfill",
  repos,
  records,
  loaded,
  seconds: Number(seconds.toFixed(2)),
  reposPerSecond: Number((repos / seconds).toFixed(2)),
  recordsPerSecond: Math.round(records / seconds),
  cpuPerRecordUs: Number(cpuPerRecordUs.toFixed(2)),
  redisCpuPerLoadedUs: Number(redisPerLoadedUs.toFixed(2)),
  decodePerRecordUs: Number(decodeUs.toFixed(2)),
  bytesPerRecord: Math.round(bytesPerRecord),
  network: Object.fromEntries(Object.entries(estimate).map(([k, v]) => [k, Number(v.toFixed(2))])),
}));
redis.disconnect();
