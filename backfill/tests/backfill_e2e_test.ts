/**
 * The backfill against a real local PDS: a workload runs before the platform starts, then
 * the live chain (firehose and indexer) starts, and the backfill runs as `deno task
 * backfill` runs it (its own process, its own flags) while another workload writes live.
 * The first run is killed with SIGKILL midway and a second goes on; one repository fails
 * (a 500, then a CAR cut short) and is tried again; one is read, then records of it are
 * deleted live, then it is loaded. Afterwards every answer (interactions in every direction
 * and window, follows, blocks, profiles, hidden accounts) equals the ground truth of both
 * workloads, and a backfilled record is the very event the live stream carried for it.
 */
import assert from "node:assert/strict";
import { decodeEvent, type FirehoseEvent } from "@bsky/shared/events";
import { firehoseKeys } from "@bsky/shared/keys";
import { startPds } from "@bsky/shared/testing/pds";
import { type Account, PdsClient } from "@bsky/shared/testing/pds_client";
import { freePort, startRedisServer } from "@bsky/shared/testing/redis_server";
import { settled } from "@bsky/shared/testing/settled";
import { runWorkload } from "@bsky/shared/testing/workload";
import {
  blockPage,
  didsOf,
  type Direction,
  hiddenIds,
  idOf,
  profiles,
  topInteractions,
} from "@bsky/store/queries";
import { backfillHostName, HOUR_MS, storeKeys } from "@bsky/store/layout";
import { computeTruth, expectedTop } from "@bsky/store/testing/truth";
import { BACKFILL, serviceArgs } from "../../scripts/services.ts";
import { recordEvent } from "../records.ts";
import type { BackfillSummary } from "../run.ts";
import { readRepo } from "../repo.ts";
import { startLive } from "../testing/live.ts";
import { startProxy } from "../testing/proxy.ts";
import { graphTruth, Recorder } from "../testing/workload.ts";

const root = new URL("../..", import.meta.url).pathname;

/** The backfill as `deno task backfill` starts it, its log lines gathered. */
function spawnBackfill(env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: serviceArgs(BACKFILL, env),
    cwd: root,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  let stderr = "";
  const read = (async () => {
    let rest = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        lines.push(JSON.parse(rest.slice(0, nl)));
        rest = rest.slice(nl + 1);
      }
    }
  })();
  const readErr = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  return {
    child,
    lines,
    async exit() {
      const status = await child.status;
      await Promise.all([read, readErr]);
      return { code: status.code, stderr };
    },
  };
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("a backfill killed midway and resumed, with a failing repository and live writes and deletes meanwhile, leaves every answer equal to the ground truth", async () => {
  await using pds = await startPds();
  await using redisServer = await startRedisServer();
  const client = new PdsClient(pds.pdsUrl, { adminPassword: pds.adminPassword });

  // Before the platform starts: the shared workload, and more accounts with more of it.
  const before = await runWorkload(pds.pdsUrl, pds.adminPassword);
  const w = new Recorder(client, before.truth);
  const { alice, bob, carol, dave } = before.accounts;
  // Listed in this order: zed and yuri last, so the first run is killed before them.
  const more: Record<string, Account> = {};
  for (const name of ["erin", "frank", "gina", "hank", "zed", "yuri"]) {
    more[name] = await w.account(name);
  }
  const all = { ...before.accounts, ...more };
  const p1 = await w.post(more.erin, "erin's post", { mentions: [alice, more.gina] });
  const p2 = await w.post(more.gina, "gina quotes", { quote: p1, reply: p1 });
  await w.like(more.frank, p1);
  await w.repost(more.hank, p2);
  const zedLike = await w.like(more.zed, p2);
  const zedFollow = await w.follow(more.zed, more.erin);
  await w.like(more.zed, p1);
  for (const p of [p1, p2]) await w.like(more.yuri, p);
  await w.post(more.yuri, "to carol", { mentions: [carol] });
  await w.follow(more.yuri, more.zed);
  const erinBlock = await w.block(more.erin, more.frank);
  await w.block(more.gina, more.hank);
  await w.block(more.gina, dave);
  await w.follow(more.gina, alice);
  await w.profile(more.gina, "Gina");
  const aliceLike = await w.like(alice, p2);

  // The platform starts: the live chain, and one live write before the backfill's first run.
  await using live = await startLive(pds.firehoseUrl, redisServer.url);
  const redis = live.redis;
  await w.like(more.gina, p1);
  await waitFor("the live chain to apply a write", async () => {
    const got = await topInteractions(redis, more.gina.did, {
      direction: "sent",
      windowHours: 24,
      limit: 10,
      now: Date.now(),
    });
    return (got ?? []).some((c) => c.did === more.erin.did && c.like === 1);
  });

  await using proxy = startProxy(pds.pdsUrl);
  const host = backfillHostName(proxy.url);
  const env: Record<string, string> = {
    REDIS_URL: redisServer.url,
    BACKFILL_SOURCE_URL: proxy.url,
    BACKFILL_METRICS_PORT: String(freePort()),
    BACKFILL_RATE_PER_SECOND: "4",
    BACKFILL_CONCURRENCY: "2",
    BACKFILL_PAGE_SIZE: "3",
    BACKFILL_BATCH_RECORDS: "2",
    BACKFILL_MAX_ATTEMPTS: "2",
    BACKFILL_RETRY_MS: "300",
    BACKFILL_LOG_SECONDS: "1",
  };
  const done = async () => Number(await redis.hget(storeKeys.backfillHost(host), "done") ?? 0);

  // The first run is killed once it has loaded some repositories.
  const first = spawnBackfill(env);
  await waitFor("the first run to load two repositories", async () => await done() >= 2);
  first.child.kill("SIGKILL");
  const killed = await first.exit();
  assert.equal(killed.code, 137, killed.stderr);
  assert.ok(await done() < 10, "killed midway");
  const marks = await redis.hgetall(storeKeys.backfillRepos(host));
  assert.notEqual(marks[more.zed.did], "done", "zed is not loaded yet");
  assert.notEqual(marks[more.yuri.did], "done", "yuri is not loaded yet");

  // Live meanwhile: deletes of records the backfill loaded or has yet to load, new writes,
  // a profile, a handle, an account deactivated and one deleted.
  await w.delete(alice, aliceLike);
  await w.delete(more.erin, erinBlock);
  const live1 = await w.post(bob, "live reply", { reply: p1, mentions: [more.erin] });
  await w.like(carol, live1);
  await w.follow(dave, more.gina);
  await w.profile(bob, "Robert");
  await w.handle(more.erin, "erin2");
  await w.deactivate(more.frank);
  await w.deleteAccount(more.hank);
  await w.like(more.yuri, live1);
  await w.post(more.zed, "zed live", { quote: live1 });

  // The second run: yuri's repository fails twice, zed's is read and then, before it is
  // loaded, records of it are deleted live.
  proxy.fail(more.yuri.did, ["500", "truncate"]);
  const held = proxy.hold(more.zed.did);
  const second = spawnBackfill(env);
  await held.read;
  await w.delete(more.zed, zedLike);
  await w.delete(more.zed, zedFollow);
  await waitFor("the live deletes to leave tombstones", async () => {
    const hour = Math.floor(Date.now() / HOUR_MS);
    const n = await redis.hlen(storeKeys.tombstones(hour)) +
      await redis.hlen(storeKeys.tombstones(hour - 1));
    return n >= 2;
  });
  held.release();
  await w.like(more.gina, live1);
  const exit = await second.exit();
  assert.equal(exit.code, 0, exit.stderr);
  const summary = second.lines.findLast((l) => l.msg === "Backfill done") as
    | (BackfillSummary & { msg: string })
    | undefined;
  if (!summary) throw new Error("the run ends with its summary");
  assert.equal(summary.state, "done");
  assert.equal(summary.failed, 0);
  assert.equal(summary.recovered, 1, "yuri's repository loaded when tried again");
  assert.equal(proxy.requests.get(more.yuri.did), 3, "yuri's repository: 500, cut CAR, then read");
  assert.ok(second.lines.some((l) => l.msg === "A repository failed: recorded for a later try"));
  assert.ok(summary.records.seen_live >= 2, "zed's two records deleted after it was read");
  assert.ok(summary.records.after_live_start >= 2, "records made live are the live stream's");
  assert.ok(second.lines.some((l) => l.msg === "Backfill progress"), "progress in the log");

  // Every answer equals the ground truth of both workloads.
  const truth = computeTruth(w.truth);
  const graph = graphTruth(w.truth);
  const dids = Object.values(all).map((a) => a.did);
  const nameOf = new Map(Object.entries(all).map(([n, a]) => [a.did, n]));
  const named = <T>(m: Map<string, T>) => new Map([...m].map(([d, v]) => [nameOf.get(d) ?? d, v]));
  await settled(async () => {
    // A hidden account has no answer of its own (the API says 410); it is left out of
    // everyone else's, which the truth says too.
    for (const did of dids.filter((d) => !truth.hidden.has(d))) {
      for (const direction of ["sent", "received", "both", "mutual"] as Direction[]) {
        for (const windowHours of [1, 24, 24 * 7]) {
          const got = await topInteractions(redis, did, {
            direction,
            windowHours,
            limit: 100,
            now: Date.now(),
          });
          assert.deepEqual(
            named(new Map((got ?? []).map(({ did, ...counts }) => [did, counts]))),
            named(expectedTop(truth, did, direction)),
            `${direction} ${windowHours}h of ${nameOf.get(did)}`,
          );
        }
      }
    }
  });
  const hidden = await hiddenIds(redis);
  for (const did of dids) {
    const id = await idOf(redis, did);
    assert.equal(hidden.has(id!), truth.hidden.has(did), `${did} hidden`);
    if (truth.hidden.has(did)) continue;
    const follows = (await redis.smembers(storeKeys.graph(id!))).map(Number).filter((m) => m > 0);
    const followed = new Set(await didsOf(redis, follows));
    assert.deepEqual(followed, graph.follows.get(did) ?? new Set(), `follows of ${did}`);
    const page = await blockPage(redis, did, { direction: "blocking", limit: 100 });
    assert.deepEqual(
      new Set(page.items.map((i) => i.did)),
      new Set([...graph.blocks.get(did) ?? []].filter((s) => !truth.hidden.has(s))),
      `blocks of ${did}`,
    );
    const [profile] = await profiles(redis, [did]);
    assert.equal(profile.handle, truth.handles.get(did), `handle of ${did}`);
    assert.equal(profile.displayName, graph.names.get(did), `name of ${did}`);
  }
  // Anti-vacuity: the truth has every kind of interaction, follows, blocks and hidden ones.
  const counts = [...truth.sent.values()].flatMap((m) => [...m.values()]);
  for (const t of ["like", "repost", "reply", "quote", "mention"] as const) {
    assert.ok(counts.some((c) => c[t] > 0), `some ${t}`);
  }
  assert.ok(graph.blocks.size > 0 && graph.follows.size > 0 && truth.hidden.size >= 2);

  // A backfilled record is the event the live stream carried for it (seq and time aside).
  const seen: FirehoseEvent[] = [];
  for (const stream of firehoseKeys.streams(2)) {
    for (const [, fields] of await redis.xrange(stream, "-", "+")) {
      seen.push(decodeEvent(fields[1], fields[3]));
    }
  }
  const creates = seen.filter((e) => e.kind === "commit" && e.action === "create");
  assert.ok(creates.length >= 4);
  let compared = 0;
  for (const e of creates) {
    if (e.kind !== "commit" || e.action !== "create") continue;
    const res = await fetch(`${pds.pdsUrl}/xrpc/com.atproto.sync.getRepo?did=${e.did}`);
    if (!res.ok) {
      await res.body?.cancel();
      continue;
    }
    const repo = readRepo(new Uint8Array(await res.arrayBuffer()), e.did);
    const r = repo.records.find((r) => r.collection === e.collection && r.rkey === e.rkey);
    if (!r) continue;
    const made = recordEvent(e.did, r.collection, r.rkey, r.block, Date.now());
    assert.ok("event" in made);
    assert.deepEqual({ ...made.event, seq: 0, time: 0 }, { ...e, seq: 0, time: 0 });
    compared++;
  }
  assert.ok(compared >= 4, `compared ${compared} events`);
});
