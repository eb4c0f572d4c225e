/**
 * Avatars for the site and the circles images, fetched only from the configured CDN or the
 * account's own PDS (never a URL a client gives), size-capped, type-checked by their first
 * bytes, and cached in Redis.
 */
import { Buffer } from "node:buffer";
import type { Redis } from "@bsky/shared/redis";
import { storeKeys } from "@bsky/indexer/store";
import type { Identity } from "./identity.ts";

export interface Image {
  bytes: Uint8Array;
  type: "image/jpeg" | "image/png" | "image/webp";
}

export interface AvatarOptions {
  cdnUrl: string;
  maxBytes: number;
  ttlSeconds?: number;
  fetch?: typeof fetch;
}

const TIMEOUT_MS = 5000;
const CID_RE = /^b[a-z2-7]{20,100}$/;

/** The image type of some bytes by their signature, or undefined. */
export function sniffImage(b: Uint8Array): Image["type"] | undefined {
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "image/png";
  if (
    b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 &&
    b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50
  ) return "image/webp";
  return undefined;
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
    const key = `fart:av:${cid}`;
    const cached = await this.redis.getBuffer(key);
    if (cached) {
      if (cached.length === 0) return undefined;
      const type = sniffImage(cached);
      return type ? { bytes: new Uint8Array(cached), type } : undefined;
    }
    const cdn = new URL(`/img/avatar/plain/${did}/${cid}@jpeg`, this.options.cdnUrl);
    let image = await this.#fetchImage(cdn);
    if (!image) {
      const pds = await this.identity.pdsOf(did).catch(() => undefined);
      if (pds && URL.canParse(pds)) {
        const blob = new URL("/xrpc/com.atproto.sync.getBlob", pds);
        blob.searchParams.set("did", did);
        blob.searchParams.set("cid", cid);
        // The PDS is whatever the DID document says: no private hosts, odd ports or
        // redirects to them.
        image = await this.#fetchImage(blob, (url) => this.identity.publicFetch(url));
      }
    }
    // A miss is remembered for a while too, so a broken avatar is not fetched per request.
    await this.redis.set(
      key,
      image ? Buffer.from(image.bytes) : "",
      "EX",
      image ? (this.options.ttlSeconds ?? 86400) : 600,
    );
    return image;
  }

  async #fetchImage(
    url: URL,
    get = (url: URL) => this.#fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) }),
  ): Promise<Image | undefined> {
    let res: Response;
    try {
      res = await get(url);
    } catch {
      // Unreachable, refused, or a host outside this process's --allow-net.
      return undefined;
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      return undefined;
    }
    const declared = Number(res.headers.get("content-length") ?? 0);
    if (declared > this.options.maxBytes) {
      await res.body.cancel();
      return undefined;
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += chunk.length;
      if (size > this.options.maxBytes) return undefined;
      chunks.push(chunk);
    }
    const bytes = new Uint8Array(Buffer.concat(chunks));
    const type = sniffImage(bytes);
    return type ? { bytes, type } : undefined;
  }
}
