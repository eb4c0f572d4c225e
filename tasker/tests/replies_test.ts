/**
 * The tasker against the real chain: a local PDS and PLC, Redis, the firehose and the
 * indexer, the API as its own process, and the tasker as its own process with its scoped
 * flags, signed in to a bot account with an app password. People mention the bot; what the
 * bot posts back is read from its repo on the PDS and compared with the workload's ground
 * truth. One PDS serves every step.
 */
import assert from "node:assert/strict";
import { computeTruth, expectedTop } from "@bsky/store/testing/truth";
import { loadSchedulerConfig } from "@bsky/scheduler/config";
import { jobsOf } from "@bsky/scheduler/jobs";
import { connectRedis } from "@bsky/shared/redis";
import type { Account, RecordRef } from "@bsky/shared/testing/pds_client";
import { settled } from "@bsky/shared/testing/settled";
import { runWorkload } from "@bsky/shared/testing/workload";
import { pngSize } from "../api.ts";
import { oneReply, repliesTo, startBotWorld, TaskerProcess } from "../testing/bot.ts";

const bytes = new TextEncoder();

Deno.test("the tasker answers mentions of the bot on a real PDS, once each, as asked", async (t) => {
  await using world = await startBotWorld();
  const { chain, client, bot } = world;
  const { pds } = chain;
  const { truth: events, accounts } = await runWorkload(pds.pdsUrl, pds.adminPassword);
  const truth = computeTruth(events);
  const { alice, bob, carol, dave } = accounts;
  // The store has the workload: alice's interactions are served.
  await settled(async () => {
    const res = await fetch(`${world.apiUrl}/v1/interactions/${alice.did}?window=7d&limit=100`);
    const body = await res.json();
    assert.equal(body.items?.length, expectedTop(truth, alice.did, "both").size);
  });
  await using tasker = new TaskerProcess(world.taskerEnv);
  await tasker.start();
  await world.watching();

  const at = `@${bot.handle}`;
  const mention = (
    who: Account,
    text: string,
    extra: Partial<Parameters<Account["post"]>[0]> = {},
  ) => who.post({ text, mentions: [{ did: bot.did, handle: bot.handle }], ...extra });
  const outcome = (name: string) => tasker.metric(`tasker_replies_total{outcome="${name}"}`);
  /** Waits until the tasker counts one more mention with `name`, then checks no reply came. */
  const unanswered = async (name: string, post: () => Promise<RecordRef>) => {
    const before = await outcome(name);
    const ref = await post();
    await settled(async () => assert.equal(await outcome(name), before + 1, name));
    assert.deepEqual(await repliesTo(pds.pdsUrl, bot.did, ref.uri), [], `no reply (${name})`);
    return ref;
  };
  const answered: RecordRef[] = [];

  await t.step(
    'a user who mentions the bot with "circles 7d" gets one reply in the thread, with a PNG the PDS serves and alt text naming their counterparts',
    async () => {
      const asked = await mention(alice, `${at} circles 7d`);
      answered.push(asked);
      const reply = await oneReply(pds.pdsUrl, bot.did, asked.uri);
      const post = reply.value;
      assert.deepEqual(post.reply, {
        root: { uri: asked.uri, cid: asked.cid },
        parent: { uri: asked.uri, cid: asked.cid },
      });
      assert.deepEqual(post.langs, ["en"]);
      assert.match(
        post.text,
        /^Your interaction circles over the last 7 days \(sent and received\)\. /,
      );
      // The link to the account's page, at the right bytes.
      assert.equal(post.facets.length, 1);
      const { index, features } = post.facets[0];
      assert.equal(
        new TextDecoder().decode(bytes.encode(post.text).slice(index.byteStart, index.byteEnd)),
        "See them on the site",
      );
      assert.deepEqual(features, [{
        $type: "app.bsky.richtext.facet#link",
        uri: "https://circles.example/c/alice.test?rings=3&direction=both&window=7d",
      }]);
      // The image: a PNG blob the PDS serves, the size its aspect ratio says.
      const [image] = post.embed.images;
      assert.equal(post.embed.$type, "app.bsky.embed.images");
      assert.equal(image.image.mimeType, "image/png");
      const blob = await fetch(
        `${pds.pdsUrl}/xrpc/com.atproto.sync.getBlob?did=${bot.did}&cid=${image.image.ref.$link}`,
      );
      assert.equal(blob.status, 200);
      const png = new Uint8Array(await blob.arrayBuffer());
      assert.equal(png.length, image.image.size);
      assert.deepEqual(pngSize(png), image.aspectRatio);
      assert.equal(image.aspectRatio.width, 1200);
      // Everyone alice interacted with is named; nobody else but the bot she just mentioned.
      assert.match(
        image.alt,
        /^Interaction circles of @alice\.test over the last 7 days \(sent and received\)\. Inner ring: /,
      );
      const named = [...image.alt.matchAll(/@([a-z0-9.-]+\.test)/g)].map((m) => m[1]).slice(1);
      const want = [...expectedTop(truth, alice.did, "both").keys()].map((did) =>
        truth.handles.get(did)!
      );
      assert.ok(want.length >= 3, "alice has counterparts");
      assert.deepEqual(named.filter((h) => h !== bot.handle).sort(), want.sort());
    },
  );

  await t.step(
    'a mention in Portuguese ("bolas") gets its reply in Portuguese, its link at the right bytes after accented text',
    async () => {
      const asked = await mention(bob, `${at} bolas 24h recebidas`);
      answered.push(asked);
      const { value: post } = await oneReply(pds.pdsUrl, bot.did, asked.uri);
      assert.deepEqual(post.langs, ["pt"]);
      assert.equal(
        post.text,
        "Seus círculos de interação nas últimas 24 horas (recebidas). Veja no site",
      );
      const { index, features } = post.facets[0];
      const text = bytes.encode(post.text);
      assert.equal(
        new TextDecoder().decode(text.slice(index.byteStart, index.byteEnd)),
        "Veja no site",
      );
      assert.equal(index.byteEnd, text.length);
      assert.equal(
        features[0].uri,
        "https://circles.example/c/robert.test?rings=3&direction=received&window=24h",
      );
      assert.match(
        post.embed.images[0].alt,
        /^Círculos de interação de @robert\.test nas últimas 24 horas \(recebidas\)\. Anel interno: /,
      );
    },
  );

  await t.step(
    "a mention inside a reply thread is answered under the thread's root, with the mention as parent",
    async () => {
      const root = await alice.post({ text: "a thread" });
      const middle = await dave.post({ text: "in the thread", reply: { root, parent: root } });
      const asked = await mention(carol, `${at} círculos`, {
        reply: { root, parent: middle },
        langs: ["pt"],
      });
      answered.push(asked);
      const { value: post } = await oneReply(pds.pdsUrl, bot.did, asked.uri);
      assert.deepEqual(post.reply, {
        root: { uri: root.uri, cid: root.cid },
        parent: { uri: asked.uri, cid: asked.cid },
      });
      assert.deepEqual(post.langs, ["pt"]);
    },
  );

  await t.step(
    'a request within the cooldown gets one "try again" reply, and the next one none',
    async () => {
      const asked = await mention(alice, `${at} circles`);
      answered.push(asked);
      const { value: post } = await oneReply(pds.pdsUrl, bot.did, asked.uri);
      assert.equal(post.text, "You asked a moment ago: try again in 10 minutes.");
      assert.equal(post.embed, undefined);
      await unanswered("silent", () => mention(alice, `${at} circles 30d`));
    },
  );

  await t.step('"help" gets a short usage reply; an unknown command gets none', async () => {
    const asked = await mention(dave, `${at} help`);
    answered.push(asked);
    const { value: post } = await oneReply(pds.pdsUrl, bot.did, asked.uri);
    assert.match(post.text, /^Mention me with "circles" for a picture/);
    const eve = await client.createAccount("eve");
    await unanswered("no_command", () => mention(eve, `${at} what is this?`));
    // "ajuda" in Portuguese, beside a handle that holds a command word: help, not top.
    const fan = await client.createAccount("top-fan");
    const asked2 = await mention(fan, `${at} @${fan.handle} ajuda por favor`);
    answered.push(asked2);
    const { value: help } = await oneReply(pds.pdsUrl, bot.did, asked2.uri);
    assert.match(help.text, /^Mencione-me com "bolas" ou "círculos"/);
  });

  await t.step(
    "an account with no interactions gets a kind text instead of an empty picture",
    async () => {
      const ivan = await client.createAccount("ivan");
      const asked = await mention(ivan, `${at} circles`);
      answered.push(asked);
      const { value: post } = await oneReply(pds.pdsUrl, bot.did, asked.uri);
      assert.match(post.text, /^I found no interactions of yours over the last 7 days yet\./);
      assert.equal(post.embed, undefined);
    },
  );

  await t.step('"top" gets the 24-hour list of the most liked accounts as text', async () => {
    const config = loadSchedulerConfig(() => undefined);
    const redis = await connectRedis(chain.redisServer.url, { name: "test" });
    try {
      await jobsOf(config).find((j) => j.name === "top")!.run(redis, Date.now());
    } finally {
      redis.disconnect();
    }
    const list =
      await (await fetch(`${world.apiUrl}/v1/stats/top?metric=likes_received&window=24h`)).json();
    const hank = await client.createAccount("hank");
    const asked = await mention(hank, `${at} top`);
    answered.push(asked);
    const { value: post } = await oneReply(pds.pdsUrl, bot.did, asked.uri);
    const lines = post.text.split("\n");
    assert.equal(lines[0], "Most liked accounts over the last 24 hours:");
    assert.deepEqual(
      lines.slice(1),
      list.items.slice(0, 10).map((i: { handle: string; count: number }, k: number) =>
        `${k + 1}. @${i.handle} (${i.count})`
      ),
    );
    assert.ok(lines.length > 1);
  });

  await t.step(
    "the bot never answers itself, posts older than the maximum age, or an account that opted out",
    async () => {
      await unanswered(
        "self",
        () => bot.post({ text: `${at} circles`, mentions: [{ did: bot.did, handle: bot.handle }] }),
      );
      // A post whose author dates it an hour back (an import) is too old, whatever its commit time.
      const old = await client.createAccount("frank");
      await unanswered("too_old", () =>
        old.createRecord("app.bsky.feed.post", {
          text: `${at} circles`,
          createdAt: new Date(Date.now() - 3_600_000).toISOString(),
          facets: [{
            index: { byteStart: 0, byteEnd: bytes.encode(at).length },
            features: [{ $type: "app.bsky.richtext.facet#mention", did: bot.did }],
          }],
        }));
      // gina opts out through the API's code, posted from her account; then asks.
      const gina = await client.createAccount("gina");
      await gina.like(await alice.post({ text: "hi gina" }));
      await settled(async () => {
        const res = await fetch(`${world.apiUrl}/v1/interactions/${gina.did}`);
        await res.body?.cancel();
        assert.equal(res.status, 200);
      });
      const code =
        await (await fetch(`${world.apiUrl}/v1/optout/${gina.did}?action=out`, { method: "POST" }))
          .json();
      await gina.post({ text: code.text });
      await settled(async () => {
        const res = await fetch(`${world.apiUrl}/v1/interactions/${gina.did}`);
        await res.body?.cancel();
        assert.equal(res.status, 410, "gina is hidden");
      });
      await unanswered("opted_out", () => mention(gina, `${at} circles`));
    },
  );

  await t.step("every answered mention still has exactly one reply", async () => {
    for (const asked of answered) {
      assert.equal((await repliesTo(pds.pdsUrl, bot.did, asked.uri)).length, 1, asked.uri);
    }
    assert.ok(await tasker.metric("tasker_mentions_total") >= answered.length + 4);
  });
});
