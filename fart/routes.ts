/** The API's endpoints. Each returns a Response or throws an HttpError. */
import { type Clock, systemClock } from "@bsky/shared/clock";
import { firehoseKeys, JOB_NAMES, jobKeys, statsKeys, type TopSnapshot } from "@bsky/shared/keys";
import { consumerGroups, type Redis } from "@bsky/shared/redis";
import {
  type Profile,
  profiles,
  searchHandles,
  topInteractions,
  windowRange,
} from "@bsky/store/queries";
import { storeKeys } from "@bsky/store/layout";
import { isOptCode, newOptCode, type OptAction, optPhrase } from "@bsky/shared/optout";
import type { z } from "zod";
import type { Avatars, Image } from "./avatar.ts";
import type { AnswerCache } from "./cache.ts";
import { circleLayout, type CircleOptions, renderCirclesSvg } from "./circles.ts";
import { liveFigures } from "./live.ts";
import type { FartConfig } from "./config.ts";
import { didParam, type PathParams } from "./app.ts";
import { badParameter, canonicalQuery, HttpError, parseQuery, withEtag } from "./http.ts";
import { type Identity, parseActor } from "./identity.ts";
import { type PngPool, PngPoolFull } from "./png_pool.ts";
import { rateHeaders, type RateLimiter } from "./rate_limit.ts";
import * as s from "./schemas.ts";

type ApiProfile = z.infer<typeof s.profile>;
const encoder = new TextEncoder();
const RING_SIZES = { "8-15-26": [8, 15, 26], "10-20-30": [10, 20, 30] } as const;
/** How long an opt code waits to be posted. */
export const OPT_CODE_SECONDS = 3600;
/** How long /v1/stats/live answers are kept: it is a live view. */
const LIVE_SECONDS = 5;

function apiProfile(p: Profile): ApiProfile {
  return {
    did: p.did,
    handle: p.handle ?? null,
    displayName: p.displayName ?? null,
    avatar: p.avatar ? `/v1/avatar/${p.did}` : null,
  };
}

/** The actor parameter as a cache key part: a DID, or a lowercase handle (400 if neither). */
function actorKey(raw: string): string {
  const a = parseActor(raw);
  return "did" in a ? a.did : a.handle;
}

const windowLabel = (hours: number) =>
  hours >= 48 && hours % 24 === 0 ? `${hours / 24}d` : `${hours}h`;

export class Routes {
  constructor(
    readonly redis: Redis,
    readonly identity: Identity,
    readonly avatars: Avatars,
    readonly cache: AnswerCache,
    readonly config: FartConfig,
    /** Draws the PNGs, off the main thread. */
    readonly png: PngPool,
    /** Limits how many opt codes an account and an address get. */
    readonly limiter: RateLimiter,
    /** Where "now" comes from: windows end in its hour. */
    readonly clock: Clock = systemClock,
  ) {}

  /** A PNG drawn by the renderer pool; a 503 with Retry-After when the pool is full. */
  async #drawPng(svg: () => Promise<string>, width: number): Promise<Uint8Array> {
    try {
      return await this.png.render(svg, width);
    } catch (err) {
      if (!(err instanceof PngPoolFull)) throw err;
      throw new HttpError(503, "Too many pictures are being drawn: try again shortly", {}, {
        "retry-after": String(err.retryAfterSeconds),
      });
    }
  }

  #json(req: Request, body: Uint8Array): Promise<Response> {
    return withEtag(req, body, "application/json", this.config.FART_CACHE_SECONDS);
  }

  interactions = async (req: Request, url: URL, m: PathParams): Promise<Response> => {
    const q = parseQuery(url, s.interactionsQuery);
    // Keyed by the actor as asked, so that a cached answer needs no resolution at all.
    const body = await this.cache.get(
      `i:${actorKey(m[1])}:${q.direction}:${q.window}:${q.limit}`,
      async () => {
        const actor = await this.identity.actor(m[1]);
        const now = this.clock.now();
        const items = await topInteractions(this.redis, actor.did, {
          direction: q.direction,
          windowHours: q.window,
          limit: q.limit,
          now,
        }) ?? [];
        const ps = await profiles(this.redis, [actor.did, ...items.map((i) => i.did)]);
        const { from, to } = windowRange(q.window, now);
        const answer: z.infer<typeof s.interactionsAnswer> = {
          actor: apiProfile(ps[0]),
          window: windowLabel(q.window),
          direction: q.direction,
          from: from.toISOString(),
          to: to.toISOString(),
          items: items.map((c, k) => ({
            ...apiProfile(ps[k + 1]),
            like: c.like,
            repost: c.repost,
            reply: c.reply,
            quote: c.quote,
            mention: c.mention,
            score: c.score,
          })),
        };
        return encoder.encode(JSON.stringify(answer));
      },
    );
    return await this.#json(req, body);
  };

  circles = async (req: Request, url: URL, m: PathParams): Promise<Response> => {
    const q = parseQuery(url, s.circlesQuery);
    const format = m[2] === ".svg" ? "svg" : m[2] === ".png" ? "png" : "json";
    // The parsed query, not the raw one: every spelling of the same circles shares one key.
    const { width: _width, ...layout } = q;
    const shape = canonicalQuery(format === "png" ? q : layout);
    const key = `c:${actorKey(m[1])}:${format}:${shape}`;
    /** The JSON answer, or the SVG to send or to draw. */
    const build = async (): Promise<Uint8Array | string> => {
      const actor = await this.identity.actor(m[1]);
      const now = this.clock.now();
      const sizes = RING_SIZES[q.sizes].slice(0, q.rings);
      const want = sizes.reduce((a, b) => a + b, 0);
      const items = await topInteractions(this.redis, actor.did, {
        direction: q.direction,
        windowHours: q.window,
        limit: want,
        now,
        excludeBlocked: true,
      }) ?? [];
      const ps = await profiles(this.redis, [actor.did, ...items.map((i) => i.did)]);
      const { from, to } = windowRange(q.window, now);
      const options: CircleOptions = {
        rings: q.rings as 1 | 2 | 3,
        ringSizes: q.sizes,
        background: q.bg,
        border: q.border,
        showDate: q.date,
        names: q.names,
        credit: q.credit,
        from,
        to,
        title: ps[0].handle ? `@${ps[0].handle}` : undefined,
      };
      const person = (p: Profile, score: number) => ({
        did: p.did,
        handle: p.handle,
        displayName: p.displayName,
        score,
      });
      const layout = circleLayout(
        person(ps[0], 0),
        items.map((c, k) => person(ps[k + 1], c.score)),
        options,
      );
      if (format === "json") {
        const placed = (p: { did: string; x: number; y: number; r: number }, k: number) => ({
          ...apiProfile(ps[k]),
          x: p.x,
          y: p.y,
          r: p.r,
        });
        const index = new Map(ps.map((p, k) => [p.did, k]));
        const answer: z.infer<typeof s.circlesAnswer> = {
          actor: apiProfile(ps[0]),
          window: windowLabel(q.window),
          direction: q.direction,
          from: options.from.toISOString(),
          to: options.to.toISOString(),
          size: layout.size,
          center: placed(layout.center, 0),
          rings: layout.rings.map((ring) => ({
            radius: ring.radius,
            people: ring.people.map((p) => ({
              ...placed(p, index.get(p.did)!),
              score: p.score,
              ...(p.name ? { name: p.name } : {}),
            })),
          })),
        };
        return encoder.encode(JSON.stringify(answer));
      }
      const images = new Map<string, Image>();
      await Promise.all(ps.map(async (p) => {
        if (!p.avatar) return;
        const image = await this.avatars.get(p.did, p.avatar).catch(() => undefined);
        if (image) images.set(p.did, image);
      }));
      return renderCirclesSvg(layout, images, options);
    };
    const body = await this.cache.get(key, async () => {
      // A PNG takes its place among the renders before anything is done for it.
      if (format === "png") return await this.#drawPng(() => build() as Promise<string>, q.width);
      const built = await build();
      return typeof built === "string" ? encoder.encode(built) : built;
    });
    const type = format === "json"
      ? "application/json"
      : format === "svg"
      ? "image/svg+xml"
      : "image/png";
    return await withEtag(req, body, type, this.config.FART_CACHE_SECONDS);
  };

  top = async (req: Request, url: URL): Promise<Response> => {
    const q = parseQuery(url, s.topQuery);
    const raw = await this.redis.get(statsKeys.top(q.window, q.metric));
    if (!raw) {
      throw new HttpError(404, `The ${q.window} top list of ${q.metric} is not computed yet`);
    }
    const snap = JSON.parse(raw) as TopSnapshot;
    const ps = await profiles(this.redis, snap.items.map((i) => i.did));
    const hidden = new Set(ps.filter((p) => p.status && p.status !== "active").map((p) => p.did));
    const answer: z.infer<typeof s.topAnswer> = {
      metric: snap.metric,
      window: snap.window,
      computedAt: new Date(snap.computedAt).toISOString(),
      items: snap.items.flatMap((item, k) =>
        hidden.has(item.did) ? [] : [{ ...apiProfile(ps[k]), count: item.count }]
      ),
    };
    return await this.#json(req, encoder.encode(JSON.stringify(answer)));
  };

  jobs = async (req: Request, url: URL): Promise<Response> => {
    parseQuery(url, s.noQuery);
    const pipe = this.redis.pipeline();
    for (const job of JOB_NAMES) pipe.hgetall(jobKeys.status(job));
    const rows = (await pipe.exec()) ?? [];
    const iso = (ms: string | undefined) =>
      ms && Number(ms) > 0 ? new Date(Number(ms)).toISOString() : null;
    const answer: z.infer<typeof s.jobsAnswer> = {
      jobs: JOB_NAMES.map((job, k) => {
        const h = (rows[k]?.[1] ?? {}) as Record<string, string>;
        if (!h.outcome) {
          return {
            job,
            outcome: "never" as const,
            startedAt: null,
            durationMs: null,
            error: null,
            lastSuccessAt: null,
            details: {},
          };
        }
        return {
          job,
          outcome: h.outcome === "ok" ? "ok" as const : "failed" as const,
          startedAt: iso(h.startedAt),
          durationMs: Number(h.durationMs),
          error: h.error || null,
          lastSuccessAt: iso(h.lastSuccessAt),
          details: JSON.parse(h.details || "{}"),
        };
      }),
    };
    return await this.#json(req, encoder.encode(JSON.stringify(answer)));
  };

  live = async (req: Request, url: URL): Promise<Response> => {
    parseQuery(url, s.noQuery);
    const body = await this.cache.get("live", async () => {
      const partitions = await this.#partitions();
      const now = this.clock.now();
      const figures = await liveFigures(this.redis, partitions, now);
      let backlog = 0;
      for (let p = 0; p < partitions; p++) {
        for (const g of await consumerGroups(this.redis, firehoseKeys.stream(p))) {
          backlog = Math.max(backlog, (g.lag ?? 0) + g.pending);
        }
      }
      const answer: z.infer<typeof s.liveAnswer> = {
        now: new Date(now).toISOString(),
        eventsPerSecond: figures.eventsPerSecond,
        byCollection: figures.byCollection,
        lagSeconds: figures.lagSeconds,
        indexerBacklog: backlog,
        activeAccounts: figures.activeAccounts,
        sampledEvents: figures.sampledEvents,
      };
      return encoder.encode(JSON.stringify(answer));
    }, LIVE_SECONDS);
    return await withEtag(req, body, "application/json", LIVE_SECONDS);
  };

  /** How many partitions the firehose writes: its streams that exist. */
  async #partitions(): Promise<number> {
    let n = 0;
    while (n < 256 && await this.redis.exists(firehoseKeys.stream(n))) n++;
    return Math.max(n, 1);
  }

  search = async (req: Request, url: URL): Promise<Response> => {
    const q = parseQuery(url, s.searchQuery);
    const found = await searchHandles(this.redis, q.q.replace(/^@/, ""), q.limit);
    const ps = await profiles(this.redis, found.map((f) => f.did));
    const answer: z.infer<typeof s.searchAnswer> = { items: ps.map(apiProfile) };
    return await this.#json(req, encoder.encode(JSON.stringify(answer)));
  };

  /**
   * POST: a one-time code that hides the account (action=out) or shows it again (in) once
   * the account posts it. Anyone may ask; only the account can post it.
   */
  optout = async (_req: Request, url: URL, m: PathParams, ip: string): Promise<Response> => {
    const q = parseQuery(url, s.optoutQuery);
    await this.#allowCode(`optcode:ip:${ip}`, this.config.FART_OPTOUT_CODES_PER_IP, "address");
    const actor = await this.identity.actor(m[1], { hidden: true });
    await this.#allowCode(
      `optcode:did:${actor.did}`,
      this.config.FART_OPTOUT_CODES_PER_ACCOUNT,
      "account",
    );
    let code = newOptCode();
    // Codes are random (32^8); a clash with a waiting one is redrawn.
    while (
      await this.redis.set(
        storeKeys.optCode(code),
        `${actor.did} ${q.action}`,
        "EX",
        OPT_CODE_SECONDS,
        "NX",
      ) !== "OK"
    ) code = newOptCode();
    const [p] = await profiles(this.redis, [actor.did]);
    const res = optAnswer(
      201,
      p,
      q.action,
      code,
      "waiting",
      this.clock.now() + OPT_CODE_SECONDS * 1000,
    );
    // The code just made, where its state can be followed.
    res.headers.set("location", `/v1/optout/codes/${code}`);
    return res;
  };

  /** Takes one opt code from an hourly allowance, or answers 429. */
  async #allowCode(client: string, perHour: number, who: "account" | "address") {
    const decision = await this.limiter.take(client, perHour, 3600_000);
    if (decision.allowed) return;
    throw new HttpError(
      429,
      `Too many opt codes for this ${who}: ${perHour} an hour are given, try again in ${decision.retryAfterSeconds} s`,
      {},
      rateHeaders(decision),
    );
  }

  /** GET: whether a code was posted yet. */
  optcode = async (_req: Request, url: URL, m: PathParams): Promise<Response> => {
    parseQuery(url, s.noQuery);
    const code = m[1].toUpperCase();
    if (!isOptCode(code)) throw badParameter("code", m[1], "is not an opt code");
    const key = storeKeys.optCode(code);
    const [[, value], [, ttl]] = (await this.redis.multi().get(key).pttl(key).exec())! as [
      [unknown, string | null],
      [unknown, number],
    ];
    if (!value) throw new HttpError(404, `The code ${code} is unknown or has expired`);
    const parts = value.split(" ");
    const done = parts[0] === "done";
    const [did, action] = done ? parts.slice(1) : parts;
    const [p] = await profiles(this.redis, [did]);
    const expires = this.clock.now() + Math.max(ttl, 0);
    return optAnswer(200, p, action as OptAction, code, done ? "done" : "waiting", expires);
  };

  avatar = async (req: Request, url: URL, m: PathParams): Promise<Response> => {
    parseQuery(url, s.noQuery);
    const did = didParam(m[1]);
    const actor = await this.identity.actor(did);
    const cid = await this.avatars.cidOf(actor.id);
    if (!cid) throw new HttpError(404, `${did} has no avatar`);
    const image = await this.avatars.get(did, cid);
    if (!image) throw new HttpError(502, `The avatar of ${did} cannot be fetched now`);
    return await withEtag(req, image.bytes, image.type, 86400, {
      "content-security-policy": "default-src 'none'",
      "x-content-type-options": "nosniff",
    });
  };
}

function optAnswer(
  status: number,
  profile: Profile,
  action: OptAction,
  code: string,
  state: "waiting" | "done",
  expiresAt: number,
): Response {
  const answer: z.infer<typeof s.optoutAnswer> = {
    did: profile.did,
    handle: profile.handle ?? null,
    action,
    code,
    text: optPhrase(action, code),
    state,
    expiresAt: new Date(expiresAt).toISOString(),
  };
  return Response.json(answer, { status, headers: { "cache-control": "no-store" } });
}
