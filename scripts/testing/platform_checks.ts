/**
 * What the whole-platform tests check (scripts/tests/platform_test.ts on one server,
 * platform_cluster_test.ts on a Redis Cluster): rounds of writes on the PDS, and the API's,
 * the site's and the scheduler's answers against the workload's ground truth.
 */
import assert from "node:assert/strict";
import type { Direction } from "@bsky/store/queries";
import { computeTruth, expectedTop } from "@bsky/store/testing/truth";
import type { Account, RecordRef } from "@bsky/shared/testing/pds_client";
import type { TruthEvent } from "@bsky/shared/testing/workload";
import { expectedTotals } from "../../scheduler/testing/truth.ts";
import { TOP_METRICS } from "@bsky/shared/keys";
import { freePort } from "@bsky/shared/testing/redis_server";
import { siteKeyEnv } from "../services.ts";

/**
 * The settings of a whole platform on the local PDS and the given Redis (`redis`: REDIS_URL
 * or REDIS_CLUSTER_NODES, and anything else over the defaults): free ports, the top lists
 * every minute, caches of a second, no rate limits the tests' polling would hit, and the
 * site's key for the API as `deno task start` sets it up.
 */
export function platformEnv(
  pds: { firehoseUrl: string; plcUrl: string; pdsUrl: string },
  redis: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {
    FIREHOSE_URL: pds.firehoseUrl,
    FIREHOSE_PARTITIONS: "2",
    FIREHOSE_METRICS_PORT: String(freePort()),
    INDEXER_METRICS_PORT: String(freePort()),
    SCHEDULER_METRICS_PORT: String(freePort()),
    SCHEDULER_TOP_CRON: "* * * * *",
    SCHEDULER_PLC_URL: pds.plcUrl,
    // The local PDS is on loopback, which profile upkeep refuses by default.
    SCHEDULER_ALLOW_PRIVATE_NETWORK: "true",
    SCHEDULER_HANDLE_RESOLVER_URL: pds.pdsUrl,
    FART_PORT: String(freePort()),
    FART_CACHE_SECONDS: "1",
    // The test's own requests come without a key and poll until answers settle.
    FART_RATE_PER_IP: "1000000",
    FART_PLC_URL: pds.plcUrl,
    FART_HANDLE_RESOLVER_URL: pds.pdsUrl,
    FART_AVATAR_CDN_URL: pds.pdsUrl,
    // Its metrics, with each key's requests, are on a port of their own.
    FART_METRICS_PORT: String(freePort()),
    SITE_PORT: String(freePort()),
    SITE_CACHE_SECONDS: "1",
    // The test's page loads all come from one address too.
    SITE_RATE_PER_IP: "1000000",
    LOG_LEVEL: "error",
    ...redis,
  };
  env.FART_URL = `http://127.0.0.1:${env.FART_PORT}`;
  // The site calls the API with its own key, as `deno task start` sets it up.
  return { ...env, ...siteKeyEnv(env) };
}

const rkeyOf = (ref: { uri: string }) => ref.uri.split("/").pop()!;

/** A round of writes by three accounts: a post, a like, a repost, a reply, an unrepost. */
export async function round(accounts: Account[], n: number, truth: TruthEvent[]): Promise<void> {
  const [a, b, c] = [0, 1, 2].map((k) => accounts[(n + k) % accounts.length]);
  const commit = (
    who: Account,
    action: "create" | "delete",
    collection: string,
    ref: RecordRef | { uri: string },
    facts: Record<string, unknown> = {},
  ) =>
    truth.push(
      {
        kind: "commit",
        did: who.did,
        action,
        collection,
        rkey: rkeyOf(ref),
        ...facts,
      } as TruthEvent,
    );
  const post = await a.post({ text: `round ${n}` });
  commit(a, "create", "app.bsky.feed.post", post);
  commit(b, "create", "app.bsky.feed.like", await b.like(post), { subject: a.did });
  const repost = await c.repost(post);
  commit(c, "create", "app.bsky.feed.repost", repost, { subject: a.did });
  const reply = await b.post({ text: "", reply: { root: post, parent: post } });
  commit(b, "create", "app.bsky.feed.post", reply, { parent: a.did, root: a.did });
  await c.deleteRecord(repost.uri);
  commit(c, "delete", "app.bsky.feed.repost", repost);
}

/** Whom each account blocks, as the workload left it. */
export function blocksOf(events: TruthEvent[]): Map<string, Set<string>> {
  const standing = new Map<string, [string, string]>();
  for (const e of events) {
    if (e.kind !== "commit" || e.collection !== "app.bsky.graph.block") continue;
    if (e.action === "delete") standing.delete(`${e.did}/${e.rkey}`);
    else if (e.subject) standing.set(`${e.did}/${e.rkey}`, [e.did, e.subject]);
  }
  const out = new Map<string, Set<string>>();
  for (const [who, whom] of standing.values()) out.set(who, (out.get(who) ?? new Set()).add(whom));
  return out;
}

/** Every count the API and the site show equals the ground truth. */
export async function check(
  env: Record<string, string>,
  accounts: Account[],
  events: TruthEvent[],
) {
  const truth = computeTruth(events);
  const blocks = blocksOf(events);
  const api = `http://127.0.0.1:${env.FART_PORT}`, site = `http://127.0.0.1:${env.SITE_PORT}`;
  for (const account of accounts) {
    for (const direction of ["sent", "received", "both", "mutual"] as Direction[]) {
      const res = await fetch(
        `${api}/v1/interactions/${account.did}?direction=${direction}&window=24h&limit=100`,
      );
      assert.equal(res.status, 200, `${account.handle} ${direction}`);
      const body = await res.json();
      const got = new Map(
        body.items.map((
          { did, like, repost, reply, quote, mention, score }: Record<string, number>,
        ) => [
          did,
          { like, repost, reply, quote, mention, score },
        ]),
      );
      assert.deepEqual(
        got,
        expectedTop(truth, account.did, direction),
        `${account.handle} ${direction}`,
      );
    }
    // The site's circles page: its table of people, by DID, with every count.
    const page = await fetch(`${site}/c/${account.handle}?direction=both&window=24h`);
    assert.equal(page.status, 200, `site /c/${account.handle}`);
    const html = await page.text();
    const rows = new Map<string, Record<string, number>>();
    for (const [, did, cells] of html.matchAll(/<tr[^>]*data-did="([^"]+)"[^>]*>(.*?)<\/tr>/gs)) {
      const counts: Record<string, number> = {};
      for (const [, col, n] of cells.matchAll(/data-col="(\w+)"[^>]*>([\d.]+)</g)) {
        counts[col] = Number(n);
      }
      rows.set(did, counts);
    }
    // A circle leaves out the people its owner blocks.
    const want = new Map(
      [...expectedTop(truth, account.did, "both")]
        .filter(([did]) => !blocks.get(account.did)?.has(did))
        .map(([did, c]) => [did, { ...c }]),
    );
    assert.deepEqual(rows, want, `site table of ${account.handle}`);
  }
}

/** The scheduler's 24 h top lists equal the ground truth's (ties in any order). */
export async function checkTop(env: Record<string, string>, events: TruthEvent[]) {
  const { totals, hidden } = expectedTotals(events);
  for (const metric of ["likes_received", "replies_sent", "reposts_received", "blocked"] as const) {
    const res = await fetch(
      `http://127.0.0.1:${env.FART_PORT}/v1/stats/top?metric=${metric}&window=24h`,
    );
    assert.equal(res.status, 200, `top ${metric}`);
    const body = await res.json();
    const column = TOP_METRICS.indexOf(metric);
    const want = [...totals].filter(([did, row]) => row[column] > 0 && !hidden.has(did))
      .map(([did, row]) => `${did} ${row[column]}`).sort();
    assert.deepEqual(
      body.items.map((i: { did: string; count: number }) => `${i.did} ${i.count}`).sort(),
      want,
      `top ${metric}`,
    );
  }
}
