import { setImmediate } from "node:timers";

/**
 * A WebSocket client (RFC 6455) that only reads: what the subscription needs of the relay
 * or Jetstream. It reads the connection in large chunks and hands over each message as a
 * view of the chunk it arrived in, with no copy and no event object. The built-in
 * WebSocket makes an ArrayBuffer and a MessageEvent per message, in an operation of its
 * own; at the firehose's rates that costs about as much CPU as decoding the frame.
 *
 * A chunk is never written again once a message of it was handed over, so the views stay
 * valid for as long as anyone holds them. Everything the server sends is hostile: the
 * handshake's answer is bounded and checked, every frame is checked against the protocol
 * (a violation closes the connection with its code), and a message over the size limit is
 * stepped over as it arrives (never buffered) and reported.
 */

/**
 * What a socket reports, in this order: open, then messages, then close (always, once). A
 * handler of open or message that throws ends the connection: error, then close with 1006.
 */
export interface SocketEvents {
  open(): void;
  /** A whole message: binary as a view of the bytes read, text as a string. */
  message(data: Uint8Array | string): void;
  /**
   * A message over `maxMessageBytes` (or in more than 1,024 fragments), stepped over; `bytes`
   * is at least what it held.
   */
  oversize(bytes: number): void;
  /** Why the connection failed or was closed by this side; `close` follows. */
  error(message: string): void;
  /**
   * The connection is over. `code` is the server's close code (1005 when its close frame
   * had none), the one this side closed with, or 1006 when it ended without a close frame.
   */
  close(code: number, reason: string): void;
}

export interface SocketOptions {
  /** Largest message accepted; a larger one is stepped over (`oversize`). */
  maxMessageBytes?: number;
  /** How long the closing handshake may take before the connection is dropped. */
  closeTimeoutMs?: number;
  /** Certificates (PEM) trusted for wss:// besides the built-in roots. */
  caCerts?: string[];
}

/** The default message limit: the built-in WebSocket's. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Bytes read at once at most; a frame larger than this gets a chunk of its own size. */
const CHUNK_BYTES = 256 * 1024;
/** Fragments of one message at most: each is a copy and an object, however few its bytes. */
const MAX_FRAGMENTS = 1024;
/** The longest handshake answer accepted. */
const MAX_HANDSHAKE_BYTES = 16 * 1024;
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

const OP_CONTINUATION = 0x0, OP_TEXT = 0x1, OP_BINARY = 0x2;
const OP_CLOSE = 0x8, OP_PING = 0x9, OP_PONG = 0xa;

/** A frame or handshake that breaks the protocol: the connection closes with `code`. */
class ProtocolError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Lets the event loop run what is ready (timers, other sockets' replies). A read that finds
 * bytes waiting resolves without a turn of the loop; without this, a socket that always has
 * bytes waiting would keep everything else from running.
 */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const encoder = new TextEncoder();

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** The Sec-WebSocket-Accept a server must answer to `key`. */
async function acceptFor(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", encoder.encode(key + GUID));
  return base64(new Uint8Array(digest));
}

/** A close frame's payload: the code, then at most 123 bytes of reason cut where a character starts. */
function closePayload(code: number, reason: string): Uint8Array {
  let bytes = encoder.encode(reason);
  if (bytes.length > 123) {
    let cut = 123;
    while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--;
    bytes = bytes.subarray(0, cut);
  }
  const payload = new Uint8Array(2 + bytes.length);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.set(bytes, 2);
  return payload;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/** Where "\r\n\r\n" starts in bytes[0, end), looking from `from` on; or -1. */
function headerEnd(bytes: Uint8Array, from: number, end: number): number {
  for (let i = Math.max(3, from + 3); i < end; i++) {
    if (
      bytes[i] === 0x0a && bytes[i - 1] === 0x0d && bytes[i - 2] === 0x0a && bytes[i - 3] === 0x0d
    ) return i - 3;
  }
  return -1;
}

/** Checks the server's answer to the upgrade (status line and headers, as Latin-1 text). */
function checkAnswer(head: string, accept: string): void {
  const [status, ...lines] = head.split("\r\n");
  const code = /^HTTP\/1\.1 (\d{3})(?: |$)/.exec(status)?.[1];
  if (code === undefined) throw new ProtocolError(1002, "The server's answer is not HTTP/1.1");
  if (code !== "101") throw new ProtocolError(1002, `The server refused the upgrade: HTTP ${code}`);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new ProtocolError(1002, "A header of the server's answer is malformed");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  if (headers.get("upgrade")?.toLowerCase() !== "websocket") {
    throw new ProtocolError(1002, "The server's answer does not upgrade to websocket");
  }
  const connection = (headers.get("connection") ?? "").toLowerCase().split(",");
  if (!connection.some((t) => t.trim() === "upgrade")) {
    throw new ProtocolError(1002, "The server's answer does not say Connection: Upgrade");
  }
  if (headers.get("sec-websocket-accept") !== accept) {
    throw new ProtocolError(1002, "The server's Sec-WebSocket-Accept does not match the key");
  }
  // Nothing was offered: a server that picks an extension or a subprotocol breaks the protocol.
  if (headers.get("sec-websocket-extensions") || headers.get("sec-websocket-protocol")) {
    throw new ProtocolError(1002, "The server chose an extension or subprotocol not offered");
  }
}

/** A read-only WebSocket client; see the module's doc. */
export class ReadSocket {
  #state: "connecting" | "open" | "closing" | "closed" = "connecting";
  #conn: Deno.Conn | undefined;
  /** The code and reason this side closed with, once it did. */
  #closedWith: [number, string] | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #writing: Promise<void> = Promise.resolve();
  /** Settled by close() while connecting: a connection that is slow to open is not waited for. */
  #given = Promise.withResolvers<undefined>();
  /** Frames waiting to be written. */
  #unsent = 0;
  /** The newest ping's payload, while a write still on its way holds its pong back. */
  #pongDue: Uint8Array | undefined;
  readonly #url: URL;
  readonly #max: number;
  readonly #closeTimeoutMs: number;
  readonly #caCerts: string[] | undefined;

  /** Throws at once on a URL that is not ws:// or wss://; everything else is reported. */
  constructor(url: string, readonly events: SocketEvents, options: SocketOptions = {}) {
    this.#url = new URL(url);
    if (this.#url.protocol !== "ws:" && this.#url.protocol !== "wss:") {
      throw new TypeError(`Not a WebSocket URL: ${this.#url.protocol}`);
    }
    this.#max = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 2000;
    this.#caCerts = options.caCerts;
    this.#run();
  }

  /** True from the handshake's success until the closing starts. */
  get open(): boolean {
    return this.#state === "open";
  }

  /**
   * Starts the closing handshake (the connection is dropped if the server does not answer
   * in time); while still connecting, gives up the connection. `close` is reported after.
   */
  close(code = 1000, reason = ""): void {
    if (this.#state === "closing" || this.#state === "closed") return;
    this.#closedWith = [code, reason];
    const connecting = this.#state === "connecting";
    this.#state = "closing";
    if (connecting || !this.#conn) {
      this.#given.resolve(undefined);
      this.#drop();
      return;
    }
    this.#send(OP_CLOSE, closePayload(code, reason));
    this.#closeTimer = setTimeout(() => this.#drop(), this.#closeTimeoutMs);
  }

  #drop(): void {
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
  }

  /** Sends one masked frame (only control frames: this client never sends data). */
  #send(op: number, payload: Uint8Array): void {
    const conn = this.#conn;
    if (!conn) return;
    // While a write is on its way, only the newest ping gets a pong, after it (RFC 6455
    // 5.5.3): a server that sends pings and reads nothing cannot make writes pile up.
    if (op === OP_PONG && this.#unsent > 0) {
      this.#pongDue = payload.slice();
      return;
    }
    this.#unsent++;
    const frame = new Uint8Array(6 + payload.length);
    frame[0] = 0x80 | op;
    frame[1] = 0x80 | payload.length;
    const mask = crypto.getRandomValues(new Uint8Array(4));
    frame.set(mask, 2);
    for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i] ^ mask[i & 3];
    // A failed write shows as the read's end.
    this.#writing = this.#writing.then(() => writeAll(conn, frame)).catch(() => {})
      .finally(() => {
        this.#unsent--;
        const due = this.#pongDue;
        if (this.#unsent === 0 && due && this.#state === "open") {
          this.#pongDue = undefined;
          this.#send(OP_PONG, due);
        }
      });
  }

  async #run(): Promise<void> {
    let ended: [number, string] = [1006, ""];
    try {
      const opening = this.#connect();
      const conn = await Promise.race([opening, this.#given.promise]);
      if (!conn) {
        // Given up: the connection is closed whenever it opens.
        opening.then((c) => c.close(), () => {});
        return;
      }
      this.#conn = conn;
      if (this.#state !== "connecting") return;
      const first = await this.#handshake(conn);
      if (this.#state !== "connecting") return;
      this.#state = "open";
      this.events.open();
      ended = await this.#read(conn, first);
    } catch (err) {
      const wasOpen = this.#state === "open";
      // Reading is over: the socket is no longer open, and close() sends nothing more.
      if (wasOpen) this.#state = "closing";
      // Whatever this side's own close interrupted is no error.
      if (this.#closedWith === undefined) {
        const protocol = err instanceof ProtocolError;
        if (protocol && wasOpen) {
          this.#closedWith = [err.code, ""];
          this.#send(OP_CLOSE, closePayload(err.code, ""));
        }
        ended = [protocol && wasOpen ? err.code : 1006, ""];
        this.events.error(err instanceof Error ? err.message : String(err));
      }
    } finally {
      if (this.#state === "open") this.#state = "closing";
      // The last close frame goes out first, unless the server does not read it in time.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#writing,
        new Promise((r) => timer = setTimeout(r, this.#closeTimeoutMs)),
      ]);
      clearTimeout(timer);
      clearTimeout(this.#closeTimer);
      this.#drop();
      this.#state = "closed";
      const [code, reason] = this.#closedWith && ended[0] === 1006 ? this.#closedWith : ended;
      this.events.close(code, reason);
    }
  }

  #connect(): Promise<Deno.Conn> {
    const url = this.#url;
    // new URL() keeps an IPv6 host in brackets.
    const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const tls = url.protocol === "wss:";
    const port = url.port ? Number(url.port) : tls ? 443 : 80;
    return tls
      ? Deno.connectTls({ hostname, port, caCerts: this.#caCerts })
      : Deno.connect({ hostname, port });
  }

  /** Sends the upgrade, checks the answer, and returns the bytes that came after it. */
  async #handshake(conn: Deno.Conn): Promise<Uint8Array> {
    const key = base64(crypto.getRandomValues(new Uint8Array(16)));
    const url = this.#url;
    await writeAll(
      conn,
      encoder.encode(
        `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
          `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
          `Sec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    const accept = await acceptFor(key);
    const buf = new Uint8Array(MAX_HANDSHAKE_BYTES);
    let end = 0;
    for (;;) {
      if (end === buf.length) throw new ProtocolError(1002, "The server's answer is too long");
      const n = await conn.read(buf.subarray(end));
      if (n === null) throw new Error("The server closed the connection during the handshake");
      // Only where the end could be now: an answer trickled a byte at a time is read once.
      const at = headerEnd(buf, end - 3, end + n);
      end += n;
      if (at >= 0) {
        checkAnswer(String.fromCharCode(...buf.subarray(0, at)), accept);
        return buf.slice(at + 4, end);
      }
    }
  }

  /**
   * Reads frames until the connection ends; returns the close code and reason. Messages go
   * to `events.message` while the socket is open.
   */
  async #read(conn: Deno.Conn, first: Uint8Array): Promise<[number, string]> {
    let buf = new Uint8Array(Math.max(CHUNK_BYTES, first.length));
    buf.set(first);
    let start = 0, end = first.length;
    /** The fragments of a message still coming (undefined when none is). */
    let parts: Uint8Array[] | undefined;
    let partsBytes = 0, partsText = false;
    /** Payload bytes of an oversized frame still to step over. */
    let skip = 0;
    /** True while the rest of an oversized fragmented message is stepped over. */
    let skipping = false;
    for (;;) {
      // Bytes of the frame at `start` still missing (0: none is partly read).
      let missing = 0;
      while (start < end) {
        if (skip > 0) {
          const n = Math.min(skip, end - start);
          skip -= n;
          start += n;
          continue;
        }
        const available = end - start;
        if (available < 2) {
          missing = 2 - available;
          break;
        }
        const b0 = buf[start], b1 = buf[start + 1];
        if (b1 & 0x80) throw new ProtocolError(1002, "A frame from the server is masked");
        if (b0 & 0x70) throw new ProtocolError(1002, "A frame sets reserved bits");
        let length = b1 & 0x7f, head = 2;
        if (length === 126) {
          head = 4;
          if (available < head) {
            missing = head - available;
            break;
          }
          length = (buf[start + 2] << 8) | buf[start + 3];
        } else if (length === 127) {
          head = 10;
          if (available < head) {
            missing = head - available;
            break;
          }
          const high = ((buf[start + 2] << 24) | (buf[start + 3] << 16) | (buf[start + 4] << 8) |
            buf[start + 5]) >>> 0;
          const low = ((buf[start + 6] << 24) | (buf[start + 7] << 16) | (buf[start + 8] << 8) |
            buf[start + 9]) >>> 0;
          if (high >= 0x80000000) throw new ProtocolError(1002, "A frame length is negative");
          length = high * 2 ** 32 + low;
        }
        const fin = (b0 & 0x80) !== 0, op = b0 & 0x0f;
        // Data opcodes are 0-2 and control opcodes 8-10; the others are reserved.
        if (op > OP_PONG || (op > OP_BINARY && op < OP_CLOSE)) {
          throw new ProtocolError(1002, `A frame has an unknown opcode ${op}`);
        }
        if (op >= OP_CLOSE) {
          if (!fin || length > 125) {
            throw new ProtocolError(1002, "A control frame is fragmented or too long");
          }
        } else if (op === OP_CONTINUATION ? !parts && !skipping : parts || skipping) {
          throw new ProtocolError(
            1002,
            op === OP_CONTINUATION
              ? "A continuation frame without a message"
              : "A new message inside a fragmented one",
          );
        }
        // A message over the limit is stepped over as it arrives, never held.
        if (
          op < 0x8 &&
          (skipping || partsBytes + length > this.#max || (parts?.length ?? 0) >= MAX_FRAGMENTS)
        ) {
          if (!skipping && this.#state === "open") this.events.oversize(partsBytes + length);
          parts = undefined;
          partsBytes = 0;
          skipping = !fin;
          skip = length;
          start += head;
          continue;
        }
        if (available < head + length) {
          missing = head + length - available;
          break;
        }
        const payload = buf.subarray(start + head, start + head + length);
        start += head + length;
        if (op === OP_CLOSE) return this.#closed(payload);
        if (op === OP_PING) {
          if (this.#state === "open") this.#send(OP_PONG, payload);
          continue;
        }
        if (op === OP_PONG) continue;
        if (!fin) {
          if (!parts) {
            parts = [];
            partsText = op === OP_TEXT;
          }
          // Copied: a fragment kept as a view would hold its whole chunk until the end.
          parts.push(payload.slice());
          partsBytes += length;
          continue;
        }
        let data = payload, isText = op === OP_TEXT;
        if (parts) {
          parts.push(payload);
          data = new Uint8Array(partsBytes + length);
          let at = 0;
          for (const p of parts) {
            data.set(p, at);
            at += p.length;
          }
          isText = partsText;
          parts = undefined;
          partsBytes = 0;
        }
        if (this.#state !== "open") continue;
        if (!isText) this.events.message(data);
        else {
          let s: string;
          try {
            s = text.decode(data);
          } catch {
            throw new ProtocolError(1007, "A text message is not UTF-8");
          }
          this.events.message(s);
        }
      }
      // Read more after what is there. A chunk full, or too small for the frame it holds
      // the start of, is left to the messages taken from it: the rest moves to a new one.
      if (end === buf.length || (missing > 0 && end + missing > buf.length)) {
        const next = new Uint8Array(Math.max(CHUNK_BYTES, end - start + missing));
        next.set(buf.subarray(start, end));
        buf = next;
        end -= start;
        start = 0;
      }
      await turn();
      const n = await conn.read(buf.subarray(end));
      if (n === null) return [1006, ""];
      end += n;
    }
  }

  /** The server's close frame: answers it unless this side closed first. */
  #closed(payload: Uint8Array): [number, string] {
    if (payload.length === 1) throw new ProtocolError(1002, "A close frame of one byte");
    const code = payload.length === 0 ? 1005 : (payload[0] << 8) | payload[1];
    // Codes a close frame may carry (RFC 6455 7.4, and the registry's 1012-1014).
    if (
      payload.length > 0 &&
      !((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
        (code >= 3000 && code <= 4999))
    ) throw new ProtocolError(1002, `A close frame has the invalid code ${code}`);
    let reason = "";
    try {
      reason = text.decode(payload.subarray(2));
    } catch {
      throw new ProtocolError(1007, "A close reason is not UTF-8");
    }
    if (this.#closedWith === undefined) {
      this.#closedWith = [code, reason];
      this.#send(OP_CLOSE, payload.subarray(0, 2));
    }
    return [code, reason];
  }
}
