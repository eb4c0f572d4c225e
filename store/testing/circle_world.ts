/**
 * A small world around one account for the tests of periods, filters and changes: weeks of
 * interactions with it and among the others (likes, reposts, replies, quotes, mentions, some
 * deleted minutes later), follows both ways, blocks, a deactivated account and accounts that
 * act like bots on one day. Its ground truth is computed here straight from the list of
 * events, without the store's code: what stands, in which hours, and who is left out.
 */
import type { FirehoseEvent } from "@bsky/shared/events";
import { DEFAULT_WEIGHTS } from "../interactions.ts";
import { DAY_MS, HOUR_MS, type InteractionType, TYPES } from "../layout.ts";
import { didOf, random, tidOf } from "./generate.ts";

export type Counts = Record<InteractionType, number>;
export type Direction = "sent" | "received" | "both" | "mutual";

export interface World {
  /** In time order, seqs rising. */
  events: FirehoseEvent[];
  /** The account the circles are of. */
  actor: string;
  /** Every account, the actor first; handles are `user<i>.test`. */
  dids: string[];
  handles: Map<string, string>;
  /** More than 1,000 interactions on one day (`botDay`, ms at its start), few on others. */
  bot: string;
  botDay: number;
  /** 1,050 on the evening and night around midnight, never over 1,000 in one UTC day. */
  nightOwl: string;
  /** Deactivated: never shown. */
  hidden: string;
  /** Blocked by the actor. */
  blocked: string;
}

export interface WorldOptions {
  /** Events happen from `start` up to `end` (ms). */
  start: number;
  end: number;
  accounts?: number;
  /** Interactions apart from the bots'. */
  interactions?: number;
  seed?: number;
}

export function circleWorld(o: WorldOptions): World {
  const rand = random(o.seed ?? 7);
  const n = o.accounts ?? 60;
  const dids = Array.from({ length: n }, (_, i) => didOf(1000 + i));
  const [actor] = dids;
  const handles = new Map(dids.map((d, i) => [d, `user${i}.test`]));
  const bot = dids[n - 1], nightOwl = dids[n - 2], hidden = dids[n - 3], blocked = dids[n - 4];
  /** An event before its seq is known (seqs are given in time order at the end). */
  type Draft = FirehoseEvent;
  const drafts: Draft[] = [];
  let rk = 0;
  const commit = (did: string, time: number, collection: string, facts: object): Draft =>
    ({
      v: 1,
      kind: "commit",
      seq: 0,
      time,
      did,
      action: "create",
      collection,
      rkey: tidOf(rk++),
      ...facts,
    }) as Draft;
  for (const did of dids) {
    drafts.push({ v: 1, kind: "identity", seq: 0, time: o.start, did, handle: handles.get(did)! });
  }
  // Follows: the actor follows a third of the others, and half of those follow back; a few
  // others follow the actor only.
  for (let i = 1; i < n; i++) {
    const r = rand();
    if (r < 0.33) {
      drafts.push(commit(actor, o.start, "app.bsky.graph.follow", { subject: dids[i] }));
    }
    if (r < 0.17 || r > 0.9) {
      drafts.push(commit(dids[i], o.start, "app.bsky.graph.follow", { subject: actor }));
    }
  }
  drafts.push(commit(actor, o.start, "app.bsky.graph.block", { subject: blocked }));
  const span = o.end - o.start;
  const someone = () => dids[1 + Math.floor(rand() * rand() * (n - 1))];
  const interaction = (author: string, subject: string, time: number): Draft => {
    const r = rand();
    if (r < 0.55) return commit(author, time, "app.bsky.feed.like", { subject });
    if (r < 0.7) return commit(author, time, "app.bsky.feed.repost", { subject });
    if (r < 0.85) {
      return commit(author, time, "app.bsky.feed.post", { parent: subject, root: subject });
    }
    if (r < 0.93) return commit(author, time, "app.bsky.feed.post", { quote: subject });
    return commit(author, time, "app.bsky.feed.post", { mentions: [subject] });
  };
  for (let k = 0; k < (o.interactions ?? 3000); k++) {
    const time = o.start + Math.floor(rand() * span);
    const other = someone();
    const r = rand();
    const [author, subject] = r < 0.45 ? [actor, other] : r < 0.9 ? [other, actor] : [
      other,
      someone(),
    ];
    if (author === subject) continue;
    const e = interaction(author, subject, time);
    drafts.push(e);
    // Some are taken back minutes later (within the record memory).
    if (rand() < 0.05) {
      const c = e as FirehoseEvent & { collection: string; rkey: string };
      drafts.push({
        v: 1,
        kind: "commit",
        seq: 0,
        time: time + 10 * 60_000,
        did: author,
        action: "delete",
        collection: c.collection,
        rkey: c.rkey,
      } as Draft);
    }
  }
  // The bot: 1,100 likes in one day, 300 of them to the actor; ten on other days.
  const botDay = Math.floor((o.start + span / 3) / DAY_MS) * DAY_MS;
  for (let k = 0; k < 1100; k++) {
    const time = botDay + Math.floor((k / 1100) * DAY_MS);
    drafts.push(
      commit(bot, time, "app.bsky.feed.like", { subject: k % 11 < 3 ? actor : someone() }),
    );
  }
  for (let k = 0; k < 10; k++) {
    drafts.push(interaction(bot, actor, o.start + Math.floor(rand() * span)));
  }
  // The night owl: 1,050 likes from 19:00 to 05:00 around a midnight, 600 before it.
  const midnight = Math.floor((o.start + (2 * span) / 3) / DAY_MS) * DAY_MS;
  for (let k = 0; k < 1050; k++) {
    const time = k < 600
      ? midnight - 5 * HOUR_MS + Math.floor((k / 600) * 5 * HOUR_MS)
      : midnight + Math.floor(((k - 600) / 450) * 5 * HOUR_MS);
    drafts.push(
      commit(nightOwl, time, "app.bsky.feed.like", { subject: k % 5 === 0 ? actor : someone() }),
    );
  }
  drafts.push({
    v: 1,
    kind: "account",
    seq: 0,
    time: o.start,
    did: hidden,
    active: false,
    status: "deactivated",
  } as Draft);
  // In time order (a delete after its create), the order kept within one instant.
  const events = drafts.map((d, k) => ({ d, k }))
    .sort((a, b) => a.d.time - b.d.time || a.k - b.k)
    .map(({ d }, k) => ({ ...d, seq: k + 1 }) as FirehoseEvent);
  return { events, actor, dids, handles, bot, botDay, nightOwl, hidden, blocked };
}

/** What a truth query leaves out, as the API's parameters say it. */
export interface TruthFilters {
  exclude?: readonly string[];
  mutuals?: "only" | "none";
  hideBots?: boolean;
  /** Leave out whom the actor blocks (circles always do). */
  excludeBlocked?: boolean;
}

const zero = (): Counts => ({ like: 0, repost: 0, reply: 0, quote: 0, mention: 0 });
const score = (c: Counts) => TYPES.reduce((s, t) => s + c[t] * DEFAULT_WEIGHTS[t], 0);

/** The interactions standing at the end, each with its author, subject, type and time. */
function standing(events: readonly FirehoseEvent[]) {
  const records = new Map<
    string,
    { author: string; time: number; pairs: [InteractionType, string][] }
  >();
  const graph = new Map<string, { author: string; subject: string; block: boolean }>();
  const hidden = new Set<string>();
  for (const e of events) {
    if (e.kind === "account") {
      if (e.active) hidden.delete(e.did);
      else hidden.add(e.did);
      continue;
    }
    if (e.kind !== "commit") continue;
    const key = `${e.did}/${e.collection}/${e.rkey}`;
    if (e.action === "delete") {
      records.delete(key);
      graph.delete(key);
      continue;
    }
    const f = e as FirehoseEvent & {
      subject?: string;
      parent?: string;
      quote?: string;
      mentions?: string[];
    };
    if (e.collection === "app.bsky.graph.follow" || e.collection === "app.bsky.graph.block") {
      graph.set(key, {
        author: e.did,
        subject: f.subject!,
        block: e.collection === "app.bsky.graph.block",
      });
      continue;
    }
    const pairs: [InteractionType, string][] = [];
    const add = (t: InteractionType, s?: string) => {
      if (s && s !== e.did) pairs.push([t, s]);
    };
    if (e.collection === "app.bsky.feed.like") add("like", f.subject);
    if (e.collection === "app.bsky.feed.repost") add("repost", f.subject);
    if (e.collection === "app.bsky.feed.post") {
      add("reply", f.parent);
      add("quote", f.quote);
      for (const m of new Set(f.mentions ?? [])) add("mention", m);
    }
    records.set(key, { author: e.did, time: e.time, pairs });
  }
  return { records: [...records.values()], graph: [...graph.values()], hidden };
}

/**
 * The circles' people of `actor` in [from, to) as the API must rank them, did → counts and
 * score, with the filters applied (order and cut aside). Bots: more than 1,000 interactions
 * sent within one UTC day, counting that day's hours inside [from, to).
 */
export function truthTop(
  world: World,
  actor: string,
  direction: Direction,
  from: number,
  to: number,
  filters: TruthFilters = {},
): Map<string, Counts & { score: number }> {
  const { records, graph, hidden } = standing(world.events);
  const sent = new Map<string, Counts>(), received = new Map<string, Counts>();
  const perDay = new Map<string, number>();
  for (const r of records) {
    if (r.time < from || r.time >= to) continue;
    for (const [type, subject] of r.pairs) {
      const day = `${r.author} ${Math.floor(r.time / DAY_MS)}`;
      perDay.set(day, (perDay.get(day) ?? 0) + 1);
      const side = r.author === actor ? sent : subject === actor ? received : undefined;
      const other = r.author === actor ? subject : r.author;
      if (!side) continue;
      const c = side.get(other) ?? zero();
      c[type]++;
      side.set(other, c);
    }
  }
  const bots = new Set<string>();
  for (const [day, count] of perDay) if (count > 1000) bots.add(day.split(" ")[0]);
  const edge = (a: string, s: string, block: boolean) =>
    graph.some((g) => g.author === a && g.subject === s && g.block === block);
  const out = new Map<string, Counts & { score: number }>();
  for (const other of new Set([...sent.keys(), ...received.keys()])) {
    if (hidden.has(other) || filters.exclude?.includes(other)) continue;
    if (filters.excludeBlocked && edge(actor, other, true)) continue;
    if (filters.mutuals) {
      const mutual = edge(actor, other, false) && edge(other, actor, false);
      if (mutual !== (filters.mutuals === "only")) continue;
    }
    if (filters.hideBots && bots.has(other)) continue;
    const s = sent.get(other), r = received.get(other);
    const sum = zero();
    for (const t of TYPES) sum[t] = (s?.[t] ?? 0) + (r?.[t] ?? 0);
    let sc: number;
    if (direction === "sent") sc = s ? score(s) : 0;
    else if (direction === "received") sc = r ? score(r) : 0;
    else if (direction === "both") sc = score(sum);
    else sc = s && r ? Math.min(score(s), score(r)) : 0;
    const counts = direction === "sent"
      ? (s ?? zero())
      : direction === "received"
      ? (r ?? zero())
      : sum;
    if (sc > 0) out.set(other, { ...counts, score: sc });
  }
  return out;
}

/**
 * Checks that `got` (best first) is the top `limit` of `truth`: every item's counts and
 * score are the truth's, scores never rise, and who is in it is decided by score alone
 * (people tied at the cut may be either side of it). Returns a message, or "" when right.
 */
export function topMismatch(
  got: readonly ({ did: string; score: number } & Partial<Counts>)[],
  truth: Map<string, Counts & { score: number }>,
  limit: number,
): string {
  const ranked = [...truth.values()].map((c) => c.score).sort((a, b) => b - a);
  if (got.length !== Math.min(limit, ranked.length)) {
    return `${got.length} people, expected ${Math.min(limit, ranked.length)}`;
  }
  const cut = ranked[got.length - 1];
  for (let k = 0; k < got.length; k++) {
    const g = got[k], t = truth.get(g.did);
    if (!t) return `${g.did} should not be there`;
    if (g.score !== t.score) return `${g.did}: score ${g.score}, expected ${t.score}`;
    for (const type of TYPES) {
      if (g[type] !== undefined && g[type] !== t[type]) {
        return `${g.did}: ${g[type]} ${type}, expected ${t[type]}`;
      }
    }
    if (k > 0 && g.score > got[k - 1].score) return `${g.did} ranked below a lower score`;
  }
  const inside = new Set(got.map((g) => g.did));
  for (const [did, t] of truth) {
    if (t.score > cut && !inside.has(did)) return `${did} (score ${t.score}) is missing`;
  }
  return "";
}
