/**
 * `deno task bench:tasker`: mention-to-reply latency and the tasker's CPU per reply, on the
 * real chain (a local PDS and PLC, Redis, the firehose, the indexer, the API as its own
 * process) with the tasker as its own process, started with its scoped flags.
 *
 * 20 accounts that interact with each other each mention the bot 5 times ("circles" with a
 * window and a direction in turn), one mention every 200 ms in all. The latency of a reply
 * is its commit time minus the mention's, both as the PDS's firehose carries them (the
 * `time` of their events in the streams). CPU is the tasker process's user + system time
 * over the run, divided by the replies. The machine's load average is printed beside the
 * figures: the PDS, the API's renderer and the tasker share its cores. Ends with one JSON line.
 *
 * Flags: --mentions 100 --accounts 20 --every-ms 200
 */
import { parseArgs } from "node:util";
import { processCpuMs } from "@bsky/firehose/bench/cpu";
import { decodeEvent, type FirehoseEvent } from "@bsky/shared/events";
import { firehoseKeys } from "@bsky/shared/keys";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import type { Account } from "@bsky/shared/testing/pds_client";
import { settled } from "@bsky/shared/testing/settled";
import { taskerKeys } from "../ledger.ts";
import { startBotWorld, TaskerProcess } from "../testing/bot.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mentions: { type: "string", default: "100" },
    accounts: { type: "string", default: "20" },
    "every-ms": { type: "string", default: "200" },
  },
});
const MENTIONS = Number(values.mentions), ACCOUNTS = Number(values.accounts);
const EVERY_MS = Number(values["every-ms"]);
const WINDOWS = ["7d", "24h", "30d"], DIRECTIONS = ["both", "sent", "received", "mutual"];

const say = (msg: string) => console.error(`[bench:tasker] ${msg}`);

/** Every event of the streams, with when Redis took it in (its entry ID's milliseconds). */
async function streamEvents(
  redis: Redis,
  partitions: number,
): Promise<{ event: FirehoseEvent; added: number }[]> {
  const out: { event: FirehoseEvent; added: number }[] = [];
  for (const key of firehoseKeys.streams(partitions)) {
    for (const [id, f] of await redis.xrange(key, "-", "+")) {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < f.length; i += 2) fields[f[i]] = f[i + 1];
      out.push({ event: decodeEvent(fields.v, fields.e), added: Number(id.split("-")[0]) });
    }
  }
  return out;
}

/** The machine's load average over the last minute, for the figures' context. */
const load = () => Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];

await using world = await startBotWorld();
const { chain, client, bot } = world;
const redis = await connectRedis(chain.redisServer.url, { name: "bench" });

say(`${ACCOUNTS} accounts interact with each other`);
const accounts: Account[] = [];
for (let i = 0; i < ACCOUNTS; i++) accounts.push(await client.createAccount(`bench${i}`));
const posts = await Promise.all(accounts.map((a, i) => a.post({ text: `post ${i}` })));
await Promise.all(accounts.map(async (a, i) => {
  for (let k = 1; k <= 4; k++) await a.like(posts[(i + k) % ACCOUNTS]);
  const parent = posts[(i + 5) % ACCOUNTS];
  await a.post({ text: "a reply", reply: { root: parent, parent } });
}));
await settled(async () => {
  for (const a of [accounts[0], accounts[ACCOUNTS - 1]]) {
    const res = await fetch(`${world.apiUrl}/v1/interactions/${a.did}?window=24h`);
    const body = await res.json();
    if (!(body.items?.length >= 5)) throw new Error("not indexed yet");
  }
}, 60_000);

await using tasker = new TaskerProcess({
  ...world.taskerEnv,
  TASKER_COOLDOWN_SECONDS: "0",
  TASKER_REPLIES_PER_HOUR: "1200",
  LOG_LEVEL: "info",
});
await tasker.start();
await world.watching();
const cpuBefore = await processCpuMs(tasker.pid!);
const loadBefore = load();

say(`${MENTIONS} mentions, one every ${EVERY_MS} ms`);
const mentions: { uri: string; did: string; rkey: string }[] = [];
const started = Date.now();
const sent: Promise<void>[] = [];
for (let n = 0; n < MENTIONS; n++) {
  const who = accounts[n % ACCOUNTS];
  const text = `@${bot.handle} circles ${WINDOWS[n % 3]} ${DIRECTIONS[n % 4]}`;
  sent.push(
    who.post({ text, mentions: [{ did: bot.did, handle: bot.handle }] }).then((ref) => {
      mentions.push({ uri: ref.uri, did: who.did, rkey: ref.rkey });
    }),
  );
  await new Promise((r) => setTimeout(r, Math.max(0, started + (n + 1) * EVERY_MS - Date.now())));
}
await Promise.all(sent);
await settled(async () => {
  const states = await Promise.all(
    mentions.map((m) => redis.hget(taskerKeys.mention(m.uri), "state")),
  );
  const done = states.filter((s) => s === "done").length;
  if (done < MENTIONS) throw new Error(`${done} of ${MENTIONS} done`);
}, 180_000);
const cpuMs = await processCpuMs(tasker.pid!) - cpuBefore;

// Commit times of the mentions and of the replies, as the firehose carried them.
await settled(async () => {
  const events = await streamEvents(redis, 2);
  const time = new Map<string, number>(), added = new Map<string, number>();
  for (const { event: e, added: at } of events) {
    if (e.kind !== "commit" || e.action !== "create") continue;
    time.set(`${e.did} ${e.rkey}`, e.time);
    added.set(`${e.did} ${e.rkey}`, at - e.time);
  }
  const latencies: number[] = [], firehose: number[] = [];
  const outcomes: Record<string, number> = {};
  for (const m of mentions) {
    const [outcome, reply] = await redis.hmget(taskerKeys.mention(m.uri), "outcome", "reply");
    outcomes[outcome ?? "?"] = (outcomes[outcome ?? "?"] ?? 0) + 1;
    const replyRkey = reply?.split("/").pop();
    const a = time.get(`${m.did} ${m.rkey}`), b = time.get(`${bot.did} ${replyRkey}`);
    if (a === undefined || b === undefined) throw new Error("a reply is not in the streams yet");
    latencies.push(b - a);
    firehose.push(added.get(`${m.did} ${m.rkey}`)!);
  }
  latencies.sort((x, y) => x - y);
  firehose.sort((x, y) => x - y);
  const replies = mentions.length;
  const result = {
    bench: "tasker",
    mentions: MENTIONS,
    accounts: ACCOUNTS,
    everyMs: EVERY_MS,
    outcomes,
    p50Ms: quantile(latencies, 0.5),
    p95Ms: quantile(latencies, 0.95),
    maxMs: latencies.at(-1),
    targetP95Ms: 3000,
    cpuMsPerReply: Math.round(cpuMs / replies * 10) / 10,
    firehoseP50Ms: quantile(firehose, 0.5),
    loadBefore,
    loadAfter: load(),
    runSeconds: Math.round((Date.now() - started) / 100) / 10,
  };
  console.log(
    `mention → reply latency over ${replies} replies: p50 ${result.p50Ms} ms, ` +
      `p95 ${result.p95Ms} ms, max ${result.maxMs} ms (target p95 ≤ 3000 ms)`,
  );
  console.log(`tasker CPU: ${cpuMs} ms in all, ${result.cpuMsPerReply} ms per reply`);
  console.log(
    `commit → in the streams (the firehose): p50 ${result.firehoseP50Ms} ms; ` +
      `load average ${loadBefore} before, ${result.loadAfter} after`,
  );
  // Where the time goes, from the tasker's log: medians of each step.
  const steps: Record<string, number[]> = {};
  for (const l of tasker.lines) {
    if (l.msg !== "Replied to a mention") continue;
    for (const [k, v] of Object.entries(l.ms as Record<string, number>)) (steps[k] ??= []).push(v);
  }
  console.log(
    "median ms per step: " +
      Object.entries(steps).map(([k, v]) => `${k} ${quantile(v.sort((a, b) => a - b), 0.5)}`)
        .join(", "),
  );
  console.log(JSON.stringify(result));
}, 30_000);
redis.disconnect();
