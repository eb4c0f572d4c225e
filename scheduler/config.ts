/** The scheduler's configuration (documented in .env.example). */
import { commonEnv, env, type EnvSource, loadConfig } from "@bsky/shared/config";
import { backfillTuningEnv } from "@bsky/backfill/config";
import { z } from "zod";

/** Five cron fields (minute hour day-of-month month day-of-week), as Deno.cron takes them. */
function cron(fallback: string) {
  return env.string(fallback).transform((value, ctx) => {
    if (/^\s*(\S+\s+){4}\S+\s*$/.test(value)) return value.trim();
    ctx.addIssue({
      code: "custom",
      message: `"${value}" is not a cron schedule of five fields, such as */5 * * * *`,
    });
    return z.NEVER;
  });
}

export const schedulerEnv = {
  ...commonEnv,
  /** How the backfill job reads its source and writes (as `deno task backfill`). */
  ...backfillTuningEnv,
  /** Must match the indexer's: logs older than this are past their retention. */
  INDEXER_RETENTION_DAYS: env.int(30, { min: 1, max: 365 }),
  SCHEDULER_METRICS_PORT: env.int(8003, { min: 0, max: 65535 }),
  SCHEDULER_TOP_CRON: cron("*/5 * * * *"),
  SCHEDULER_COUNTERS_CRON: cron("* * * * *"),
  SCHEDULER_ROLLUP_CRON: cron("20 * * * *"),
  SCHEDULER_SWEEP_CRON: cron("40 3 * * *"),
  SCHEDULER_PROFILES_CRON: cron("*/10 * * * *"),
  /** Accounts in each top list. */
  SCHEDULER_TOP_SIZE: env.int(100, { min: 1, max: 1000 }),
  /** Requests to the identity network that one profile upkeep run may make. */
  SCHEDULER_PROFILE_REQUESTS: env.int(300, { min: 0, max: 100_000 }),
  /** A profile checked more recently than this is not checked again. */
  SCHEDULER_PROFILE_MAX_AGE_HOURS: env.int(24, { min: 1, max: 24 * 30 }),
  SCHEDULER_PLC_URL: env.url("https://plc.directory", ["http", "https"]),
  SCHEDULER_HANDLE_RESOLVER_URL: env.url("https://public.api.bsky.app", ["http", "https"]),
  /**
   * The roll-up runs only while this scheduler's clock is within this many seconds of
   * Redis's (a roll-up ahead of the API's clock would round days the API counts by hour).
   */
  SCHEDULER_MAX_CLOCK_SKEW_SECONDS: env.int(600, { min: 1, max: 3000 }),
  /**
   * true: profile upkeep also fetches from PDS hosts on loopback and private networks and on
   * any port (development and tests with a local PDS only).
   */
  SCHEDULER_ALLOW_PRIVATE_NETWORK: env.bool(false),
  /** true: the sweep also fixes what it finds (sets missing TTLs, deletes expired logs). */
  SCHEDULER_SWEEP_FIX: env.bool(true),
  /** The relay or PDS whose repositories the backfill job loads; the job is off when unset. */
  SCHEDULER_BACKFILL_SOURCE_URL: env.url("", ["http", "https"]),
  SCHEDULER_BACKFILL_CRON: cron("*/10 * * * *"),
  /** How long one run of the backfill job starts repositories; the next tick goes on. */
  SCHEDULER_BACKFILL_MINUTES: env.int(9, { min: 1, max: 24 * 60 }),
};

export type SchedulerConfig = ReturnType<typeof loadSchedulerConfig>;

export function loadSchedulerConfig(source?: EnvSource) {
  return loadConfig(schedulerEnv, source);
}
