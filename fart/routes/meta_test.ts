import assert from "node:assert/strict";
import { createLogger } from "@bsky/shared/log";
import { loadIndexerConfig } from "@bsky/indexer/config";
import { startIndexer } from "@bsky/indexer/service";
import { storeKeys } from "@bsky/store/layout";
import { DEFAULT_WEIGHTS } from "@bsky/store/queries";
import { openApiDocument } from "../openapi.ts";
import { MAX_LIMIT, metaAnswer } from "../schemas.ts";
import { withTestApi } from "../testing/api.ts";

const quiet = createLogger("indexer", { write: () => {} });
const A = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";

Deno.test("GET /v1/meta states the indexer's defaults before it first ran, the weights, the windows and the largest limit, in exactly this shape", async () => {
  await withTestApi({}, async ({ get }) => {
    const res = await get("/v1/meta");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "public, max-age=60");
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    const body = await res.json();
    assert.deepEqual(body, {
      retentionDays: 30,
      recordMemoryHours: 48,
      weights: { like: 1, repost: 2, reply: 3, quote: 3, mention: 2 },
      windows: ["24h", "7d", "30d"],
      maxLimit: 100,
    });
    assert.deepEqual(body.weights, { ...DEFAULT_WEIGHTS });
    assert.deepEqual(metaAnswer.strict().parse(body), body, "what /openapi.json describes");
    const again = await get("/v1/meta", { headers: { "if-none-match": res.headers.get("etag")! } });
    assert.equal(again.status, 304);
    const wrong = await get("/v1/meta?window=7d");
    assert.equal(wrong.status, 400);
    assert.equal((await wrong.json()).parameter, "window");
  });
});

Deno.test("GET /v1/meta states what the indexer keeps once it started with other settings, and falls back to the defaults for a value that is no whole number", async () => {
  await withTestApi({}, async ({ get, redis, redisUrl }) => {
    const indexer = await startIndexer(
      loadIndexerConfig((n) =>
        ({
          REDIS_URL: redisUrl,
          INDEXER_METRICS_PORT: "0",
          INDEXER_RETENTION_DAYS: "14",
          INDEXER_RECORD_MEMORY_HOURS: "36",
        })[n]
      ),
      quiet,
    );
    try {
      const body = await (await get("/v1/meta")).json();
      assert.equal(body.retentionDays, 14);
      assert.equal(body.recordMemoryHours, 36);
      assert.equal(body.maxLimit, 100);
    } finally {
      await indexer.stop();
    }
    await redis.hset(storeKeys.settings, "retentionDays", "lots");
    const body = await (await get("/v1/meta")).json();
    assert.equal(body.retentionDays, 30);
    assert.equal(body.recordMemoryHours, 36);
  });
});

Deno.test("the windows and the limit /v1/meta states are what the API takes: each window and the largest limit pass, a limit past it is a 400", async () => {
  await withTestApi({}, async ({ get, applier }) => {
    await applier.apply([{ v: 1, kind: "identity", seq: 1, time: 0, did: A, handle: "a.test" }]);
    const { windows, maxLimit } = await (await get("/v1/meta")).json();
    for (const window of windows) {
      const res = await get(`/v1/interactions/a.test?window=${window}&limit=${maxLimit}`);
      assert.equal(res.status, 200, window);
      assert.equal((await res.json()).window, window);
    }
    const past = await get(`/v1/interactions/a.test?limit=${MAX_LIMIT + 1}`);
    assert.equal(past.status, 400);
    assert.equal((await past.json()).parameter, "limit");
    const doc = openApiDocument() as { paths: Record<string, { get: unknown }> };
    assert.ok(doc.paths["/v1/meta"].get, "described in /openapi.json");
  });
});
