/**
 * Writes to the local PDS for backfill tests, each with its ground truth (the events the
 * firehose must give for it, as shared/testing/workload.ts records them), and what the
 * truth says of follows, blocks and profiles.
 */
import type { CommitEvent } from "@bsky/shared/events";
import type { Account, PdsClient, RecordRef, StrongRef } from "@bsky/shared/testing/pds_client";
import type { TruthEvent } from "@bsky/shared/testing/workload";

const rkeyOf = (uri: string) => uri.slice(uri.lastIndexOf("/") + 1);
const authorOf = (uri: string) => uri.split("/")[2];

export class Recorder {
  constructor(readonly client: PdsClient, readonly truth: TruthEvent[] = []) {}

  #commit(a: Account, action: CommitEvent["action"], collection: string, uri: string, facts = {}) {
    this.truth.push(
      { kind: "commit", did: a.did, action, collection, rkey: rkeyOf(uri), ...facts } as TruthEvent,
    );
  }

  async account(name: string): Promise<Account> {
    const a = await this.client.createAccount(name);
    this.truth.push({ kind: "identity", did: a.did, handle: a.handle });
    this.truth.push({ kind: "account", did: a.did, active: true });
    return a;
  }

  /** A post; `reply` to a post, `quote` a post, `mentions` accounts. */
  async post(
    a: Account,
    text: string,
    o: { reply?: StrongRef; quote?: StrongRef; mentions?: Account[] } = {},
  ): Promise<RecordRef> {
    const ref = await a.post({
      text,
      ...(o.reply ? { reply: { root: o.reply, parent: o.reply } } : {}),
      ...(o.quote ? { quote: o.quote } : {}),
      ...(o.mentions
        ? { mentions: o.mentions.map((m) => ({ did: m.did, handle: m.handle })) }
        : {}),
    });
    const facts: Record<string, unknown> = {};
    if (o.reply) facts.parent = facts.root = authorOf(o.reply.uri);
    if (o.quote) facts.quote = authorOf(o.quote.uri);
    if (o.mentions?.length) facts.mentions = [...new Set(o.mentions.map((m) => m.did))];
    this.#commit(a, "create", "app.bsky.feed.post", ref.uri, facts);
    return ref;
  }

  async like(a: Account, subject: StrongRef): Promise<RecordRef> {
    const ref = await a.like(subject);
    this.#commit(a, "create", "app.bsky.feed.like", ref.uri, { subject: authorOf(subject.uri) });
    return ref;
  }

  async repost(a: Account, subject: StrongRef): Promise<RecordRef> {
    const ref = await a.repost(subject);
    this.#commit(a, "create", "app.bsky.feed.repost", ref.uri, { subject: authorOf(subject.uri) });
    return ref;
  }

  async follow(a: Account, b: Account): Promise<RecordRef> {
    const ref = await a.follow(b.did);
    this.#commit(a, "create", "app.bsky.graph.follow", ref.uri, { subject: b.did });
    return ref;
  }

  async block(a: Account, b: Account): Promise<RecordRef> {
    const ref = await a.block(b.did);
    this.#commit(a, "create", "app.bsky.graph.block", ref.uri, { subject: b.did });
    return ref;
  }

  async delete(a: Account, ref: { uri: string }): Promise<void> {
    await a.deleteRecord(ref.uri);
    this.#commit(a, "delete", ref.uri.split("/")[3], ref.uri);
  }

  async profile(a: Account, displayName: string): Promise<void> {
    const ref = await a.putProfile({ displayName });
    this.#commit(a, "create", "app.bsky.actor.profile", ref.uri, { displayName });
  }

  async handle(a: Account, handle: string): Promise<void> {
    await a.updateHandle(handle);
    this.truth.push({ kind: "identity", did: a.did, handle: a.handle });
  }

  async deactivate(a: Account): Promise<void> {
    await a.deactivate();
    this.truth.push({ kind: "account", did: a.did, active: false, status: "deactivated" });
  }

  async deleteAccount(a: Account): Promise<void> {
    await a.deleteAccount();
    this.truth.push({ kind: "account", did: a.did, active: false, status: "deleted" });
  }
}

/** Who follows and who blocks whom, by the records that stand at the end. */
export function graphTruth(truth: readonly TruthEvent[]) {
  const records = new Map<string, { did: string; collection: string; subject: string }>();
  const names = new Map<string, string>();
  for (const e of truth) {
    if (e.kind !== "commit") continue;
    const key = `${e.did}/${e.collection}/${e.rkey}`;
    if (e.action === "delete") {
      records.delete(key);
      if (e.collection === "app.bsky.actor.profile") names.delete(e.did);
    } else if (e.collection === "app.bsky.actor.profile") {
      if (e.displayName !== undefined) names.set(e.did, e.displayName);
      else names.delete(e.did);
    } else if (e.subject && e.subject !== e.did) {
      records.set(key, { did: e.did, collection: e.collection, subject: e.subject });
    }
  }
  const follows = new Map<string, Set<string>>(), blocks = new Map<string, Set<string>>();
  for (const r of records.values()) {
    const into = r.collection === "app.bsky.graph.follow"
      ? follows
      : r.collection === "app.bsky.graph.block"
      ? blocks
      : undefined;
    if (!into) continue;
    into.set(r.did, (into.get(r.did) ?? new Set()).add(r.subject));
  }
  return { follows, blocks, names };
}
