/**
 * Load on the API over loopback, with realistic data: a week of generated interactions
 * (heavy-tailed popularity) applied by the real indexer code into a local redis-server,
 * avatars in the cache, and the API running as its own process with its scoped flags.
 * Prints req/s and latency p50/p99 for cached interactions (at a fixed 1,000 req/s, and
 * flat out), uncached interactions of a 10k-interaction account, SVG and PNG circles; then
 * PNG circles whose 49 avatars are real-size originals (1000x1000 JPEGs of 100–400 KB made
 * here) served by a local PDS: the first request, which fetches, checks and scales them,
 * and then renders with the scaled avatars cached. Last, hostile load: 100 uncached 1200 px
 * PNGs at once while /healthz is polled, and floods of long query strings, with the API's
 * memory and Redis's before and after.
 */
import { parseArgs } from "node:util";
import { Buffer } from "node:buffer";
import { encode } from "fast-png";
import jpeg from "jpeg-js";
import { connectRedis } from "@bsky/shared/redis";
import { freePort, startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "@bsky/store/apply";
import { totals } from "@bsky/store/queries";
import { DAY_MS, storeKeys } from "@bsky/store/layout";
import { didOf, generateEvents } from "@bsky/store/testing/generate";
import { spawnFart } from "../testing/spawn.ts";
import { avatarKey } from "../avatar.ts";
import { blobCid, makeJpeg, type Rgb } from "../testing/images.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    events: { type: "string", default: "400000" },
    accounts: { type: "string", default: "10000" },
    seconds: { type: "string", default: "5" },
  },
});
const EVENTS = Number(values.events), ACCOUNTS = Number(values.accounts);
const SECONDS = Number(values.seconds);

await using server = await startRedisServer();
const redis = await connectRedis(server.url, { name: "bench" });
const now = Date.now();
const applier = new Applier(redis, { retentionDays: 30, memoryHours: 48 });
let batch = [];
for (
  const e of generateEvents({
    events: EVENTS,
    accounts: ACCOUNTS,
    start: now - 7 * DAY_MS,
    spanMs: 7 * DAY_MS,
  })
) {
  batch.push(e);
  if (batch.length === 2000) {
    await applier.apply(batch);
    batch = [];
  }
}
if (batch.length) await applier.apply(batch);

// Avatars: a 128x128 PNG each, as the CDN would give, already in the API's cache.
const ids = await applier.ids(Array.from({ length: ACCOUNTS }, (_, i) => didOf(i)));
const pipe = redis.pipeline();
for (const [did, id] of ids) {
  const cid = `bafkrei${id.toString(32).padStart(52, "a")}`;
  const rgb = [id * 37 % 256, id * 91 % 256, id * 53 % 256];
  const data = new Uint8Array(128 * 128 * 3).map((_, i) => rgb[i % 3]);
  pipe.hset(storeKeys.profile(id), "avatar", cid, "handle", `u${id}.test`);
  pipe.set(
    avatarKey(did, cid),
    Buffer.from(encode({ width: 128, height: 128, data, channels: 3 })),
  );
}
await pipe.exec();

/**
 * A local PLC directory and PDS in one: every DID's document names this server as its PDS,
 * which serves the blobs put in `originals` by CID. The CDN (the same server) has none, so
 * the API falls back to the originals, as it does for an account the CDN does not know.
 */
const originals = new Map<string, Uint8Array>();
const origin = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
  const url = new URL(req.url);
  if (url.pathname.startsWith("/did:")) {
    const did = decodeURIComponent(url.pathname.slice(1));
    return Response.json({
      id: did,
      service: [{ id: "#atproto_pds", serviceEndpoint: url.origin }],
    });
  }
  const blob = originals.get(url.searchParams.get("cid") ?? "");
  return blob
    ? new Response(blob as Uint8Array<ArrayBuffer>, { headers: { "content-type": "image/jpeg" } })
    : new Response("not found", { status: 404 });
});
const originUrl = `http://127.0.0.1:${origin.addr.port}`;

// The account closest to 10k interactions in the week.
let subject = didOf(0), best = Infinity, count = 0;
for (let i = 0; i < 200; i++) {
  const t = await totals(redis, didOf(i), 24 * 7, now);
  const n = t
    ? Object.values(t.received).reduce((a, b) => a + b, 0) +
      Object.values(t.sent).reduce((a, b) => a + b, 0)
    : 0;
  if (Math.abs(n - 10_000) < best) [best, subject, count] = [Math.abs(n - 10_000), didOf(i), n];
}

const port = freePort();
const api = await spawnFart({
  REDIS_URL: server.url,
  FART_PORT: String(port),
  FART_RATE_PER_IP: "100000000",
  FART_CACHE_SECONDS: "600",
  FART_PLC_URL: originUrl,
  FART_AVATAR_CDN_URL: originUrl,
  LOG_LEVEL: "error",
});
const base = `http://127.0.0.1:${port}`;

async function timed(path: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(base + path);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
  return performance.now() - t0;
}

function summary(name: string, lat: number[], seconds: number): Record<string, number | string> {
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  const row = {
    name,
    requests: lat.length,
    reqPerSecond: Math.round(lat.length / seconds),
    p50: +pct(0.5).toFixed(2),
    p99: +pct(0.99).toFixed(2),
  };
  console.log(
    `${name}: ${row.reqPerSecond} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms (${row.requests} requests)`,
  );
  return row;
}

/** Open loop: one request every 1000/rate ms whatever the answers do. */
async function atRate(name: string, rate: number, path: () => string) {
  const lat: number[] = [];
  const inflight: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < rate * SECONDS; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(timed(path()).then((ms) => void lat.push(ms)));
  }
  await Promise.all(inflight);
  return summary(name, lat, (performance.now() - t0) / 1000);
}

/** Closed loop: `connections` clients, each sending its next request on the answer. */
async function flatOut(name: string, connections: number, n: number, path: (i: number) => string) {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, async () => {
    while (next < n) lat.push(await timed(path(next++)));
  }));
  return summary(name, lat, (performance.now() - t0) / 1000);
}

/**
 * wrk on the same path: `connections` connections, each pausing `pauseMs` after every
 * answer (wrk's delay()), so about connections * 1000 / pauseMs requests a second.
 */
async function wrk(name: string, path: string, connections: number, pauseMs: number) {
  const script = await Deno.makeTempFile({ suffix: ".lua" });
  await Deno.writeTextFile(script, `function delay() return ${pauseMs} end\n`);
  const out = await new Deno.Command("wrk", {
    args: ["-t1", `-c${connections}`, `-d${SECONDS}s`, "--latency", "-s", script, base + path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(script);
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success || /Non-2xx/.test(text)) throw new Error(`wrk failed: ${text}`);
  const ms = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(text)!;
    return +(Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2] as "us"]).toFixed(2);
  };
  const row = {
    name,
    requests: Number(/(\d+) requests in/.exec(text)![1]),
    reqPerSecond: Math.round(Number(/Requests\/sec:\s+([\d.]+)/.exec(text)![1])),
    p50: ms("50"),
    p99: ms("99"),
  };
  console.log(
    `${name}: ${row.reqPerSecond} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms (${row.requests} requests)`,
  );
  return row;
}

console.log(
  `Data: ${EVENTS.toLocaleString("en-US")} events over 7 days, ${
    ACCOUNTS.toLocaleString("en-US")
  } accounts; the subject has ${count.toLocaleString("en-US")} interactions in 7 days`,
);
const cached = `/v1/interactions/${subject}?window=7d&limit=30`;
await timed(cached);
const rows = [];
for (let i = 0; i < 200; i++) await timed(cached);
rows.push(await wrk("cached interactions, wrk at about 1,000 req/s", cached, 25, 24));
rows.push(await atRate("cached interactions at 1,000 req/s (open loop)", 1000, () => cached));
rows.push(await flatOut("cached interactions flat out (32 clients)", 32, 20_000, () => cached));
const windows = ["7d", "6d", "5d", "4d"];
rows.push(
  await flatOut(
    "uncached interactions (10k-interaction account)",
    1,
    300,
    (i) => `/v1/interactions/${subject}?window=${windows[i % 4]}&limit=${1 + Math.floor(i / 4)}`,
  ),
);
const colour = (i: number) => (0x100000 + i * 7919).toString(16).slice(-6);
rows.push(
  await flatOut(
    "uncached SVG circles (3 rings, 49 avatars)",
    1,
    100,
    (i) => `/v1/circles/${subject}.svg?bg=${colour(i)}`,
  ),
);
rows.push(
  await flatOut(
    "uncached PNG circles 600 px",
    1,
    60,
    (i) => `/v1/circles/${subject}.png?width=600&bg=${colour(i + 1000)}`,
  ),
);
rows.push(
  await flatOut(
    "uncached PNG circles 1200 px",
    1,
    40,
    (i) => `/v1/circles/${subject}.png?width=1200&bg=${colour(i + 2000)}`,
  ),
);

// Real-size avatars: the subject's circle gets originals of 1000x1000 px, 100–400 KB each
// (a few pictures, made distinct by a comment segment so each has a CID of its own).
const circle = await (await fetch(`${base}/v1/circles/${subject}`)).json();
const shown: string[] = [
  circle.center.did,
  ...circle.rings.flatMap((r: { people: { did: string }[] }) => r.people.map((p) => p.did)),
];
const pictures = [[40, 30, 92], [200, 60, 80], [20, 150, 230], [230, 200, 40]].map((rgb, i) =>
  makeJpeg(1000, 1000, rgb as Rgb, [10, 14, 18, 22][i], 90)
);
const withComment = (bytes: Uint8Array, text: string) => {
  const comment = new TextEncoder().encode(text);
  const segment = [0xff, 0xfe, (comment.length + 2) >> 8, (comment.length + 2) & 255];
  return new Uint8Array([...bytes.subarray(0, 2), ...segment, ...comment, ...bytes.subarray(2)]);
};
const sizes: number[] = [];
const swap = redis.pipeline();
for (const [k, did] of shown.entries()) {
  const bytes = withComment(pictures[k % pictures.length], `avatar ${k}`);
  const cid = await blobCid(bytes);
  originals.set(cid, bytes);
  sizes.push(bytes.length);
  swap.hset(storeKeys.profile(ids.get(did)!), "avatar", cid);
}
await swap.exec();
for (const picture of pictures) {
  const { width, height } = jpeg.decode(picture, { useTArray: true });
  if (width !== 1000 || height !== 1000 || picture.length < 100_000 || picture.length > 400_000) {
    throw new Error(`Originals must be 1000x1000 and 100–400 KB: ${picture.length} bytes`);
  }
}
console.log(
  `Originals: ${shown.length} avatars of 1000x1000 px, ${Math.round(Math.min(...sizes) / 1000)}–${
    Math.round(Math.max(...sizes) / 1000)
  } KB`,
);
const first = await timed(`/v1/circles/${subject}.png?width=1200&bg=${colour(5000)}`);
console.log(`first PNG circles 1200 px, fetching and scaling 49 originals: ${first.toFixed(0)} ms`);
rows.push({
  name: "first PNG circles 1200 px with 49 original avatars",
  requests: 1,
  p50: +first.toFixed(2),
  p99: +first.toFixed(2),
});
rows.push(
  await flatOut(
    "uncached PNG circles 1200 px, 49 avatars scaled from 1000 px originals",
    1,
    60,
    (i) => `/v1/circles/${subject}.png?width=1200&bg=${colour(i + 6000)}`,
  ),
);
await origin.shutdown();

// Hostile load. The API's resident memory (its renderer threads included), from ps.
async function rssMb(): Promise<number> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "rss=", "-p", String(api.pid)],
    stdout: "piped",
  }).output();
  return Math.round(Number(new TextDecoder().decode(out.stdout).trim()) / 1024);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return +(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN).toFixed(2);
};

// 100 uncached 1200 px PNGs at once, while one client polls /healthz every 10 ms.
const pngBefore = await rssMb();
let storming = true, pngPeak = pngBefore;
const healthMs: number[] = [];
const watchers = [
  (async () => {
    while (storming) {
      pngPeak = Math.max(pngPeak, await rssMb());
      await sleep(50);
    }
  })(),
  (async () => {
    while (storming) {
      const t0 = performance.now();
      await (await fetch(`${base}/healthz`)).arrayBuffer();
      healthMs.push(performance.now() - t0);
      await sleep(10);
    }
  })(),
];
const burstStart = performance.now();
const burst = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/circles/${subject}.png?width=1200&bg=${colour(i + 9000)}`);
  await res.arrayBuffer();
  return {
    status: res.status,
    ms: performance.now() - t0,
    retryAfter: res.headers.get("retry-after"),
  };
}));
const burstSeconds = (performance.now() - burstStart) / 1000;
storming = false;
await Promise.all(watchers);
const pngAfter = await rssMb();
await sleep(10_000);
const pngIdle = await rssMb();
const drawnMs = burst.filter((r) => r.status === 200).map((r) => r.ms);
const refusedMs = burst.filter((r) => r.status === 503).map((r) => r.ms);
const hostile = {
  pngBurst: {
    requests: burst.length,
    drawn: drawnMs.length,
    refused503: refusedMs.length,
    retryAfter: [...new Set(burst.map((r) => r.retryAfter).filter(Boolean))],
    seconds: +burstSeconds.toFixed(2),
    drawnP50: pct(drawnMs, 0.5),
    drawnP99: pct(drawnMs, 0.99),
    refusedP50: pct(refusedMs, 0.5),
    healthzChecks: healthMs.length,
    healthzP50: pct(healthMs, 0.5),
    healthzP99: pct(healthMs, 0.99),
    healthzMax: pct(healthMs, 1),
    rssMb: { before: pngBefore, peak: pngPeak, after: pngAfter, afterTenSecondsIdle: pngIdle },
  },
} as Record<string, unknown>;
console.log(
  `100 uncached 1200 px PNGs at once: ${drawnMs.length} drawn (p50 ${pct(drawnMs, 0.5)} ms, p99 ${
    pct(drawnMs, 0.99)
  } ms), ${refusedMs.length} refused with 503 (p50 ${pct(refusedMs, 0.5)} ms), all answered in ${
    burstSeconds.toFixed(2)
  } s; /healthz meanwhile p50 ${pct(healthMs, 0.5)} ms, p99 ${pct(healthMs, 0.99)} ms, max ${
    pct(healthMs, 1)
  } ms (${healthMs.length} checks); ` +
    `RSS ${pngBefore} MB before, ${pngPeak} MB peak, ${pngAfter} MB after, ${pngIdle} MB 10 s later`,
);

// Query strings: 5,000 requests of ~63 KB of repeated valid parameters, then 5,000 distinct
// spellings (~4 KB each, padded with empty pairs) of one circles query.
async function flood(name: string, query: (i: number) => string) {
  const redisBefore = Number(/used_memory:(\d+)/.exec(await redis.info("memory"))![1]);
  const keysBefore = await redis.dbsize();
  const before = await rssMb();
  const statuses = new Map<number, number>();
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < 5000) {
      const res = await fetch(`${base}/v1/circles/${subject}?${query(next++)}`);
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  }));
  const after = await rssMb();
  await sleep(10_000);
  const idle = await rssMb();
  const redisAfter = Number(/used_memory:(\d+)/.exec(await redis.info("memory"))![1]);
  const row = {
    statuses: Object.fromEntries(statuses),
    rssMb: { before, after, afterTenSecondsIdle: idle },
    redisMb: { before: Math.round(redisBefore / 2 ** 20), after: Math.round(redisAfter / 2 ** 20) },
    redisKeysAdded: (await redis.dbsize()) - keysBefore,
  };
  hostile[name] = row;
  console.log(
    `${name}: answers ${
      JSON.stringify(row.statuses)
    }; RSS ${before} -> ${after} MB (${idle} MB 10 s later); Redis ${row.redisMb.before} -> ${row.redisMb.after} MB, ${row.redisKeysAdded} keys added`,
  );
}
const repeated = "direction=both&".repeat(4200);
await flood(
  "5,000 queries of ~63 KB repeated parameters",
  (i) => `${repeated}rings=${1 + (i % 3)}`,
);
await flood(
  "5,000 distinct ~4 KB spellings of one query",
  (i) => ["rings=2", "window=7d", "date=0"].join("&".repeat(1 + ((i * 7) % 1900))),
);

console.log(
  JSON.stringify({
    bench: "fart",
    events: EVENTS,
    accounts: ACCOUNTS,
    subjectInteractions: count,
    rows,
    hostile,
  }),
);
api.kill("SIGTERM");
await api.status;
redis.disconnect();
