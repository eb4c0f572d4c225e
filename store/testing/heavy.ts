/**
 * A heavy account's traffic, for the tests and the benchmark of its circles: many fans
 * interact with one account (each fan at least once, the rest Zipf-distributed over the
 * fans, so that a few fans interact a lot), the account answers some of them, and a share
 * of the likes is deleted a few hours later (within the record memory). Deterministic for
 * a seed; events in time order with rising seq.
 */
import type { FirehoseEvent } from "@bsky/shared/events";
import { HOUR_MS } from "../layout.ts";
import { didOf, random, tidOf } from "./generate.ts";

export interface HeavyOptions {
  /** The heavy account's number (its DID is didOf(heavy)). */
  heavy: number;
  /** Fans are didOf(firstFan + k), k < fans. */
  firstFan: number;
  fans: number;
  /** Interactions the heavy account receives. */
  received: number;
  /** Interactions it makes (to its fans). */
  sent: number;
  /** Event times spread over [start, start + spanMs). */
  start: number;
  spanMs: number;
  /** Share of received likes deleted within the next hours (default 0.03). */
  deletes?: number;
  /** Zipf exponent of the fans' activity beyond their first interaction (default 1). */
  skew?: number;
  seed?: number;
}

/** A Zipf sampler over n ranks. */
function zipf(n: number, s: number, rand: () => number): () => number {
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) cdf[i] = acc += 1 / (i + 1) ** s;
  return () => {
    const x = rand() * acc;
    let lo = 0, hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** The heavy account's events, hour by hour, in time order. */
export function* heavyEvents(o: HeavyOptions): Generator<FirehoseEvent[]> {
  const rand = random(o.seed ?? 7);
  const pick = zipf(o.fans, o.skew ?? 1, rand);
  const heavy = didOf(o.heavy);
  const fanDid = (k: number) => didOf(o.firstFan + k);
  // Who interacts, in a random order: every fan once, then the Zipf draws.
  const authors = new Int32Array(o.received);
  for (let k = 0; k < o.received; k++) authors[k] = k < o.fans ? k : pick();
  for (let k = o.received - 1; k > 0; k--) {
    const j = Math.floor(rand() * (k + 1));
    [authors[k], authors[j]] = [authors[j], authors[k]];
  }
  const total = o.received + o.sent;
  const hours = Math.ceil(o.spanMs / HOUR_MS);
  const deletes: FirehoseEvent[][] = Array.from({ length: hours }, () => []);
  let next = 0, sent = 0, seq = 0, rk = 0;
  for (let h = 0; h < hours; h++) {
    const out: FirehoseEvent[] = [];
    const end = Math.min(total, Math.round(((h + 1) * HOUR_MS / o.spanMs) * total));
    for (; next < end; next++) {
      const time = o.start + Math.floor((next / total) * o.spanMs);
      const rkey = tidOf(rk++);
      const base = { v: 1 as const, kind: "commit" as const, seq: 0, time, rkey };
      // The account's own interactions, spread evenly among the received ones.
      if (Math.floor((next + 1) * o.sent / total) > Math.floor(next * o.sent / total)) {
        sent++;
        const fan = fanDid(pick());
        out.push(
          rand() < 0.5
            ? {
              ...base,
              did: heavy,
              action: "create",
              collection: "app.bsky.feed.like",
              subject: fan,
            }
            : {
              ...base,
              did: heavy,
              action: "create",
              collection: "app.bsky.feed.post",
              parent: fan,
              root: fan,
            },
        );
        continue;
      }
      const did = fanDid(authors[next - sent]);
      const r = rand();
      let e: FirehoseEvent;
      if (r < 0.7) {
        e = { ...base, did, action: "create", collection: "app.bsky.feed.like", subject: heavy };
        const at = h + 1 + Math.floor(rand() * 40);
        if (rand() < (o.deletes ?? 0.03) && at < hours) {
          deletes[at].push({
            v: 1,
            kind: "commit",
            seq: 0,
            time: o.start + at * HOUR_MS + Math.floor(rand() * HOUR_MS),
            did,
            action: "delete",
            collection: "app.bsky.feed.like",
            rkey,
          });
        }
      } else if (r < 0.82) {
        e = { ...base, did, action: "create", collection: "app.bsky.feed.repost", subject: heavy };
      } else if (r < 0.92) {
        e = { ...base, did, action: "create", collection: "app.bsky.feed.post", parent: heavy };
      } else if (r < 0.95) {
        e = { ...base, did, action: "create", collection: "app.bsky.feed.post", quote: heavy };
      } else {
        e = {
          ...base,
          did,
          action: "create",
          collection: "app.bsky.feed.post",
          mentions: [heavy],
        };
      }
      out.push(e);
    }
    out.push(...deletes[h]);
    out.sort((a, b) => a.time - b.time);
    for (const e of out) e.seq = ++seq;
    yield out;
  }
}
