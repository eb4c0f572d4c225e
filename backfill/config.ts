/** The backfill's configuration (documented in .env.example). */
import { commonEnv, env, type EnvSource, loadConfig } from "@bsky/shared/config";
import { indexerEnv } from "@bsky/indexer/config";
import { z } from "zod";

/** How a backfill run reads its source and writes: shared by `deno task backfill` and the job. */
export const backfillTuningEnv = {
  /** Repositories read at once from the source. */
  BACKFILL_CONCURRENCY: env.int(4, { min: 1, max: 64 }),
  /** Requests per second to the source (listRepos, getRepo, describeRepo together). */
  BACKFILL_RATE_PER_SECOND: env.number(10, { min: 0.01, max: 10_000 }),
  /** Repositories per listRepos page (the lexicon allows 1000). */
  BACKFILL_PAGE_SIZE: env.int(1000, { min: 1, max: 1000 }),
  /** The largest repository read (bytes of CAR); a larger one is a failure of that repository. */
  BACKFILL_MAX_REPO_BYTES: env.int(512 * 1024 * 1024, { min: 1024, max: 4 * 1024 ** 3 }),
  /** How long one request may take, body included. */
  BACKFILL_TIMEOUT_SECONDS: env.int(300, { min: 1, max: 3600 }),
  /** Tries of one repository in a run, with a pause doubling from BACKFILL_RETRY_MS between. */
  BACKFILL_MAX_ATTEMPTS: env.int(4, { min: 1, max: 20 }),
  BACKFILL_RETRY_MS: env.int(2000, { min: 1, max: 3_600_000 }),
  /** Records per write to Redis (one script call, one repository's part). */
  BACKFILL_BATCH_RECORDS: env.int(1000, { min: 1, max: 10_000 }),
  /** Read handles with com.atproto.repo.describeRepo (a PDS serves it; a relay may not). */
  BACKFILL_HANDLES: env.bool(true),
  /**
   * When the platform started reading the live stream (ms since the epoch, or an ISO date):
   * records created from then on are the live stream's. Unset: the first run's start, kept
   * in Redis. Set it when the platform has run longer than the record memory before the
   * backfill's first run.
   */
  BACKFILL_LIVE_START: env.string("").transform((raw, ctx) => {
    if (raw.trim() === "") return undefined;
    const ms = /^\d+$/.test(raw.trim()) ? Number(raw) : Date.parse(raw);
    if (Number.isSafeInteger(ms) && ms > 0) return ms;
    ctx.addIssue({ code: "custom", message: `"${raw}" is not ms since the epoch or an ISO date` });
    return z.NEVER;
  }),
  /** Seconds between progress lines in the log. */
  BACKFILL_LOG_SECONDS: env.int(10, { min: 1, max: 3600 }),
  /** The number of repositories expected (for the ETA); 0: those listed so far. */
  BACKFILL_EXPECTED_REPOS: env.int(0, { min: 0 }),
  /** Must match the indexer's: what is counted, and how long records are remembered. */
  INDEXER_RETENTION_DAYS: indexerEnv.INDEXER_RETENTION_DAYS,
  INDEXER_RECORD_MEMORY_HOURS: indexerEnv.INDEXER_RECORD_MEMORY_HOURS,
};

export const backfillEnv = {
  ...commonEnv,
  /** The relay or PDS whose repositories are loaded (com.atproto.sync.listRepos, getRepo). */
  BACKFILL_SOURCE_URL: env.url(undefined, ["http", "https"]),
  BACKFILL_METRICS_PORT: env.int(8006, { min: 0, max: 65535 }),
  ...backfillTuningEnv,
};

export type BackfillConfig = ReturnType<typeof loadBackfillConfig>;

export function loadBackfillConfig(source?: EnvSource) {
  return loadConfig(backfillEnv, source);
}
