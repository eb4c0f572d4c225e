/**
 * Posts by language against a real local PDS: the scripted workload (posts in eleven
 * languages, tags written as clients write them, one post deleted) goes through the real
 * firehose and indexer; the store's counts, the scheduler's top posters per language and
 * the API's answers must equal the ground truth computed from the workload itself.
 */
import assert from "node:assert/strict";
import { LANGUAGE_WINDOWS, type LanguageIndex, statsKeys } from "@bsky/shared/keys";
import { createLogger } from "@bsky/shared/log";
import { settled } from "@bsky/shared/testing/settled";
import { runWorkload } from "@bsky/shared/testing/workload";
import { startChain } from "@bsky/indexer/testing/chain";
import { createApp } from "@bsky/fart/app";
import { didsOf, hiddenIds, languageWindows } from "@bsky/store/queries";
import { computeTruth } from "@bsky/store/testing/truth";
import { loadFartConfig } from "../../fart/config.ts";
import { computeLanguageLists } from "../jobs/language_lists.ts";

Deno.test("posts by language, their top posters and the API's lists equal the workload's ground truth", async () => {
  await using chain = await startChain();
  const { pds, indexer, redisServer } = chain;
  const { truth: events, accounts } = await runWorkload(pds.pdsUrl, pds.adminPassword);
  const truth = computeTruth(events);
  const redis = indexer.redis;
  // What must be counted: each language's posts per author, hidden authors left out.
  const want = new Map<string, Map<string, number>>();
  for (const [lang, byAuthor] of truth.languages) {
    const shown = [...byAuthor].filter(([did]) => !truth.hidden.has(did));
    if (shown.length > 0) want.set(lang, new Map(shown));
  }
  // Anti-vacuity: eleven languages were written, ten still stand (the Spanish and Catalan
  // reply was deleted), some posts in several.
  assert.deepEqual(
    [...want.keys()].sort(),
    [
      "ca",
      "de",
      "en",
      "es",
      "fr",
      "it",
      "ja",
      "ko",
      "nl",
      "pt",
      "uk",
    ].filter((l) => l !== "es" && l !== "ca"),
  );
  assert.equal(want.get("pt")!.get(accounts.alice.did), 2);
  assert.equal(want.get("en")!.get(accounts.bob.did), 2);

  const now = () => Date.now();
  await settled(async () => {
    for (const hours of [1, 24, 72]) {
      // Hidden accounts left out, as the lists do: this waits for the accounts' states too.
      const { byWindow } = await languageWindows(redis, [hours], now(), await hiddenIds(redis));
      const got = new Map<string, Map<string, number>>();
      for (const [lang, byId] of byWindow.get(hours)!) {
        const ids = [...byId.keys()];
        const dids = await didsOf(redis, ids);
        got.set(lang, new Map(ids.map((id, k) => [dids[k]!, byId.get(id)!])));
      }
      assert.deepEqual(got, want, `posts by language over ${hours} h`);
    }
  }, 30_000);

  // The scheduler's lists: every language, its posters most first.
  const at = now();
  await computeLanguageLists(redis, { size: 10, now: at });
  const index = JSON.parse((await redis.get(statsKeys.languages))!) as LanguageIndex;
  for (const window of LANGUAGE_WINDOWS) {
    assert.deepEqual(
      index.windows[window].map((l) => [l.lang, l.posts, l.posters]).sort(),
      [...want].map(([lang, m]) => [lang, [...m.values()].reduce((a, b) => a + b), m.size])
        .sort(),
      window,
    );
  }

  // The API serves them with profiles: Alice is the one who wrote most in Portuguese.
  const api = createApp({
    redis,
    config: loadFartConfig((n) => ({ REDIS_URL: redisServer.url, FART_PLC_URL: pds.plcUrl })[n]),
    log: createLogger("test", { level: "error", write: () => {} }),
  });
  try {
    const get = async (path: string) =>
      await (await api.fetch(new Request(`http://api.test${path}`), {
        remoteAddr: { hostname: "127.0.0.1" },
      })).json();
    for (const [lang, byAuthor] of want) {
      for (const window of LANGUAGE_WINDOWS) {
        const body = await get(`/v1/stats/top?metric=posts&lang=${lang}&window=${window}`);
        assert.deepEqual(
          new Map(body.items.map((i: { did: string; count: number }) => [i.did, i.count])),
          byAuthor,
          `${lang} ${window}`,
        );
        const counts = body.items.map((i: { count: number }) => i.count);
        assert.deepEqual(counts, [...counts].sort((a: number, b: number) => b - a));
      }
    }
    const pt = await get("/v1/stats/top?metric=posts&lang=pt");
    assert.equal(pt.items[0].handle, accounts.alice.handle);
    assert.deepEqual(
      (await get("/v1/stats/top?metric=posts&lang=es")).items,
      [],
      "the deleted reply's language has no posts left",
    );
  } finally {
    api.close();
  }
});
