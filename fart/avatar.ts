/**
 * Avatars for the site and the circles images, fetched only from the configured CDN or the
 * account's own PDS (never a URL a client gives), size-capped, type-checked by their first
 * bytes, scaled down to what a circle needs (thumbnail.ts), and cached in Redis.
 *
 * Who may have their image shown as whose avatar: an account's profile names a blob CID,
 * and anyone can name any CID. So the cache is keyed by DID and CID, never by CID alone; the
 * CDN is asked for that DID's blob (it re-encodes, so its bytes cannot be checked against
 * the CID); and a PDS original is kept only when its SHA-256 is the one the CID holds, so
 * a hostile PDS cannot serve its own picture under someone else's CID. The PDS is reached
 * through the identity's publicFetch: no private hosts, odd ports or redirects to them.
 */
import { readBody } from "@bsky/shared/bounded_read";
import { Buffer } from "node:buffer";
import { CODEC_RAW, fromString as parseCid, HASH_SHA256 } from "@atcute/cid";
import type { Redis } from "@bsky/shared/redis";
import { storeKeys } from "@bsky/store/layout";
import type { Identity } from "./identity.ts";
import { type Image, sniffImage, thumbnail } from "./thumbnail.ts";

export { type Image, sniffImage };

export interface AvatarOptions {
  cdnUrl: string;
  maxBytes: number;
  ttlSeconds?: number;
  fetch?: typeof fetch;
}

const TIMEOUT_MS = 5000;
const CID_RE = /^b[a-z2-7]{20,100}$/;
/** Where the CDN serves an account's avatar blob as a small JPEG. */
export const CDN_THUMBNAIL_PATH = "/img/avatar_thumbnail/plain/";

/** The cache key of an account's avatar: its DID and the blob's CID together. */
export function avatarKey(did: string, cid: string): string {
  return `fart:av:${did}:${cid}`;
}

/**
 * Whether `bytes` are the blob `cid` names: a CIDv1 of raw data whose SHA-256 digest is
 * the bytes' (how every blob of the network is addressed). Any other CID cannot be checked.
 */
export async function isBlobOf(bytes: Uint8Array, cid: string): Promise<boolean> {
  let parsed;
  try {
    parsed = parseCid(cid);
  } catch {
    return false;
  }
  if (parsed.codec !== CODEC_RAW || parsed.digest.codec !== HASH_SHA256) return false;
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  const expected = parsed.digest.contents;
  return digest.length === expected.length && digest.every((b, i) => b === expected[i]);
}

export class Avatars {
  #fetch: typeof fetch;

  constructor(readonly redis: Redis, readonly identity: Identity, readonly options: AvatarOptions) {
    this.#fetch = options.fetch ?? fetch;
  }

  /** The avatar CID the store has for an account id, if any. */
  async cidOf(id: number): Promise<string | undefined> {
    const cid = await this.redis.hget(storeKeys.profile(id), "avatar");
    return cid && CID_RE.test(cid) ? cid : undefined;
  }

  /** The avatar of `did` with blob `cid`, or undefined when it cannot be had. */
  async get(did: string, cid: string): Promise<Image | undefined> {
    const key = avatarKey(did, cid);
    const cached = await this.redis.getBuffer(key);
    if (cached) {
      if (cached.length === 0) return undefined;
      const bytes = new Uint8Array(cached);
      const type = sniffImage(bytes);
      return type ? { bytes, type } : undefined;
    }
    const image = await this.#fromCdn(did, cid) ?? await this.#fromPds(did, cid);
    // A miss is remembered for a while too, so a broken avatar is not fetched per request.
    await this.redis.set(
      key,
      image ? Buffer.from(image.bytes) : "",
      "EX",
      image ? (this.options.ttlSeconds ?? 86400) : 600,
    );
    return image;
  }

  async #fromCdn(did: string, cid: string): Promise<Image | undefined> {
    const url = new URL(`${CDN_THUMBNAIL_PATH}${did}/${cid}@jpeg`, this.options.cdnUrl);
    let res: Response;
    try {
      res = await this.#fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch {
      // Unreachable, or a host outside this process's --allow-net: no avatar from there.
      return undefined;
    }
    const bytes = await this.#read(res);
    return bytes && await thumbnail(bytes);
  }

  async #fromPds(did: string, cid: string): Promise<Image | undefined> {
    const pds = await this.identity.pdsOf(did).catch(() => undefined);
    if (!pds || !URL.canParse(pds)) return undefined;
    const url = new URL("/xrpc/com.atproto.sync.getBlob", pds);
    url.searchParams.set("did", did);
    url.searchParams.set("cid", cid);
    let res: Response;
    try {
      res = await this.identity.publicFetch(url);
    } catch {
      // Refused (not a public host) or unreachable.
      return undefined;
    }
    const bytes = await this.#read(res);
    if (!bytes || !await isBlobOf(bytes, cid)) return undefined;
    return await thumbnail(bytes);
  }

  /** The body, or undefined for a failure or more than maxBytes. */
  async #read(res: Response): Promise<Uint8Array | undefined> {
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      return undefined;
    }
    return await readBody(res, this.options.maxBytes).catch(() => undefined);
  }
}
