/**
 * The top lists checked against the store: a store filled through the real indexer's apply
 * path with generated events, and a check that every list equals what the store's own
 * per-account query gives every account (and, for 24 h, the workload's ground truth), at a
 * given instant, before and after the store's roll-up as of that instant.
 */
import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import type { TruthEvent } from "@bsky/shared/testing/workload";
import { statsKeys, TOP_METRICS, TOP_WINDOWS, type TopSnapshot } from "@bsky/shared/keys";
import type { Redis } from "@bsky/shared/redis";
import { Applier } from "@bsky/store/apply";
import { idOf, totals } from "@bsky/store/queries";
import { rollUpWeeks } from "@bsky/store/rollup";
import { TYPES } from "@bsky/store/layout";
import { didOf, generateEvents } from "@bsky/store/testing/generate";
import { computeTopLists, WINDOW_HOURS } from "../jobs/top_lists.ts";
import { expectedList, expectedTotals } from "./truth.ts";

const HOUR = 3_600_000;

export interface FillOptions {
  accounts: number;
  /** Events of each of the two workloads. */
  events: number;
}

/** The two names of generated account `i`: the recent workload's, and the older one's. */
const namesOf = (i: number) => [didOf(i), didOf(i).replace("did:plc:a", "did:plc:b")];

/**
 * Fills the store: an older workload by other accounts (their DIDs moved aside) spread over
 * the week before the last 25 hours, so that the 7-day window's oldest day is cut at any
 * hour; a recent one in the half hour before `now`; and the two busiest accounts
 * deactivated, so that they must not appear.
 */
export async function fill(redis: Redis, now: number, o: FillOptions) {
  const applier = new Applier(redis, { retentionDays: 30, memoryHours: 48 });
  const other = (did?: string) => did?.replace("did:plc:a", "did:plc:b");
  const old = [...generateEvents({
    accounts: o.accounts,
    events: o.events,
    seed: 7,
    start: now - 8 * 24 * HOUR,
    spanMs: 7 * 24 * HOUR - 2 * HOUR,
  })].map((e) =>
    ({
      ...e,
      did: other(e.did)!,
      ...("subject" in e ? { subject: other(e.subject) } : {}),
      ...("parent" in e ? { parent: other(e.parent) } : {}),
      ...("quote" in e ? { quote: other(e.quote) } : {}),
      ...("mentions" in e ? { mentions: e.mentions?.map((m) => other(m)!) } : {}),
    }) as FirehoseEvent
  );
  const recent = [...generateEvents({
    accounts: o.accounts,
    events: o.events,
    seed: 8,
    start: now - HOUR / 2,
    spanMs: HOUR / 2 - 1000,
  })];
  const hidden: FirehoseEvent[] = [0, 1].map((i) => ({
    v: 1,
    kind: "account",
    seq: 1e9 + i,
    time: now - 1000,
    did: didOf(i),
    active: false,
    status: "deactivated",
  }));
  for (const events of [old, recent, hidden]) {
    for (let i = 0; i < events.length; i += 2000) {
      await applier.apply(events.slice(i, i + 2000));
    }
  }
  return { hidden: expectedTotals(hidden).hidden, recent: [...recent, ...hidden] };
}

/**
 * Each account's row of metrics (TOP_METRICS order) as the store's own per-account query
 * gives it for a window of `hours` at `now`.
 */
export async function storeTotals(
  redis: Redis,
  dids: readonly string[],
  hours: number,
  now: number,
): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  const all = await Promise.all(dids.map((did) => totals(redis, did, hours, now)));
  dids.forEach((did, k) => {
    const t = all[k];
    if (t) out.set(did, [...TYPES, "block" as const].flatMap((x) => [t.received[x], t.sent[x]]));
  });
  return out;
}

/** Store ids of every account the generated events can name. */
async function idsOf(redis: Redis, accounts: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < accounts; i++) {
    for (const did of namesOf(i)) {
      const id = await idOf(redis, did);
      if (id !== undefined) out.set(did, id);
    }
  }
  return out;
}

/** The stored top lists, keyed "<window> <metric>". */
export async function snapshots(redis: Redis): Promise<Map<string, TopSnapshot>> {
  const out = new Map<string, TopSnapshot>();
  for (const w of TOP_WINDOWS) {
    for (const m of TOP_METRICS) {
      const raw = await redis.get(statsKeys.top(w, m));
      if (raw) out.set(`${w} ${m}`, JSON.parse(raw));
    }
  }
  return out;
}

/**
 * Fills an empty store at `now` and checks the lists computed at `now`, rolls the store up
 * as of `now` and checks again, then does both an hour later: every list equals the
 * store's per-account totals; the 24 h lists also equal the ground truth. Returns the
 * roll-up's bytes before and after.
 */
export async function checkTopListsAt(
  redis: Redis,
  now: number,
  o: FillOptions & { size: number },
): Promise<[number, number]> {
  const { hidden, recent } = await fill(redis, now, o);
  assert.equal(hidden.size, 2);
  const truth24 = expectedTotals(recent as TruthEvent[]).totals;
  const ids = await idsOf(redis, o.accounts);
  const check = async (at: number) => {
    await computeTopLists(redis, { size: o.size, now: at });
    const dids = Array.from({ length: o.accounts }, (_, i) => namesOf(i)).flat();
    const want = Object.fromEntries(
      await Promise.all(
        TOP_WINDOWS.map(async (w) => [w, await storeTotals(redis, dids, WINDOW_HOURS[w], at)]),
      ),
    );
    const got = await snapshots(redis);
    assert.equal(got.size, TOP_WINDOWS.length * TOP_METRICS.length);
    for (const w of TOP_WINDOWS) {
      for (const m of TOP_METRICS) {
        const s = got.get(`${w} ${m}`)!;
        const label = `${w} ${m} at ${new Date(at).toISOString()}`;
        assert.equal(s.computedAt, at);
        assert.deepEqual(s.items, expectedList(want[w], hidden, ids, m, o.size), label);
        if (w === "24h") {
          assert.deepEqual(
            s.items,
            expectedList(truth24, hidden, ids, m, o.size),
            `truth ${label}`,
          );
        }
      }
    }
    // Anti-vacuity: full lists, blocks counted, the windows differ.
    assert.equal(got.get("7d likes_received")!.items.length, o.size);
    assert.ok(got.get("24h blocked")!.items.length > 0);
    assert.ok(got.get("7d likes_sent")!.items.some((i) => i.did.startsWith("did:plc:b")));
    assert.ok(!got.get("24h likes_sent")!.items.some((i) => i.did.startsWith("did:plc:b")));
  };
  await check(now);
  let before = 0, after = 0;
  for (const at of [now, now + HOUR]) {
    for (const r of Object.values(await rollUpWeeks(redis, at))) {
      before += r.before;
      after += r.after;
    }
    await check(at);
  }
  return [before, after];
}
