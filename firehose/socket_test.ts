import assert from "node:assert/strict";
import { ReadSocket, type SocketOptions } from "./socket.ts";

/** Everything a socket reported, once it closed. */
interface Seen {
  opened: boolean;
  messages: (Uint8Array | string)[];
  oversize: number[];
  errors: string[];
  /** Whether the socket still said it was open when each error came. */
  openAtError: boolean[];
  close: [number, string];
}

/**
 * Connects, hands the socket to `created` at once and to `act` once open, and resolves with
 * what it reported.
 */
function collect(
  url: string,
  options: SocketOptions = {},
  act: (socket: ReadSocket, seen: Seen) => void = () => {},
  created: (socket: ReadSocket) => void = () => {},
): Promise<Seen> {
  return new Promise((resolve) => {
    const seen: Seen = {
      opened: false,
      messages: [],
      oversize: [],
      errors: [],
      openAtError: [],
      close: [0, ""],
    };
    const socket: ReadSocket = new ReadSocket(url, {
      open: () => {
        seen.opened = true;
        act(socket, seen);
      },
      // A view is copied: the test holds it past the read that made it.
      message: (data) => seen.messages.push(typeof data === "string" ? data : data.slice()),
      oversize: (bytes) => seen.oversize.push(bytes),
      error: (message) => {
        seen.errors.push(message);
        seen.openAtError.push(socket.open);
      },
      close: (code, reason) => {
        seen.close = [code, reason];
        resolve(seen);
      },
    }, options);
    created(socket);
  });
}

const bytes = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

Deno.test("ReadSocket reads binary and text messages of every length class, in order, and the server's close", async () => {
  const sizes = [0, 1, 125, 126, 65_535, 65_536, 300_000, 1_000_000];
  const texts = ["", "plain", "héllo wörld ✓ 🦋"];
  let query = "";
  await using server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    query = new URL(req.url).search;
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => {
      sizes.forEach((n, i) => socket.send(bytes(n, i)));
      for (const t of texts) socket.send(t);
      socket.close(4000, "bye");
    };
    return response;
  });
  const seen = await collect(`ws://127.0.0.1:${server.addr.port}/xrpc/x?cursor=12`);
  assert.equal(query, "?cursor=12");
  assert.ok(seen.opened);
  assert.deepEqual(seen.errors, []);
  assert.equal(seen.messages.length, sizes.length + texts.length);
  sizes.forEach((n, i) => assert.deepEqual(seen.messages[i], bytes(n, i), `message of ${n} bytes`));
  assert.deepEqual(seen.messages.slice(sizes.length), texts);
  assert.deepEqual(seen.close, [4000, "bye"]);
});

Deno.test("ReadSocket reads over TLS (wss://) from a server it trusts, and refuses one it does not", async () => {
  const tls = new URL("../testdata/tls/", import.meta.url);
  const cert = await Deno.readTextFile(new URL("localhost.crt", tls));
  const key = await Deno.readTextFile(new URL("localhost.key", tls));
  const ca = await Deno.readTextFile(new URL("ca.crt", tls));
  await using server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", cert, key, onListen: () => {} },
    (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onopen = () => {
        socket.send(bytes(100_000, 7));
        socket.close(1000, "over tls");
      };
      return response;
    },
  );
  const url = `wss://127.0.0.1:${server.addr.port}/xrpc/x`;
  const seen = await collect(url, { caCerts: [ca] });
  assert.deepEqual(seen.errors, []);
  assert.deepEqual(seen.messages, [bytes(100_000, 7)]);
  assert.deepEqual(seen.close, [1000, "over tls"]);
  // Without the certificate, the built-in roots do not know the server.
  const untrusted = await collect(url);
  assert.equal(untrusted.opened, false);
  assert.equal(untrusted.close[0], 1006);
  assert.match(untrusted.errors.join(" "), /certificate/i);
});

Deno.test("ReadSocket answers the server's pings, so a server that drops silent clients keeps it", async () => {
  const { promise: closedBy, resolve: serverClosed } = Promise.withResolvers<number>();
  await using server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    // The server pings after a second of silence and drops a client that does not answer.
    const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 1 });
    socket.onopen = () => {
      setTimeout(() => {
        if (socket.readyState === WebSocket.OPEN) socket.send("still here");
        socket.close(1000, "done");
      }, 3500);
    };
    socket.onclose = (e) => serverClosed(e.code);
    return response;
  });
  const seen = await collect(`ws://127.0.0.1:${server.addr.port}/`);
  assert.deepEqual(seen.messages, ["still here"]);
  assert.deepEqual(seen.close, [1000, "done"]);
  assert.equal(await closedBy, 1000);
});

Deno.test("ReadSocket closes with its code and reason, and reports close once the server answers", async () => {
  const { promise: serverSaw, resolve: serverClosed } = Promise.withResolvers<[number, string]>();
  await using server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => socket.send("first");
    socket.onclose = (e) => serverClosed([e.code, e.reason]);
    return response;
  });
  const seen = await collect(`ws://127.0.0.1:${server.addr.port}/`, {}, (socket, seen) => {
    const wait = setInterval(() => {
      if (seen.messages.length === 0) return;
      clearInterval(wait);
      socket.close(1000, "consumer_lag");
      assert.equal(socket.open, false);
    }, 5);
  });
  assert.deepEqual(seen.messages, ["first"]);
  assert.deepEqual(seen.close, [1000, "consumer_lag"]);
  assert.deepEqual(await serverSaw, [1000, "consumer_lag"]);
  assert.deepEqual(seen.errors, []);
});

// A hand-made server: frames that a well-behaved one never sends.

function frame(
  op: number,
  payload: Uint8Array,
  { fin = true, rsv = 0, mask = false }: { fin?: boolean; rsv?: number; mask?: boolean } = {},
): Uint8Array {
  const n = payload.length;
  const head = n < 126 ? [n] : n < 65536 ? [126, n >> 8, n & 0xff] : [
    127,
    0,
    0,
    0,
    0,
    (n >>> 24) & 0xff,
    (n >> 16) & 0xff,
    (n >> 8) & 0xff,
    n & 0xff,
  ];
  head[0] |= mask ? 0x80 : 0;
  const key = mask ? [1, 2, 3, 4] : [];
  const body = mask ? payload.map((b, i) => b ^ key[i & 3]) : payload;
  return new Uint8Array([(fin ? 0x80 : 0) | rsv | op, ...head, ...key, ...body]);
}

const text = (s: string) => new TextEncoder().encode(s);
const code = (c: number, reason = "") => new Uint8Array([c >> 8, c & 0xff, ...text(reason)]);

async function acceptFor(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    text(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
  );
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** Reads until the end of the HTTP request; returns its text. */
async function readRequest(conn: Deno.Conn): Promise<string> {
  let got = "";
  const buf = new Uint8Array(4096);
  while (!got.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("request cut short");
    got += new TextDecoder().decode(buf.subarray(0, n));
  }
  return got;
}

/** Unmasks the client frames in `bytes`: [opcode, payload][] (whole frames only). */
function clientFrames(bytes: Uint8Array): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  let p = 0;
  while (p + 6 <= bytes.length) {
    const op = bytes[p] & 0x0f, n = bytes[p + 1] & 0x7f;
    assert.ok(bytes[p + 1] & 0x80, "a client frame is masked");
    const key = bytes.subarray(p + 2, p + 6);
    out.push([op, bytes.slice(p + 6, p + 6 + n).map((b, i) => b ^ key[i & 3])]);
    p += 6 + n;
  }
  return out;
}

interface Script {
  /** The answer's status line and headers; by default a correct 101. */
  answer?: (accept: string) => string;
  /** What to send after the answer, in order; a number waits that many ms. */
  send?: (Uint8Array | number)[];
  /** Send each byte in a write of its own. */
  byteByByte?: boolean;
  /** Close the connection after sending (else wait for the client to). */
  hangUp?: boolean;
}

/** Serves one connection as scripted; resolves with the bytes the client sent after the upgrade. */
function scripted(script: Script): { port: number; received: Promise<Uint8Array> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received = (async () => {
    const conn = await listener.accept();
    listener.close();
    const chunks: Uint8Array[] = [];
    try {
      const request = await readRequest(conn);
      const key = /sec-websocket-key: *(\S+)/i.exec(request)![1];
      const accept = await acceptFor(key);
      const answer = script.answer?.(accept) ??
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`;
      await conn.write(text(answer));
      const reading = (async () => {
        const buf = new Uint8Array(4096);
        for (;;) {
          const n = await conn.read(buf).catch(() => null);
          if (n === null) return;
          chunks.push(buf.slice(0, n));
        }
      })();
      for (const item of script.send ?? []) {
        if (typeof item === "number") await new Promise((r) => setTimeout(r, item));
        else if (!script.byteByByte) await conn.write(item);
        else for (const b of item) await conn.write(new Uint8Array([b]));
      }
      if (script.hangUp) conn.close();
      await reading;
    } finally {
      try {
        conn.close();
      } catch { /* closed */ }
    }
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    return all;
  })();
  return { port: (listener.addr as Deno.NetAddr).port, received };
}

Deno.test("ReadSocket joins a fragmented message around a ping, read a byte at a time, and answers the ping", async () => {
  const ping = text("are you there");
  const { port, received } = scripted({
    byteByByte: true,
    send: [
      frame(0x2, bytes(200, 1), { fin: false }),
      frame(0x9, ping),
      frame(0x0, bytes(70_000, 2), { fin: false }),
      frame(0x0, bytes(3, 3)),
      frame(0x1, text("after")),
      frame(0x8, new Uint8Array()),
    ],
  });
  const seen = await collect(`ws://127.0.0.1:${port}/`);
  const whole = new Uint8Array([...bytes(200, 1), ...bytes(70_000, 2), ...bytes(3, 3)]);
  assert.deepEqual(seen.messages, [whole, "after"]);
  // A close frame without a code.
  assert.deepEqual(seen.close, [1005, ""]);
  const sent = clientFrames(await received);
  assert.deepEqual(sent.map(([op]) => op), [0xa, 0x8]);
  assert.deepEqual(sent[0][1], ping);
  assert.deepEqual(sent[1][1], new Uint8Array());
});

Deno.test("ReadSocket steps over a message over the limit, whole or in fragments, and reads on", async () => {
  const { port } = scripted({
    send: [
      frame(0x2, bytes(5000, 1)),
      frame(0x2, bytes(10, 2)),
      frame(0x2, bytes(600, 3), { fin: false }),
      frame(0x0, bytes(600, 4), { fin: false }),
      frame(0x0, bytes(600, 5)),
      frame(0x1, text("last")),
      frame(0x8, code(1000, "end")),
    ],
  });
  const seen = await collect(`ws://127.0.0.1:${port}/`, { maxMessageBytes: 1000 });
  assert.deepEqual(seen.messages, [bytes(10, 2), "last"]);
  assert.deepEqual(seen.oversize, [5000, 1200]);
  assert.deepEqual(seen.close, [1000, "end"]);
  assert.deepEqual(seen.errors, []);
});

Deno.test("ReadSocket steps over a message in more than 1,024 fragments, however small, and reads on", async () => {
  // Empty fragments hold no bytes, but each would hold on to the chunk it came in.
  const empty = frame(0x0, new Uint8Array(), { fin: false });
  const flood = new Uint8Array(empty.length * 5000).map((_, i) => empty[i % empty.length]);
  const { port } = scripted({
    send: [
      frame(0x2, bytes(1, 1), { fin: false }),
      flood,
      frame(0x0, bytes(1, 2)),
      frame(0x2, bytes(10, 3)),
      frame(0x8, code(1000, "end")),
    ],
  });
  const seen = await collect(`ws://127.0.0.1:${port}/`);
  assert.deepEqual(seen.messages, [bytes(10, 3)]);
  assert.deepEqual(seen.oversize, [1]);
  assert.deepEqual(seen.close, [1000, "end"]);
  assert.deepEqual(seen.errors, []);
});

Deno.test("ReadSocket closes with the protocol's code on a frame that breaks it, after the messages before it", async () => {
  const cases: [string, Uint8Array, number, RegExp][] = [
    ["masked", frame(0x2, bytes(10, 1), { mask: true }), 1002, /masked/],
    ["reserved bits", frame(0x2, bytes(10, 1), { rsv: 0x40 }), 1002, /reserved bits/],
    ["unknown opcode", frame(0x3, bytes(10, 1)), 1002, /unknown opcode 3/],
    ["reserved control opcode", frame(0xb, bytes(3, 1)), 1002, /unknown opcode 11/],
    ["invalid close code", frame(0x8, code(1005)), 1002, /invalid code 1005/],
    ["long ping", frame(0x9, bytes(126, 1)), 1002, /control frame/],
    ["fragmented ping", frame(0x9, bytes(5, 1), { fin: false }), 1002, /control frame/],
    ["lone continuation", frame(0x0, bytes(5, 1)), 1002, /continuation frame without/],
    ["bad UTF-8", frame(0x1, new Uint8Array([0x68, 0xff, 0x69])), 1007, /not UTF-8/],
    ["one-byte close", frame(0x8, new Uint8Array([3])), 1002, /close frame of one byte/],
  ];
  for (const [name, bad, expected, why] of cases) {
    const { port, received } = scripted({ send: [frame(0x1, text("before")), bad] });
    const seen = await collect(`ws://127.0.0.1:${port}/`);
    assert.deepEqual(seen.messages, ["before"], name);
    assert.equal(seen.close[0], expected, name);
    assert.equal(seen.errors.length, 1, name);
    assert.match(seen.errors[0], why, name);
    // Reading is over by then: a close() from the error's handler would send nothing more.
    assert.deepEqual(seen.openAtError, [false], name);
    // The server is told why.
    const sent = clientFrames(await received);
    assert.deepEqual(sent, [[0x8, code(expected)]], name);
  }
  // A new message inside a fragmented one.
  const { port } = scripted({
    send: [frame(0x2, bytes(5, 1), { fin: false }), frame(0x2, bytes(5, 2))],
  });
  const seen = await collect(`ws://127.0.0.1:${port}/`);
  assert.equal(seen.close[0], 1002);
  assert.match(seen.errors[0], /inside a fragmented one/);
});

Deno.test("ReadSocket reports a connection that ends mid-frame, and delivers what came before", async () => {
  const cut = frame(0x2, bytes(1000, 2)).subarray(0, 500);
  const { port } = scripted({ send: [frame(0x2, bytes(10, 1)), cut], hangUp: true });
  const seen = await collect(`ws://127.0.0.1:${port}/`);
  assert.deepEqual(seen.messages, [bytes(10, 1)]);
  assert.deepEqual(seen.close, [1006, ""]);
});

Deno.test("ReadSocket refuses an answer that is not a proper upgrade, and never opens", async () => {
  const answers: [string, (accept: string) => string, RegExp][] = [
    ["refused", () => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", /HTTP 404/],
    [
      "wrong accept",
      () =>
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: c29tZXRoaW5nIGVsc2U=\r\n\r\n",
      /Accept does not match/,
    ],
    [
      "no upgrade",
      (a) =>
        `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${a}\r\n\r\n`,
      /does not upgrade/,
    ],
    [
      "an extension",
      (a) =>
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n" +
        `Sec-WebSocket-Accept: ${a}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`,
      /extension or subprotocol/,
    ],
    ["endless headers", () => "HTTP/1.1 101 OK\r\n" + "X-A: b\r\n".repeat(3000), /too long/],
    ["not HTTP", () => "SSH-2.0-OpenSSH\r\n\r\n", /not HTTP\/1\.1/],
  ];
  for (const [name, answer, why] of answers) {
    const { port } = scripted({ answer, send: [frame(0x1, text("never"))], hangUp: true });
    const seen = await collect(`ws://127.0.0.1:${port}/`);
    assert.equal(seen.opened, false, name);
    assert.deepEqual(seen.messages, [], name);
    assert.equal(seen.close[0], 1006, name);
    assert.match(seen.errors.join(" "), why, name);
  }
});

Deno.test("ReadSocket reports a refused connection, gives up a connection still opening when closed, and rejects a URL that is not ws", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const refused = await collect(`ws://127.0.0.1:${port}/`);
  assert.equal(refused.opened, false);
  assert.equal(refused.close[0], 1006);
  assert.equal(refused.errors.length, 1);

  // A server that takes the connection and never answers the upgrade.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = silent.accept().then((c) => held.push(c)).catch(() => {});
  try {
    const t0 = performance.now();
    const url = `ws://127.0.0.1:${(silent.addr as Deno.NetAddr).port}/`;
    const seen = await collect(url, {}, undefined, (socket) => {
      setTimeout(() => socket.close(1000, "stall"), 200);
    });
    assert.equal(seen.opened, false);
    assert.deepEqual(seen.close, [1000, "stall"]);
    assert.deepEqual(seen.errors, []);
    assert.ok(performance.now() - t0 < 2000);
  } finally {
    silent.close();
    await accepting;
    for (const c of held) c.close();
  }

  assert.throws(
    () => new ReadSocket("http://127.0.0.1/", collectNothing),
    /Not a WebSocket URL/,
  );
});

const collectNothing = {
  open() {},
  message() {},
  oversize() {},
  error() {},
  close() {},
};
