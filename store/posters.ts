/**
 * The ids of accounts whose posts by language are still kept, for the reclaiming of ids
 * (reclaim.ts): the hourly strings `lp:{g}:<hour>` (languages.ts) name a post's author by
 * id, and the top posters per language read them back for as long as they are kept, so an
 * account with an entry in one of them is not idle, whatever else it has.
 *
 * Finding an id in those strings one account at a time would read them all for each; a
 * sweep reads them once instead, in steps of READ_BYTES, and keeps what it found as a
 * bitmap, `ids:{ids}:posters` (a bit an id, as SETBIT numbers them), that the reclaiming
 * script looks ids up in. It is written whole under `ids:{ids}:posters:next` first (in
 * steps of WRITE_BYTES) and then renamed, so that it never holds a part. Its size is the
 * highest id posting / 8 bytes (at most 32 MiB: ids fit in 28 bits).
 *
 * Posts made after it was read are not in it: an account whose id retires takes it back
 * when it posts (the apply script drops it from the retiring set, as for a graph set
 * naming it), and one found idle meanwhile is checked again at the next sweep's end, with a
 * bitmap read after it went pending (reclaim.ts drops the bitmap when its retiring set is
 * renewed).
 */
import { Buffer } from "node:buffer";
import type { Redis } from "@bsky/shared/redis";
import { keptLanguageHours, scanLanguagePosts } from "./languages.ts";
import { LANGUAGE_ENTRY_BYTES, MAX_ID, storeKeys } from "./layout.ts";

/** Bytes of an hour's string read per call (whole entries), and of the bitmap written per call. */
const READ_BYTES = LANGUAGE_ENTRY_BYTES * 65_536, WRITE_BYTES = 1 << 20;
/** Hours past the current one read as well: what a post's time can be ahead of the clock. */
const AHEAD_HOURS = 24;

export interface PostersOptions {
  retentionDays: number;
  now: number;
}

/** Ids with an entry in the posts by language of the hours kept at `now`, as a bitmap. */
export async function readPosters(redis: Redis, options: PostersOptions): Promise<Uint8Array> {
  const { first, last: current } = keptLanguageHours(options.now, options.retentionDays);
  // Posts stamped ahead of the clock (a relay's or PDS's clock ahead of ours) count too.
  const last = current + AHEAD_HOURS;
  const keys = Array.from(
    { length: last - first + 1 },
    (_, k) => storeKeys.languagePosts(first + k),
  );
  const lengths = (await redis.pipeline(keys.map((key) => ["strlen", key])).exec())!;
  let bits = new Uint8Array(0), used = 0;
  const mark = (id: number) => {
    if (id > MAX_ID) return;
    const at = id >>> 3;
    if (at >= bits.length) {
      const grown = new Uint8Array(Math.min(Math.max(at + 1, 2 * bits.length), (MAX_ID >>> 3) + 1));
      grown.set(bits);
      bits = grown;
    }
    bits[at] |= 0x80 >>> (id & 7);
    if (at >= used) used = at + 1;
  };
  for (const [k, [err, length]] of lengths.entries()) {
    if (err) throw err;
    for (let at = 0; at < (length as number); at += READ_BYTES) {
      const end = Math.min(at + READ_BYTES, length as number) - 1;
      scanLanguagePosts(await redis.getrangeBuffer(keys[k], at, end), mark);
    }
  }
  return bits.subarray(0, used);
}

/** Writes the bitmap of posting ids at `now` (readPosters) as `ids:{ids}:posters`. */
export async function writePosters(redis: Redis, options: PostersOptions): Promise<void> {
  const bits = await readPosters(redis, options);
  const next = storeKeys.posterIdsNext;
  await redis.unlink(next);
  // One byte at least: the key's existence says the sweep read the strings.
  const whole = bits.length > 0 ? bits : new Uint8Array(1);
  // Its last byte first: the string is made at its whole length once, not grown call by call.
  const end = whole.length - 1;
  await redis.setrange(next, end, Buffer.from(whole.buffer, whole.byteOffset + end, 1));
  for (let at = 0; at < whole.length; at += WRITE_BYTES) {
    const part = whole.subarray(at, at + WRITE_BYTES);
    await redis.setrange(next, at, Buffer.from(part.buffer, part.byteOffset, part.length));
  }
  await redis.rename(next, storeKeys.posterIds);
}

/** Writes the bitmap of posting ids unless the running sweep has one already. */
export async function ensurePosters(redis: Redis, options: PostersOptions): Promise<void> {
  if (!(await redis.exists(storeKeys.posterIds))) await writePosters(redis, options);
}

/** Drops the bitmap of posting ids: the next sweep reads its own. */
export async function dropPosters(redis: Redis): Promise<void> {
  await redis.unlink(storeKeys.posterIds);
}
