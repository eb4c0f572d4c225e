/**
 * A small local server standing in for the identity network and the avatar CDN in the
 * in-memory tests of the API and the site (the end-to-end tests use a real PDS and PLC):
 * every avatar is RED_PNG, the handle resolver knows no handle, anything else is a 404.
 */
import { encode } from "fast-png";
import { CDN_THUMBNAIL_PATH } from "../avatar.ts";

/** A red 8x8 PNG, every avatar the stand-in CDN serves. */
export const RED_PNG = encode({
  width: 8,
  height: 8,
  data: new Uint8Array(8 * 8 * 4).fill(255).map((v, i) => i % 4 === 1 || i % 4 === 2 ? 0 : v),
});

/** An avatar blob CID for profiles: the stand-in CDN serves RED_PNG for it (and any other). */
export const AVATAR_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

export interface StandInNetwork extends AsyncDisposable {
  /** Its base URL, for the PLC, handle resolver and avatar CDN settings alike. */
  url: string;
  /** How many avatars it has served. */
  avatarHits(): number;
}

export function startStandInNetwork(): StandInNetwork {
  let hits = 0;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/xrpc/com.atproto.identity.resolveHandle") {
      return Response.json({ error: "InvalidRequest", message: "Unable to resolve handle" }, {
        status: 400,
      });
    }
    if (url.pathname.startsWith(CDN_THUMBNAIL_PATH)) {
      hits++;
      return new Response(RED_PNG as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": "image/png" },
      });
    }
    return new Response("not found", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    avatarHits: () => hits,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}
