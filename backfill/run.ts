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
import { errorMessage } from "@bsky/shared/errors";
import { BackfillStore, holdBackfill, releaseBackfill } from "@bsky/store/backfill";
import { storeKeys } from "@bsky/store/layout";
import { backfillRepo } from "./attempts.ts";
import { workThroughListing } from "./pages.ts";
import { ProgressReport } from "./report.ts";
import { type ListedRepo, sleep } from "./source.ts";
import { type BackfillOptions, type BackfillSummary, RunState } from "./state.ts";

export type { BackfillOptions, BackfillSummary, RepoOutcome } from "./state.ts";

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

/** The run itself: the hold on the store, the listing, the failures tried again, the summary. */
export class Run extends RunState {
  renewer?: ReturnType<typeof setInterval>;
  logger?: ReturnType<typeof setInterval>;
  readonly #progressReport = new ProgressReport(this);

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
      // On a Redis Cluster, the host's last part may still have its second round to write.
      if (this.store.clustered) {
        await holdBackfill(redis, this.token, HOLD_SECONDS, true);
        await this.store.claimHost(this.host, this.token, (HOLD_SECONDS + 5) * 1000);
        await this.store.finishHost(this.host, this.token);
      }
      this.log.info("Backfill of this host is done already", { host: this.host });
      this.summary.state = "done";
      return this.#finish();
    }
    await holdBackfill(redis, this.token, HOLD_SECONDS, true);
    this.renewer = setInterval(() => this.#renew(), RENEW_MS);
    // On a Redis Cluster, one run of a host loads at a time: a run that stopped without
    // letting go is waited for until its hold lapses; then what it left half written is.
    await this.store.claimHost(this.host, this.token, (HOLD_SECONDS + 5) * 1000);
    await this.store.finishHost(this.host, this.token);
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
    // On a Redis Cluster, a last part stopped between its rounds has no next part to write
    // its second: the run does, when it ends and when the next one starts.
    await this.store?.finishHost(this.host, this.token).catch(() => {});
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
