/**
 * The HTTP server of the API and the site: a fetch handler (Request in, Response out) served
 * with time limits on every connection. Deno.serve (Deno 2.9) has no header-read or idle
 * timeout, so a client that sends half a request, or opens connections and never uses them,
 * holds each one for as long as it likes; node:http's headersTimeout and keepAliveTimeout
 * are not enforced by Deno's node:http either. Its server does hand out each connection's
 * socket, which is guarded here by one timer per connection:
 *
 * - from connecting, the first request's headers must be complete within `headersTimeoutMs`;
 * - from a request's headers, its answer must be sent within `requestTimeoutMs` (a body sent
 *   slowly, or an answer never read, cannot hold the connection either);
 * - from an answer, the next request's headers must be complete within `idleTimeoutMs`.
 *
 * Past its limit a connection is closed. A request head larger than `maxHeaderBytes` gets 431.
 * The guard costs CPU on every request (node:http's parser and a Request built in JavaScript):
 * behind a reverse proxy that enforces such limits itself, `headersTimeoutMs` 0 serves with
 * Deno.serve instead, without any.
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { once } from "node:events";
import { Buffer } from "node:buffer";
import { env } from "./config.ts";

/**
 * The time limits of a service's connections as settings: `<PREFIX>_HEADERS_TIMEOUT_MS`,
 * `<PREFIX>_REQUEST_TIMEOUT_MS` and `<PREFIX>_IDLE_TIMEOUT_MS`.
 */
export function connectionLimitsEnv<P extends string>(prefix: P) {
  return {
    [`${prefix}_HEADERS_TIMEOUT_MS`]: env.int(10_000, { min: 0, max: 600_000 }),
    [`${prefix}_REQUEST_TIMEOUT_MS`]: env.int(60_000, { min: 100, max: 3_600_000 }),
    [`${prefix}_IDLE_TIMEOUT_MS`]: env.int(30_000, { min: 100, max: 3_600_000 }),
  } as Record<
    `${P}_HEADERS_TIMEOUT_MS` | `${P}_REQUEST_TIMEOUT_MS` | `${P}_IDLE_TIMEOUT_MS`,
    ReturnType<typeof env.int>
  >;
}

export interface HttpServerOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /**
   * How long a new connection has to send its first request's headers. 0: no limits at all
   * (Deno.serve), only for a server behind a reverse proxy that enforces its own.
   */
  headersTimeoutMs: number;
  /** How long a request has, from its headers, until its answer is sent. */
  requestTimeoutMs: number;
  /** How long a connection may wait after an answer for its next request's headers. */
  idleTimeoutMs: number;
  /** Largest request line and headers, in bytes (16 KiB unless said). */
  maxHeaderBytes?: number;
}

/** What a handler is told about the connection, as Deno.serve tells it. */
export interface ConnectionInfo {
  remoteAddr: { hostname: string; port: number };
}

export type FetchHandler = (req: Request, info: ConnectionInfo) => Response | Promise<Response>;

export interface HttpServer {
  addr: { hostname: string; port: number };
  /** Connections open now (NaN without limits: Deno.serve does not tell). */
  readonly connections: number;
  /** Stops taking connections, lets the answers under way finish, then closes the rest. */
  shutdown(): Promise<void>;
}

interface Guard {
  timer?: ReturnType<typeof setTimeout>;
  /** Requests whose answer is not sent yet. */
  open: number;
}

/** Bodies up to this size are written with their head in one write. */
const ONE_WRITE_BYTES = 64 * 1024;
/** How long a shutdown lets answers under way finish. */
const SHUTDOWN_GRACE_MS = 5000;

/** Host headers that can stand in a URL; anything else is replaced by the server's address. */
const HOST = /^(?:[a-z0-9.-]{1,253}|\[[0-9a-f:.]{2,45}\])(?::\d{1,5})?$/i;

/** Serves `handler` on `hostname:port`; resolves once it listens. */
export async function serveHttp(
  options: HttpServerOptions,
  handler: FetchHandler,
): Promise<HttpServer> {
  if (options.headersTimeoutMs === 0) return serveUnguarded(options, handler);
  const guards = new Map<Socket, Guard>();
  let closing = false;
  const arm = (socket: Socket, ms: number) => {
    const guard = guards.get(socket);
    if (!guard) return;
    clearTimeout(guard.timer);
    guard.timer = setTimeout(() => socket.destroy(), ms);
  };

  const server = createServer({ maxHeaderSize: options.maxHeaderBytes ?? 16 * 1024 });
  server.on("connection", (socket: Socket) => {
    guards.set(socket, { open: 0 });
    arm(socket, options.headersTimeoutMs);
    socket.on("close", () => {
      clearTimeout(guards.get(socket)?.timer);
      guards.delete(socket);
    });
  });
  server.on("clientError", (err: Error & { code?: string }, socket: Socket) => {
    const status = err.code === "HPE_HEADER_OVERFLOW"
      ? "431 Request Header Fields Too Large"
      : "400 Bad Request";
    if (socket.writable) {
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    }
    socket.destroy();
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    const guard = guards.get(socket);
    if (guard) guard.open++;
    arm(socket, options.requestTimeoutMs);
    res.on("close", () => {
      if (!guard) return;
      guard.open--;
      if (guard.open > 0) return;
      if (closing) socket.destroy();
      else arm(socket, options.idleTimeoutMs);
    });
    answer(req, res).catch(() => res.destroy());
  });

  let self = `${options.hostname}:${options.port}`;
  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = toRequest(req, self);
    let response: Response;
    if (!request) {
      response = new Response(null, { status: 400 });
    } else {
      response = await handler(request, {
        remoteAddr: {
          hostname: req.socket.remoteAddress?.replace(/^::ffff:/, "") ?? "unknown",
          port: req.socket.remotePort ?? 0,
        },
      });
    }
    await send(res, response, req.method === "HEAD");
  }

  server.listen(options.port, options.hostname);
  await once(server, "listening");
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : options.port;
  self = `${options.hostname.includes(":") ? `[${options.hostname}]` : options.hostname}:${port}`;
  return {
    addr: { hostname: options.hostname, port },
    get connections() {
      return guards.size;
    },
    async shutdown() {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle connections go now; those with an answer under way once it is sent.
      for (const [socket, guard] of guards) {
        if (guard.open === 0) socket.destroy();
        else arm(socket, Math.min(options.requestTimeoutMs, SHUTDOWN_GRACE_MS));
      }
      await closed;
    },
  };
}

/** Deno.serve, without limits on connections: behind a reverse proxy that has its own. */
function serveUnguarded(options: HttpServerOptions, handler: FetchHandler): HttpServer {
  const server = Deno.serve(
    { hostname: options.hostname, port: options.port, onListen: () => {} },
    (req, info) => handler(req, info as Deno.ServeHandlerInfo<Deno.NetAddr>),
  );
  return {
    addr: { hostname: options.hostname, port: server.addr.port },
    connections: NaN,
    shutdown: () => server.shutdown(),
  };
}

/** The Request a fetch handler takes, or undefined for a request target it cannot be. */
function toRequest(req: IncomingMessage, fallbackHost: string): Request | undefined {
  const target = req.url ?? "";
  if (!target.startsWith("/")) return undefined;
  const host = req.headers.host && HOST.test(req.headers.host) ? req.headers.host : fallbackHost;
  const headers = new Headers();
  try {
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    }
    const method = req.method ?? "GET";
    const body = method === "GET" || method === "HEAD"
      ? undefined
      : ReadableStream.from(req as AsyncIterable<Uint8Array>);
    return new Request(`http://${host}${target}`, {
      method,
      headers,
      body,
      // @ts-ignore: a streamed request body needs duplex: "half"
      duplex: "half",
    });
  } catch {
    return undefined;
  }
}

/** Writes a Response: its status, headers and body, streamed with back-pressure. */
async function send(res: ServerResponse, response: Response, head: boolean): Promise<void> {
  const headers: [string, string][] = [];
  response.headers.forEach((value, name) => headers.push([name, value]));
  const reader = head ? undefined : response.body?.getReader();
  const first = reader ? await reader.read() : { done: true as const, value: undefined };
  if (first.done) {
    // The whole body is known: it goes with its length (none for HEAD, 204 and 304).
    if (!head && response.status !== 204 && response.status !== 304) {
      setHeaders(res, headers, 0);
    } else setHeaders(res, headers);
    res.writeHead(response.status);
    res.end();
    return;
  }
  const second = await reader!.read();
  if (second.done) {
    const body = first.value;
    setHeaders(res, headers, body.byteLength);
    res.writeHead(response.status);
    // node:http writes a Buffer in a second write after the head, but sends a latin1 string
    // with it in one: a small body goes as such, which costs less than the second write.
    if (body.byteLength <= ONE_WRITE_BYTES) {
      res.end(
        Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("latin1"),
        "latin1",
      );
    } else res.end(body);
    return;
  }
  setHeaders(res, headers);
  res.writeHead(response.status);
  for (let chunk: ReadableStreamReadResult<Uint8Array> = first; !chunk.done;) {
    if (!res.write(chunk.value)) await once(res, "drain");
    chunk = chunk === first ? second : await reader!.read();
  }
  res.end();
}

function setHeaders(res: ServerResponse, headers: [string, string][], length?: number) {
  const cookies: string[] = [];
  for (const [name, value] of headers) {
    if (name === "set-cookie") cookies.push(value);
    else if (name !== "content-length" || length === undefined) res.setHeader(name, value);
  }
  if (cookies.length) res.setHeader("set-cookie", cookies);
  if (length !== undefined) res.setHeader("content-length", String(length));
}
