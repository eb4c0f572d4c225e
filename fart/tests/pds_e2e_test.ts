/**
 * The API against the real chain: a real local PDS and PLC drive a scripted workload
 * through the real firehose and indexer into Redis, and the API runs as its own process
 * with the permissions `deno task start` gives it. Every answer is compared with the
 * workload's ground truth; handles, DID documents and avatars come from the real PDS/PLC.
 */
import assert from "node:assert/strict";
import { decode } from "fast-png";
import { PdsClient } from "@bsky/shared/testing/pds_client";
import { freePort } from "@bsky/shared/testing/redis_server";
import { runWorkload } from "@bsky/shared/testing/workload";
import type { Direction } from "@bsky/store/queries";
import { startChain } from "@bsky/indexer/testing/chain";
import { computeTruth, expectedTop } from "@bsky/store/testing/truth";
import { settled } from "@bsky/shared/testing/settled";
import { spawnFart } from "../testing/spawn.ts";
import { parseXml } from "../testing/xml.ts";

/** Controls, a right-to-left override, markup and a ZWJ emoji, within the lexicon's limits. */
const UNFIT = "Null\u0000Bell\u0007 \u202Egpj.exe ]]> <b>&amp; 👩‍👩‍👧‍👦";
/** How it is printed. */
const PRINTED = "NullBell gpj.exe ]]> <b>&amp; 👩‍👩‍👧‍👦";

Deno.test("the API's answers equal the workload's ground truth, from a real PDS through every service", async () => {
  await using chain = await startChain();
  const { pds, redisServer, indexer } = chain;
  const port = freePort();
  const api = await spawnFart({
    REDIS_URL: redisServer.url,
    FART_PORT: String(port),
    FART_CACHE_SECONDS: "1",
    FART_PLC_URL: pds.plcUrl,
    FART_HANDLE_RESOLVER_URL: pds.pdsUrl,
    FART_AVATAR_CDN_URL: pds.pdsUrl,
    LOG_LEVEL: "error",
  });
  const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);
  try {
    const { truth: events, accounts } = await runWorkload(pds.pdsUrl, pds.adminPassword);
    const client = new PdsClient(pds.pdsUrl, { adminPassword: pds.adminPassword });
    await client.takedown(accounts.dave.did);
    events.push({ kind: "account", did: accounts.dave.did, active: false, status: "takendown" });
    await accounts.bob.putProfile({ displayName: "Robert", avatar: true });
    const truth = computeTruth(events);
    const shown = [accounts.alice, accounts.bob, accounts.carol];
    await settled(async () => {
      for (const account of shown) {
        for (const direction of ["sent", "received", "both", "mutual"] as Direction[]) {
          for (const window of ["1h", "24h", "7d"]) {
            const actor = account === accounts.bob ? "@robert.test" : account.did;
            const res = await get(
              `/v1/interactions/${actor}?direction=${direction}&window=${window}&limit=100`,
            );
            assert.equal(res.status, 200, `${actor} ${direction} ${window}`);
            const body = await res.json();
            assert.equal(body.actor.did, account.did);
            const got = new Map(
              body.items.map((
                { did, like, repost, reply, quote, mention, score }: Record<string, number>,
              ) => [did, { like, repost, reply, quote, mention, score }]),
            );
            assert.deepEqual(
              got,
              expectedTop(truth, account.did, direction),
              `${actor} ${direction}`,
            );
          }
        }
      }
    });
    // Anti-vacuity: someone interacted with someone.
    assert.ok(expectedTop(truth, accounts.alice.did, "both").size > 0);

    const dave = await get(`/v1/interactions/${accounts.dave.did}`);
    assert.equal(dave.status, 410, "a taken-down account is gone");
    await dave.body?.cancel();
    const oldHandle = await get("/v1/interactions/bob.test");
    assert.equal(oldHandle.status, 404, "a handle nobody has any more is not found");
    await oldHandle.body?.cancel();

    // A handle the local index misses resolves through the PDS.
    const redis = indexer.redis;
    const [member] = await redis.zrangebylex("hx:{g}", "[alice.test\0", "[alice.test\0\xff");
    await redis.zrem("hx:{g}", member);
    const viaNetwork = await get("/v1/interactions/alice.test?window=24h");
    assert.equal(viaNetwork.status, 200);
    assert.equal((await viaNetwork.json()).actor.did, accounts.alice.did);

    // Bob's avatar comes from his PDS (the CDN has none), through the DID document.
    await settled(async () => {
      const res = await get(`/v1/avatar/${accounts.bob.did}`);
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(res.headers.get("content-type"), "image/png");
      await res.body?.cancel();
    });
    const png = await get(`/v1/circles/${accounts.bob.did}.png?width=1200&rings=2`);
    assert.equal(png.status, 200);
    const image = decode(new Uint8Array(await png.arrayBuffer()));
    assert.equal(image.width, 1200);
    assert.equal(image.height, 1200);
    const search = await (await get("/v1/actors/search?q=rob")).json();
    assert.deepEqual(search.items.map((i: { did: string }) => i.did), [accounts.bob.did]);

    // A name unfit to print, written through the PDS, still gives a well-formed SVG and a PNG.
    await accounts.carol.putProfile({ displayName: UNFIT });
    const circles = `/v1/circles/${accounts.carol.did}`;
    await settled(async () => {
      const svg = await get(`${circles}.svg`);
      assert.equal(svg.status, 200);
      const label = parseXml(await svg.text()).find((e) => e.name === "title")!.text;
      assert.ok(label.startsWith(`Interaction circles of \u2068${PRINTED}\u2069 (@`), label);
    });
    const unfit = await get(`${circles}.png?width=1200`);
    assert.equal(unfit.status, 200);
    assert.equal(decode(new Uint8Array(await unfit.arrayBuffer())).width, 1200);
  } finally {
    api.kill("SIGTERM");
    await api.status;
  }
});
