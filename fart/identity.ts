/**
 * Which account an `actor` parameter names: a handle or a DID, with or without "@".
 * Handles resolve through the local profile index first, then the identity network
 * (a handle resolver's com.atproto.identity.resolveHandle); DID documents come from the
 * PLC directory, or for a did:web from its own host, which must be public (fetchPublic).
 * Network answers are cached in Redis, failures briefly too. What cannot name an account
 * is answered before any lookup: a malformed DID is a 400, a handle under a reserved
 * top-level domain a 404.
 */
import { readJson } from "@bsky/shared/bounded_read";
import {
  type DidDocument,
  didDocumentUrl,
  isResolvableDid,
  pdsOfDocument,
} from "@bsky/shared/identity";
import { jobKeys } from "@bsky/shared/keys";
import { fetchPublic, type Resolver, UnsafeTargetError } from "@bsky/shared/public_fetch";
import type { Redis } from "@bsky/shared/redis";
import { hasReservedTld, isValidDid, isValidHandle } from "@bsky/shared/syntax";
import { didOfHandle, idOf, OPTED_OUT } from "@bsky/store/queries";
import { storeKeys } from "@bsky/store/layout";
import { badParameter, HttpError } from "./http.ts";

export interface IdentityOptions {
  plcUrl: string;
  handleResolverUrl: string;
  /** Seconds a resolved handle or DID document is kept. */
  ttlSeconds?: number;
  fetch?: typeof fetch;
  /**
   * Let DID documents and PDS endpoints name loopback, private or link-local hosts and any
   * port (FART_ALLOW_PRIVATE_NETWORK: development and tests with a local PDS).
   */
  allowPrivateNetwork?: boolean;
  /** How host names of did:web and PDS endpoints are resolved to be checked (tests). */
  resolve?: Resolver;
}

export interface Actor {
  did: string;
  /** The account's store id (accounts the store never saw have no data to show). */
  id: number;
}

const NEGATIVE_TTL = 60;
const TIMEOUT_MS = 5000;

/**
 * The actor parameter, normalized: a DID, or a lowercase handle. 400 if neither, or for a
 * DID no account can have (a did:plc that is not 24 base32 characters, a did:web the
 * method cannot map to a URL, any other method); 404 for a handle under a reserved
 * top-level domain (.invalid, .local, .onion…), which no account holds.
 */
export function parseActor(raw: string): { did: string } | { handle: string } {
  // Path parameters come decoded (once, by the app): decoding again would read "%2540" as "@".
  const value = raw.trim().replace(/^@/, "");
  if (value.startsWith("did:")) {
    if (isValidDid(value) && isResolvableDid(value)) return { did: value };
    if (isValidDid(value)) throw badParameter("actor", raw, "is not a valid did:plc or did:web");
  } else if (isValidHandle(value)) {
    const handle = value.toLowerCase();
    if (hasReservedTld(handle)) {
      throw new HttpError(
        404,
        `No account has the handle "${handle}": its top-level domain is reserved`,
      );
    }
    return { handle };
  }
  throw badParameter("actor", raw, "is not a handle or a DID");
}

export class Identity {
  #fetch: typeof fetch;
  #ttl: number;

  constructor(readonly redis: Redis, readonly options: IdentityOptions) {
    this.#fetch = options.fetch ?? fetch;
    this.#ttl = options.ttlSeconds ?? 3600;
  }

  /**
   * The account an actor parameter names, known to the store, or an HTTP error: 404 for an
   * unknown one, 410 for one that is not shown (unless `hidden` is allowed).
   */
  async actor(raw: string, { hidden = false } = {}): Promise<Actor> {
    const parsed = parseActor(raw);
    const did = "did" in parsed ? parsed.did : await this.didOfHandle(parsed.handle);
    const id = await idOf(this.redis, did);
    if (id === undefined) {
      throw new HttpError(
        404,
        `No interactions of ${"handle" in parsed ? parsed.handle : did} are known yet`,
        {
          did,
        },
      );
    }
    if (hidden) return { did, id };
    const [status, optout] = await this.redis.hmget(storeKeys.profile(id), "status", "optout");
    if (optout) {
      throw new HttpError(410, `The account ${did} has opted out: it is not shown`, {
        did,
        status: OPTED_OUT,
      });
    }
    if (status && status !== "active") {
      throw new HttpError(410, `The account ${did} is ${status}: it is not shown`, { did, status });
    }
    // Accounts people look at get their profiles refreshed by the scheduler.
    this.redis.zadd(jobKeys.lookedUp, Date.now(), did).catch(() => {});
    return { did, id };
  }

  /** The DID of a handle: the local index, the cache, then the network. 404 if none. */
  async didOfHandle(handle: string): Promise<string> {
    const local = await didOfHandle(this.redis, handle);
    if (local) return local;
    const key = `fart:h:${handle}`;
    const cached = await this.redis.get(key);
    if (cached === "") throw unknownHandle(handle);
    if (cached) return cached;
    const url = new URL("/xrpc/com.atproto.identity.resolveHandle", this.options.handleResolverUrl);
    url.searchParams.set("handle", handle);
    const res = await this.#get(url);
    if (res.status === 400 || res.status === 404) {
      await res.body?.cancel();
      await this.redis.set(key, "", "EX", NEGATIVE_TTL);
      throw unknownHandle(handle);
    }
    const body = await json(res, url);
    const did = (body as { did?: unknown }).did;
    if (!isValidDid(did)) {
      throw new HttpError(502, `The handle resolver answered for "${handle}" without a valid DID`);
    }
    await this.redis.set(key, did, "EX", this.#ttl);
    return did;
  }

  /**
   * The PDS endpoint of a DID (from its DID document), or undefined. The endpoint is not
   * checked here: whoever fetches from it goes through fetchPublic (see publicFetch).
   */
  async pdsOf(did: string): Promise<string | undefined> {
    const key = `fart:pds:${did}`;
    const cached = await this.redis.get(key);
    if (cached !== null) return cached || undefined;
    const url = didDocumentUrl(did, this.options.plcUrl);
    if (!url) return undefined;
    let res: Response;
    try {
      // The PLC directory is ours to choose; a did:web's host is the account's.
      res = did.startsWith("did:web:") ? await this.publicFetch(url) : await this.#get(url);
    } catch (err) {
      if (!(err instanceof UnsafeTargetError)) throw err;
      await this.redis.set(key, "", "EX", NEGATIVE_TTL);
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      await this.redis.set(key, "", "EX", NEGATIVE_TTL);
      return undefined;
    }
    const endpoint = pdsOfDocument(await json(res, url) as DidDocument, did) ?? "";
    await this.redis.set(key, endpoint, "EX", this.#ttl);
    return endpoint || undefined;
  }

  /**
   * A GET of a URL the network gave (a did:web host, a PDS endpoint): refused with an
   * UnsafeTargetError when it is not a public https host on port 443, or redirects to one
   * that is not, unless private networks are allowed; a host that cannot be reached is a
   * 502 like any identity network failure.
   */
  async publicFetch(url: URL): Promise<Response> {
    try {
      return await fetchPublic(url, {
        fetch: this.#fetch,
        allowPrivate: this.options.allowPrivateNetwork,
        resolve: this.options.resolve,
        timeoutMs: TIMEOUT_MS,
      });
    } catch (err) {
      if (err instanceof UnsafeTargetError) throw err;
      throw new HttpError(502, `Cannot reach ${url.host}: ${(err as Error).message}`);
    }
  }

  async #get(url: URL): Promise<Response> {
    try {
      return await this.#fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (err) {
      throw new HttpError(
        502,
        `Cannot reach the identity network at ${url.host}: ${(err as Error).message}`,
      );
    }
  }
}

function unknownHandle(handle: string): HttpError {
  return new HttpError(404, `No account has the handle "${handle}"`);
}

async function json(res: Response, url: URL): Promise<unknown> {
  try {
    if (!res.ok) throw new Error(`status ${res.status}`);
    return await readJson(res);
  } catch (err) {
    throw new HttpError(
      502,
      `The identity network at ${url.host} answered badly: ${(err as Error).message}`,
    );
  }
}
