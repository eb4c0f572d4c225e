import assert from "node:assert/strict";
import { type FetchHandler, type HttpServer, serveHttp } from "./http_server.ts";

const LIMITS = { headersTimeoutMs: 400, requestTimeoutMs: 2000, idleTimeoutMs: 600 };
/** How much later than its limit a connection may close: timers and a busy machine. */
const SLACK_MS = 2000;

async function withServer(handler: FetchHandler, fn: (server: HttpServer) => Promise<void>) {
  const server = await serveHttp({ hostname: "127.0.0.1", port: 0, ...LIMITS }, handler);
  try {
    await fn(server);
  } finally {
    await server.shutdown();
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads until the server closes the connection, or fails past `limitMs`. */
async function closedWithin(conn: Deno.Conn, limitMs: number): Promise<string> {
  const t0 = performance.now();
  let text = "";
  const buf = new Uint8Array(4096);
  const timer = setTimeout(() => conn.close(), limitMs);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n));
    }
  } catch {
    assert.fail(`the connection was still open after ${limitMs} ms`);
  } finally {
    clearTimeout(timer);
  }
  assert.ok(performance.now() - t0 < limitMs);
  try {
    conn.close();
  } catch { /* closed already */ }
  return text;
}

const ok: FetchHandler = () => new Response("ok");

Deno.test("serveHttp() closes a connection that sends half a request line within its header timeout", async () => {
  await withServer(ok, async (server) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(encoder.encode("GET /c/al"));
    assert.equal(await closedWithin(conn, LIMITS.headersTimeoutMs + SLACK_MS), "");
    // A connection that sends nothing at all goes the same way.
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await closedWithin(silent, LIMITS.headersTimeoutMs + SLACK_MS);
  });
});

Deno.test("serveHttp() closes a connection whose headers trickle in, though bytes keep coming", async () => {
  await withServer(ok, async (server) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    let sending = true;
    const trickle = (async () => {
      const head = "GET / HTTP/1.1\r\nHost: x\r\n" + "X-Pad: y\r\n".repeat(1000);
      for (const c of head) {
        if (!sending) break;
        await conn.write(encoder.encode(c)).catch(() => sending = false);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await closedWithin(conn, LIMITS.headersTimeoutMs + SLACK_MS);
    sending = false;
    await trickle;
  });
});

Deno.test("serveHttp() closes a kept-alive connection left idle after an answer, within its idle timeout", async () => {
  await withServer(ok, async (server) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const text = await closedWithin(conn, LIMITS.idleTimeoutMs + SLACK_MS);
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(text, /\r\n\r\nok$/);
    assert.equal(server.connections, 0);
  });
});

Deno.test("serveHttp() answers as Deno.serve would: status, headers, cookies, lengths, HEAD, bodies both ways and the client's address", async () => {
  const handler: FetchHandler = async (req, info) => {
    const url = new URL(req.url);
    if (url.pathname === "/echo") {
      return new Response(await req.text(), { status: 201, headers: { "x-method": req.method } });
    }
    if (url.pathname === "/stream") {
      const parts = ["one ", "two ", "three"];
      return new Response(ReadableStream.from(parts.map((p) => encoder.encode(p))));
    }
    if (url.pathname === "/none") {
      return new Response(null, { status: 304, headers: { etag: '"a"' } });
    }
    const headers = new Headers({ "content-type": "text/plain" });
    headers.append("set-cookie", "a=1; Path=/");
    headers.append("set-cookie", "b=2; Path=/");
    return new Response(
      `${req.method} ${url.host}${url.pathname}${url.search} ${info.remoteAddr.hostname}`,
      {
        headers,
      },
    );
  };
  await withServer(handler, async (server) => {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const res = await fetch(`${base}/a/b?c=d`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), `GET 127.0.0.1:${server.addr.port}/a/b?c=d 127.0.0.1`);
    assert.deepEqual(res.headers.getSetCookie(), ["a=1; Path=/", "b=2; Path=/"]);
    assert.equal(
      res.headers.get("content-length"),
      String(`GET 127.0.0.1:${server.addr.port}/a/b?c=d 127.0.0.1`.length),
    );
    const head = await fetch(`${base}/a`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    const echo = await fetch(`${base}/echo`, { method: "POST", body: "x".repeat(100_000) });
    assert.equal(echo.status, 201);
    assert.equal(echo.headers.get("x-method"), "POST");
    assert.equal((await echo.text()).length, 100_000);
    assert.equal(await (await fetch(`${base}/stream`)).text(), "one two three");
    const none = await fetch(`${base}/none`);
    assert.equal(none.status, 304);
    assert.equal(none.headers.get("etag"), '"a"');
    // A request head past the bound gets 431 rather than a connection held open.
    const big = await fetch(`${base}/?${"q".repeat(20_000)}`);
    assert.equal(big.status, 431);
    await big.body?.cancel();
  });
});

Deno.test("serveHttp() with a header timeout of 0 serves through Deno.serve, without limits, for a server behind a proxy that has its own", async () => {
  const server = await serveHttp(
    { hostname: "127.0.0.1", port: 0, ...LIMITS, headersTimeoutMs: 0 },
    (req, info) => new Response(`${new URL(req.url).pathname} ${info.remoteAddr.hostname}`),
  );
  try {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/a`);
    assert.equal(await res.text(), "/a 127.0.0.1");
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(encoder.encode("GET /c/al"));
    const read = conn.read(new Uint8Array(16)).catch(() => null);
    const open = await Promise.race([
      read.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), LIMITS.headersTimeoutMs + 600)),
    ]);
    assert.equal(open, true, "no header timeout: the connection is left open");
    conn.close();
    await read;
  } finally {
    await server.shutdown();
  }
});
