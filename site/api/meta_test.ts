import assert from "node:assert/strict";
import { ApiError } from "./errors.ts";
import { apiMeta } from "./meta.ts";

const META = {
  retentionDays: 30,
  recordMemoryHours: 48,
  weights: { like: 1, repost: 2, reply: 3, quote: 3, mention: 1 },
  windows: ["24h", "7d", "30d"],
  maxLimit: 100,
};

/** An API whose /v1/meta answer is whatever `answer` holds, the same object while kept. */
function keptAnswer() {
  const api = {
    answer: structuredClone(META) as unknown,
    calls: 0,
    json<T>(path: string): Promise<T> {
      assert.equal(path, "/v1/meta");
      api.calls++;
      if (api.answer instanceof ApiError) return Promise.reject(api.answer);
      return Promise.resolve(api.answer as T);
    },
    post: () => Promise.reject(new Error("no")),
    image: () => Promise.reject(new Error("no")),
  };
  return api;
}

Deno.test("the API's settings are checked once per answer: a kept answer gives the same figures, a new one is checked again", async () => {
  const api = keptAnswer();
  const first = await apiMeta(api);
  assert.deepEqual(first, META);
  const again = await apiMeta(api);
  assert.equal(again, first, "the kept answer's figures are not checked and copied again");
  assert.equal(api.calls, 2);

  // A new answer (the kept one expired) out of bounds: checked, and left out.
  api.answer = { ...structuredClone(META), retentionDays: 0 };
  assert.equal(await apiMeta(api), undefined);
  assert.equal(await apiMeta(api), undefined);
  api.answer = { ...structuredClone(META), windows: ["<b>"] };
  assert.equal(await apiMeta(api), undefined);

  // And a new good one is taken as it is.
  api.answer = { ...structuredClone(META), retentionDays: 7 };
  const fresh = await apiMeta(api);
  assert.equal(fresh?.retentionDays, 7);
  assert.notEqual(fresh, first);

  for (const answer of [null, 3, "x", [META]]) {
    api.answer = answer;
    assert.equal(await apiMeta(api), undefined, JSON.stringify(answer));
  }
  api.answer = new ApiError("down", 503, "away");
  assert.equal(await apiMeta(api), undefined);
});
