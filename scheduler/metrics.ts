/** The scheduler's metrics: its own runs, and every job's last run as recorded in Redis. */
import { JOB_NAMES, jobKeys } from "@bsky/shared/keys";
import { Registry } from "@bsky/shared/metrics";
import type { Redis } from "@bsky/shared/redis";

export function schedulerMetrics(redis: Redis, registry = new Registry()) {
  // The last run of each job is read from Redis at scrape time, so every scheduler process
  // shows the same, whichever of them ran the job.
  const lastRun = async (field: string, g: { set(l: { job: string }, v: number): void }) => {
    const pipe = redis.pipeline();
    for (const job of JOB_NAMES) pipe.hmget(jobKeys.status(job), field, "outcome");
    const rows = (await pipe.exec())!;
    JOB_NAMES.forEach((job, k) => {
      const [value, outcome] = (rows[k][1] ?? []) as (string | null)[];
      if (field === "outcome") g.set({ job }, outcome === "ok" ? 1 : outcome ? 0 : -1);
      else if (value !== null) g.set({ job }, Number(value) / 1000);
    });
  };
  return {
    registry,
    runs: registry.counter(
      "scheduler_job_runs_total",
      "Runs of each job by this process, by outcome (skipped: another process ran it)",
      ["job", "outcome"],
    ),
    lastStart: registry.gauge(
      "scheduler_job_last_run_timestamp_seconds",
      "When the job's last run started, whichever process ran it",
      ["job"],
      (g) => lastRun("startedAt", g),
    ),
    lastDuration: registry.gauge(
      "scheduler_job_last_duration_seconds",
      "How long the job's last run took",
      ["job"],
      (g) => lastRun("durationMs", g),
    ),
    lastSuccess: registry.gauge(
      "scheduler_job_last_success_timestamp_seconds",
      "When the job last ended well",
      ["job"],
      (g) => lastRun("lastSuccessAt", g),
    ),
    lastOk: registry.gauge(
      "scheduler_job_last_ok",
      "1 when the job's last run ended well, 0 when it failed, -1 when it never ran",
      ["job"],
      (g) => lastRun("outcome", g),
    ),
  };
}

export type SchedulerMetrics = ReturnType<typeof schedulerMetrics>;
