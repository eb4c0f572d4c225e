/**
 * Top posters per language against a real redis-server filled through the real apply path:
 * every list equals the count made directly from the events (posts standing in each
 * language per author, over whole hours ending with now's), hidden accounts left out.
 */
import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import {
  type LanguageIndex,
  type LanguageSnapshot,
  type LanguageWindow,
  statsKeys,
} from "@bsky/shared/keys";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "@bsky/store/apply";
import { computeLanguageLists } from "../jobs/language_lists.ts";

const HOUR = 3_600_000;
const NOW = Math.floor(Date.now() / HOUR) * HOUR + 20 * 60_000;
const LANGS = ["en", "pt", "ja", "de", "es", "ko", "fr", "it", "uk", "kab"];

let seq = 0;
/** A small seeded generator, so that a failure is the same on every run. */
let state = 42;
const random = () => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return state / 2 ** 32;
};
const did = (k: number) =>
  `did:plc:${String(k).padStart(24, "a").replace(/\d/g, (d) => "bcdefghijk"[+d])}`;

interface Post {
  did: string;
  rkey: string;
  langs: string[];
  time: number;
}

/** 40 accounts posting over 90 hours in ten languages (one to three a post), heavy-tailed. */
function posts(): Post[] {
  const out: Post[] = [];
  for (let k = 0; k < 1500; k++) {
    const author = Math.floor(40 * random() ** 2);
    const langs = [
      ...new Set(
        Array.from(
          { length: 1 + Math.floor(random() * 3) },
          () => LANGS[Math.floor(LANGS.length * random() ** 1.5)],
        ),
      ),
    ];
    out.push({
      did: did(author),
      rkey: `p${k}`,
      langs,
      // From 90 hours back to now, some exactly at a window's first and last instant.
      time: NOW - Math.floor(random() * 90 * HOUR),
    });
  }
  out.push({ did: did(1), rkey: "edge24", langs: ["pt"], time: NOW - 20 * 60_000 - 23 * HOUR });
  out.push({ did: did(1), rkey: "out24", langs: ["pt"], time: NOW - 20 * 60_000 - 23 * HOUR - 1 });
  out.push({ did: did(2), rkey: "edge72", langs: ["ja"], time: NOW - 20 * 60_000 - 71 * HOUR });
  return out;
}

const create = (p: Post): FirehoseEvent => ({
  v: 1,
  kind: "commit",
  seq: ++seq,
  time: p.time,
  did: p.did,
  action: "create",
  collection: "app.bsky.feed.post",
  rkey: p.rkey,
  chars: 4,
  langs: p.langs,
});

/** What a language's list must hold: count descending, then store id ascending. */
function expected(
  all: Post[],
  hidden: Set<string>,
  ids: Map<string, number>,
  lang: string,
  hours: number,
  size: number,
): LanguageSnapshot["items"] {
  const from = (Math.floor(NOW / HOUR) - hours + 1) * HOUR;
  const counts = new Map<string, number>();
  for (const p of all) {
    if (p.time < from || hidden.has(p.did) || !p.langs.includes(lang)) continue;
    counts.set(p.did, (counts.get(p.did) ?? 0) + 1);
  }
  return [...counts].map(([d, count]) => ({ did: d, count }))
    .sort((a, b) => b.count - a.count || ids.get(a.did)! - ids.get(b.did)!).slice(0, size);
}

async function withRedis(fn: (redis: Redis, applier: Applier) => Promise<void>) {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    await fn(redis, new Applier(redis, { retentionDays: 30, memoryHours: 48 }));
  } finally {
    redis.disconnect();
  }
}

Deno.test("each language's top posters over 24 h and 72 h equal the posts counted from the events, hidden accounts and deleted posts left out", async () => {
  await withRedis(async (redis, applier) => {
    const all = posts();
    for (let i = 0; i < all.length; i += 500) {
      await applier.apply(all.slice(i, i + 500).map(create));
    }
    // Deleted posts (within the record memory) and two hidden accounts count nowhere.
    const deleted = all.filter((p, k) => k % 17 === 0 && p.time > NOW - 40 * HOUR);
    await applier.apply(deleted.map((p): FirehoseEvent => ({
      v: 1,
      kind: "commit",
      seq: ++seq,
      time: NOW,
      did: p.did,
      action: "delete",
      collection: "app.bsky.feed.post",
      rkey: p.rkey,
    })));
    const hidden = new Set([did(0), did(3)]);
    await applier.apply([...hidden].map((d): FirehoseEvent => ({
      v: 1,
      kind: "account",
      seq: ++seq,
      time: NOW,
      did: d,
      active: false,
      status: "takendown",
    })));
    const standing = all.filter((p) => !deleted.includes(p));
    const ids = await applier.ids(new Set(all.map((p) => p.did)));

    const size = 7;
    const details = await computeLanguageLists(redis, { size, now: NOW });
    assert.equal(details.languages, LANGS.length);
    assert.equal(details.languageLists, 2 * LANGS.length);
    for (const [window, hours] of [["24h", 24], ["72h", 72]] as [LanguageWindow, number][]) {
      for (const lang of LANGS) {
        const raw = await redis.get(statsKeys.languageTop(window, lang));
        const snap = JSON.parse(raw!) as LanguageSnapshot;
        assert.equal(snap.computedAt, NOW);
        assert.deepEqual(
          snap.items,
          expected(standing, hidden, ids, lang, hours, size),
          `${lang} over ${window}`,
        );
      }
    }
    // The window edges: the post at the 24 h window's first hour counts, the one just
    // before it only over 72 h.
    const edge = expected(standing, hidden, ids, "pt", 24, 100).find((i) => i.did === did(1));
    const wide = expected(standing, hidden, ids, "pt", 72, 100).find((i) => i.did === did(1));
    assert.ok(edge && wide && wide.count > edge.count);

    // The index: every language with its posts and posters, most posts first.
    const index = JSON.parse((await redis.get(statsKeys.languages))!) as LanguageIndex;
    assert.equal(index.computedAt, NOW);
    const from72 = (Math.floor(NOW / HOUR) - 71) * HOUR;
    const totals = LANGS.map((lang) => {
      const ps = standing.filter((p) =>
        p.time >= from72 && !hidden.has(p.did) && p.langs.includes(lang)
      );
      return { lang, posts: ps.length, posters: new Set(ps.map((p) => p.did)).size };
    }).filter((l) => l.posts > 0)
      .sort((a, b) => b.posts - a.posts || (a.lang < b.lang ? -1 : 1));
    assert.deepEqual(index.windows["72h"], totals);
  });
});

Deno.test("only the languages with the most posts get lists; the next run replaces the index and its lists", async () => {
  await withRedis(async (redis, applier) => {
    const spec: [string, number][] = [["en", 5], ["pt", 3], ["ja", 2], ["de", 1]];
    let k = 0;
    await applier.apply(
      spec.flatMap(([lang, n]) =>
        Array.from(
          { length: n },
          () => create({ did: did(k % 3), rkey: `r${k++}`, langs: [lang], time: NOW - HOUR }),
        )
      ),
    );
    await computeLanguageLists(redis, { size: 5, now: NOW, languages: 2 });
    const index = JSON.parse((await redis.get(statsKeys.languages))!) as LanguageIndex;
    assert.deepEqual(index.windows["24h"].map((l) => l.lang), ["en", "pt"]);
    assert.equal(await redis.exists(statsKeys.languageTop("24h", "ja")), 0);
    // Three days on, nothing is in either window: the lists and the index are empty.
    const later = NOW + 80 * HOUR;
    await computeLanguageLists(redis, { size: 5, now: later, languages: 2 });
    const after = JSON.parse((await redis.get(statsKeys.languages))!) as LanguageIndex;
    assert.deepEqual(after, { computedAt: later, windows: { "24h": [], "72h": [] } });
  });
});
