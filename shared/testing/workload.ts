/**
 * A scripted workload for the local PDS, with its ground truth: every write it makes and
 * what each one means (who interacts with whom). Services test themselves against it.
 */
import type { AccountEvent, CommitEvent, IdentityEvent } from "../events.ts";
import { type Account, PdsClient, type RecordRef } from "./pds_client.ts";

type Unstamped<T> = T extends unknown ? Omit<T, "v" | "seq" | "time"> : never;

/** What the firehose must deliver for one write, without the seq and time the relay adds. */
export type TruthEvent = Unstamped<CommitEvent | IdentityEvent | AccountEvent>;

export interface WorkloadResult {
  accounts: Record<string, Account>;
  /** In the order the writes were made; per author, the firehose order. */
  truth: TruthEvent[];
  startedAt: number;
}

let segmenter: Intl.Segmenter | undefined;
const graphemes = (s: string) => {
  segmenter ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
  return [...segmenter.segment(s)].length;
};

const rkeyOf = (ref: RecordRef | { uri: string }) => ref.uri.split("/").pop()!;

/**
 * Accounts liking, reposting, replying, quoting (with and without media), mentioning,
 * following, blocking, deleting, updating profiles, changing a handle and deactivating.
 */
export async function runWorkload(pdsUrl: string, adminPassword: string): Promise<WorkloadResult> {
  const startedAt = Date.now();
  const client = new PdsClient(pdsUrl, { adminPassword });
  const truth: TruthEvent[] = [];
  const accounts: Record<string, Account> = {};
  for (const name of ["alice", "bob", "carol", "dave"]) {
    const a = await client.createAccount(name);
    accounts[name] = a;
    truth.push({ kind: "identity", did: a.did, handle: a.handle });
    truth.push({ kind: "account", did: a.did, active: true });
  }
  const { alice, bob, carol, dave } = accounts;
  const commit = (
    a: Account,
    action: "create" | "update" | "delete",
    collection: CommitEvent["collection"],
    ref: { uri: string },
    facts: Record<string, unknown> = {},
  ) =>
    truth.push(
      { kind: "commit", did: a.did, action, collection, rkey: rkeyOf(ref), ...facts } as TruthEvent,
    );

  const post = async (
    a: Account,
    text: string,
    extra: Parameters<Account["post"]>[0] = { text },
    facts: Record<string, unknown> = {},
  ) => {
    const ref = await a.post({ ...extra, text });
    commit(a, "create", "app.bsky.feed.post", ref, { chars: graphemes(text), ...facts });
    return ref;
  };

  // Posts in eleven languages, their tags written as clients do (regions, private use and a
  // grandfathered tag among them); the events carry each tag's primary subtag, distinct.
  const hello = await post(alice, "Olá, mundo! 🐈‍⬛", { text: "", langs: ["pt-BR"] }, {
    langs: ["pt"],
  });
  const bobPost = await post(bob, "bob's first post", { text: "", langs: ["en-US", "en"] }, {
    langs: ["en"],
  });
  const reply = await post(carol, "nice one", {
    text: "",
    reply: { root: hello, parent: hello },
    langs: ["es", "ca-ES"],
  }, { parent: alice.did, root: alice.did, langs: ["es", "ca"] });
  await post(dave, "deep reply", {
    text: "",
    reply: { root: hello, parent: reply },
    langs: ["de-CH"],
  }, { parent: carol.did, root: alice.did, langs: ["de"] });
  await post(bob, "quoting alice", { text: "", quote: hello, langs: ["en-AU", "fr"] }, {
    quote: alice.did,
    langs: ["en", "fr"],
  });
  await post(carol, "quote with a picture", {
    text: "",
    quote: bobPost,
    quoteWithMedia: true,
    langs: ["ja", "x-kana", "ko-KR"],
  }, { quote: bob.did, langs: ["ja", "ko"] });
  const mentionText = `hi @${bob.handle} and @${carol.handle} and again @${bob.handle}`;
  await post(alice, mentionText, {
    text: "",
    mentions: [
      { did: bob.did, handle: bob.handle },
      { did: carol.did, handle: carol.handle },
      { did: bob.did, handle: bob.handle },
    ],
    langs: ["it", "pt-PT", "nl-BE"],
  }, { mentions: [bob.did, carol.did], langs: ["it", "pt", "nl"] });
  // One post that is a reply, a quote and a mention at once.
  const all = await post(dave, `@${alice.handle} all at once`, {
    text: "",
    reply: { root: bobPost, parent: bobPost },
    quote: hello,
    mentions: [{ did: alice.did, handle: alice.handle }],
    langs: ["uk", "i-klingon"],
  }, { parent: bob.did, root: bob.did, quote: alice.did, mentions: [alice.did], langs: ["uk"] });

  const likes: [Account, RecordRef][] = [];
  for (
    const [who, what] of [[bob, hello], [carol, hello], [dave, hello], [alice, bobPost], [
      alice,
      all,
    ]] as const
  ) {
    const ref = await who.like(what);
    commit(who, "create", "app.bsky.feed.like", ref, { subject: what.uri.split("/")[2] });
    likes.push([who, ref]);
  }
  const repost = await carol.repost(hello);
  commit(carol, "create", "app.bsky.feed.repost", repost, { subject: alice.did });
  const follow = await bob.follow(alice.did);
  commit(bob, "create", "app.bsky.graph.follow", follow, { subject: alice.did });
  const follow2 = await alice.follow(bob.did);
  commit(alice, "create", "app.bsky.graph.follow", follow2, { subject: bob.did });
  const block = await dave.block(carol.did);
  commit(dave, "create", "app.bsky.graph.block", block, { subject: carol.did });

  // Deletes: an unlike, an unrepost, an unfollow and a deleted post.
  const [unliker, unliked] = likes[1];
  await unliker.deleteRecord(unliked.uri);
  commit(unliker, "delete", "app.bsky.feed.like", unliked);
  await carol.deleteRecord(repost.uri);
  commit(carol, "delete", "app.bsky.feed.repost", repost);
  await bob.deleteRecord(follow.uri);
  commit(bob, "delete", "app.bsky.graph.follow", follow);
  await carol.deleteRecord(reply.uri);
  commit(carol, "delete", "app.bsky.feed.post", reply);

  const profile = await alice.putProfile({ displayName: "Alice 🐈", avatar: true });
  commit(alice, "create", "app.bsky.actor.profile", profile, {
    displayName: "Alice 🐈",
    avatar: profile.avatar,
  });
  const profile2 = await alice.putProfile({ displayName: "Alice", avatar: false });
  commit(alice, "update", "app.bsky.actor.profile", profile2, { displayName: "Alice" });

  await bob.updateHandle("robert");
  truth.push({ kind: "identity", did: bob.did, handle: bob.handle });
  await carol.deactivate();
  truth.push({ kind: "account", did: carol.did, active: false, status: "deactivated" });
  await carol.activate();
  // The PDS announces the reactivation first, then re-announces the identity.
  truth.push({ kind: "account", did: carol.did, active: true });
  truth.push({ kind: "identity", did: carol.did, handle: carol.handle });
  return { accounts, truth, startedAt };
}
