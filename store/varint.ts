/**
 * Unsigned varints as the logs' rolled-up part and the day digests keep them (log.ts,
 * digest.ts): 7 bits a byte, the lowest first, the top bit set on every byte but the last.
 */

/** Where the number readVarint() read last ended: the offset of the byte after it. */
export let varintEnd = 0;

/** The varint at `at` in `bytes`; varintEnd is then the offset after it. */
export function readVarint(bytes: Uint8Array, at: number): number {
  let n = 0, shift = 1, b: number;
  do {
    b = bytes[at++];
    n += (b & 0x7f) * shift;
    shift *= 128;
  } while (b & 0x80);
  varintEnd = at;
  return n;
}
