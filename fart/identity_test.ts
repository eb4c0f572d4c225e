import assert from "node:assert/strict";
import { connectRedis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { AVATAR_CID, startStandInNetwork } from "./testing/stand_in.ts";
import { withTestApi } from "./testing/api.ts";
import { Identity, parseActor } from "./identity.ts";
import { Avatars } from "./avatar.ts";
import type { HttpError } from "./http.ts";

const ALICE = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";

/** A PLC directory of the test's own: each DID's document names the given PDS endpoint. */
function startPlc(pdsOf: Record<string, string>) {
  const asked: string[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const did = decodeURIComponent(new URL(req.url).pathname.slice(1));
    asked.push(did);
    if (!pdsOf[did]) return new Response("not found", { status: 404 });
    return Response.json({
      id: did,
      service: [{
        id: "#atproto_pds",
        type: "AtprotoPersonalDataServer",
        serviceEndpoint: pdsOf[did],
      }],
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    asked,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** Connections redis-server has accepted so far. */
async function connectionsOf(url: string): Promise<number> {
  const redis = await connectRedis(url, { name: "probe" });
  try {
    return Number(/total_connections_received:(\d+)/.exec(await redis.info("stats"))![1]);
  } finally {
    redis.disconnect();
  }
}

Deno.test("handles under reserved top-level domains get a 404 at once, without any lookup", async () => {
  await using net = startStandInNetwork();
  const env = { FART_PLC_URL: net.url, FART_HANDLE_RESOLVER_URL: net.url };
  await withTestApi(env, async ({ get, fetched }) => {
    for (
      const handle of [
        "handle.invalid",
        "someone.alt",
        "x.arpa",
        "alice.example",
        "svc.internal",
        "printer.local",
        "me.localhost",
        "hidden.onion",
        "@Bob.INVALID",
      ]
    ) {
      for (const path of [`/v1/interactions/${handle}`, `/v1/circles/${handle}.png`]) {
        const res = await get(path);
        assert.equal(res.status, 404, path);
        assert.match((await res.json()).message, /top-level domain is reserved/, path);
      }
    }
    const optout = await get("/v1/optout/handle.invalid", { method: "POST" });
    assert.equal(optout.status, 404);
    await optout.body?.cancel();
    assert.deepEqual(fetched, [], "the handle resolver was never asked");
    // An ordinary unknown handle is still looked up.
    await (await get("/v1/interactions/nobody.test")).body?.cancel();
    assert.equal(fetched.length, 1);
  });
});

Deno.test("malformed did:plc values and DIDs no account can have are a 400, without any lookup", async () => {
  await using net = startStandInNetwork();
  const env = { FART_PLC_URL: net.url, FART_HANDLE_RESOLVER_URL: net.url };
  await withTestApi(env, async ({ get, fetched }) => {
    for (
      const did of [
        "did:plc:short",
        "did:plc:aaaaaaaaaaaaaaaaaaaaaaa",
        "did:plc:aaaaaaaaaaaaaaaaaaaaaaaaa",
        "did:plc:AAAAAAAAAAAAAAAAAAAAAAAA",
        "did:plc:aaaaaaaaaaaaaaaaaaaaaaa1",
        "did:web:evil.example%2Fpath",
        "did:web:evil.example%40x",
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
      ]
    ) {
      for (const path of [`/v1/interactions/${did}`, `/v1/avatar/${did}`]) {
        const res = await get(path);
        assert.equal(res.status, 400, path);
        await res.body?.cancel();
      }
    }
    assert.deepEqual(fetched, []);
    const known = await get(`/v1/interactions/${ALICE}`);
    assert.equal(known.status, 404, "a well-formed DID the store has not seen");
    await known.body?.cancel();
  });
  assert.throws(() => parseActor("%E0%A4%A"), (err: HttpError) => err.status === 400);
});

Deno.test("Identity.pdsOf() does not fetch a did:web on a private host or port, unless allowed", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  let requests = 0;
  await using host = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, () => {
    requests++;
    return Response.json({});
  });
  try {
    const identity = new Identity(redis, {
      plcUrl: "http://127.0.0.1:9/",
      handleResolverUrl: "http://127.0.0.1:9/",
    });
    for (
      const did of [
        `did:web:127.0.0.1%3A${host.addr.port}`,
        `did:web:localhost%3A${host.addr.port}`,
      ]
    ) {
      assert.equal(await identity.pdsOf(did), undefined, did);
    }
    assert.equal(requests, 0);
    // Allowed, for development: the document is asked for (https, as did:web says).
    const asked: string[] = [];
    const local = new Identity(redis, {
      plcUrl: "http://127.0.0.1:9/",
      handleResolverUrl: "http://127.0.0.1:9/",
      allowPrivateNetwork: true,
      fetch: (input) => {
        asked.push(String(input));
        return Promise.resolve(Response.json({
          service: [{ id: "#atproto_pds", serviceEndpoint: "http://localhost:2583" }],
        }));
      },
    });
    assert.equal(await local.pdsOf("did:web:dev.localhost%3A2584"), "http://localhost:2583");
    assert.deepEqual(asked, ["https://dev.localhost:2584/.well-known/did.json"]);
  } finally {
    redis.disconnect();
  }
});

Deno.test("a DID document whose PDS is the API's own Redis never gets a connection to it", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  const redisPort = new URL(server.url).port;
  const endpoints = [
    `http://127.0.0.1:${redisPort}`,
    `https://127.0.0.1:${redisPort}`,
    `http://localhost:${redisPort}`,
    `http://[::1]:${redisPort}`,
    "http://169.254.169.254",
    "https://10.0.0.1",
  ];
  const dids = endpoints.map((_, i) => `did:plc:${String.fromCharCode(97 + i).repeat(24)}`);
  await using plc = startPlc(Object.fromEntries(dids.map((did, i) => [did, endpoints[i]])));
  try {
    const identity = new Identity(redis, { plcUrl: plc.url, handleResolverUrl: plc.url });
    const avatars = new Avatars(redis, identity, { cdnUrl: plc.url, maxBytes: 1_000_000 });
    const before = await connectionsOf(server.url);
    for (const [i, did] of dids.entries()) {
      const cid = AVATAR_CID.slice(0, -1) + "abcdef"[i];
      assert.equal(await avatars.get(did, cid), undefined, did);
    }
    assert.deepEqual(plc.asked.filter((a) => a.startsWith("did:")), dids, "documents were read");
    assert.equal(await connectionsOf(server.url), before + 1, "only the probe's own connection");
  } finally {
    redis.disconnect();
  }
});
