/**
 * One backfill run over a source host: lists its repositories page by page, reads each
 * (BACKFILL_CONCURRENCY at a time, BACKFILL_RATE_PER_SECOND requests a second) and loads
 * what the live stream has not shown into the store, then tries the repositories that
 * failed again. Resumable at any point (progress.ts), and never stopped by one repository:
 * a failure is tried again with a pause doubling each time, then recorded for a later run.
 *
 * What counts (the merge rule, README "Backfill"): a record counts at its time
 * (records.ts) when that is before the platform's live start (`bf:{g}:live`), and, for
 * likes, reposts and posts, inside the retention; follows and blocks whatever their age.
 * The store skips what the live stream holds (store/backfill.ts).
 */
import type { Clock } from "@bsky/shared/clock";
import { errorMessage } from "@bsky/shared/errors";
import type { Logger } from "@bsky/shared/log";
import type { Redis } from "@bsky/shared/redis";
import { BackfillStore, holdBackfill, releaseBackfill } from "@bsky/store/backfill";
import { backfillHostName, storeKeys } from "@bsky/store/layout";
import { backfillRepo, type RepoOutcome } from "./attempts.ts";
import type { backfillTuningEnv } from "./config.ts";
import type { BackfillMetrics } from "./metrics.ts";
import { workThroughListing } from "./pages.ts";
import { Progress } from "./progress.ts";
import { ProgressReport } from "./report.ts";
import { type ListedRepo, sleep, Source } from "./source.ts";
import type { z } from "zod";

type Tuning = { [K in keyof typeof backfillTuningEnv]: z.output<typeof backfillTuningEnv[K]> };

export interface BackfillOptions extends Tuning {
  BACKFILL_SOURCE_URL: string;
  redis: Redis;
  log: Logger;
  clock: Clock;
  metrics?: BackfillMetrics;
  fetch?: typeof fetch;
  /** Stops the run: repositories in progress are left where their marks say. */
  signal?: AbortSignal;
  /** No repository is started after this instant (ms); the next run goes on. */
  deadline?: number;
}

export interface BackfillSummary {
  host: string;
  state: "listing" | "listed" | "done";
  /** The platform's live start the run went by (ms). */
  liveStart: number;
  repos: Record<RepoOutcome, number>;
  /** Records of kept collections read from repositories, and what came of them. */
  recordsRead: number;
  records: Record<string, number>;
  /** Recorded failures tried again in this run, and those that loaded. */
  retried: number;
  recovered: number;
  /** Repositories recorded as failed at the end. */
  failed: number;
  ms: number;
}

/** How long the run's hold lasts without a renewal, and how often it is renewed. */
const HOLD_SECONDS = 120;
const RENEW_MS = 20_000;
/** The longest a run waits for a failure's next try at its end. */
const MAX_FINAL_WAIT_MS = 10 * 60_000;

export async function runBackfill(o: BackfillOptions): Promise<BackfillSummary> {
  const run = new Run(o);
  try {
    return await run.run();
  } finally {
    await run.close();
  }
}

/** One run's state, shared by the listing (pages.ts), the repositories (attempts.ts, load.ts) and the report. */
export class Run {
  readonly host: string;
  readonly source: Source;
  readonly progress: Progress;
  store!: BackfillStore;
  retentionDays: number;
  memoryHours: number;
  liveStart = 0;
  token = crypto.randomUUID();
  renewer?: ReturnType<typeof setInterval>;
  handles: boolean;
  readonly started: number;
  readonly summary: BackfillSummary;
  inFlight = 0;
  recordsRead = 0;
  logger?: ReturnType<typeof setInterval>;
  readonly #progressReport = new ProgressReport(this);

  constructor(readonly o: BackfillOptions) {
    this.host = backfillHostName(o.BACKFILL_SOURCE_URL);
    this.source = new Source({
      baseUrl: o.BACKFILL_SOURCE_URL,
      ratePerSecond: o.BACKFILL_RATE_PER_SECOND,
      timeoutMs: o.BACKFILL_TIMEOUT_SECONDS * 1000,
      maxRepoBytes: o.BACKFILL_MAX_REPO_BYTES,
      clock: o.clock,
      fetch: o.fetch,
    });
    this.source.onRequest = (method, status, bytes) => {
      if (status === "bytes") o.metrics?.bytes.inc(undefined, bytes);
      else o.metrics?.requests.inc({ method, status });
    };
    this.progress = new Progress(o.redis, this.host);
    this.retentionDays = o.INDEXER_RETENTION_DAYS;
    this.memoryHours = o.INDEXER_RECORD_MEMORY_HOURS;
    this.handles = o.BACKFILL_HANDLES;
    this.started = o.clock.now();
    this.summary = {
      host: this.host,
      state: "listing",
      liveStart: 0,
      repos: { loaded: 0, gone: 0, inactive: 0, skipped: 0, failed: 0 },
      recordsRead: 0,
      records: {},
      retried: 0,
      recovered: 0,
      failed: 0,
      ms: 0,
    };
  }

  get log() {
    return this.o.log;
  }

  stopping(): boolean {
    return !!this.o.signal?.aborted ||
      (this.o.deadline !== undefined && this.o.clock.now() >= this.o.deadline);
  }

  count(outcome: string, by = 1): void {
    if (by === 0) return;
    this.summary.records[outcome] = (this.summary.records[outcome] ?? 0) + by;
    this.o.metrics?.records.inc({ outcome }, by);
  }

  async run(): Promise<BackfillSummary> {
    const { redis, clock } = this.o;
    // The indexer writes what it keeps when it starts: the backfill keeps to the same.
    const settings = await redis.hgetall(storeKeys.settings);
    for (
      const [field, name] of [["retentionDays", "INDEXER_RETENTION_DAYS"], [
        "recordMemoryHours",
        "INDEXER_RECORD_MEMORY_HOURS",
      ]] as const
    ) {
      const kept = Number(settings[field]);
      const mine = field === "retentionDays" ? this.retentionDays : this.memoryHours;
      if (Number.isSafeInteger(kept) && kept > 0 && kept !== mine) {
        this.log.warn(`The indexer keeps ${field} ${kept}, not ${name} ${mine}: going by it`);
        if (field === "retentionDays") this.retentionDays = kept;
        else this.memoryHours = kept;
      }
    }
    this.store = new BackfillStore(redis, {
      retentionDays: this.retentionDays,
      memoryHours: this.memoryHours,
    });
    this.liveStart = await this.progress.liveStart(clock.now(), this.o.BACKFILL_LIVE_START);
    this.summary.liveStart = this.liveStart;
    await this.progress.begin(clock.now());
    let state = await this.progress.read();
    const failures = await this.progress.failures();
    this.o.metrics?.failed.set(undefined, failures.size);
    if (state.state === "done" && failures.size === 0) {
      this.log.info("Backfill of this host is done already", { host: this.host });
      this.summary.state = "done";
      return this.#finish();
    }
    await holdBackfill(redis, this.token, HOLD_SECONDS, true);
    this.renewer = setInterval(() => this.#renew(), RENEW_MS);
    this.logger = setInterval(
      () => this.#progressReport.report(),
      this.o.BACKFILL_LOG_SECONDS * 1000,
    );
    this.log.info("Backfill started", {
      host: this.host,
      liveStart: new Date(this.liveStart).toISOString(),
      state: state.state,
      cursor: state.cursor,
      done: state.done,
      failed: failures.size,
    });
    if (state.state === "listing") await workThroughListing(this, state.cursor);
    state = await this.progress.read();
    if (state.state !== "listing" && !this.stopping()) await this.#retryFailures();
    const left = await this.progress.failures();
    this.summary.failed = left.size;
    this.o.metrics?.failed.set(undefined, left.size);
    state = await this.progress.read();
    if (state.state === "listed" && left.size === 0) {
      await this.progress.complete(clock.now());
      state = await this.progress.read();
    }
    this.summary.state = state.state;
    return this.#finish();
  }

  #finish(): BackfillSummary {
    this.summary.ms = this.o.clock.now() - this.started;
    this.#progressReport.report();
    return this.summary;
  }

  async close(): Promise<void> {
    clearInterval(this.renewer);
    clearInterval(this.logger);
    await releaseBackfill(this.o.redis, this.token).catch(() => {});
  }

  /** Renews the hold; one that lapsed starts a new token (what was read under it is read again). */
  async #renew(): Promise<void> {
    try {
      if (await holdBackfill(this.o.redis, this.token, HOLD_SECONDS)) return;
      this.log.warn("The backfill's hold lapsed: repositories read before are read again");
      this.token = crypto.randomUUID();
      await holdBackfill(this.o.redis, this.token, HOLD_SECONDS, true);
    } catch (err) {
      this.log.warn("Cannot renew the backfill's hold", { err: errorMessage(err) });
    }
  }

  /** Tries the recorded failures whose time has come (waiting a little for the next ones). */
  async #retryFailures(): Promise<void> {
    const failures = await this.progress.failures();
    if (failures.size === 0) return;
    const now = this.o.clock.now();
    const due = [...failures].filter(([, f]) => f.nextAt <= now + MAX_FINAL_WAIT_MS)
      .sort((a, b) => a[1].nextAt - b[1].nextAt);
    for (const [did, failure] of due) {
      const wait = failure.nextAt - this.o.clock.now();
      if (wait > 0) {
        try {
          await sleep(wait, this.o.signal);
        } catch {
          return;
        }
      }
      if (this.stopping()) return;
      this.summary.retried++;
      const repo: ListedRepo = {
        did,
        active: failure.active,
        ...(failure.status ? { status: failure.status } : {}),
      };
      const outcome = await backfillRepo(this, repo, failure);
      if (outcome === "stopped") return;
      if (outcome !== "failed") {
        await this.progress.recovered(did);
        this.summary.recovered++;
      }
    }
  }
}
