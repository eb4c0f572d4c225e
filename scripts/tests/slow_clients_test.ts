/**
 * Slow clients cannot hold connections: the API and the site, each a process started with
 * its scoped flags, close a connection that sends half a request line within their header
 * timeout, and one left idle after an answer within their idle timeout.
 */
import assert from "node:assert/strict";
import { freePort, startRedisServer } from "@bsky/shared/testing/redis_server";
import { spawnService } from "../testing/platform.ts";

const HEADERS_MS = 500, IDLE_MS = 800;
/** How much later than its limit a connection may close: timers and a busy machine. */
const SLACK_MS = 3000;

/** Reads until the server closes the connection; fails if it is still open past `limitMs`. */
async function closedWithin(conn: Deno.Conn, limitMs: number): Promise<string> {
  const decoder = new TextDecoder();
  const buf = new Uint8Array(65536);
  let text = "", open = true;
  const timer = setTimeout(() => {
    open = false;
    conn.close();
  }, limitMs);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n));
    }
  } catch (err) {
    if (!open) assert.fail(`the connection was still open after ${limitMs} ms`);
    if (!(err instanceof Deno.errors.ConnectionReset)) throw err;
  } finally {
    clearTimeout(timer);
  }
  if (open) conn.close();
  return text;
}

async function checkSlowClients(port: number, path: string) {
  const encoder = new TextEncoder();
  const half = await Deno.connect({ hostname: "127.0.0.1", port });
  await half.write(encoder.encode(`GET ${path.slice(0, 3)}`));
  assert.equal(await closedWithin(half, HEADERS_MS + SLACK_MS), "", "half a request line");
  const idle = await Deno.connect({ hostname: "127.0.0.1", port });
  await idle.write(encoder.encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
  const answered = await closedWithin(idle, IDLE_MS + SLACK_MS);
  assert.match(answered, /^HTTP\/1\.1 200 OK\r\n/, "answered, then closed when idle");
}

Deno.test("the API and the site close a connection that sends half a request line within their header timeout, and an idle one within their idle timeout", async () => {
  await using redis = await startRedisServer();
  const apiPort = freePort(), sitePort = freePort();
  const api = await spawnService("fart", {
    REDIS_URL: redis.url,
    FART_PORT: String(apiPort),
    FART_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
    FART_IDLE_TIMEOUT_MS: String(IDLE_MS),
    LOG_LEVEL: "error",
  });
  try {
    const site = await spawnService("site", {
      SITE_PORT: String(sitePort),
      FART_URL: `http://127.0.0.1:${apiPort}`,
      SITE_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
      SITE_IDLE_TIMEOUT_MS: String(IDLE_MS),
      LOG_LEVEL: "error",
    });
    try {
      await checkSlowClients(apiPort, "/healthz");
      await checkSlowClients(sitePort, "/about");
    } finally {
      site.kill("SIGTERM");
      await site.status;
    }
  } finally {
    api.kill("SIGTERM");
    await api.status;
  }
});
