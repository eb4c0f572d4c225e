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
  run(redis: Redis): Promise<JobDetails>;
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
      run: (redis) => computeTopLists(redis, { size: config.SCHEDULER_TOP_SIZE }),
    },
    {
      name: "counters",
      description: "Network counters: minutes into hours, hours into days, trimming",
      schedule: config.SCHEDULER_COUNTERS_CRON,
      lockMs: 60_000,
      run: (redis) => rollUpCounters(redis),
    },
    {
      name: "rollup",
      description: "The interaction store's roll-up of closed days",
      schedule: config.SCHEDULER_ROLLUP_CRON,
      lockMs: 600_000,
      run: (redis) => rollUpStore(redis),
    },
    {
      name: "sweep",
      description: "Retention sweep: keys without a TTL, logs past the retention",
      schedule: config.SCHEDULER_SWEEP_CRON,
      lockMs: 600_000,
      run: (redis) =>
        sweep(redis, {
          retentionDays: config.INDEXER_RETENTION_DAYS,
          fix: config.SCHEDULER_SWEEP_FIX,
        }),
    },
    {
      name: "profiles",
      description: "Profile upkeep of top-list and looked-up accounts",
      schedule: config.SCHEDULER_PROFILES_CRON,
      lockMs: 300_000,
      run: (redis) =>
        refreshProfiles(redis, {
          plcUrl: config.SCHEDULER_PLC_URL,
          handleResolverUrl: config.SCHEDULER_HANDLE_RESOLVER_URL,
          budget: config.SCHEDULER_PROFILE_REQUESTS,
          maxAgeHours: config.SCHEDULER_PROFILE_MAX_AGE_HOURS,
          fetch: options.fetch,
        }),
    },
  ];
}
