import assert from "node:assert/strict";
import { CODEC_DCBOR, create, toString } from "@atcute/cid";
import jpeg from "jpeg-js";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { avatarKey, Avatars, CDN_THUMBNAIL_PATH, isBlobOf } from "./avatar.ts";
import { Identity } from "./identity.ts";
import { AVATAR_SIDE } from "./thumbnail.ts";
import { blobCid, makeJpeg, makePng, middle, near, type Rgb } from "./testing/images.ts";

const VICTIM = "did:plc:vvvvvvvvvvvvvvvvvvvvvvvv";
const MALLORY = "did:plc:mmmmmmmmmmmmmmmmmmmmmmmm";
const RED: Rgb = [230, 20, 20];
const BLUE: Rgb = [20, 20, 230];

/** A server of the test's own; `handle` answers every request, which are all recorded. */
function serve(handle: (url: URL) => Response | Promise<Response>) {
  const asked: URL[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    asked.push(url);
    return handle(url);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    asked,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** A PDS that serves the given blobs by CID, whatever the DID asked for. */
function pds(blobs: Record<string, Uint8Array>) {
  return serve((url) => {
    const blob = blobs[url.searchParams.get("cid") ?? ""] ?? blobs["*"];
    return blob
      ? new Response(blob as Uint8Array<ArrayBuffer>, { headers: { "content-type": "image/png" } })
      : new Response("not found", { status: 404 });
  });
}

/** A PLC directory whose documents name each DID's PDS. */
function plc(pdsOf: Record<string, string>) {
  return serve((url) => {
    const did = decodeURIComponent(url.pathname.slice(1));
    return pdsOf[did]
      ? Response.json({ id: did, service: [{ id: "#atproto_pds", serviceEndpoint: pdsOf[did] }] })
      : new Response("not found", { status: 404 });
  });
}

async function withAvatars(
  plcUrl: string,
  cdnUrl: string,
  fn: (avatars: Avatars, redis: Redis) => Promise<void>,
  maxBytes = 1_000_000,
) {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    // The test's servers are on loopback, as a local PDS is.
    const identity = new Identity(redis, {
      plcUrl,
      handleResolverUrl: plcUrl,
      allowPrivateNetwork: true,
    });
    await fn(new Avatars(redis, identity, { cdnUrl, maxBytes }), redis);
  } finally {
    redis.disconnect();
  }
}

Deno.test("a hostile PDS cannot have its picture kept as another account's avatar by claiming its CID", async () => {
  const victimsPicture = makePng(64, 64, BLUE);
  const cid = await blobCid(victimsPicture);
  await using honest = pds({ [cid]: victimsPicture });
  await using hostile = pds({ "*": makePng(64, 64, RED) }); // its own picture under any CID
  await using directory = plc({ [VICTIM]: honest.url, [MALLORY]: hostile.url });
  await using cdn = serve(() => new Response("not found", { status: 404 }));
  await withAvatars(directory.url, cdn.url, async (avatars, redis) => {
    // Mallory's profile names the victim's avatar CID; Mallory's PDS answers with its own bytes.
    assert.equal(await avatars.get(MALLORY, cid), undefined, "bytes that are not the CID's");
    assert.equal(hostile.asked.length, 1, "the hostile PDS was asked, and refused");
    const victims = await avatars.get(VICTIM, cid);
    assert.deepEqual(victims?.bytes, victimsPicture, "the victim's own picture");
    assert.equal(honest.asked.length, 1);
    assert.deepEqual((await avatars.get(VICTIM, cid))?.bytes, victimsPicture, "from the cache");
    assert.equal(honest.asked.length, 1);
    assert.deepEqual(
      (await redis.keys("fart:av:*")).sort(),
      [avatarKey(MALLORY, cid), avatarKey(VICTIM, cid)].sort(),
    );
  });
});

Deno.test("isBlobOf() accepts only bytes whose SHA-256 a raw CIDv1 holds", async () => {
  const bytes = makePng(8, 8, RED);
  assert.ok(await isBlobOf(bytes, await blobCid(bytes)));
  assert.equal(await isBlobOf(makePng(8, 8, BLUE), await blobCid(bytes)), false);
  const cbor = toString(await create(CODEC_DCBOR, bytes));
  assert.equal(await isBlobOf(bytes, cbor), false, "not a blob's codec");
  assert.equal(await isBlobOf(bytes, "bafkreinotacid"), false);
});

Deno.test("the CDN's picture for one account is never served for another naming the same CID", async () => {
  const cid = await blobCid(makePng(8, 8, RED));
  const byDid: Record<string, Uint8Array> = {
    [VICTIM]: makeJpeg(128, 128, BLUE),
    [MALLORY]: makeJpeg(128, 128, RED),
  };
  await using cdn = serve((url) => {
    const did = decodeURIComponent(url.pathname.slice(CDN_THUMBNAIL_PATH.length)).split("/")[0];
    return new Response(byDid[did] as Uint8Array<ArrayBuffer>);
  });
  await using directory = plc({});
  await withAvatars(directory.url, cdn.url, async (avatars) => {
    assert.deepEqual((await avatars.get(MALLORY, cid))?.bytes, byDid[MALLORY]);
    assert.deepEqual((await avatars.get(VICTIM, cid))?.bytes, byDid[VICTIM]);
    assert.deepEqual(cdn.asked.map((u) => u.pathname), [
      `${CDN_THUMBNAIL_PATH}${MALLORY}/${cid}@jpeg`,
      `${CDN_THUMBNAIL_PATH}${VICTIM}/${cid}@jpeg`,
    ]);
  });
});

Deno.test("a full-size avatar from the PDS is kept at 128 px, and one over the byte limit is refused", async () => {
  const full = makeJpeg(1000, 1000, RED, 30, 92);
  assert.ok(full.length > 100_000 && full.length < 1_000_000, `${full.length} bytes`);
  const cid = await blobCid(full);
  await using origin = pds({ [cid]: full });
  await using directory = plc({ [VICTIM]: origin.url, [MALLORY]: origin.url });
  await using cdn = serve(() => new Response("not found", { status: 404 }));
  await withAvatars(directory.url, cdn.url, async (avatars, redis) => {
    const image = await avatars.get(VICTIM, cid);
    assert.equal(image?.type, "image/jpeg");
    const decoded = jpeg.decode(image!.bytes, { useTArray: true });
    assert.deepEqual([decoded.width, decoded.height], [AVATAR_SIDE, AVATAR_SIDE]);
    assert.ok(near(middle(decoded), RED, 24), `rgb(${middle(decoded)})`);
    const kept = await redis.getBuffer(avatarKey(VICTIM, cid));
    assert.deepEqual(new Uint8Array(kept!), image!.bytes, "the small one is what is cached");
  });
  await withAvatars(directory.url, cdn.url, async (avatars) => {
    assert.equal(await avatars.get(MALLORY, cid), undefined);
  }, full.length - 1);
});
