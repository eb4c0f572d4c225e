/** GET /v1/stats/top, /v1/stats/live and /v1/stats/jobs: the network and the scheduler. */
import {
  firehoseKeys,
  JOB_NAMES,
  jobKeys,
  LANGUAGE_METRIC,
  type LanguageIndex,
  type LanguageSnapshot,
  type LanguageWindow,
  statsKeys,
  type TopSnapshot,
  type TopWindow,
} from "@bsky/shared/keys";
import { consumerGroups, type Redis } from "@bsky/shared/redis";
import { profiles } from "@bsky/store/queries";
import type { z } from "zod";
import { HttpError } from "../http.ts";
import { liveFigures } from "../live.ts";
import { route, type RouteCtx } from "../route.ts";
import * as s from "../schemas.ts";
import { apiProfile, cachedJson, sendJson } from "./answers.ts";

/** How long /v1/stats/live answers are kept: it is a live view. */
const LIVE_SECONDS = 5;

/**
 * The top posters of a language: its list when the index of the latest run names it, an
 * empty list when that run gave it none (no posts, or fewer than the languages with
 * lists), 404 before the scheduler first ran.
 */
async function languageTop(
  { services: { redis } }: RouteCtx,
  q: z.output<typeof s.topQuery>,
): Promise<z.infer<typeof s.topAnswer>> {
  const window = q.window as LanguageWindow;
  const [rawIndex, rawList] = await redis.mget(
    statsKeys.languages,
    statsKeys.languageTop(window, q.lang),
  );
  if (!rawIndex) {
    throw new HttpError(404, `The ${q.window} top posters in ${q.lang} are not computed yet`);
  }
  const index = JSON.parse(rawIndex) as LanguageIndex;
  const listed = index.windows[window]?.some((l) => l.lang === q.lang);
  const snap = rawList ? JSON.parse(rawList) as LanguageSnapshot : undefined;
  // A list the latest run did not write again is an older run's: not shown.
  const items = listed && snap && snap.computedAt === index.computedAt ? snap.items : [];
  const ps = await profiles(redis, items.map((i) => i.did));
  return {
    metric: LANGUAGE_METRIC,
    window,
    lang: q.lang,
    languages: index.windows[window] ?? [],
    computedAt: new Date(index.computedAt).toISOString(),
    items: items.flatMap((item, k) =>
      ps[k].status && ps[k].status !== "active" ? [] : [{ ...apiProfile(ps[k]), count: item.count }]
    ),
  };
}

export const top = route({
  name: "top",
  method: "GET",
  path: "/v1/stats/top",
  operationId: "getTopList",
  summary: "The latest global top list of a metric, or of posts in a language",
  query: s.topQuery,
  answer: { name: "TopList", schema: s.topAnswer },
  errors: [400, 404],
  etag: true,
  async handler(ctx) {
    const q = ctx.query;
    const { redis } = ctx.services;
    if (q.metric === LANGUAGE_METRIC) return await sendJson(ctx, await languageTop(ctx, q));
    const raw = await redis.get(statsKeys.top(q.window as TopWindow, q.metric));
    if (!raw) {
      throw new HttpError(404, `The ${q.window} top list of ${q.metric} is not computed yet`);
    }
    const snap = JSON.parse(raw) as TopSnapshot;
    const ps = await profiles(redis, snap.items.map((i) => i.did));
    const hidden = new Set(ps.filter((p) => p.status && p.status !== "active").map((p) => p.did));
    const answer: z.infer<typeof s.topAnswer> = {
      metric: snap.metric,
      window: snap.window,
      computedAt: new Date(snap.computedAt).toISOString(),
      items: snap.items.flatMap((item, k) =>
        hidden.has(item.did) ? [] : [{ ...apiProfile(ps[k]), count: item.count }]
      ),
    };
    return await sendJson(ctx, answer);
  },
});

type JobStatus = z.infer<typeof s.jobsAnswer>["jobs"][number];

/** A job's status as its hash in Redis has it; "never" without one. */
function jobStatus(job: (typeof JOB_NAMES)[number], h: Record<string, string>): JobStatus {
  const iso = (ms: string | undefined) =>
    ms && Number(ms) > 0 ? new Date(Number(ms)).toISOString() : null;
  if (!h.outcome) {
    return {
      job,
      outcome: "never",
      startedAt: null,
      durationMs: null,
      error: null,
      lastSuccessAt: null,
      details: {},
    };
  }
  return {
    job,
    outcome: h.outcome === "ok" ? "ok" : "failed",
    startedAt: iso(h.startedAt),
    durationMs: Number(h.durationMs),
    error: h.error || null,
    lastSuccessAt: iso(h.lastSuccessAt),
    details: JSON.parse(h.details || "{}"),
  };
}

export const jobs = route({
  name: "jobs",
  method: "GET",
  path: "/v1/stats/jobs",
  operationId: "getJobs",
  summary: "The scheduler's jobs: when each last ran, how long it took, how it ended",
  answer: { name: "Jobs", schema: s.jobsAnswer },
  errors: [],
  etag: true,
  async handler(ctx) {
    const pipe = ctx.services.redis.pipeline();
    for (const job of JOB_NAMES) pipe.hgetall(jobKeys.status(job));
    const rows = (await pipe.exec()) ?? [];
    const answer: z.infer<typeof s.jobsAnswer> = {
      jobs: JOB_NAMES.map((job, k) =>
        jobStatus(job, (rows[k]?.[1] ?? {}) as Record<string, string>)
      ),
    };
    return await sendJson(ctx, answer);
  },
});

/** How many partitions the firehose writes: its streams that exist. */
async function partitionsOf(redis: Redis): Promise<number> {
  let n = 0;
  while (n < 256 && await redis.exists(firehoseKeys.stream(n))) n++;
  return Math.max(n, 1);
}

/** The most any consumer group has yet to apply, over the partitions. */
async function backlogOf(redis: Redis, partitions: number): Promise<number> {
  let backlog = 0;
  for (let p = 0; p < partitions; p++) {
    for (const g of await consumerGroups(redis, firehoseKeys.stream(p))) {
      backlog = Math.max(backlog, (g.lag ?? 0) + g.pending);
    }
  }
  return backlog;
}

async function liveAnswer(
  { redis, clock }: RouteCtx["services"],
): Promise<z.infer<typeof s.liveAnswer>> {
  const partitions = await partitionsOf(redis);
  const now = clock.now();
  const figures = await liveFigures(redis, partitions, now);
  return {
    now: new Date(now).toISOString(),
    eventsPerSecond: figures.eventsPerSecond,
    byCollection: figures.byCollection,
    lagSeconds: figures.lagSeconds,
    indexerBacklog: await backlogOf(redis, partitions),
    activeAccounts: figures.activeAccounts,
    sampledEvents: figures.sampledEvents,
    postsPerSecond: figures.postsPerSecond,
    postLanguages: figures.postLanguages,
  };
}

export const live = route({
  name: "live",
  method: "GET",
  path: "/v1/stats/live",
  operationId: "getLive",
  summary: "What the firehose is doing now",
  answer: { name: "Live", schema: s.liveAnswer },
  errors: [],
  etag: true,
  async handler(ctx) {
    return await cachedJson(ctx, "live", () => liveAnswer(ctx.services), LIVE_SECONDS);
  },
});
