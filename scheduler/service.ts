/** Wires the scheduler together: Redis, the jobs on their Deno.cron schedules, /metrics. */
import { type Clock, systemClock } from "@bsky/shared/clock";
import { createLogger, type Logger } from "@bsky/shared/log";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { serveOps } from "@bsky/shared/service";
import type { SchedulerConfig } from "./config.ts";
import { type Job, type JobOptions, jobsOf } from "./jobs.ts";
import { schedulerMetrics } from "./metrics.ts";
import { JobRunner, type RunResult } from "./runner.ts";

export interface SchedulerService {
  redis: Redis;
  runner: JobRunner;
  jobs: Job[];
  port: number;
  /** Runs a job as its cron tick at `now` would (tests use this to play a tick). */
  tick(job: Job, now?: number): Promise<RunResult>;
  stop(): Promise<void>;
}

export interface StartOptions extends JobOptions {
  /** Where "now" comes from: the system clock unless a test sets one. */
  clock?: Clock;
  /** Register the jobs with Deno.cron (off in tests, which play ticks themselves). */
  cron?: boolean;
}

export async function startScheduler(
  config: SchedulerConfig,
  log: Logger = createLogger("scheduler", { level: config.LOG_LEVEL }),
  options: StartOptions = {},
): Promise<SchedulerService> {
  const redis = await connectRedis(config, { name: "scheduler", log });
  const metrics = schedulerMetrics(redis);
  const clock = options.clock ?? systemClock;
  const runner = new JobRunner(redis, log, metrics, clock);
  const jobs = jobsOf(config, options);
  const running = new Set<Promise<unknown>>();
  let stopping = false;
  const tick = (job: Job, now = clock.now()) =>
    runner.run(
      job.name,
      { tick: Math.floor(now / 60_000), lockMs: job.lockMs },
      () => job.run(redis, now),
    );
  if (options.cron !== false) {
    for (const job of jobs) {
      Deno.cron(`bsky-${job.name}`, job.schedule, async () => {
        if (stopping) return;
        const p = tick(job).catch((err) => log.error("Job could not run", { job: job.name, err }));
        running.add(p);
        await p;
        running.delete(p);
      });
    }
  }
  const server = serveOps(config.SCHEDULER_METRICS_PORT, metrics.registry, () => ({
    ok: redis.status === "ready",
    redis: redis.status,
  }), config.BIND_HOST);
  log.info("Scheduler started", {
    jobs: Object.fromEntries(jobs.map((j) => [j.name, j.schedule])),
  });
  return {
    redis,
    runner,
    jobs,
    port: server.addr.port,
    tick,
    async stop() {
      stopping = true;
      await Promise.allSettled(running);
      await server.shutdown();
      redis.disconnect();
    },
  };
}
