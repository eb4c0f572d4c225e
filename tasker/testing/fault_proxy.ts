/**
 * A loopback proxy in front of the real local PDS, for tests of how the tasker meets a
 * failing PDS. It answers chosen requests itself with a failure the PDS could give (a 500,
 * a 429 with `ratelimit-reset`, an expired token) and passes everything else through
 * untouched, so the real PDS still does all the real work behind it.
 */
import { freePort } from "@bsky/shared/testing/redis_server";

/** One failure to give, once, to the next request for `nsid`. */
export interface Fault {
  nsid: string;
  status: number;
  error: string;
  /** Headers of the failure, made when it is given (ms now). */
  headers?: (now: number) => Record<string, string>;
}

/** A request the proxy saw: its method, what it answered, and when (ms). */
export interface Seen {
  nsid: string;
  status: number;
  at: number;
  injected: boolean;
}

export class FaultProxy implements AsyncDisposable {
  readonly seen: Seen[] = [];
  readonly faults: Fault[] = [];
  readonly url: string;
  #server: Deno.HttpServer;

  constructor(readonly target: string) {
    const port = freePort();
    this.url = `http://127.0.0.1:${port}`;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port, onListen: () => {} },
      (req) => this.#handle(req),
    );
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const nsid = url.pathname.replace(/^\/xrpc\//, "");
    const at = this.faults.findIndex((f) => f.nsid === nsid);
    if (at >= 0) {
      const [fault] = this.faults.splice(at, 1);
      await req.body?.cancel();
      this.seen.push({ nsid, status: fault.status, at: Date.now(), injected: true });
      return Response.json({ error: fault.error, message: "Injected by the test proxy" }, {
        status: fault.status,
        headers: fault.headers?.(Date.now()),
      });
    }
    const headers = new Headers(req.headers);
    headers.delete("host");
    const res = await fetch(new URL(url.pathname + url.search, this.target), {
      method: req.method,
      headers,
      body: req.body ? await req.arrayBuffer() : undefined,
    });
    const body = await res.arrayBuffer();
    this.seen.push({ nsid, status: res.status, at: Date.now(), injected: false });
    const out = new Headers(res.headers);
    out.delete("content-encoding");
    out.delete("content-length");
    return new Response(body, { status: res.status, headers: out });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.#server.shutdown();
  }
}
