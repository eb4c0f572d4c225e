/**
 * Images passed through from the API to the browser with their type, ETag and cache headers
 * (a conditional request is answered or forwarded, so a 304 stays a 304), and kept in memory
 * for as long as the API says they may be cached: every visitor of a circle shows the same
 * avatars. What is kept is bounded in entries and bytes, paths and headers included.
 */
import { BoundedMap, stringBytes } from "@bsky/shared/bounded_map";

/** An image as the API gave it, until its max-age is over. */
interface Image {
  expires: number;
  body: Uint8Array<ArrayBuffer>;
  headers: [string, string][];
  etag: string | null;
}

/** Headers of an image that reach the browser. */
const IMAGE_HEADERS = ["content-type", "etag", "cache-control", "content-length"];
/** An image larger than this is passed through, never kept. */
const MAX_KEPT_IMAGE = 1 << 20;

/** Most images kept at once. */
const MAX_IMAGES = 4096;

export class KeptImages {
  /** Images by path, least recently used first, bounded in entries and bytes. */
  readonly #images: BoundedMap<string, Image>;

  constructor(maxBytes: number) {
    this.#images = new BoundedMap({
      maxEntries: MAX_IMAGES,
      maxBytes,
      sizeOf: (path, image) =>
        stringBytes(path) + image.body.byteLength +
        image.headers.reduce((n, [k, v]) => n + stringBytes(k) + stringBytes(v), 64),
    });
  }

  /** The kept image at `path` for this request, while its max-age lasts. */
  answer(path: string, ifNoneMatch: string | null): Response | undefined {
    // Most recently used last, so the least used goes first when room is needed.
    const kept = this.#images.get(path);
    if (kept && kept.expires > Date.now()) return imageResponse(kept, ifNoneMatch);
    if (kept) this.#images.delete(path);
    return undefined;
  }

  /** The API's answer (200 or 304) passed on, and kept when it may be cached. */
  async passOn(path: string, res: Response): Promise<Response> {
    // fetch() hands over the body decoded but keeps the encoded Content-Length: passed on,
    // it would cut the image short.
    const encoded = res.headers.has("content-encoding");
    const headers: [string, string][] = IMAGE_HEADERS.flatMap((name) => {
      const value = res.headers.get(name);
      if (name === "content-length" && encoded) return [];
      return value ? [[name, value] as [string, string]] : [];
    });
    const maxAge = Number(res.headers.get("cache-control")?.match(/max-age=(\d+)/)?.[1] ?? 0);
    const size = encoded ? NaN : Number(res.headers.get("content-length") ?? NaN);
    if (res.status === 200 && maxAge > 0 && !(size > MAX_KEPT_IMAGE)) {
      const body = new Uint8Array(await res.arrayBuffer());
      const image = {
        expires: Date.now() + maxAge * 1000,
        body,
        headers,
        etag: res.headers.get("etag"),
      };
      if (body.length <= MAX_KEPT_IMAGE) this.#images.set(path, image);
      return imageResponse(image, null);
    }
    const out = new Headers(headers);
    out.set("x-content-type-options", "nosniff");
    return new Response(res.status === 304 ? null : res.body, { status: res.status, headers: out });
  }

  /** How many images are kept, and the bytes they are counted for (paths and headers too). */
  get kept(): { count: number; bytes: number } {
    return { count: this.#images.size, bytes: this.#images.bytes };
  }
}

/** A kept image for one request: a 304 when the browser has it already. */
function imageResponse(image: Image, ifNoneMatch: string | null): Response {
  const headers = new Headers(image.headers);
  headers.set("x-content-type-options", "nosniff");
  if (image.etag && ifNoneMatch && etagListHas(ifNoneMatch, image.etag)) {
    headers.delete("content-length");
    headers.delete("content-type");
    return new Response(null, { status: 304, headers });
  }
  return new Response(image.body, { status: 200, headers });
}

/** Whether an If-None-Match list names the ETag (weak comparison, as for GET). */
function etagListHas(list: string, etag: string): boolean {
  const bare = (t: string) => t.trim().replace(/^W\//, "");
  return list.trim() === "*" || list.split(",").some((t) => bare(t) === bare(etag));
}
