/**
 * The platform's one log stream: every line a JSON object with a `service` field. Lines the
 * starter writes itself are its own (`service: "start"`); a process's JSON lines that name a
 * service pass through, and anything else it prints is wrapped into such a line. Each line
 * is written whole, so lines of different processes never interleave.
 */
const encoder = new TextEncoder();

/** Writes one line to stdout whole, so lines of different processes never interleave. */
export function writeLine(line: string) {
  const bytes = encoder.encode(line + "\n");
  for (let p = 0; p < bytes.length;) p += Deno.stdout.writeSync(bytes.subarray(p));
}

export function say(msg: string, fields: Record<string, unknown> = {}, level = "info") {
  writeLine(
    JSON.stringify({ time: new Date().toISOString(), level, service: "start", msg, ...fields }),
  );
}

/** A process's line as a log line of `service`: JSON lines with a service pass through. */
function asLogLine(line: string, service: string, level: string): string {
  try {
    const value = JSON.parse(line);
    if (value && typeof value === "object" && !Array.isArray(value)) {
      return typeof value.service === "string" ? line : JSON.stringify({ service, ...value });
    }
  } catch { /* not JSON: wrapped below */ }
  return JSON.stringify({ time: new Date().toISOString(), level, service, msg: line });
}

/** Calls `fn` with each line of a byte stream as it arrives (the last one even unended). */
export async function eachLine(stream: ReadableStream<Uint8Array>, fn: (line: string) => void) {
  let rest = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
    rest = lines.pop()!;
    for (const line of lines) fn(line);
  }
  rest += decoder.decode();
  if (rest) fn(rest);
}

export function forward(stream: ReadableStream<Uint8Array>, service: string, level: string) {
  return eachLine(stream, (line) => {
    if (line.trim()) writeLine(asLogLine(line, service, level));
  });
}
