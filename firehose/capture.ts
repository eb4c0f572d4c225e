/**
 * Capture files: raw firehose frames as `[u32 little-endian length][frame bytes]`, one
 * after another, optionally gzipped (the format of the relay corpus in testdata/).
 */

/** Splits a capture (gzipped or not) into its frames. */
export async function readCapture(bytes: Uint8Array): Promise<Uint8Array[]> {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const stream = new Blob([bytes as BufferSource]).stream().pipeThrough(
      new DecompressionStream("gzip"),
    );
    bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  }
  const frames: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  while (p + 4 <= bytes.length) {
    const len = view.getUint32(p, true);
    p += 4;
    if (p + len > bytes.length) throw new RangeError(`Truncated capture at byte ${p - 4}`);
    frames.push(bytes.subarray(p, p + len));
    p += len;
  }
  if (p !== bytes.length) throw new RangeError(`Truncated capture at byte ${p}`);
  return frames;
}

/** Reads a capture file. */
export async function readCaptureFile(path: string | URL): Promise<Uint8Array[]> {
  return readCapture(await Deno.readFile(path));
}
