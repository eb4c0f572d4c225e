/**
 * The bot's session with its PDS: signs in with an app password, keeps the access token
 * fresh (refreshSession before it expires, and on ExpiredToken or a 401), and calls XRPC
 * methods with retries. Every call goes to TASKER_SERVICE_URL only (redirects are refused),
 * every answer is read up to a bound and checked against the shape it must have, and only
 * the XRPC error's name and a cut message reach logs and errors.
 */
import { z } from "zod";
import type { Clock } from "@bsky/shared/clock";
import { isValidDid, isValidHandle, parseAtUri } from "@bsky/shared/syntax";
import { backoff, readJson, RetryableError, retryAtOf, RetryLaterError, sleep } from "./http.ts";

/** A non-2xx answer that trying again will not change. */
export class XrpcError extends Error {
  override name = "XrpcError";
  constructor(
    readonly nsid: string,
    readonly status: number,
    /** The XRPC error name (letters only, cut), when the answer had one. */
    readonly error: string | undefined,
    message: string,
  ) {
    super(`XRPC ${nsid} failed with ${status}${error ? ` ${error}` : ""}: ${message}`);
  }
}

const MAX_JSON = 1_000_000;
const CID = /^b[a-z2-7]{50,120}$/;
const cid = z.string().regex(CID);
const jwt = z.string().min(10).max(20_000).regex(
  /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/,
);

const sessionAnswer = z.object({
  did: z.string().refine(isValidDid),
  handle: z.string().refine(isValidHandle),
  accessJwt: jwt,
  refreshJwt: jwt,
});

/** An uploaded blob, as records refer to it. */
export const blobRef = z.object({
  $type: z.literal("blob"),
  ref: z.object({ $link: cid }),
  mimeType: z.string().max(100),
  size: z.number().int().nonnegative(),
});
export type BlobRef = z.infer<typeof blobRef>;

export interface PdsOptions {
  serviceUrl: string;
  identifier: string;
  password: string;
  clock: Clock;
  /** The longest a call waits through retries before it hands back RetryLaterError. */
  maxWaitMs?: number;
  /** Counts each answer by method and status. */
  onAnswer?: (nsid: string, status: number) => void;
}

type Json = Record<string, unknown>;

interface CallOptions {
  params?: Record<string, string>;
  body?: Json | Uint8Array<ArrayBuffer>;
  contentType?: string;
  /** false: one attempt; a retryable failure is thrown as RetryableError. */
  retry?: boolean;
}

/** The expiry (ms) in a JWT's payload, or undefined when it cannot be read. */
function expiryOf(token: string): number | undefined {
  try {
    const part = token.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
    const exp = JSON.parse(atob(part)).exp;
    return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** A short, printable part of an upstream string. */
const printable = (v: unknown, max: number) =>
  typeof v === "string" ? v.replace(/[^\x20-\x7e]/g, "?").slice(0, max) : "";

export class PdsSession {
  did = "";
  handle = "";
  #access = "";
  #refresh = "";
  #expires = 0;
  #pausedUntil = 0;
  #renewing: Promise<void> | undefined;

  constructor(readonly options: PdsOptions) {}

  get signedIn(): boolean {
    return this.#access !== "";
  }

  /** Signs in with the app password (com.atproto.server.createSession). */
  async login(): Promise<void> {
    const out = await this.#call("com.atproto.server.createSession", {
      body: { identifier: this.options.identifier, password: this.options.password },
    }, false);
    const session = sessionAnswer.parse(out);
    const { identifier } = this.options;
    if (identifier.startsWith("did:") && session.did !== identifier) {
      throw new TypeError(
        `Cannot sign in: the PDS signed in "${session.did}", not "${identifier}"`,
      );
    }
    this.#take(session);
  }

  #take(session: z.infer<typeof sessionAnswer>): void {
    this.did = session.did;
    this.handle = session.handle;
    this.#access = session.accessJwt;
    this.#refresh = session.refreshJwt;
    // Without a readable expiry, refresh within the hour; an ExpiredToken answer also does.
    this.#expires = expiryOf(session.accessJwt) ?? this.options.clock.now() + 3_600_000;
  }

  /** Gets a new access token with the refresh token, or signs in again if that fails. */
  #renew(): Promise<void> {
    this.#renewing ??= (async () => {
      try {
        const res = await this.#send("com.atproto.server.refreshSession", {}, this.#refresh);
        const out = await readJson(res, MAX_JSON);
        this.options.onAnswer?.("com.atproto.server.refreshSession", res.status);
        const parsed = sessionAnswer.safeParse(out);
        if (res.ok && parsed.success && parsed.data.did === this.did) {
          this.#take(parsed.data);
        } else await this.login();
      } catch {
        await this.login();
      }
    })().finally(() => this.#renewing = undefined);
    return this.#renewing;
  }

  /** One HTTP request; network failures are RetryableError. */
  async #send(nsid: string, o: CallOptions, token?: string): Promise<Response> {
    const url = new URL(`/xrpc/${nsid}`, this.options.serviceUrl);
    for (const [k, v] of Object.entries(o.params ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    let body: BodyInit | undefined;
    if (o.body instanceof Uint8Array) {
      body = o.body;
      headers["content-type"] = o.contentType ?? "application/octet-stream";
    } else if (o.body) {
      body = JSON.stringify(o.body);
      headers["content-type"] = "application/json";
    }
    try {
      return await fetch(url, {
        method: o.body ? "POST" : o.params ? "GET" : "POST",
        headers,
        body,
        redirect: "error",
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw new RetryableError(`XRPC ${nsid} failed: ${printable(String(err), 200)}`, undefined, {
        cause: err,
      });
    }
  }

  /** Calls an XRPC method with the session; the JSON answer. */
  call(nsid: string, o: CallOptions = {}): Promise<unknown> {
    return this.#call(nsid, o, true);
  }

  async #call(nsid: string, o: CallOptions, auth: boolean): Promise<unknown> {
    const { clock } = this.options;
    const deadline = clock.now() + (this.options.maxWaitMs ?? 60_000);
    let renewed = false;
    for (let attempt = 1;; attempt++) {
      let retryAt: number | undefined;
      let failure: string;
      try {
        if (this.#pausedUntil > clock.now()) {
          if (this.#pausedUntil > deadline) {
            throw new RetryLaterError(`XRPC ${nsid} is rate limited`, this.#pausedUntil);
          }
          await sleep(this.#pausedUntil - clock.now());
        }
        if (auth && this.#expires - 60_000 < clock.now()) await this.#renew();
        const res = await this.#send(nsid, o, auth ? this.#access : undefined);
        this.options.onAnswer?.(nsid, res.status);
        const body = await readJson(res, MAX_JSON);
        if (res.ok) return body;
        const b = (body ?? {}) as Json;
        const error = typeof b.error === "string"
          ? b.error.replace(/[^A-Za-z]/g, "").slice(0, 64)
          : undefined;
        const message = printable(b.message, 200);
        if (
          auth && !renewed &&
          (res.status === 401 || error === "ExpiredToken" || error === "InvalidToken")
        ) {
          renewed = true;
          await this.#renew();
          attempt--;
          continue;
        }
        if (res.status !== 429 && res.status < 500) {
          throw new XrpcError(nsid, res.status, error, message);
        }
        if (res.status === 429) {
          retryAt = retryAtOf(res.headers, clock.now());
          if (retryAt) this.#pausedUntil = Math.max(this.#pausedUntil, retryAt);
        }
        failure = `XRPC ${nsid} failed with ${res.status}${error ? ` ${error}` : ""}`;
        if (o.retry === false) throw new RetryableError(failure, retryAt);
      } catch (err) {
        if (!(err instanceof RetryableError) || o.retry === false) throw err;
        failure = err.message;
        retryAt = err.retryAt;
      }
      const at = retryAt ?? clock.now() + backoff(attempt);
      if (at > deadline) throw new RetryLaterError(failure, at);
      await sleep(at - clock.now());
    }
  }

  /** Uploads a blob (com.atproto.repo.uploadBlob); its ref, checked. */
  async uploadBlob(bytes: Uint8Array<ArrayBuffer>, mimeType: string): Promise<BlobRef> {
    const out = await this.call("com.atproto.repo.uploadBlob", {
      body: bytes,
      contentType: mimeType,
    });
    const blob = blobRef.parse((out as Json | undefined)?.blob);
    if (blob.size !== bytes.length || blob.mimeType !== mimeType) {
      throw new TypeError(
        `Cannot upload a blob: the PDS describes it as ${blob.size} bytes of ${
          printable(blob.mimeType, 40)
        }`,
      );
    }
    return blob;
  }

  /** A record of the bot's repo, or undefined when there is none at that key. */
  async getRecord(
    collection: string,
    rkey: string,
  ): Promise<{ uri: string; value: Json } | undefined> {
    try {
      const out = await this.call("com.atproto.repo.getRecord", {
        params: { repo: this.did, collection, rkey },
      });
      const parsed = z.object({
        uri: z.string().max(8192),
        value: z.record(z.string(), z.unknown()),
      })
        .parse(out);
      const at = parseAtUri(parsed.uri);
      if (!at || at.collection !== collection || at.rkey !== rkey) {
        throw new TypeError(
          `Cannot read a record: the PDS answered for "${printable(parsed.uri, 300)}"`,
        );
      }
      return parsed;
    } catch (err) {
      if (err instanceof XrpcError && err.status === 400 && err.error === "RecordNotFound") {
        return undefined;
      }
      throw err;
    }
  }

  /**
   * Creates a record at `rkey` in one attempt (com.atproto.repo.createRecord): a retry is
   * the caller's, who first looks for the record, since a key that exists fails (with a 500
   * from the reference PDS, which is indistinguishable from an outage).
   */
  async createRecord(
    collection: string,
    rkey: string,
    record: Json,
  ): Promise<{ uri: string; cid: string }> {
    const out = await this.call("com.atproto.repo.createRecord", {
      body: { repo: this.did, collection, rkey, record },
      retry: false,
    });
    const parsed = z.object({ uri: z.string().max(8192), cid }).parse(out);
    const at = parseAtUri(parsed.uri);
    if (!at || at.authority !== this.did || at.collection !== collection || at.rkey !== rkey) {
      throw new TypeError(
        `Cannot create a record: the PDS answered "${printable(parsed.uri, 300)}"`,
      );
    }
    return parsed;
  }
}
