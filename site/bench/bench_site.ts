/**
 * Server render time of each page with the API's answers in the site's cache (the API is
 * fart's real handler over a real redis-server), and the JavaScript each page makes the
 * browser load, gzipped. Alice gets 60 counterparts so her circles fill all three rings.
 * Besides the wall-clock times, the process's CPU time a render (all its threads, the
 * garbage collector's included): on a shared, loaded machine the tail of the wall-clock
 * times is mostly waiting for a core, which the CPU time leaves out.
 */
import { gzipSync } from "node:zlib";
import { parseArgs } from "node:util";
import { cpuUsage } from "node:process";
import type { FirehoseEvent } from "@bsky/shared/events";
import { Applier } from "@bsky/store/apply";
import { ALICE, BOB, pageScripts, withStack } from "../testing/stack.ts";
import { writeLikesReceivedTop } from "../testing/top_list.ts";

const args = parseArgs({ args: Deno.args, options: { runs: { type: "string", default: "1000" } } });
const RUNS = Number(args.values.runs);

const extra: FirehoseEvent[] = [];
let seq = 1_000_000;
for (let i = 0; i < 60; i++) {
  const did = `did:plc:bench${String(i).padStart(19, "0")}`;
  extra.push({
    v: 1,
    kind: "identity",
    seq: ++seq,
    time: Date.now(),
    did,
    handle: `friend${i}.test`,
  });
  for (let k = 0; k <= i % 7; k++) {
    extra.push({
      v: 1,
      kind: "commit",
      seq: ++seq,
      time: Date.now(),
      did: ALICE,
      action: "create",
      collection: "app.bsky.feed.like",
      rkey: `b${i}x${k}`,
      subject: did,
    } as FirehoseEvent);
  }
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

await withStack(async ({ get, redis }) => {
  await new Applier(redis, { retentionDays: 30, memoryHours: 48 }).apply(extra);
  await writeLikesReceivedTop(redis, [{ did: BOB, count: 2 }], Date.now());
  const pages = [
    "/",
    "/c/alice.test",
    "/c/alice.test?rings=1&direction=sent&window=7d",
    "/top",
    "/live",
    "/about",
  ];
  console.log(`${RUNS} renders per page, API answers cached in the site (SITE_CACHE_SECONDS=30)\n`);
  console.log(
    "| page | p50 ms | p90 ms | p99 ms | mean ms | CPU ms | HTML gzip bytes | JS files | JS gzip bytes |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const path of pages) {
    const first = await get(path);
    const html = await first.text();
    if (first.status !== 200) throw new Error(`${path} answered ${first.status}`);
    const times: number[] = [];
    let cpu0 = cpuUsage();
    for (let i = 0; i < RUNS + 50; i++) {
      if (i === 50) cpu0 = cpuUsage();
      const t0 = performance.now();
      await (await get(path)).text();
      if (i >= 50) times.push(performance.now() - t0);
    }
    const used = cpuUsage(cpu0);
    const cpu = (used.user + used.system) / 1000 / RUNS;
    times.sort((a, b) => a - b);
    let js = 0;
    const scripts = pageScripts(html);
    for (const url of scripts) {
      js += gzipSync(new Uint8Array(await (await get(url)).arrayBuffer())).length;
    }
    const people = (html.match(/<g data-did=/g) ?? []).length;
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    const ms = [pct(times, 0.5), pct(times, 0.9), pct(times, 0.99), mean, cpu]
      .map((t) => t.toFixed(2));
    console.log(
      `| ${path}${people ? ` (${people} avatars)` : ""} | ${ms.join(" | ")} | ` +
        `${gzipSync(new TextEncoder().encode(html)).length} | ${scripts.length} | ${js} |`,
    );
  }
}, { siteEnv: { SITE_CACHE_SECONDS: "30" } });
