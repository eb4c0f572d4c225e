/**
 * A reproducible stream of firehose events with a heavy-tailed popularity: a few accounts
 * get most likes and replies, as on the real network. For tests and the benchmark.
 */
import type { Collection, FirehoseEvent } from "@bsky/shared/events";
import { HOUR_MS } from "../layout.ts";

export interface GenerateOptions {
  accounts: number;
  events: number;
  seed?: number;
  /** Event times spread evenly over [start, start + spanMs). */
  start: number;
  spanMs: number;
  /** Zipf exponent of popularity (about 1 on social networks). */
  skew?: number;
}

/** A small, fast, seeded generator (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const S32 = "234567abcdefghijklmnopqrstuvwxyz";

/** A record key in TID form, different for every n (as a repo's records have). */
export function tidOf(n: number): string {
  let out = "";
  for (let k = 0; k < 11; k++) {
    out = S32[n % 32] + out;
    n = Math.floor(n / 32);
  }
  return "3k" + out;
}

const B32 = "abcdefghijklmnopqrstuvwxyz234567";

/** A valid did:plc (24 letters of its base32 alphabet) for every n, "a…a" + n in base 32. */
export function didOf(i: number): string {
  let out = "";
  do {
    out = B32[i % 32] + out;
    i = Math.floor(i / 32);
  } while (i > 0);
  return `did:plc:${out.padStart(24, "a")}`;
}

export function* generateEvents(o: GenerateOptions): Generator<FirehoseEvent> {
  const rand = random(o.seed ?? 1);
  const skew = o.skew ?? 1;
  // Inverse CDF table of a Zipf distribution over accounts.
  const weights = Array.from({ length: o.accounts }, (_, i) => 1 / (i + 1) ** skew);
  const total = weights.reduce((a, b) => a + b, 0);
  const cdf: number[] = [];
  let acc = 0;
  for (const w of weights) cdf.push(acc += w / total);
  const popular = () => {
    const x = rand();
    let lo = 0, hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const anyone = () => Math.floor(rand() * o.accounts);
  const created: { did: string; collection: Collection; rkey: string }[] = [];
  let rk = 0;
  for (let n = 0; n < o.events; n++) {
    const time = Math.floor(o.start + (n / o.events) * o.spanMs);
    const seq = n + 1;
    const author = anyone();
    const did = didOf(author);
    const rkey = tidOf(rk++);
    const base = { v: 1 as const, kind: "commit" as const, seq, time, did, rkey };
    const r = rand();
    let e: FirehoseEvent;
    if (r < 0.6) {
      e = {
        ...base,
        action: "create",
        collection: "app.bsky.feed.like",
        subject: didOf(popular()),
      };
    } else if (r < 0.7) {
      e = {
        ...base,
        action: "create",
        collection: "app.bsky.feed.repost",
        subject: didOf(popular()),
      };
    } else if (r < 0.85) {
      const post: FirehoseEvent = {
        ...base,
        action: "create",
        collection: "app.bsky.feed.post",
        chars: 20 + Math.floor(rand() * 200),
      };
      if (rand() < 0.5) {
        post.parent = didOf(popular());
        post.root = didOf(popular());
      }
      if (rand() < 0.1) post.quote = didOf(popular());
      if (rand() < 0.15) post.mentions = [...new Set([didOf(popular()), didOf(anyone())])];
      e = post;
    } else if (r < 0.9 && created.length > 0) {
      const victim = created.splice(Math.floor(rand() * created.length), 1)[0];
      e = {
        v: 1,
        kind: "commit",
        seq,
        time,
        did: victim.did,
        action: "delete",
        collection: victim.collection,
        rkey: victim.rkey,
      };
    } else if (r < 0.96) {
      e = {
        ...base,
        action: "create",
        collection: "app.bsky.graph.follow",
        subject: didOf(popular()),
      };
    } else if (r < 0.97) {
      e = {
        ...base,
        action: "create",
        collection: "app.bsky.graph.block",
        subject: didOf(anyone()),
      };
    } else if (r < 0.985) {
      e = { v: 1, kind: "identity", seq, time, did, handle: `user${author}-${n}.test` };
    } else {
      e = {
        ...base,
        rkey: "self",
        action: "create",
        collection: "app.bsky.actor.profile",
        displayName: `User ${author}`,
      };
    }
    if (e.kind === "commit" && e.action === "create" && e.collection !== "app.bsky.actor.profile") {
      created.push({ did: e.did, collection: e.collection, rkey: e.rkey });
      if (created.length > 50_000) created.splice(0, 10_000);
    }
    yield e;
  }
}

/** Generator times that stay within the store's retention and memory: the last hour. */
export function recentStart(spanMs = HOUR_MS / 2): number {
  return Date.now() - spanMs;
}
