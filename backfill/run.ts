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
import type { AccountEvent, CommitWriteEvent, IdentityEvent } from "@bsky/shared/events";
import { EVENT_VERSION } from "@bsky/shared/events";
import type { Logger } from "@bsky/shared/log";
import type { Redis } from "@bsky/shared/redis";
import {
  BackfillStore,
  holdBackfill,
  releaseBackfill,
  StaleProgressError,
} from "@bsky/store/backfill";
import { backfillHostName, DAY_MS, storeKeys } from "@bsky/store/layout";
import type { backfillTuningEnv } from "./config.ts";
import type { BackfillMetrics } from "./metrics.ts";
import { type Failure, Progress } from "./progress.ts";
import { recordEvent } from "./records.ts";
import { readRepo, RepoError } from "./repo.ts";
import { type ListedRepo, RepoGoneError, sleep, Source, SourceError } from "./source.ts";
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

type RepoOutcome = "loaded" | "gone" | "inactive" | "skipped" | "failed";
/** A repository left where its mark says when the run was stopped: its page stays open. */
type Outcome = RepoOutcome | "stopped";

/** How long the run's hold lasts without a renewal, and how often it is renewed. */
const HOLD_SECONDS = 120;
const RENEW_MS = 20_000;
/** A repository read longer ago than this is read again rather than loaded (tombstones last 2 h). */
const MAX_READ_AGE_MS = 30 * 60_000;
/** Pages listed ahead of the one in progress. */
const PAGES_AHEAD = 2;
/** The longest a run waits for a failure's next try at its end. */
const MAX_FINAL_WAIT_MS = 10 * 60_000;

interface Page {
  next: string | undefined;
  dids: string[];
  left: number;
  failed: Set<string>;
}

export async function runBackfill(o: BackfillOptions): Promise<BackfillSummary> {
  const run = new Run(o);
  try {
    return await run.run();
  } finally {
    await run.close();
  }
}

class Run {
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
  history: [number, number, number][] = [];
  logger?: ReturnType<typeof setInterval>;

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

  #stopping(): boolean {
    return !!this.o.signal?.aborted ||
      (this.o.deadline !== undefined && this.o.clock.now() >= this.o.deadline);
  }

  #count(outcome: string, by = 1): void {
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
    this.logger = setInterval(() => this.#report(), this.o.BACKFILL_LOG_SECONDS * 1000);
    this.log.info("Backfill started", {
      host: this.host,
      liveStart: new Date(this.liveStart).toISOString(),
      state: state.state,
      cursor: state.cursor,
      done: state.done,
      failed: failures.size,
    });
    if (state.state === "listing") await this.#list(state.cursor);
    state = await this.progress.read();
    if (state.state !== "listing" && !this.#stopping()) await this.#retryFailures();
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
    this.#report();
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

  /** A progress line and the rate gauges: the last minute's rates and the time left. */
  #report(): void {
    const now = this.o.clock.now();
    const repos = this.summary.repos;
    const finished = repos.loaded + repos.gone + repos.inactive;
    // Over the last minute; since the run started when it is younger.
    this.history.push([now, finished, this.recordsRead]);
    while (this.history.length > 2 && now - this.history[1][0] >= 60_000) this.history.shift();
    const [t0, r0, c0] = this.history.length > 1 && now - this.history[0][0] >= 60_000
      ? this.history[0]
      : [this.started, 0, 0];
    const seconds = (now - t0) / 1000;
    const reposRate = seconds > 0 ? (finished - r0) / seconds : 0;
    const recordsRate = seconds > 0 ? (this.recordsRead - c0) / seconds : 0;
    const m = this.o.metrics;
    m?.reposRate.set(undefined, reposRate);
    m?.recordsRate.set(undefined, recordsRate);
    m?.inFlight.set(undefined, this.inFlight);
    this.progress.read().then((p) => {
      const expected = Math.max(this.o.BACKFILL_EXPECTED_REPOS, p.listed);
      const eta = reposRate > 0 ? Math.max(0, expected - p.done) / reposRate : -1;
      m?.done.set(undefined, p.done);
      m?.listed.set(undefined, p.listed);
      m?.eta.set(undefined, eta);
      this.log.info("Backfill progress", {
        host: this.host,
        done: p.done,
        listed: p.listed,
        reposPerSecond: Math.round(reposRate * 100) / 100,
        recordsPerSecond: Math.round(recordsRate),
        etaSeconds: Math.round(eta),
        inFlight: this.inFlight,
        ...repos,
      });
    }).catch(() => {});
  }

  /** Lists the pages from `cursor` on and works through their repositories. */
  async #list(cursor: string | undefined): Promise<void> {
    const pages: Page[] = [];
    const queue: { repo: ListedRepo; page: Page }[] = [];
    let listing = true;
    let next = cursor;
    const concurrency = this.o.BACKFILL_CONCURRENCY;
    const active = new Set<Promise<void>>();
    // Pages finish in order: the cursor moves past each finished one, with its marks, and
    // these writes go one after another in that order.
    let writes = Promise.resolve();
    const settle = () => {
      let moved = false, to: string | undefined, dids: string[] = [];
      while (pages.length > 0 && pages[0].left === 0) {
        const page = pages.shift()!;
        dids = dids.concat(page.dids.filter((d) => !page.failed.has(d)));
        to = page.next;
        moved = true;
      }
      if (moved) writes = writes.then(() => this.progress.pagesDone(to, dids));
      return writes;
    };
    let error: unknown;
    while (!this.#stopping() && error === undefined) {
      if (listing && queue.length < concurrency * 2 && pages.length <= PAGES_AHEAD) {
        const page = await this.#page(next);
        if (page === "stop") break;
        const entry: Page = {
          next: page.cursor,
          dids: page.repos.map((r) => r.did),
          left: page.repos.length,
          failed: new Set(),
        };
        await this.progress.listed(page.repos.length);
        if (page.repos.length === 0 || page.cursor === undefined || page.cursor === next) {
          listing = false;
          entry.next = undefined;
        }
        next = page.cursor;
        pages.push(entry);
        for (const repo of page.repos) queue.push({ repo, page: entry });
        if (entry.left === 0) await settle();
        continue;
      }
      if (queue.length === 0 && active.size === 0) break;
      if (queue.length > 0 && active.size < concurrency) {
        const { repo, page } = queue.shift()!;
        const p = (async () => {
          const outcome = await this.#repo(repo);
          if (outcome === "stopped") return;
          if (outcome === "failed") page.failed.add(repo.did);
          page.left--;
          await settle();
        })().catch((err) => {
          error ??= err;
        }).finally(() => active.delete(p));
        active.add(p);
        continue;
      }
      await Promise.race(active);
    }
    await Promise.allSettled(active);
    await writes;
    if (error !== undefined) throw error;
  }

  /** A page of the listing, tried like a repository: "stop" once the run is to stop. */
  async #page(cursor: string | undefined) {
    for (let attempt = 1;; attempt++) {
      try {
        return await this.source.listRepos(cursor, this.o.BACKFILL_PAGE_SIZE, this.o.signal);
      } catch (err) {
        if (this.o.signal?.aborted) return "stop" as const;
        const reason = err instanceof SourceError ? err.reason : "error";
        this.o.metrics?.failures.inc({ reason: `list_${reason}` });
        const wait = this.#backoff(attempt, err);
        this.log.warn("Cannot list repositories: trying again", {
          err: errorMessage(err),
          attempt,
          waitMs: wait,
        });
        try {
          await sleep(wait, this.o.signal);
        } catch {
          return "stop" as const;
        }
        if (this.#stopping()) return "stop" as const;
      }
    }
  }

  #backoff(attempt: number, err: unknown): number {
    const after = err instanceof SourceError ? err.retryAfterMs : undefined;
    return after ?? Math.min(this.o.BACKFILL_RETRY_MS * 2 ** (attempt - 1), 3_600_000);
  }

  /** Reads and loads one repository, trying it again on failure; records it when it fails. */
  async #repo(repo: ListedRepo, previous?: Failure): Promise<Outcome> {
    this.inFlight++;
    try {
      const outcome = await this.#attempts(repo, previous);
      if (outcome === "stopped") return outcome;
      this.summary.repos[outcome]++;
      this.o.metrics?.repos.inc({ outcome });
      if (outcome !== "skipped" && outcome !== "failed") await this.progress.finished();
      return outcome;
    } finally {
      this.inFlight--;
    }
  }

  async #attempts(repo: ListedRepo, previous?: Failure): Promise<Outcome> {
    const { did } = repo;
    let lastError: unknown;
    const attempts = this.o.BACKFILL_MAX_ATTEMPTS;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const mark = await this.progress.mark(did);
      if (mark === "done") return "skipped";
      if (attempt > 1) {
        try {
          await sleep(this.#backoff(attempt - 1, lastError), this.o.signal);
        } catch {
          break;
        }
      }
      if (this.o.signal?.aborted) break;
      try {
        if (!repo.active) {
          await this.#inactive(repo, mark);
          return "inactive";
        }
        await this.#load(repo, mark);
        return "loaded";
      } catch (err) {
        if (err instanceof RepoGoneError) {
          // Gone since it was listed (deleted, deactivated…): the live stream says so.
          await this.#finishEmpty(did, await this.progress.mark(did));
          return "gone";
        }
        if (this.o.signal?.aborted) break;
        lastError = err;
        // A stale mark or hold, or ids the store reclaimed meanwhile: read again and retry.
        const reason = err instanceof StaleProgressError
          ? "stale"
          : err instanceof SourceError || err instanceof RepoError
          ? err.reason
          : (err as Error)?.name === "IdsChangedError"
          ? "ids_changed"
          : "error";
        this.o.metrics?.failures.inc({ reason });
        this.log.debug("A repository failed: trying again", { did, attempt, reason });
      }
    }
    if (this.o.signal?.aborted) return "stopped";
    const now = this.o.clock.now();
    const total = (previous?.attempts ?? 0) + attempts;
    const failure: Failure = {
      attempts: total,
      error: errorMessage(lastError).slice(0, 300),
      at: now,
      nextAt: now + Math.min(this.o.BACKFILL_RETRY_MS * 2 ** attempts, 6 * 3_600_000) *
          (previous ? 2 : 1),
      active: repo.active,
      ...(repo.status ? { status: repo.status } : {}),
    };
    await this.progress.fail(did, failure);
    this.log.warn("A repository failed: recorded for a later try", {
      did,
      attempts: total,
      err: failure.error,
      nextAt: new Date(failure.nextAt).toISOString(),
    });
    return "failed";
  }

  /** An account the source lists as inactive: its status only (any live one wins). */
  async #inactive(repo: ListedRepo, mark: string): Promise<void> {
    const event: AccountEvent = {
      v: EVENT_VERSION,
      kind: "account",
      seq: 0,
      time: this.o.clock.now(),
      did: repo.did,
      active: false,
      ...(repo.status ? { status: repo.status } : {}),
    };
    await this.store.writeAccount([event]);
    await this.#finishEmpty(repo.did, mark);
  }

  /** Moves the mark to "done" with nothing loaded. */
  async #finishEmpty(did: string, mark: string): Promise<void> {
    if (mark === "done") return;
    const now = this.o.clock.now();
    await this.store.load({
      did,
      host: this.host,
      from: mark,
      to: "done",
      token: this.token,
      now,
      readAt: now,
      records: [],
    });
  }

  async #load(repo: ListedRepo, mark: string): Promise<void> {
    const { did } = repo;
    const { clock, signal } = this.o;
    const token = this.token;
    const readAt = clock.now();
    const car = await this.source.getRepo(did, signal);
    let handle: string | undefined;
    if (this.handles) {
      try {
        handle = await this.source.describeRepo(did, signal);
      } catch (err) {
        if (err instanceof SourceError && err.reason === "unsupported") {
          this.handles = false;
          this.log.info("The source does not serve describeRepo: no handles from it");
        }
      }
    }
    const read = readRepo(car, did);
    this.recordsRead += read.records.length;
    this.summary.recordsRead += read.records.length;
    this.#count("dropped", read.missing);
    const now = clock.now();
    if (now - readAt > MAX_READ_AGE_MS) {
      throw new SourceError("slow", "The repository was read too long ago: reading it again");
    }
    const windowStart = now - this.retentionDays * DAY_MS;
    const records: { event: CommitWriteEvent; recent: boolean }[] = [];
    const account: (AccountEvent | IdentityEvent | CommitWriteEvent)[] = [{
      v: EVENT_VERSION,
      kind: "account",
      seq: 0,
      time: now,
      did,
      active: true,
    }];
    if (handle) {
      account.push({ v: EVENT_VERSION, kind: "identity", seq: 0, time: now, did, handle });
    }
    const paths: string[] = [];
    for (const r of read.records) {
      const result = recordEvent(did, r.collection, r.rkey, r.block, now);
      if ("drop" in result) {
        this.#count("dropped");
        continue;
      }
      const { event, time } = result;
      if (r.collection === "app.bsky.actor.profile") {
        account.push(event);
        continue;
      }
      if (r.path <= mark) continue;
      const graph = r.collection === "app.bsky.graph.follow" ||
        r.collection === "app.bsky.graph.block";
      if (time === undefined && !graph) {
        this.#count("no_time");
        continue;
      }
      if ((time ?? 0) >= this.liveStart) {
        this.#count("after_live_start");
        continue;
      }
      const recent = time !== undefined && time >= windowStart;
      if (!recent && !graph) {
        this.#count("before_window");
        continue;
      }
      records.push({ event, recent });
      paths.push(r.path);
    }
    await this.store.writeAccount(account);
    const size = this.o.BACKFILL_BATCH_RECORDS;
    let from = mark;
    for (let i = 0; i < records.length || i === 0; i += size) {
      const part = records.slice(i, i + size);
      const to = i + size >= records.length ? "done" : paths[i + size - 1];
      const out = await this.store.load({
        did,
        host: this.host,
        from,
        to,
        token,
        now: clock.now(),
        readAt,
        records: part,
      });
      this.#count("counted", out.counted);
      this.#count("seen_live", out.seenLive);
      this.#count("hidden", out.hidden);
      this.#count("idle", out.idle);
      from = to;
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
      if (this.#stopping()) return;
      this.summary.retried++;
      const repo: ListedRepo = {
        did,
        active: failure.active,
        ...(failure.status ? { status: failure.status } : {}),
      };
      const outcome = await this.#repo(repo, failure);
      if (outcome === "stopped") return;
      if (outcome !== "failed") {
        await this.progress.recovered(did);
        this.summary.recovered++;
      }
    }
  }
}
