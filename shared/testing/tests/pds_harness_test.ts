import assert from "node:assert/strict";
import { decodeFirst } from "@atcute/cbor";
import { startPds } from "../pds.ts";
import { PdsClient } from "../pds_client.ts";

interface Frame {
  t: string;
  body: Record<string, unknown>;
}

/** Reads the firehose from `cursor=0` until `done` says so or `timeoutMs` pass. */
async function readFirehose(
  firehoseUrl: string,
  done: (frames: Frame[]) => boolean,
  timeoutMs = 20_000,
): Promise<Frame[]> {
  const frames: Frame[] = [];
  const ws = new WebSocket(`${firehoseUrl}/xrpc/com.atproto.sync.subscribeRepos?cursor=0`);
  ws.binaryType = "arraybuffer";
  const closed = new Promise<void>((resolve) => ws.onclose = () => resolve());
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(resolve, timeoutMs);
      ws.onerror = (e) => reject(new Error(`Firehose failed: ${(e as ErrorEvent).message}`));
      ws.onmessage = (e) => {
        const [header, rest] = decodeFirst(new Uint8Array(e.data as ArrayBuffer));
        const [body] = decodeFirst(rest);
        frames.push({ t: header.t ?? `error:${body.error}`, body });
        if (done(frames)) resolve();
      };
    });
  } finally {
    clearTimeout(timer);
    ws.close();
    await closed;
  }
  return frames;
}

Deno.test("the local PDS firehose carries commits, identity and account events for every kind of write", async () => {
  await using pds = await startPds();
  const client = new PdsClient(pds.pdsUrl, { adminPassword: pds.adminPassword });

  let writes = 0;
  const count = async <T>(write: Promise<T>): Promise<T> => {
    const out = await write;
    writes++;
    return out;
  };

  const alice = await count(client.createAccount("alice"));
  const bob = await count(client.createAccount("bob"));
  const carol = await count(client.createAccount("carol"));
  assert.equal(alice.handle, "alice.test");
  assert.match(alice.did, /^did:plc:/);

  const root = await count(alice.post({ text: "hello world", langs: ["en"] }));
  await count(bob.post({ text: "hi alice", reply: { root, parent: root } }));
  await count(carol.post({ text: "look at this", quote: root, quoteWithMedia: true }));
  await count(alice.post({ text: "héllo 👋 @bob.test, meet", mentions: [bob, carol] }));
  const like = await count(bob.like(root));
  await count(carol.repost(root));
  await count(alice.follow(bob.did));
  await count(bob.block(carol.did));
  await count(bob.deleteRecord(like.uri));
  await count(alice.putProfile({ displayName: "Alice", avatar: true }));
  await count(bob.updateHandle("bob2"));
  await count(carol.deactivate());
  await count(carol.activate());
  await count(client.takedown(carol.did));
  assert.equal(bob.handle, "bob2.test");

  const frames = await readFirehose(
    pds.firehoseUrl,
    (frames) => frames.some((f) => f.t === "#account" && f.body.status === "takendown"),
  );
  const kinds = Map.groupBy(frames, (f) => f.t);
  assert.ok(frames.length >= writes, `${frames.length} frames for ${writes} writes`);
  assert.deepEqual([...kinds.keys()].filter((t) => !t.startsWith("#")), [], "error frames");

  const commits = kinds.get("#commit") ?? [];
  const ops = commits.flatMap((f) => f.body.ops as { action: string; path: string }[]);
  for (
    const collection of [
      "app.bsky.feed.post",
      "app.bsky.feed.like",
      "app.bsky.feed.repost",
      "app.bsky.graph.follow",
      "app.bsky.graph.block",
      "app.bsky.actor.profile",
    ]
  ) {
    assert.ok(ops.some((op) => op.path.startsWith(`${collection}/`)), `a ${collection} op`);
  }
  assert.ok(ops.some((op) => op.action === "delete" && op.path.endsWith(`/${like.rkey}`)));

  const identities = kinds.get("#identity") ?? [];
  assert.ok(identities.some((f) => f.body.did === bob.did && f.body.handle === "bob2.test"));
  const accounts = (kinds.get("#account") ?? []).filter((f) => f.body.did === carol.did);
  assert.deepEqual(
    accounts.map((f) => [f.body.active, f.body.status ?? null]),
    [[true, null], [false, "deactivated"], [true, null], [false, "takendown"]],
  );
});
