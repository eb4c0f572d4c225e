/**
 * The tasker meets crashes and a failing PDS, on the real chain (a local PDS and PLC, Redis,
 * the firehose, the indexer, the API) with the tasker as its own process: it is killed with
 * SIGKILL at the two points where a reply could be doubled or lost, and a proxy in front of
 * the real PDS answers 500, then 429 with `ratelimit-reset`, and an expired token. Each
 * mention still gets exactly one reply. One PDS serves every step.
 */
import assert from "node:assert/strict";
import { connectRedis } from "@bsky/shared/redis";
import type { Account } from "@bsky/shared/testing/pds_client";
import { settled } from "@bsky/shared/testing/settled";
import { runWorkload } from "@bsky/shared/testing/workload";
import { taskerKeys } from "../ledger.ts";
import { FaultProxy } from "../testing/fault_proxy.ts";
import { oneReply, repliesTo, startBotWorld, TaskerProcess } from "../testing/bot.ts";

Deno.test("the tasker replies exactly once across crashes and a failing PDS", async (t) => {
  await using world = await startBotWorld();
  const { chain, bot } = world;
  const { pds } = chain;
  const { accounts } = await runWorkload(pds.pdsUrl, pds.adminPassword);
  const { alice, bob, dave } = accounts;
  await settled(async () => {
    const res = await fetch(`${world.apiUrl}/v1/interactions/${dave.did}?window=7d`);
    assert.ok((await res.json()).items?.length > 0, "the store has the workload");
  });
  const redis = await connectRedis(chain.redisServer.url, { name: "test" });
  const env = { ...world.taskerEnv, TASKER_COOLDOWN_SECONDS: "0" };
  const mention = (who: Account, text: string) =>
    who.post({ text: `@${bot.handle} ${text}`, mentions: [{ did: bot.did, handle: bot.handle }] });
  const held = (point: string) => (l: Record<string, unknown>) =>
    l.msg === "Holding at a test crash point" && l.at === point;
  const state = (uri: string) => redis.hget(taskerKeys.mention(uri), "state");

  try {
    await t.step(
      "killed between uploading the image and creating the post, the tasker replies once after a restart",
      async () => {
        await using tasker = new TaskerProcess(env);
        await tasker.start({ TASKER_TEST_CRASH_AT: "after_upload" });
        await world.watching();
        const asked = await mention(alice, "circles");
        await tasker.line(held("after_upload"));
        await tasker.kill("SIGKILL");
        assert.deepEqual(await repliesTo(pds.pdsUrl, bot.did, asked.uri), [], "nothing posted yet");
        assert.equal(await state(asked.uri), "planned");
        await using again = new TaskerProcess(env);
        await again.start();
        const reply = await oneReply(pds.pdsUrl, bot.did, asked.uri);
        assert.equal(reply.value.embed.$type, "app.bsky.embed.images");
        await settled(async () => assert.equal(await state(asked.uri), "done"));
        assert.equal((await repliesTo(pds.pdsUrl, bot.did, asked.uri)).length, 1);
      },
    );

    await t.step(
      "killed between creating the post and recording it, the restarted tasker finds the reply instead of posting another",
      async () => {
        await using tasker = new TaskerProcess(env);
        await tasker.start({ TASKER_TEST_CRASH_AT: "after_post" });
        const asked = await mention(bob, "circles 30d");
        await tasker.line(held("after_post"));
        await tasker.kill("SIGKILL");
        const [posted] = await repliesTo(pds.pdsUrl, bot.did, asked.uri);
        assert.ok(posted, "the reply was posted before the kill");
        assert.equal(await state(asked.uri), "planned");
        await using again = new TaskerProcess(env);
        await again.start();
        await settled(async () => assert.equal(await state(asked.uri), "done"));
        assert.equal(await redis.hget(taskerKeys.mention(asked.uri), "reply"), posted.uri);
        assert.deepEqual(
          (await repliesTo(pds.pdsUrl, bot.did, asked.uri)).map((r) => r.uri),
          [posted.uri],
        );
      },
    );

    await t.step(
      "the PDS answering 500, then 429 with ratelimit-reset, and an expired token: the tasker waits, signs in again and replies once",
      async () => {
        await using proxy = new FaultProxy(pds.pdsUrl);
        let reset = 0;
        proxy.faults.push(
          { nsid: "com.atproto.repo.uploadBlob", status: 400, error: "ExpiredToken" },
          { nsid: "com.atproto.repo.createRecord", status: 500, error: "InternalServerError" },
          {
            nsid: "com.atproto.repo.createRecord",
            status: 429,
            error: "RateLimitExceeded",
            headers: (now) => {
              reset = Math.ceil(now / 1000) + 3;
              return { "ratelimit-reset": String(reset), "ratelimit-remaining": "0" };
            },
          },
        );
        await using tasker = new TaskerProcess({ ...env, TASKER_SERVICE_URL: proxy.url });
        await tasker.start();
        const asked = await mention(dave, "circles");
        const reply = await oneReply(pds.pdsUrl, bot.did, asked.uri, 60_000);
        await settled(async () => assert.equal(await state(asked.uri), "done"));
        const calls = proxy.seen.map((s) => `${s.nsid} ${s.status}`);
        const creates = proxy.seen.filter((s) => s.nsid === "com.atproto.repo.createRecord");
        assert.deepEqual(creates.map((s) => s.status), [500, 429, 200], calls.join("\n"));
        // It waited for the reset the 429 named, and signed in again after the expired token.
        assert.ok(creates[2].at >= reset * 1000 - 50, `${creates[2].at} after ${reset * 1000}`);
        assert.ok(calls.includes("com.atproto.server.refreshSession 200"), calls.join("\n"));
        assert.ok(reply.value.embed.images[0].image.ref.$link);
        assert.equal((await repliesTo(pds.pdsUrl, bot.did, asked.uri)).length, 1);
        assert.ok(
          await tasker.metric("tasker_retries_total") === 0,
          "no retry of the mention itself",
        );
      },
    );
  } finally {
    redis.disconnect();
  }
});
