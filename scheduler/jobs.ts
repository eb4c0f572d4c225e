/** The scheduler's jobs: what each runs, on which schedule, and how long its lock lasts. */
import type { JobName } from "@bsky/shared/keys";
import type { Redis } from "@bsky/shared/redis";
import type { SchedulerConfig } from "./config.ts";
import { rollUpCounters } from "./jobs/counters.ts";
import { refreshProfiles } from "./jobs/profiles.ts";
import { rollUpStore } from "./jobs/rollup.ts";
import { sweep } from "./jobs/sweep.ts";
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
}

export function jobsOf(config: SchedulerConfig, options: JobOptions = {}): Job[] {
  return [
    {
      name: "top",
      description: "Global top lists over 24 h and 7 d",
      schedule: config.SCHEDULER_TOP_CRON,
      lockMs: 120_000,
      run: (redis, now) => computeTopLists(redis, { size: config.SCHEDULER_TOP_SIZE, now }),
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
  ];
}
