/**
 * A model of the whole Bluesky network's firehose, scaled down to a fraction of its accounts,
 * for sizing the store: time-ordered events (as the firehose publishes them) over a window
 * that ends at an instant given by the caller.
 *
 * At scale S the model has S of the network's accounts and S of its traffic, with the same
 * shape: who is active which day (accounts come and go), how much each one does (heavy
 * tailed), whom they interact with (a Zipf popularity over the accounts that post, and a
 * small circle of friends each), the mix of likes, reposts, replies, quotes, mentions,
 * follows, blocks and deletes, identity and account events, new accounts, handle changes,
 * deactivations, and profiles with names and avatar CIDs of real lengths. The scaled
 * population is a systematic sample of the network's popularity ranks (scaled rank j stands
 * for network rank j / S), and the network's top accounts (CELEBRITIES) are kept whole at
 * every scale: each receives what it would on the whole network (about 10^6 interactions a
 * week for the first), from fans drawn from the whole population, so that their logs and
 * circles have their real size.
 *
 * Every figure is in NETWORK with where it comes from. Deterministic for a seed.
 */
import type { FirehoseEvent } from "@bsky/shared/events";
import { didOf, random, tidOf } from "@bsky/store/testing/generate";

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** A figure of the network and where it comes from. */
export interface Figure {
  value: number;
  source: string;
}

const RELAY = "relay sample testdata/relay-2026-07-04 (152 events, 2026-07-04)";
const TIMELINE = "timeline sample testdata/records/atproto-dart-2023 (349 posts, 93 authors)";

/** The whole network's figures the model is calibrated to (per day unless said). */
export const NETWORK = {
  accounts: { value: 40e6, source: "about 40 million accounts (bsky.jz.gs, Bluesky stats)" },
  monthlyActive: {
    value: 5.5e6,
    source: "about 5–6 million accounts active in a month (bsky.jz.gs)",
  },
  postsPerDay: { value: 2.2e6, source: "about 2.2 million posts a day (bsky.jz.gs)" },
  postersPerDay: { value: 450e3, source: "about 450,000 accounts post in a day (bsky.jz.gs)" },
  likesPerPost: {
    value: 105 / 17,
    source: `105 likes to 17 posts in the ${RELAY}; bsky.jz.gs: likes several times the posts`,
  },
  repostsPerPost: { value: 15 / 17, source: `15 reposts to 17 posts (${RELAY})` },
  followsPerPost: { value: 6 / 17, source: `6 follows to 17 posts (${RELAY})` },
  blocksPerPost: { value: 1 / 17, source: `1 block to 17 posts (${RELAY})` },
  replyShare: { value: 8 / 17, source: `8 of 17 posts are replies (${RELAY})` },
  selfReplyShare: {
    value: 7 / 238,
    source: `7 of 238 replies answer the author's own post (${TIMELINE})`,
  },
  quoteShare: { value: 13 / 349, source: `13 of 349 posts quote a post (${TIMELINE})` },
  mentionShare: { value: 11 / 349, source: `11 of 349 posts mention someone (${TIMELINE})` },
  mentionsPerPost: {
    value: 15 / 11,
    source: `15 mentions in those 11 posts (${TIMELINE})`,
  },
  likeDeletes: { value: 0.015, source: `assumed; all deletes together about 2.7% (${RELAY})` },
  repostDeletes: { value: 0.03, source: "assumed, as above" },
  postDeletes: { value: 0.02, source: `assumed; 1 post delete to 17 posts (${RELAY})` },
  followDeletes: { value: 0.15, source: `assumed; 3 unfollows to 6 follows (${RELAY})` },
  blockDeletes: { value: 0.1, source: "assumed" },
  identityShare: { value: 1 / 152, source: `1 #identity in 152 events (${RELAY})` },
  accountShare: { value: 1 / 152, source: `1 #account in 152 events (${RELAY})` },
  identityHandleShare: {
    value: 0.2,
    source:
      `assumed; neither real #identity event of the relay and Jetstream samples names a handle`,
  },
  newAccountsPerDay: { value: 15e3, source: "assumed, about 15,000 sign-ups a day (bsky.jz.gs)" },
  onboardingFollows: { value: 15, source: "assumed (starter packs)" },
  handleChangesPerDay: { value: 5e3, source: "assumed" },
  profileUpdatesPerDay: { value: 10e3, source: "assumed" },
  deactivationsPerDay: { value: 3e3, source: "assumed" },
  reactivationsPerDay: { value: 1e3, source: "assumed" },
  deletionsPerDay: { value: 1e3, source: "assumed" },
  takedownsPerDay: { value: 300, source: "assumed" },
  postLanguages: {
    value: 16 / 17,
    source: `16 of 17 posts name their languages, 2 of them two (${RELAY}); which languages: ` +
      "assumed (en 55%, ja 12%, pt 10%, de, es, fr, ko, tr and others)",
  },
  avatarShare: {
    value: 0.85,
    source: `assumed; 92 of 93 authors of the ${TIMELINE} have one (active accounts)`,
  },
  heaviestPerWeek: {
    value: 1e6,
    source: "about 10^6 interactions received in 7 days by the biggest accounts",
  },
  celebrities: { value: 4, source: "the network's 4 most popular accounts, kept whole" },
  popularityExponent: {
    value: 0.82,
    source: "Zipf exponent giving the network's top account 10^6 interactions a week " +
      "from the popularity-driven share of the traffic",
  },
  activityFloor: {
    value: 0.005,
    source: "daily activity probability log-uniform in [0.005, 1]: with the monthly figure " +
      "gives about 1.4 million active a day and 3.7 million a week",
  },
  activitySigma: {
    value: 1.5,
    source: "log-normal spread of how much an account does in a day (heavy tail: bots and " +
      "power users)",
  },
  creatorShare: {
    value: 0.55,
    source: "share of active accounts that post at all: gives the 450,000 posters a day",
  },
  friendShare: {
    value: 0.3,
    source: "assumed share of an account's likes going to its own circle (2-16 friends)",
  },
  lurkerFanShare: {
    value: 0.5,
    source: "assumed share of a celebrity's interactions from accounts otherwise idle",
  },
  diurnalAmplitude: {
    value: 1 / 3,
    source: "relay rates of 1,000–2,000 events/s: peak twice the trough, peak at 17:00 UTC",
  },
  surgeHours: {
    value: 1 / 48,
    source: "assumed: one hour in 48 carries twice the traffic (news surges)",
  },
} satisfies Record<string, Figure>;

/** Display name lengths (UTF-16 units) of the 93 authors of the 2023 timeline sample. */
// deno-fmt-ignore
const NAME_LENGTHS = [
  0, 0, 2, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7,
  7, 7, 7, 8, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 12, 12, 12, 12, 12, 12, 12, 13,
  13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 16, 16, 16, 16, 17, 20, 20,
  20, 21, 22, 24, 24, 26, 28, 29, 29, 38, 41
];
/** Handle lengths of the same 93 authors (57 on bsky.social, 28 on their own domain). */
// deno-fmt-ignore
const HANDLE_LENGTHS = [
  7, 7, 7, 8, 8, 9, 9, 9, 9, 9, 10, 10, 11, 11, 11, 11, 12, 12, 13, 13, 13, 13, 13, 14, 14, 14,
  14, 15, 15, 15, 15, 15, 16, 16, 16, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 18, 18,
  18, 18, 18, 18, 18, 18, 18, 18, 18, 19, 19, 19, 19, 19, 20, 20, 20, 20, 20, 20, 21, 21, 22, 22,
  22, 22, 22, 22, 22, 23, 23, 23, 23, 24, 25, 25, 25, 25, 25, 26, 26, 27, 27
];

/** Languages posts are written in, by share (assumed; see NETWORK.postLanguages). */
const LANGUAGES: [string, number][] = [
  ["en", 0.55],
  ["ja", 0.12],
  ["pt", 0.1],
  ["de", 0.04],
  ["es", 0.04],
  ["fr", 0.03],
  ["ko", 0.02],
  ["tr", 0.02],
  ["it", 0.02],
  ["nl", 0.015],
  ["ru", 0.015],
  ["pl", 0.01],
  ["zh", 0.01],
  ["uk", 0.01],
];

/** Per-day network volumes implied by NETWORK (whole network). */
export function networkDaily() {
  const n = NETWORK;
  const posts = n.postsPerDay.value;
  const likes = posts * n.likesPerPost.value;
  const reposts = posts * n.repostsPerPost.value;
  const follows = posts * n.followsPerPost.value;
  const blocks = posts * n.blocksPerPost.value;
  const replies = posts * n.replyShare.value;
  const interactions = likes + reposts + replies * (1 - n.selfReplyShare.value) +
    posts * n.quoteShare.value + posts * n.mentionShare.value * n.mentionsPerPost.value;
  const deletes = likes * n.likeDeletes.value + reposts * n.repostDeletes.value +
    posts * n.postDeletes.value + follows * n.followDeletes.value +
    blocks * n.blockDeletes.value;
  const newAccounts = n.newAccountsPerDay.value;
  const statusChanges = n.deactivationsPerDay.value + n.reactivationsPerDay.value +
    n.deletionsPerDay.value + n.takedownsPerDay.value;
  // Identity and account events are each a share of all events: solve for the total.
  // (New accounts' onboarding follows are among the follows; each new account has a profile.)
  const others = posts + likes + reposts + follows + blocks + deletes +
    n.profileUpdatesPerDay.value + newAccounts;
  const events = others / (1 - n.identityShare.value - n.accountShare.value);
  const identity = events * n.identityShare.value;
  // Identity events: new accounts, handle changes, and the rest refreshes (each with an
  // #account event, as in the relay sample).
  const refreshes = Math.max(0, identity - newAccounts - n.handleChangesPerDay.value);
  return {
    posts,
    likes,
    reposts,
    follows,
    blocks,
    replies,
    interactions,
    deletes,
    refreshes,
    statusChanges,
    events: others + identity + refreshes + newAccounts + statusChanges,
  };
}

/** Where a daily-activity probability p falls: log-uniform in [floor, 1]. */
function activityProbability(u: number): number {
  return NETWORK.activityFloor.value ** (1 - u);
}

/** Share of the engaged pool active at least once in `days` days (numerically). */
export function activeShare(days: number): number {
  const steps = 20_000;
  let sum = 0;
  for (let k = 0; k < steps; k++) {
    const p = activityProbability((k + 0.5) / steps);
    sum += 1 - (1 - p) ** days;
  }
  return sum / steps;
}

/** Mean daily-activity probability of the engaged pool. */
export function meanActivity(): number {
  const f = NETWORK.activityFloor.value;
  return (1 - f) / Math.log(1 / f);
}

export interface ModelOptions {
  /** Fraction of the network (0 < scale ≤ 1). */
  scale: number;
  /** Length of the window in days. */
  days: number;
  /** The instant the window ends (ms); events are in [end - days, end). */
  end: number;
  seed?: number;
  /** Hours a record is still remembered by the store at the end (memory hours + a span). */
  rememberedHours?: number;
  /**
   * The network's most popular accounts kept whole (NETWORK.celebrities unless given); the
   * traffic of those left out is in the scaled network, scaled like the rest.
   */
  celebrities?: number;
}

/** A counted label: collection and action, or identity / account. */
export function labelOf(e: FirehoseEvent): string {
  return e.kind === "commit" ? `${e.collection.split(".").pop()} ${e.action}` : e.kind;
}

/** Interactions the store counts for an event (likes, reposts, replies, quotes, mentions). */
export function interactionsOf(e: FirehoseEvent): number {
  if (e.kind !== "commit" || e.action !== "create") return 0;
  const other = (d?: string) => d !== undefined && d !== e.did ? 1 : 0;
  switch (e.collection) {
    case "app.bsky.feed.like":
    case "app.bsky.feed.repost":
      return other(e.subject);
    case "app.bsky.feed.post":
      return other(e.parent) + other(e.quote) +
        (e.mentions ?? []).filter((m) => m !== e.did).length;
    default:
      return 0;
  }
}

/** What the model made, as it goes. */
export interface ModelStats {
  events: number;
  /** Events by label, of the scaled network and of the celebrities' fans. */
  labels: Record<string, number>;
  celebrityLabels: Record<string, number>;
  /** Interactions the store counts: all, of the scaled network, to the celebrities. */
  interactions: number;
  baseInteractions: number;
  celebrityInteractions: number;
  /** Interactions received by each celebrity. */
  celebrityReceived: number[];
  blocks: number;
  /** Creates the store remembers (they count something) made in the last rememberedHours. */
  remembered: number;
  /** Creates it remembers over the whole window. */
  rememberedAll: number;
  /** Distinct posters of each day. */
  postersPerDay: number[];
  /** Windows of 152 consecutive events of the scaled network: their mean distinct authors. */
  authorWindows: number;
  distinctAuthors: number;
  /** Mean over days of the sum of squared author shares (for the network-size estimate). */
  authorConcentration: number;
  /** Posts of the scaled network: replies (to others and to oneself), quotes, with mentions. */
  posts: { all: number; replies: number; selfReplies: number; quotes: number; mentioning: number };
}

const B32 = "abcdefghijklmnopqrstuvwxyz234567";
const LETTERS = "abcdefghijklmnopqrstuvwxyz";

/** A cumulative weight table and a draw from it (binary search). */
function pick(cdf: Float64Array, n: number, x: number): number {
  let lo = 0, hi = n - 1;
  const target = x * cdf[n - 1];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid] < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** 32-bit mix of two integers (for per-account draws that need no storage). */
function hash2(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** Ring of recent creates of one collection, for deletes. */
class Recent {
  author: Int32Array;
  rkey: Float64Array;
  at = 0;
  filled = 0;
  constructor(capacity: number) {
    this.author = new Int32Array(capacity).fill(-1);
    this.rkey = new Float64Array(capacity);
  }
  push(author: number, rkey: number) {
    this.author[this.at] = author;
    this.rkey[this.at] = rkey;
    this.at = (this.at + 1) % this.author.length;
    this.filled = Math.min(this.filled + 1, this.author.length);
  }
  /** A record not deleted yet, taken out; undefined when none was found. */
  take(rand: () => number): [number, number] | undefined {
    for (let tries = 0; tries < 4 && this.filled > 0; tries++) {
      const k = Math.floor(rand() * this.filled);
      if (this.author[k] >= 0) {
        const out: [number, number] = [this.author[k], this.rkey[k]];
        this.author[k] = -1;
        return out;
      }
    }
    return undefined;
  }
}

/** Kinds of event slots in an hour. */
const enum Slot {
  Like,
  Repost,
  Post,
  Follow,
  Block,
  DeleteLike,
  DeleteRepost,
  DeletePost,
  DeleteFollow,
  DeleteBlock,
  Refresh,
  HandleChange,
  ProfileUpdate,
  Deactivate,
  Reactivate,
  DeleteAccount,
  Takedown,
  NewAccount,
  /** Slots from here on: an interaction received by celebrity (slot - Celebrity). */
  Celebrity,
}

/** Collections whose recent records the model keeps for deletes. */
type RecordKind = "like" | "repost" | "post" | "follow" | "block";

const COLLECTION = {
  like: "app.bsky.feed.like",
  repost: "app.bsky.feed.repost",
  post: "app.bsky.feed.post",
  follow: "app.bsky.graph.follow",
  block: "app.bsky.graph.block",
  profile: "app.bsky.actor.profile",
} as const;

export class NetworkModel {
  readonly scale: number;
  readonly days: number;
  readonly start: number;
  readonly end: number;
  /** Accounts at the start; new accounts get ids from here on. */
  readonly population: number;
  /** Accounts that may be active at all (the engaged pool) at the start. */
  readonly engagedAtStart: number;
  /** Celebrity ids (0 … CELEBRITIES - 1) and what each receives in 7 days. */
  readonly celebrities: number[];
  readonly celebrityWeekly: number[];
  readonly stats: ModelStats;
  /** Day (0-based, +1; 0 = never) each account last sent or received an interaction or block. */
  readonly lastActiveDay: Int16Array;
  /** The same, counting only the scaled network's traffic (not the celebrities' fans). */
  readonly lastBaseDay: Int16Array;
  /** 1 once an account appeared in any event (its DID is interned). */
  readonly seen: Uint8Array;
  /** Day (0-based, +1) an account last appeared in an event of the scaled network's traffic. */
  readonly lastSeenBaseDay: Int16Array;
  /** Interactions sent and received over the window; sent by the scaled network's traffic. */
  readonly sent: Int32Array;
  readonly sentBase: Int32Array;
  readonly received: Int32Array;

  #rand: () => number;
  #capacity: number;
  #newWeight: number;
  #next: number;
  #p: Float32Array;
  #v: Float32Array;
  #creator: Uint8Array;
  /** 0 active, 1 deactivated, 2 deleted, 3 taken down. */
  #status: Uint8Array;
  #engaged: Int32Array;
  #engagedCount: number;
  #deactivated: number[] = [];
  /** Popularity: creators (no celebrities) by rank, and the cumulative weights. */
  #ranked: Int32Array;
  #rankCdf: Float64Array;
  /** Each account's popularity weight (by its rank; 0 for celebrities, who are apart). */
  #rankWeight: Float32Array;
  /** Creators active today or yesterday (whose posts get liked), by popularity weight. */
  #recentPosters = new Int32Array(0);
  #recentCdf = new Float64Array(0);
  #recentN = 0;
  #recentStamp: Int16Array;
  #yesterday = new Int32Array(0);
  #yesterdayN = 0;
  /** Lurkers (the whole population by rank) for celebrity fans. */
  #lurkers: Int32Array;
  #lurkerCdf: Float64Array;
  /** Today's active accounts, weighted by intensity; and today's active creators. */
  #active = new Int32Array(0);
  #activeCdf = new Float64Array(0);
  #activeN = 0;
  #posters = new Int32Array(0);
  #posterCdf = new Float64Array(0);
  #posterN = 0;
  #recent: Record<RecordKind, Recent>;
  #daily = networkDaily();
  #seq = 0;
  #rkey = 0;
  #day = 0;
  #rememberFrom: number;
  #dids: string[];
  #postedDay: Int16Array;
  #authorCount: Int32Array;
  #authorTouched: number[] = [];
  #window: number[] = [];

  constructor(readonly options: ModelOptions) {
    const { scale, days, end } = options;
    if (!(scale > 0 && scale <= 1)) throw new RangeError(`Invalid scale: ${scale}`);
    if (!(days > 0 && Number.isInteger(days))) throw new RangeError(`Invalid days: ${days}`);
    this.scale = scale;
    this.days = days;
    this.end = end;
    this.start = end - days * DAY;
    this.#rememberFrom = end - (options.rememberedHours ?? 56) * HOUR;
    this.#rand = random(options.seed ?? 1);
    const n = NETWORK;
    const daily = networkDaily();
    const celebrities = options.celebrities ?? n.celebrities.value;
    if (!(Number.isInteger(celebrities) && celebrities >= 0)) {
      throw new RangeError(`Invalid celebrities: ${celebrities}`);
    }
    this.population = Math.max(celebrities + 100, Math.round(n.accounts.value * scale));
    const newTotal = Math.ceil(n.newAccountsPerDay.value * scale * days * 1.5) + 10;
    const cap = this.#capacity = this.population + newTotal;
    this.#next = this.population;
    this.#dids = new Array(cap);
    this.#p = new Float32Array(cap);
    this.#v = new Float32Array(cap);
    this.#creator = new Uint8Array(cap);
    this.#status = new Uint8Array(cap);
    this.lastActiveDay = new Int16Array(cap);
    this.lastBaseDay = new Int16Array(cap);
    this.seen = new Uint8Array(cap);
    this.lastSeenBaseDay = new Int16Array(cap);
    this.sent = new Int32Array(cap);
    this.sentBase = new Int32Array(cap);
    this.received = new Int32Array(cap);
    this.#postedDay = new Int16Array(cap);
    this.#authorCount = new Int32Array(cap);

    // The engaged pool: sized so that the monthly actives are the network's.
    const engaged = Math.min(
      this.population,
      Math.max(celebrities + 50, Math.round(n.monthlyActive.value * scale / activeShare(30))),
    );
    this.engagedAtStart = engaged;
    this.#engaged = new Int32Array(engaged + newTotal);
    this.#engagedCount = engaged;
    for (let i = 0; i < engaged; i++) {
      this.#engaged[i] = i;
      this.#joinPool(i);
    }
    this.celebrities = Array.from({ length: celebrities }, (_, k) => k);
    this.celebrityWeekly = this.celebrities.map((k) =>
      n.heaviestPerWeek.value * (k + 1) ** -n.popularityExponent.value
    );
    for (const c of this.celebrities) {
      this.#p[c] = 1;
      this.#v[c] = 50;
      this.#creator[c] = 1;
    }

    // Popularity over the creators of the pool, celebrities apart: scaled rank j stands for
    // the network's rank j / S after the celebrities.
    const creators: number[] = [];
    for (let i = celebrities; i < engaged; i++) if (this.#creator[i]) creators.push(i);
    this.#ranked = Int32Array.from(creators);
    this.#shuffle(this.#ranked);
    this.#rankCdf = new Float64Array(this.#ranked.length);
    this.#rankWeight = new Float32Array(cap);
    this.#recentStamp = new Int16Array(cap);
    const s = n.popularityExponent.value;
    let acc = 0;
    for (let j = 0; j < this.#ranked.length; j++) {
      const w = ((j + 0.5) / scale + celebrities) ** -s;
      this.#rankWeight[this.#ranked[j]] = w;
      this.#rankCdf[j] = acc += w;
    }
    // New accounts start at the bottom.
    this.#newWeight = ((this.#ranked.length + 0.5) / scale + celebrities) ** -s;
    // Lurkers: the whole population by a rank of its own, a flatter Zipf (0.6).
    this.#lurkers = new Int32Array(this.population);
    for (let i = 0; i < this.population; i++) this.#lurkers[i] = i;
    this.#shuffle(this.#lurkers);
    this.#lurkerCdf = new Float64Array(this.population);
    acc = 0;
    for (let j = 0; j < this.population; j++) {
      acc += ((j + 1) / scale) ** -0.6;
      this.#lurkerCdf[j] = acc;
    }

    const ring = (perDay: number) => new Recent(Math.max(256, Math.round(perDay * scale / 4)));
    this.#recent = {
      like: ring(daily.likes),
      repost: ring(daily.reposts),
      post: ring(daily.posts),
      follow: ring(daily.follows),
      block: ring(daily.blocks),
    };
    this.stats = {
      events: 0,
      labels: {},
      celebrityLabels: {},
      interactions: 0,
      baseInteractions: 0,
      celebrityInteractions: 0,
      celebrityReceived: this.celebrities.map(() => 0),
      blocks: 0,
      remembered: 0,
      rememberedAll: 0,
      postersPerDay: [],
      authorWindows: 0,
      distinctAuthors: 0,
      authorConcentration: 0,
      posts: { all: 0, replies: 0, selfReplies: 0, quotes: 0, mentioning: 0 },
    };
  }

  /** Accounts there may be by the end (the population and room for new ones). */
  get capacity(): number {
    return this.#capacity;
  }

  /** Accounts made so far (population and new accounts). */
  get accounts(): number {
    return this.#next;
  }

  /** The DID of account `id`. */
  didOf(id: number): string {
    return this.#dids[id] ??= didOf(id);
  }

  /** Accounts whose last interaction (sent or received) is in the last `days` of the window. */
  activeIn(days: number, baseOnly = false): number {
    const from = this.days - days + 1;
    const a = baseOnly ? this.lastBaseDay : this.lastActiveDay;
    let n = 0;
    for (let i = 0; i < this.#next; i++) if (a[i] >= from) n++;
    return n;
  }

  /** Accounts seen in the scaled network's events of the last `days` days. */
  seenBaseIn(days: number): number {
    const from = this.days - days + 1;
    let n = 0;
    for (let i = 0; i < this.#next; i++) if (this.lastSeenBaseDay[i] >= from) n++;
    return n;
  }

  /** Accounts seen in any event (what the store interns). */
  seenCount(): number {
    let n = 0;
    for (let i = 0; i < this.#next; i++) if (this.seen[i]) n++;
    return n;
  }

  #shuffle(a: Int32Array) {
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.#rand() * (i + 1));
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }

  #joinPool(i: number) {
    const rand = this.#rand;
    this.#p[i] = activityProbability(rand());
    // Box-Muller: a normal for the log-normal intensity.
    const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    this.#v[i] = Math.exp(NETWORK.activitySigma.value * z);
    this.#creator[i] = rand() < NETWORK.creatorShare.value ? 1 : 0;
  }

  #poisson(lambda: number): number {
    const rand = this.#rand;
    if (lambda <= 0) return 0;
    if (lambda > 50) {
      const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
      return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * z));
    }
    const l = Math.exp(-lambda);
    let k = 0, p = 1;
    do {
      k++;
      p *= rand();
    } while (p > l);
    return k - 1;
  }

  /** Today's active accounts and posters, with their intensities as weights. */
  #startDay() {
    const rand = this.#rand;
    const n = this.#engagedCount;
    if (this.#active.length < n) {
      this.#active = new Int32Array(n);
      this.#activeCdf = new Float64Array(n);
      this.#posters = new Int32Array(n);
      this.#posterCdf = new Float64Array(n);
    }
    let a = 0, p = 0, accA = 0, accP = 0;
    for (let k = 0; k < n; k++) {
      const i = this.#engaged[k];
      if (this.#status[i] !== 0 || rand() >= this.#p[i]) continue;
      accA += this.#v[i];
      this.#active[a] = i;
      this.#activeCdf[a++] = accA;
      if (this.#creator[i]) {
        accP += this.#v[i];
        this.#posters[p] = i;
        this.#posterCdf[p++] = accP;
      }
    }
    this.#activeN = a;
    this.#posterN = p;
    // Likes, reposts, replies and quotes go to posts of the last two days: to today's and
    // yesterday's posters, by popularity.
    if (this.#recentPosters.length < p + this.#yesterdayN) {
      this.#recentPosters = new Int32Array((p + this.#yesterdayN) * 2);
      this.#recentCdf = new Float64Array((p + this.#yesterdayN) * 2);
    }
    const stamp = this.#day + 1;
    let r = 0, accR = 0;
    const add = (i: number) => {
      if (this.#recentStamp[i] === stamp || this.#rankWeight[i] === 0) return;
      this.#recentStamp[i] = stamp;
      this.#recentPosters[r] = i;
      this.#recentCdf[r++] = accR += this.#rankWeight[i];
    };
    for (let k = 0; k < p; k++) add(this.#posters[k]);
    for (let k = 0; k < this.#yesterdayN; k++) add(this.#yesterday[k]);
    this.#recentN = r;
    this.#yesterday = this.#posters.slice(0, p);
    this.#yesterdayN = p;
  }

  #anyActive(): number {
    return this.#active[pick(this.#activeCdf, this.#activeN, this.#rand())];
  }

  /** A poster of the last two days, by popularity: whose post gets a like, a reply… */
  #popular(): number {
    if (this.#recentN === 0) return this.#popularAny();
    return this.#recentPosters[pick(this.#recentCdf, this.#recentN, this.#rand())];
  }

  /** Any creator by popularity: whom one follows, blocks or mentions. */
  #popularAny(): number {
    return this.#ranked[pick(this.#rankCdf, this.#ranked.length, this.#rand())];
  }

  #lurker(): number {
    return this.#lurkers[pick(this.#lurkerCdf, this.#lurkers.length, this.#rand())];
  }

  #anyEngaged(): number {
    return this.#engaged[Math.floor(this.#rand() * this.#engagedCount)];
  }

  #anyone(): number {
    return Math.floor(this.#rand() * this.#next);
  }

  /** One of account i's friends (2-16 of them, fixed per account, drawn without storage). */
  #friend(i: number): number {
    const count = 2 + Math.floor(hash2(i, 999) * 15);
    const k = Math.floor(this.#rand() * count);
    const u = hash2(i, k);
    if (u < 0.5) {
      return this.#ranked[pick(this.#rankCdf, this.#ranked.length, hash2(i, k + 100))];
    }
    return this.#engaged[Math.floor(hash2(i, k + 200) * this.#engagedCount)];
  }

  /**
   * A target: from i's circle with probability `friends`, else by popularity; with `post`,
   * someone whose post it can be (a friend who posted lately, else a popular poster).
   */
  #target(i: number, friends: number, post = true): number {
    if (this.#rand() < friends) {
      const f = this.#friend(i);
      if (!post || this.#recentStamp[f] === this.#day + 1) return f;
    }
    return post ? this.#popular() : this.#popularAny();
  }

  #handle(id: number): string {
    const rand = this.#rand;
    const length = HANDLE_LENGTHS[Math.floor(rand() * HANDLE_LENGTHS.length)];
    const tag = id.toString(36);
    if (length >= 15 && rand() < 0.67) {
      const name = (this.#letters(Math.max(0, length - 12 - tag.length)) + tag).slice(-18);
      return `${name}.bsky.social`;
    }
    const name = this.#letters(Math.max(1, length - 4 - tag.length)) + tag;
    return `${name}.com`;
  }

  #letters(n: number): string {
    let s = "";
    for (let k = 0; k < n; k++) s += LETTERS[Math.floor(this.#rand() * 26)];
    return s;
  }

  #displayName(): string {
    const rand = this.#rand;
    const length = NAME_LENGTHS[Math.floor(rand() * NAME_LENGTHS.length)];
    if (length === 0) return "";
    let s = this.#letters(length);
    s = s[0].toUpperCase() + s.slice(1);
    // Some names carry an emoji (two UTF-16 units), as about 1 in 10 of the sample do.
    if (length > 2 && rand() < 0.1) s = s.slice(0, length - 2) + "\u{1F33F}";
    return s;
  }

  #language(): string {
    let x = this.#rand();
    for (const [lang, share] of LANGUAGES) {
      if ((x -= share) < 0) return lang;
    }
    return ["fi", "sv", "id", "th", "ar", "fa", "he", "ca"][Math.floor(this.#rand() * 8)];
  }

  #avatar(): string {
    let s = "bafkrei";
    for (let k = 0; k < 52; k++) s += B32[Math.floor(this.#rand() * 32)];
    return s;
  }

  /** Marks the accounts of an interaction (or block) as active today, and counts it. */
  #touch(author: number, target: number, base: boolean, interaction: boolean) {
    if (author === target) return;
    const day = this.#day + 1;
    this.lastActiveDay[author] = day;
    this.lastActiveDay[target] = day;
    if (base) {
      this.lastBaseDay[author] = day;
      this.lastBaseDay[target] = day;
    }
    if (!interaction) return;
    this.sent[author]++;
    if (base) this.sentBase[author]++;
    this.received[target]++;
  }

  #commit(
    time: number,
    author: number,
    collection: (typeof COLLECTION)[keyof typeof COLLECTION],
    fields: Record<string, unknown>,
    rkey?: string,
  ): FirehoseEvent {
    return {
      v: 1,
      kind: "commit",
      seq: ++this.#seq,
      time,
      did: this.didOf(author),
      action: "create",
      collection,
      rkey: rkey ?? tidOf(this.#rkey++),
      ...fields,
    } as FirehoseEvent;
  }

  /** A like or repost by `author` of a post by `target`. */
  #subjectEvent(
    time: number,
    kind: "like" | "repost" | "follow" | "block",
    author: number,
    target: number,
    base: boolean,
  ): FirehoseEvent {
    const rk = this.#rkey;
    const e = this.#commit(time, author, COLLECTION[kind], { subject: this.didOf(target) });
    this.#recent[kind].push(author, rk);
    this.seen[target] = 1;
    if (kind !== "follow") this.#touch(author, target, base, kind !== "block");
    if (author !== target) this.#remember(time);
    return e;
  }

  #remember(time: number) {
    this.stats.rememberedAll++;
    if (time >= this.#rememberFrom) this.stats.remembered++;
  }

  #post(
    time: number,
    author: number,
    base: boolean,
    forced?: { parent?: number; quote?: number; mention?: number },
  ): FirehoseEvent {
    const rand = this.#rand;
    const n = NETWORK;
    const fields: Record<string, unknown> = { chars: Math.floor(rand() * 300) };
    if (rand() < n.postLanguages.value) {
      const langs = [this.#language()];
      if (rand() < 2 / 16) langs.push(this.#language());
      fields.langs = [...new Set(langs)];
    }
    const targets: number[] = [];
    let parent = forced?.parent;
    if (!forced && rand() < n.replyShare.value) {
      parent = rand() < n.selfReplyShare.value ? author : this.#target(author, 0.4);
    }
    if (parent !== undefined) {
      fields.parent = this.didOf(parent);
      const root = rand() < 0.7 ? parent : this.#popular();
      fields.root = this.didOf(root);
      this.seen[root] = 1;
      targets.push(parent);
    }
    let quote = forced?.quote;
    if (!forced && rand() < n.quoteShare.value) quote = this.#target(author, 0.2);
    if (quote !== undefined) {
      fields.quote = this.didOf(quote);
      targets.push(quote);
    }
    let mentions: number[] | undefined = forced?.mention !== undefined
      ? [forced.mention]
      : undefined;
    if (!forced && rand() < n.mentionShare.value) {
      const count = rand() < 0.8 ? 1 : rand() < 0.75 ? 2 : 4;
      mentions = [
        ...new Set(Array.from({ length: count }, () => this.#target(author, 0.6, false))),
      ];
    }
    if (mentions) {
      fields.mentions = mentions.map((m) => this.didOf(m));
      targets.push(...mentions);
    }
    const rk = this.#rkey;
    const e = this.#commit(time, author, COLLECTION.post, fields);
    this.#recent.post.push(author, rk);
    let counts = false;
    for (const t of targets) {
      this.seen[t] = 1;
      this.#touch(author, t, base, true);
      if (t !== author) counts = true;
    }
    if (base) {
      const p = this.stats.posts;
      p.all++;
      if (parent !== undefined) p.replies++;
      if (parent === author) p.selfReplies++;
      if (quote !== undefined) p.quotes++;
      if (mentions) p.mentioning++;
    }
    if (base && this.#postedDay[author] !== this.#day + 1) {
      this.#postedDay[author] = this.#day + 1;
      this.stats.postersPerDay[this.#day]++;
    }
    if (counts) this.#remember(time);
    return e;
  }

  #delete(time: number, kind: RecordKind): FirehoseEvent | undefined {
    const taken = this.#recent[kind].take(this.#rand);
    if (!taken) return undefined;
    return {
      v: 1,
      kind: "commit",
      seq: ++this.#seq,
      time,
      did: this.didOf(taken[0]),
      action: "delete",
      collection: COLLECTION[kind],
      rkey: tidOf(taken[1]),
    };
  }

  #account(time: number, id: number, active: boolean, status?: string): FirehoseEvent {
    this.seen[id] = 1;
    const e: FirehoseEvent = {
      v: 1,
      kind: "account",
      seq: ++this.#seq,
      time,
      did: this.didOf(id),
      active,
    };
    if (status) e.status = status;
    return e;
  }

  #identity(time: number, id: number, handle?: string): FirehoseEvent {
    this.seen[id] = 1;
    const e: FirehoseEvent = {
      v: 1,
      kind: "identity",
      seq: ++this.#seq,
      time,
      did: this.didOf(id),
    };
    if (handle) e.handle = handle;
    return e;
  }

  #profile(time: number, id: number): FirehoseEvent {
    const fields: Record<string, unknown> = { displayName: this.#displayName() };
    if (this.#rand() < NETWORK.avatarShare.value) fields.avatar = this.#avatar();
    const e = this.#commit(time, id, COLLECTION.profile, fields, "self");
    return e;
  }

  /** The events of one slot at `time` (several for a new account or an identity refresh). */
  #slot(slot: number, time: number, out: FirehoseEvent[]) {
    const rand = this.#rand;
    const n = NETWORK;
    const friends = n.friendShare.value;
    switch (slot) {
      case Slot.Like:
      case Slot.Repost: {
        const a = this.#anyActive();
        const kind = slot === Slot.Like ? "like" : "repost";
        out.push(
          this.#subjectEvent(time, kind, a, this.#target(a, kind === "like" ? friends : 0.2), true),
        );
        return;
      }
      case Slot.Post:
        if (this.#posterN === 0) return;
        out.push(
          this.#post(time, this.#posters[pick(this.#posterCdf, this.#posterN, rand())], true),
        );
        return;
      case Slot.Follow: {
        const a = this.#anyActive();
        const u = rand();
        const t = u < 0.5 ? this.#popularAny() : u < 0.7 ? this.#friend(a) : this.#anyone();
        out.push(this.#subjectEvent(time, "follow", a, t, true));
        return;
      }
      case Slot.Block: {
        const a = this.#anyActive();
        const t = rand() < 0.4 ? this.#popularAny() : this.#anyEngaged();
        this.stats.blocks += a !== t ? 1 : 0;
        out.push(this.#subjectEvent(time, "block", a, t, true));
        return;
      }
      case Slot.DeleteLike:
      case Slot.DeleteRepost:
      case Slot.DeletePost:
      case Slot.DeleteFollow:
      case Slot.DeleteBlock: {
        const kinds = ["like", "repost", "post", "follow", "block"] as const;
        const e = this.#delete(time, kinds[slot - Slot.DeleteLike]);
        if (e) out.push(e);
        return;
      }
      case Slot.Refresh: {
        // As in the relay sample: an #identity, then an #account of the same account.
        const id = this.#anyone();
        const handle = rand() < n.identityHandleShare.value ? this.#handle(id) : undefined;
        out.push(this.#identity(time, id, handle));
        if (this.#status[id] === 0) out.push(this.#account(time, id, true));
        return;
      }
      case Slot.HandleChange: {
        const id = this.#anyEngaged();
        out.push(this.#identity(time, id, this.#handle(id)));
        return;
      }
      case Slot.ProfileUpdate: {
        const e = this.#profile(time, this.#anyEngaged());
        if (e.kind === "commit") e.action = "update";
        out.push(e);
        return;
      }
      case Slot.Deactivate:
      case Slot.DeleteAccount:
      case Slot.Takedown: {
        const id = this.#anyEngaged();
        if (id < this.celebrities.length || this.#status[id] !== 0) return;
        const status = slot === Slot.Deactivate ? 1 : slot === Slot.DeleteAccount ? 2 : 3;
        this.#status[id] = status;
        if (status === 1) this.#deactivated.push(id);
        out.push(
          this.#account(time, id, false, ["", "deactivated", "deleted", "takendown"][status]),
        );
        return;
      }
      case Slot.Reactivate: {
        if (this.#deactivated.length === 0) return;
        const k = Math.floor(rand() * this.#deactivated.length);
        const id = this.#deactivated[k];
        this.#deactivated[k] = this.#deactivated[this.#deactivated.length - 1];
        this.#deactivated.pop();
        if (this.#status[id] !== 1) return;
        this.#status[id] = 0;
        out.push(this.#account(time, id, true));
        return;
      }
      case Slot.NewAccount: {
        if (this.#next >= this.#capacity) return;
        const id = this.#next++;
        this.#joinPool(id);
        this.#rankWeight[id] = this.#creator[id] ? this.#newWeight : 0;
        this.#engaged[this.#engagedCount++] = id;
        out.push(this.#identity(time, id, this.#handle(id)));
        out.push(this.#account(time, id, true));
        out.push(this.#profile(time, id));
        for (let k = 0; k < n.onboardingFollows.value; k++) {
          const t = rand() < 0.7 ? this.#popularAny() : this.#anyEngaged();
          out.push(this.#subjectEvent(time, "follow", id, t, true));
        }
        return;
      }
      default: {
        // An interaction received by a celebrity, from an active account or a lurker.
        const c = slot - Slot.Celebrity;
        let fan = rand() < n.lurkerFanShare.value ? this.#lurker() : this.#anyActive();
        if (fan === c || this.#status[fan] !== 0) fan = this.#anyActive();
        if (fan === c) return;
        this.seen[fan] = 1;
        const d = this.#daily;
        const x = rand() * d.interactions;
        let e: FirehoseEvent;
        if (x < d.likes) e = this.#subjectEvent(time, "like", fan, c, false);
        else if (x < d.likes + d.reposts) e = this.#subjectEvent(time, "repost", fan, c, false);
        else {
          const y = x - d.likes - d.reposts;
          const replies = d.replies * (1 - n.selfReplyShare.value);
          const quotes = d.posts * n.quoteShare.value;
          e = this.#post(
            time,
            fan,
            false,
            y < replies ? { parent: c } : y < replies + quotes ? { quote: c } : { mention: c },
          );
        }
        out.push(e);
      }
    }
  }

  /** Per-day expected counts of each base slot at this scale. */
  #dailySlots(): number[] {
    const n = NETWORK, d = networkDaily(), s = this.scale;
    const counts: number[] = [];
    counts[Slot.Like] = d.likes;
    counts[Slot.Repost] = d.reposts;
    counts[Slot.Post] = d.posts;
    // New accounts' onboarding follows are part of the network's follows.
    counts[Slot.Follow] = Math.max(
      0,
      d.follows - n.newAccountsPerDay.value * n.onboardingFollows.value,
    );
    counts[Slot.Block] = d.blocks;
    counts[Slot.DeleteLike] = d.likes * n.likeDeletes.value;
    counts[Slot.DeleteRepost] = d.reposts * n.repostDeletes.value;
    counts[Slot.DeletePost] = d.posts * n.postDeletes.value;
    counts[Slot.DeleteFollow] = d.follows * n.followDeletes.value;
    counts[Slot.DeleteBlock] = d.blocks * n.blockDeletes.value;
    counts[Slot.Refresh] = d.refreshes;
    counts[Slot.HandleChange] = n.handleChangesPerDay.value;
    counts[Slot.ProfileUpdate] = n.profileUpdatesPerDay.value;
    counts[Slot.Deactivate] = n.deactivationsPerDay.value;
    counts[Slot.Reactivate] = n.reactivationsPerDay.value;
    counts[Slot.DeleteAccount] = n.deletionsPerDay.value;
    counts[Slot.Takedown] = n.takedownsPerDay.value;
    counts[Slot.NewAccount] = n.newAccountsPerDay.value;
    return counts.map((c) => c * s);
  }

  #diurnal(time: number): number {
    const hourOfDay = ((time % DAY) + DAY) % DAY / HOUR;
    return 1 + NETWORK.diurnalAmplitude.value * Math.cos(2 * Math.PI * (hourOfDay - 17) / 24);
  }

  #count(e: FirehoseEvent, base: boolean) {
    const st = this.stats;
    st.events++;
    const label = labelOf(e);
    const labels = base ? st.labels : st.celebrityLabels;
    labels[label] = (labels[label] ?? 0) + 1;
    const k = interactionsOf(e);
    st.interactions += k;
    if (base) st.baseInteractions += k;
    else st.celebrityInteractions += k;
    this.seen[this.#idOfDid(e)] = 1;
    if (!base) return;
    // Every account the event names, as the store interns them.
    const day = this.#day + 1;
    const mark = (did: string | undefined) => {
      if (did !== undefined) this.lastSeenBaseDay[this.#idOf(did)] = day;
    };
    mark(e.did);
    if (e.kind === "commit" && e.action !== "delete") {
      mark(e.subject);
      mark(e.parent);
      mark(e.root);
      mark(e.quote);
      e.mentions?.forEach(mark);
    }
    // Who acts, in windows of 152 events (the relay sample's size) and per day.
    const author = this.#idOfDid(e);
    this.#window.push(author);
    if (this.#window.length === 152) {
      st.authorWindows++;
      st.distinctAuthors += new Set(this.#window).size;
      this.#window.length = 0;
    }
    if (this.#authorCount[author]++ === 0) this.#authorTouched.push(author);
  }

  /** The id behind an event's DID (DIDs are made by didOf from ids). */
  #idOfDid(e: FirehoseEvent): number {
    return this.#idOf(e.did);
  }

  #idOf(did: string): number {
    const s = did.slice(8);
    let v = 0;
    for (let i = 0; i < s.length; i++) v = v * 32 + B32.indexOf(s[i]);
    return v;
  }

  #endDay() {
    let sum = 0, squares = 0;
    for (const a of this.#authorTouched) {
      const c = this.#authorCount[a];
      sum += c;
      squares += c * c;
      this.#authorCount[a] = 0;
    }
    this.#authorTouched.length = 0;
    if (sum > 0) {
      this.stats.authorConcentration += squares / (sum * sum) / this.days;
    }
  }

  /** The window's events, in time order. */
  *events(): Generator<FirehoseEvent> {
    const rand = this.#rand;
    const daily = this.#dailySlots();
    const celebHourly = this.celebrityWeekly.map((w) => w / 168);
    const slots = Slot.Celebrity + this.celebrities.length;
    const counts = new Int32Array(slots);
    let order = new Uint8Array(0);
    const out: FirehoseEvent[] = [];
    for (let day = 0; day < this.days; day++) {
      this.#day = day;
      this.stats.postersPerDay.push(0);
      this.#startDay();
      for (let h = 0; h < 24; h++) {
        const hourStart = this.start + day * DAY + h * HOUR;
        const surge = rand() < NETWORK.surgeHours.value ? 2 : 1;
        const f = this.#diurnal(hourStart + HOUR / 2) * surge;
        let total = 0;
        for (let s = 0; s < slots; s++) {
          const lambda = s < Slot.Celebrity
            ? daily[s] / 24 * f
            : celebHourly[s - Slot.Celebrity] * f;
          counts[s] = this.#poisson(lambda);
          total += counts[s];
        }
        if (order.length < total) order = new Uint8Array(total * 2);
        let k = 0;
        for (let s = 0; s < slots; s++) for (let c = 0; c < counts[s]; c++) order[k++] = s;
        for (let i = total - 1; i > 0; i--) {
          const j = Math.floor(rand() * (i + 1));
          const t = order[i];
          order[i] = order[j];
          order[j] = t;
        }
        for (let i = 0; i < total; i++) {
          const time = hourStart + Math.floor((i + rand()) * HOUR / total);
          const slot = order[i];
          out.length = 0;
          this.#slot(slot, time, out);
          const base = slot < Slot.Celebrity;
          if (!base) this.stats.celebrityReceived[slot - Slot.Celebrity] += out.length;
          for (const e of out) {
            this.#count(e, base);
            yield e;
          }
        }
      }
      this.#endDay();
    }
  }
}

/** Events of a Jetstream JSON capture by label, for the kept collections (and identity, account). */
export function jetstreamMix(
  jsonl: string,
): { labels: Record<string, number>; authors: number; events: number } {
  const labels: Record<string, number> = {};
  const authors = new Set<string>();
  let events = 0;
  for (const line of jsonl.split("\n")) {
    if (!line.trim()) continue;
    const e = JSON.parse(line) as {
      did: string;
      kind: string;
      commit?: { collection: string; operation: string };
    };
    let label: string;
    if (e.kind === "commit") {
      const c = e.commit!;
      if (!Object.values(COLLECTION).includes(c.collection as never)) continue;
      label = `${c.collection.split(".").pop()} ${c.operation}`;
    } else label = e.kind;
    labels[label] = (labels[label] ?? 0) + 1;
    authors.add(e.did);
    events++;
  }
  return { labels, authors: authors.size, events };
}

/** Shape of the posts of an app.bsky.feed.getTimeline answer: replies, quotes, mentions. */
export function timelineShape(json: unknown) {
  const posts = new Map<string, { author: string; record: Record<string, unknown> }>();
  const walk = (o: unknown): void => {
    if (Array.isArray(o)) return o.forEach(walk);
    if (o === null || typeof o !== "object") return;
    const v = o as Record<string, unknown>;
    if (typeof v.uri === "string" && v.record && v.author) {
      posts.set(v.uri, {
        author: (v.author as { did: string }).did,
        record: v.record as Record<string, unknown>,
      });
    }
    Object.values(v).forEach(walk);
  };
  walk(json);
  const shape = { all: 0, replies: 0, selfReplies: 0, quotes: 0, mentioning: 0 };
  for (const { author, record } of posts.values()) {
    shape.all++;
    const reply = record.reply as { parent?: { uri?: string } } | undefined;
    if (reply) {
      shape.replies++;
      if (reply.parent?.uri?.split("/")[2] === author) shape.selfReplies++;
    }
    const embed = (record.embed as { $type?: string } | undefined)?.$type ?? "";
    if (embed.includes("record")) shape.quotes++;
    const facets = (record.facets ?? []) as { features?: { $type?: string }[] }[];
    if (facets.some((f) => f.features?.some((x) => x.$type?.includes("mention")))) {
      shape.mentioning++;
    }
  }
  return shape;
}
