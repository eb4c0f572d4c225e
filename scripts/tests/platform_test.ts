/**
 * The whole platform, proven end to end on real Bluesky software: a local PDS and PLC drive
 * a scripted workload; Redis, the firehose, the indexer, the scheduler, the API and the
 * site run as separate processes with the flags `deno task start` gives them. The API's
 * answers, the site's circles tables and the scheduler's top lists are compared with the
 * workload's ground truth; then every service in turn is killed with SIGKILL (and Redis
 * too) while the workload goes on, and everything is compared again: nothing lost,
 * nothing doubled.
 */
import assert from "node:assert/strict";
import { computeTruth, expectedTop } from "@bsky/store/testing/truth";
import { startPds } from "@bsky/shared/testing/pds";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { settled } from "@bsky/shared/testing/settled";
import { runWorkload, type TruthEvent } from "@bsky/shared/testing/workload";
import { Platform } from "../testing/platform.ts";
import { check, checkTop, platformEnv, round } from "../testing/platform_checks.ts";

Deno.test("the whole platform, as separate processes, shows exactly the workload, also after each part is killed", async () => {
  await using pds = await startPds();
  await using redis = await startRedisServer({ appendOnly: true, appendFsync: "always" });
  const env = platformEnv(pds, { REDIS_URL: redis.url });
  await using platform = new Platform(env);
  await platform.startAll();

  const { truth: events, accounts: byName } = await runWorkload(pds.pdsUrl, pds.adminPassword);
  const accounts = [byName.alice, byName.bob, byName.carol, byName.dave];
  await settled(() => check(env, accounts, events), 60_000);
  // The site's calls came with its key.
  const metrics = await (await fetch(`http://127.0.0.1:${env.FART_METRICS_PORT}/metrics`)).text();
  assert.match(metrics, /fart_key_requests_total\{key="site"\} [1-9]/);
  // Anti-vacuity: the workload made interactions in every direction.
  assert.ok(expectedTop(computeTruth(events), byName.alice.did, "mutual").size > 0);

  // Each service in turn, then Redis, is killed while the workload goes on.
  let n = 0;
  for (const name of [...platform.names, "redis"]) {
    if (name === "redis") await redis.kill();
    else await platform.kill(name);
    if (name !== "redis") await round(accounts, n++, events);
    if (name === "redis") await redis.start();
    else await platform.start(name);
    await round(accounts, n++, events);
  }
  assert.ok(n >= 10);
  await settled(() => check(env, accounts, events), 90_000);
  // The scheduler's lists (it runs every minute here) count the same.
  await settled(() => checkTop(env, events), 150_000, 1000);

  // Dave opts out through the site and posts the code: he is gone from every answer.
  const dave = byName.dave;
  const others = accounts.filter((a) => a !== dave);
  const optCode = async (action: "out" | "in") => {
    const res = await fetch(`http://127.0.0.1:${env.SITE_PORT}/optout`, {
      method: "POST",
      body: new URLSearchParams({ handle: dave.handle, action }),
      redirect: "manual",
    });
    assert.equal(res.status, 303);
    const code = res.headers.get("location")!.match(/code=(\w+)/)![1];
    await dave.post({ text: `Hiding from circles: circles-${action}-${code}` });
    return code;
  };
  const codeOut = await optCode("out");
  const hidden = [...events, { kind: "account", did: dave.did, active: false } as TruthEvent];
  await settled(
    async () => {
      const res = await fetch(`${env.FART_URL}/v1/interactions/${dave.did}`);
      assert.equal(res.status, 410);
      assert.match((await res.json()).message, /opted out/);
      await check(env, others, hidden);
    },
    60_000,
    500,
  );
  const state = await fetch(`http://127.0.0.1:${env.SITE_PORT}/optout?code=${codeOut}`);
  assert.match(await state.text(), /data-state="done"/);
  // And back in.
  await optCode("in");
  await settled(() => check(env, accounts, events), 60_000, 500);
});
