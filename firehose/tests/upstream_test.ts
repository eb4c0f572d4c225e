/** Invariant 4: bad upstream data never stops the firehose; it is dropped and counted. */
import assert from "node:assert/strict";
import { encode } from "@atcute/cbor";
import { firehoseKeys } from "@bsky/shared/keys";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { DEFAULT_LIMITS } from "../normalize.ts";
import { normalizeJetstream } from "../sources/jetstream.ts";
import {
  corpusFrames,
  corpusUrl,
  countingStats,
  readStreams,
  startTestFirehose,
  waitFor,
} from "../testing/helpers.ts";
import type { FirehoseEvent } from "@bsky/shared/events";

const frames = await corpusFrames();

/** A WebSocket server that plays a script of messages to each connection. */
function scriptedServer(script: (ws: WebSocket, url: URL, n: number) => void) {
  let connections = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    const n = ++connections;
    socket.onopen = () => script(socket, new URL(req.url), n);
    socket.onerror = () => {};
    return response;
  });
  return {
    url: `ws://127.0.0.1:${server.addr.port}`,
    get connections() {
      return connections;
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

const frame = (header: unknown, body: unknown) => {
  const h = encode(header), b = encode(body);
  const out = new Uint8Array(h.length + b.length);
  out.set(h);
  out.set(b, h.length);
  return out;
};

Deno.test("truncated CBOR, garbage bytes, wrong headers and text are counted, and good frames still land", async () => {
  await using redisServer = await startRedisServer();
  const good = frames[0];
  await using upstream = scriptedServer((ws) => {
    ws.send(good.subarray(0, good.length / 2)); // truncated
    ws.send(crypto.getRandomValues(new Uint8Array(300))); // garbage
    ws.send(frame({ op: 7, t: "#commit" }, { seq: 1 })); // unknown op
    ws.send(frame({ op: 1, t: "#commit" }, { seq: "x" })); // no valid seq
    ws.send(frame({ op: 1, t: "#commit" }, { seq: 5, repo: "did:plc:x", time: "now", ops: 3 }));
    ws.send("not binary");
    ws.send(frame({ op: 1, t: "#info" }, { name: "OutdatedCursor", message: "too old" }));
    ws.send(good);
  });
  const { service } = await startTestFirehose(redisServer.url, upstream.url);
  try {
    await waitFor("the good frame", () => service.subscription.cursor === 31527015322);
    const events = await readStreams(service.redis, firehoseKeys.streams(1));
    assert.equal(events.length, 1);
    assert.equal(events[0].did, "did:plc:wq4aajammjtxdomz3e23667t");
    const m = service.metrics;
    assert.equal(m.dropped.get({ reason: "bad_frame" }), 6);
    assert.equal(m.infos.get({ name: "OutdatedCursor" }), 1);
    assert.equal(upstream.connections, 1, "bad frames do not force a reconnection");
  } finally {
    await service.stop();
  }
});

Deno.test("a silent upstream trips the stall watchdog and an error frame forces a reconnection", async () => {
  await using redisServer = await startRedisServer();
  const cursors: (string | null)[] = [];
  await using upstream = scriptedServer((ws, url, n) => {
    cursors.push(url.searchParams.get("cursor"));
    if (n === 1) ws.send(frames[0]);
    if (n === 2) {
      ws.send(frame({ op: -1 }, { error: "FutureCursor", message: "cursor in the future" }));
      ws.close();
    }
    // Later connections stay silent.
  });
  const { service, log } = await startTestFirehose(redisServer.url, upstream.url, {
    FIREHOSE_STALL_SECONDS: "1",
  });
  try {
    await waitFor("three connections", () => cursors.length >= 3, 20_000).catch((e) => {
      console.error(log.lines.map((l) => JSON.stringify(l)).join("\n"));
      throw e;
    });
    const m = service.metrics;
    assert.ok(m.reconnects.get({ reason: "stall" }) >= 1);
    assert.equal(m.errors.get({ error: "FutureCursor" }), 1);
    // First from nothing, then from the processed frame, then (FutureCursor) from the live tip.
    assert.deepEqual(cursors.slice(0, 3), [null, "31527015322", null]);
  } finally {
    await service.stop();
  }
});

Deno.test("FIREHOSE_SOURCE=jetstream publishes the same events as normalizing the JSON directly", async () => {
  await using redisServer = await startRedisServer();
  const lines = (await Deno.readTextFile(new URL("expected_v1.jsonl", corpusUrl)))
    .split("\n").filter(Boolean)
    .sort((a, b) => JSON.parse(a).time_us - JSON.parse(b).time_us);
  let query: URL | undefined;
  await using upstream = scriptedServer((ws, url) => {
    query = url;
    for (const l of lines) ws.send(l);
    ws.send("{ not json");
  });
  const { service } = await startTestFirehose(redisServer.url, upstream.url, {
    FIREHOSE_SOURCE: "jetstream",
  });
  try {
    const last = JSON.parse(lines.at(-1)!).time_us;
    await waitFor("the last message", () => service.subscription.cursor === last);
    const expected: FirehoseEvent[] = [];
    const { stats } = countingStats();
    for (const l of lines) normalizeJetstream(JSON.parse(l), expected, stats, DEFAULT_LIMITS);
    assert.deepEqual(await readStreams(service.redis, firehoseKeys.streams(1)), expected);
    assert.equal(query?.pathname, "/subscribe");
    assert.ok(query?.searchParams.getAll("wantedCollections").includes("app.bsky.feed.like"));
    assert.equal(service.metrics.dropped.get({ reason: "bad_frame" }), 1);
  } finally {
    await service.stop();
  }
});
