/**
 * What one backfill run shares between its parts: its options, its source, progress and
 * store, its counts and summary, and whether it is to stop. The listing (pages.ts), the
 * repositories (attempts.ts, load.ts), the report (report.ts) and the run itself (run.ts)
 * all work on it.
 * @module
 */
import type { Clock } from "@bsky/shared/clock";
import type { Logger } from "@bsky/shared/log";
import type { Redis } from "@bsky/shared/redis";
import type { BackfillStore } from "@bsky/store/backfill";
import { backfillHostName } from "@bsky/store/layout";
import type { backfillTuningEnv } from "./config.ts";
import type { BackfillMetrics } from "./metrics.ts";
import { Progress } from "./progress.ts";
import { Source } from "./source.ts";
import type { z } from "zod";

export type RepoOutcome = "loaded" | "gone" | "inactive" | "skipped" | "failed";

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

/** One run's state, shared by the listing (pages.ts), the repositories (attempts.ts, load.ts) and the report. */
export class RunState {
  readonly host: string;
  readonly source: Source;
  readonly progress: Progress;
  store!: BackfillStore;
  retentionDays: number;
  memoryHours: number;
  liveStart = 0;
  token = crypto.randomUUID();
  handles: boolean;
  readonly started: number;
  readonly summary: BackfillSummary;
  inFlight = 0;
  recordsRead = 0;

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
}
