/**
 * A small XRPC client over `fetch` for writing to the local PDS of {@linkcode startPds}:
 * accounts, posts (replies, quotes, mentions, images), likes, reposts, follows, blocks,
 * deletes, profiles, handle changes, account status changes and admin takedowns.
 *
 * ```ts
 * await using pds = await startPds();
 * const client = new PdsClient(pds.pdsUrl, { adminPassword: pds.adminPassword });
 * const alice = await client.createAccount("alice"); // alice.test
 * const post = await alice.post({ text: "hello" });
 * ```
 *
 * @module
 */

/** A record's address and content hash (com.atproto.repo.strongRef). */
export interface StrongRef {
  uri: string;
  cid: string;
}

/** A record just written. */
export interface RecordRef extends StrongRef {
  rkey: string;
}

/** What {@linkcode Account.post} writes. */
export interface PostInput {
  text: string;
  reply?: { root: StrongRef; parent: StrongRef };
  quote?: StrongRef;
  /** With `quote`: embed it with a tiny PNG (app.bsky.embed.recordWithMedia). */
  quoteWithMedia?: boolean;
  /** Mention facets; `@handle` is appended to the text when the text lacks it. */
  mentions?: { did: string; handle: string }[];
  langs?: string[];
}

/** A non-2xx answer from the PDS. */
export class XrpcError extends Error {
  constructor(
    readonly nsid: string,
    readonly status: number,
    /** The XRPC error name, like `InvalidRequest`, when the body had one. */
    readonly error: string | undefined,
    readonly body: string,
  ) {
    super(`XRPC ${nsid} failed with ${status}: ${body}`);
    this.name = "XrpcError";
  }
}

/** The domain the local PDS gives handles: `alice` becomes `alice.test`. */
export const HANDLE_DOMAIN = ".test";

/** A 1×1 PNG, enough for the PDS to accept it as an image blob. */
const TINY_PNG: Uint8Array<ArrayBuffer> = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);

type Json = Record<string, unknown>;
interface CallOptions {
  auth?: string;
  body?: Json | Uint8Array<ArrayBuffer>;
  contentType?: string;
}

/** Talks to one PDS; creates accounts and runs admin calls. */
export class PdsClient {
  readonly pdsUrl: string;
  readonly #adminPassword: string | undefined;
  #accounts = 0;

  constructor(pdsUrl: string, opts: { adminPassword?: string } = {}) {
    this.pdsUrl = pdsUrl.replace(/\/+$/, "");
    this.#adminPassword = opts.adminPassword;
  }

  /** Calls a procedure (POST); returns the JSON body, or undefined when there is none. */
  async call(nsid: string, opts: CallOptions = {}): Promise<Json | undefined> {
    const headers: Record<string, string> = {};
    if (opts.auth) headers.authorization = opts.auth;
    let body: BodyInit | undefined;
    if (opts.body instanceof Uint8Array) {
      body = opts.body;
      headers["content-type"] = opts.contentType ?? "application/octet-stream";
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["content-type"] = "application/json";
    }
    const res = await fetch(`${this.pdsUrl}/xrpc/${nsid}`, { method: "POST", headers, body });
    const text = await res.text();
    if (!res.ok) {
      let error: string | undefined;
      try {
        error = JSON.parse(text).error;
      } catch {
        // not JSON: the raw body is in the message
      }
      throw new XrpcError(nsid, res.status, error, text);
    }
    return text === "" ? undefined : JSON.parse(text);
  }

  /** `Basic` credentials for the admin API; throws when no admin password was given. */
  adminAuth(): string {
    if (this.#adminPassword === undefined) {
      throw new TypeError("Cannot call the admin API: PdsClient was made without adminPassword");
    }
    return `Basic ${btoa(`admin:${this.#adminPassword}`)}`;
  }

  /**
   * Creates an account (email and password generated). A handle without a dot gets the
   * PDS's `.test` domain; the part before it must be 3 to 18 characters, letters, digits, `-`.
   */
  async createAccount(handle: string): Promise<Account> {
    const full = handle.includes(".") ? handle : `${handle}${HANDLE_DOMAIN}`;
    const n = ++this.#accounts;
    const password = `pw-${crypto.randomUUID()}`;
    const out = await this.call("com.atproto.server.createAccount", {
      body: { handle: full, email: `user${n}-${crypto.randomUUID()}@example.com`, password },
    });
    return new Account(this, String(out?.did), String(out?.handle), String(out?.accessJwt));
  }

  /** Admin: takes an account down (or restores it with `applied: false`); emits #account. */
  async takedown(did: string, applied = true): Promise<void> {
    await this.call("com.atproto.admin.updateSubjectStatus", {
      auth: this.adminAuth(),
      body: {
        subject: { $type: "com.atproto.admin.defs#repoRef", did },
        takedown: { applied, ref: applied ? `takedown-${Date.now()}` : undefined },
      },
    });
  }

  /** Admin: deletes an account and its repo; emits #account with status "deleted". */
  async deleteAccount(did: string): Promise<void> {
    await this.call("com.atproto.admin.deleteAccount", { auth: this.adminAuth(), body: { did } });
  }
}

/** One account on the PDS, signed in; its methods write to its repo. */
export class Account {
  constructor(
    readonly client: PdsClient,
    readonly did: string,
    public handle: string,
    readonly accessJwt: string,
  ) {}

  #call(nsid: string, opts: Omit<CallOptions, "auth"> = {}): Promise<Json | undefined> {
    return this.client.call(nsid, { ...opts, auth: `Bearer ${this.accessJwt}` });
  }

  /** Writes any record; `$type` is set to the collection. */
  async createRecord(collection: string, record: Json): Promise<RecordRef> {
    const out = await this.#call("com.atproto.repo.createRecord", {
      body: { repo: this.did, collection, record: { $type: collection, ...record } },
    });
    const uri = String(out?.uri);
    return { uri, cid: String(out?.cid), rkey: uri.slice(uri.lastIndexOf("/") + 1) };
  }

  /** Uploads a tiny PNG and returns its blob ref, for embeds and avatars. */
  async uploadPng(): Promise<Json> {
    const out = await this.#call("com.atproto.repo.uploadBlob", {
      body: TINY_PNG,
      contentType: "image/png",
    });
    return out?.blob as Json;
  }

  /** Writes an app.bsky.feed.post: a reply, a quote (with media) and mentions as asked. */
  async post(input: PostInput): Promise<RecordRef> {
    let text = input.text;
    const facets: Json[] = [];
    const bytes = new TextEncoder();
    for (const m of input.mentions ?? []) {
      const tag = `@${m.handle}`;
      let at = text.indexOf(tag);
      if (at < 0) {
        text = text === "" ? tag : `${text} ${tag}`;
        at = text.length - tag.length;
      }
      const byteStart = bytes.encode(text.slice(0, at)).length;
      facets.push({
        index: { byteStart, byteEnd: byteStart + bytes.encode(tag).length },
        features: [{ $type: "app.bsky.richtext.facet#mention", did: m.did }],
      });
    }
    const record: Json = { text, createdAt: new Date().toISOString() };
    if (facets.length > 0) record.facets = facets;
    if (input.langs) record.langs = input.langs;
    if (input.reply) record.reply = input.reply;
    if (input.quoteWithMedia && !input.quote) {
      throw new TypeError("Cannot post: quoteWithMedia needs a quote");
    }
    if (input.quote) {
      const quoted = { uri: input.quote.uri, cid: input.quote.cid };
      record.embed = input.quoteWithMedia
        ? {
          $type: "app.bsky.embed.recordWithMedia",
          record: { $type: "app.bsky.embed.record", record: quoted },
          media: {
            $type: "app.bsky.embed.images",
            images: [{
              image: await this.uploadPng(),
              alt: "a tiny picture",
              aspectRatio: { width: 1, height: 1 },
            }],
          },
        }
        : { $type: "app.bsky.embed.record", record: quoted };
    }
    return await this.createRecord("app.bsky.feed.post", record);
  }

  /** Likes a record (app.bsky.feed.like). */
  like(subject: StrongRef): Promise<RecordRef> {
    return this.createRecord("app.bsky.feed.like", {
      subject: { uri: subject.uri, cid: subject.cid },
      createdAt: new Date().toISOString(),
    });
  }

  /** Reposts a post (app.bsky.feed.repost). */
  repost(subject: StrongRef): Promise<RecordRef> {
    return this.createRecord("app.bsky.feed.repost", {
      subject: { uri: subject.uri, cid: subject.cid },
      createdAt: new Date().toISOString(),
    });
  }

  /** Follows an account (app.bsky.graph.follow). */
  follow(did: string): Promise<RecordRef> {
    return this.createRecord("app.bsky.graph.follow", {
      subject: did,
      createdAt: new Date().toISOString(),
    });
  }

  /** Blocks an account (app.bsky.graph.block). */
  block(did: string): Promise<RecordRef> {
    return this.createRecord("app.bsky.graph.block", {
      subject: did,
      createdAt: new Date().toISOString(),
    });
  }

  /** Deletes one of this account's records by its at:// URI. */
  async deleteRecord(uri: string): Promise<void> {
    const match = /^at:\/\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(uri);
    if (!match) throw new TypeError(`Cannot delete record: "${uri}" is not an at:// record URI`);
    const [, repo, collection, rkey] = match;
    if (repo !== this.did && repo !== this.handle) {
      throw new TypeError(`Cannot delete record: "${uri}" is not in the repo of ${this.did}`);
    }
    await this.#call("com.atproto.repo.deleteRecord", {
      body: { repo: this.did, collection, rkey },
    });
  }

  /** Writes app.bsky.actor.profile/self, with a tiny PNG avatar when asked. */
  async putProfile(
    input: { displayName: string; avatar?: boolean },
  ): Promise<StrongRef & { avatar?: string }> {
    const record: Json = {
      $type: "app.bsky.actor.profile",
      displayName: input.displayName,
      createdAt: new Date().toISOString(),
    };
    if (input.avatar) record.avatar = await this.uploadPng();
    const out = await this.#call("com.atproto.repo.putRecord", {
      body: { repo: this.did, collection: "app.bsky.actor.profile", rkey: "self", record },
    });
    const avatar = (record.avatar as { ref?: { $link?: string } } | undefined)?.ref?.$link;
    return { uri: String(out?.uri), cid: String(out?.cid), ...(avatar ? { avatar } : {}) };
  }

  /** Changes the handle (updates the PLC); emits #identity. `bob2` becomes `bob2.test`. */
  async updateHandle(newHandle: string): Promise<void> {
    const handle = newHandle.includes(".") ? newHandle : `${newHandle}${HANDLE_DOMAIN}`;
    await this.#call("com.atproto.identity.updateHandle", { body: { handle } });
    this.handle = handle;
  }

  /** Deactivates the account; emits #account (active: false, status "deactivated"). */
  async deactivate(): Promise<void> {
    await this.#call("com.atproto.server.deactivateAccount", { body: {} });
  }

  /** Reactivates the account; emits #identity, #account (active: true) and #sync. */
  async activate(): Promise<void> {
    await this.#call("com.atproto.server.activateAccount");
  }

  /**
   * Deletes the account through the admin API (the user flow needs an emailed token);
   * emits #account with status "deleted".
   */
  async deleteAccount(): Promise<void> {
    await this.client.deleteAccount(this.did);
  }

  /** Admin: takes this account down. */
  async takedown(): Promise<void> {
    await this.client.takedown(this.did);
  }
}
