/**
 * Reading answers from the network with a bound: a DID document, a PDS record or an image
 * comes from whoever runs that server, and nothing stops it from sending gigabytes. The body
 * is read chunk by chunk and abandoned as soon as it passes the bound (a declared length
 * over the bound is refused before reading anything).
 */

/** Bytes of JSON an identity or record answer may have: documents and records are small. */
export const MAX_JSON_BYTES = 256 * 1024;

export class BodyTooLargeError extends RangeError {
  override name = "BodyTooLargeError";
}

/** The whole body, or a BodyTooLargeError once it passes `maxBytes`. */
export async function readBody(res: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? 0);
  if (!res.body) return new Uint8Array(0);
  if (declared > maxBytes) {
    await res.body.cancel();
    throw new BodyTooLargeError(`The answer declares ${declared} bytes, more than ${maxBytes}`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel();
      throw new BodyTooLargeError(`The answer is longer than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The body parsed as JSON, read with readBody's bound. */
export async function readJson(res: Response, maxBytes = MAX_JSON_BYTES): Promise<unknown> {
  return JSON.parse(new TextDecoder().decode(await readBody(res, maxBytes)));
}
