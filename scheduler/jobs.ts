/** The scheduler's jobs: what each runs, on which schedule, and how long its lock lasts. */
import { runBackfill } from "@bsky/backfill/run";
import { type Clock, systemClock } from "@bsky/shared/clock";
import type { JobName } from "@bsky/shared/keys";
import { createLogger, type Logger } from "@bsky/shared/log";
import type { Redis } from "@bsky/shared/redis";
import type { SchedulerConfig } from "./config.ts";
import { rollUpCounters } from "./jobs/counters.ts";
import { refreshProfiles } from "./jobs/profiles.ts";
import { rollUpStore } from "./jobs/rollup.ts";
import { sweep } from "./jobs/sweep.ts";
import { computeLanguageLists } from "./jobs/language_lists.ts";
import { computeTopLists } from "./jobs/top_lists.ts";
import type { JobDetails } from "./runner.ts";

export interface Job {
  name: JobName;
  description: string;
  schedule: string;
  /** Longer than a run can take; the lock is kept alive while the job runs anyway. */
  lockMs: number;
  /** Runs the job as of `now` (the instant of its cron tick). */
  run(redis: Redis, now: number): Promise<JobDetails>;
}

export interface JobOptions {
  fetch?: typeof fetch;
  /** The backfill job's clock (its pacing and its time budget) and logger. */
  clock?: Clock;
  log?: Logger;
}

export function jobsOf(config: SchedulerConfig, options: JobOptions = {}): Job[] {
  return [
    {
      name: "top",
      description:
        "Global top lists over 24 h and 7 d, and top posters per language over 24 h and 72 h",
      schedule: config.SCHEDULER_TOP_CRON,
      lockMs: 120_000,
      run: async (redis, now) => ({
        ...await computeTopLists(redis, { size: config.SCHEDULER_TOP_SIZE, now }),
        ...await computeLanguageLists(redis, { size: config.SCHEDULER_TOP_SIZE, now }),
      }),
    },
    {
      name: "counters",
      description: "Network counters: minutes into hours, hours into days, trimming",
      schedule: config.SCHEDULER_COUNTERS_CRON,
      lockMs: 60_000,
      run: (redis, now) => rollUpCounters(redis, now),
    },
    {
      name: "rollup",
      description: "The interaction store's roll-up of closed days",
      schedule: config.SCHEDULER_ROLLUP_CRON,
      lockMs: 600_000,
      run: (redis, now) =>
        rollUpStore(redis, now, { maxSkewMs: config.SCHEDULER_MAX_CLOCK_SKEW_SECONDS * 1000 }),
    },
    {
      name: "sweep",
      description: "Retention sweep: keys without a TTL, logs past the retention",
      schedule: config.SCHEDULER_SWEEP_CRON,
      lockMs: 600_000,
      run: (redis, now) =>
        sweep(redis, {
          retentionDays: config.INDEXER_RETENTION_DAYS,
          fix: config.SCHEDULER_SWEEP_FIX,
          now,
        }),
    },
    {
      name: "profiles",
      description: "Profile upkeep of top-list and looked-up accounts",
      schedule: config.SCHEDULER_PROFILES_CRON,
      lockMs: 300_000,
      run: (redis, now) =>
        refreshProfiles(redis, {
          now,
          allowPrivate: config.SCHEDULER_ALLOW_PRIVATE_NETWORK,
          plcUrl: config.SCHEDULER_PLC_URL,
          handleResolverUrl: config.SCHEDULER_HANDLE_RESOLVER_URL,
          budget: config.SCHEDULER_PROFILE_REQUESTS,
          maxAgeHours: config.SCHEDULER_PROFILE_MAX_AGE_HOURS,
          fetch: options.fetch,
        }),
    },
    ...(config.SCHEDULER_BACKFILL_SOURCE_URL ? [backfillJob(config, options)] : []),
  ];
}

/**
 * The backfill (backfill/) as a job: each tick goes on where the last stopped, starting
 * repositories for SCHEDULER_BACKFILL_MINUTES; once the host is done a tick only tries the
 * recorded failures whose time has come.
 */
function backfillJob(config: SchedulerConfig, options: JobOptions): Job {
  const clock = options.clock ?? systemClock;
  const log = options.log ??
    createLogger("scheduler", { level: config.LOG_LEVEL }).child({ job: "backfill" });
  return {
    name: "backfill",
    description: "Backfill of the repositories of SCHEDULER_BACKFILL_SOURCE_URL, a part each tick",
    schedule: config.SCHEDULER_BACKFILL_CRON,
    lockMs: 120_000,
    run: async (redis, now) => {
      const summary = await runBackfill({
        ...config,
        BACKFILL_SOURCE_URL: config.SCHEDULER_BACKFILL_SOURCE_URL,
        redis,
        log,
        clock,
        fetch: options.fetch,
        deadline: now + config.SCHEDULER_BACKFILL_MINUTES * 60_000,
      });
      return { ...summary };
    },
  };
}
