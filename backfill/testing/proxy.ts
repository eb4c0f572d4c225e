/**
 * An HTTP proxy in front of a PDS for backfill tests: passes every request on, and can make
 * one repository's getRepo fail (a 500, a CAR cut in half) or hold its answer (read from the
 * PDS at once, sent when released), counting getRepo requests per DID.
 */
import { freePort } from "@bsky/shared/testing/redis_server";

export type Fault = "500" | "truncate";

export interface Proxy extends AsyncDisposable {
  url: string;
  /** getRepo requests per DID. */
  requests: Map<string, number>;
  /** The next getRepo answers for `did`, in order; passed on after them. */
  fail(did: string, faults: Fault[]): void;
  /**
   * Holds the next getRepo answer for `did`: `read` settles once the PDS's answer is read,
   * `release()` sends it.
   */
  hold(did: string): { read: Promise<void>; release: () => void };
}

export function startProxy(target: string): Proxy {
  const port = freePort();
  const requests = new Map<string, number>();
  const faults = new Map<string, Fault[]>();
  const holds = new Map<string, { read: () => void; released: Promise<void> }>();
  const releases = new Set<() => void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const upstream = await fetch(new URL(url.pathname + url.search, target), {
      headers: { "accept-encoding": "identity" },
    });
    const body = new Uint8Array(await upstream.arrayBuffer());
    const headers = { "content-type": upstream.headers.get("content-type") ?? "" };
    const did = url.searchParams.get("did");
    if (url.pathname === "/xrpc/com.atproto.sync.getRepo" && did) {
      requests.set(did, (requests.get(did) ?? 0) + 1);
      const fault = faults.get(did)?.shift();
      if (fault === "500") return Response.json({ error: "InternalServerError" }, { status: 500 });
      if (fault === "truncate") {
        return new Response(body.subarray(0, body.length >> 1), { status: 200, headers });
      }
      const held = holds.get(did);
      if (held) {
        holds.delete(did);
        held.read();
        await held.released;
      }
    }
    return new Response(body, { status: upstream.status, headers });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    fail: (did, list) => faults.set(did, [...list]),
    hold(did) {
      let read!: () => void, release!: () => void;
      const readP = new Promise<void>((r) => read = r);
      const released = new Promise<void>((r) => release = r);
      holds.set(did, { read, released });
      releases.add(release);
      return { read: readP, release };
    },
    [Symbol.asyncDispose]: async () => {
      for (const release of releases) release();
      await server.shutdown();
    },
  };
}
