/**
 * Runs a job at most once at a time across every scheduler process: a Redis lock with a
 * TTL (SET NX PX and a token, kept alive while the job runs, released by compare-and-
 * delete), a check that no process already ran this cron tick, and a record of the run
 * (start, duration, outcome, error, details) in Redis for /metrics and the API.
 */
import { type Clock, systemClock } from "@bsky/shared/clock";
import { errorMessage } from "@bsky/shared/errors";
import { jobKeys, type JobName, type JobStatus } from "@bsky/shared/keys";
import type { Logger } from "@bsky/shared/log";
import type { Redis } from "@bsky/shared/redis";
import { TokenLock } from "@bsky/shared/token_lock";
import type { SchedulerMetrics } from "./metrics.ts";

export type JobDetails = Record<string, unknown>;

export interface RunOptions {
  /** The cron tick (its minute since the epoch): a tick already run is not run again. */
  tick?: number;
  lockMs: number;
}

export type RunResult =
  | { outcome: "ok"; details: JobDetails; durationMs: number }
  | { outcome: "failed"; error: string; durationMs: number }
  | { outcome: "skipped"; why: "locked" | "done" };

export class JobRunner {
  constructor(
    readonly redis: Redis,
    readonly log: Logger,
    readonly metrics?: SchedulerMetrics,
    readonly clock: Clock = systemClock,
  ) {}

  async run(
    job: JobName,
    options: RunOptions,
    work: () => Promise<JobDetails>,
  ): Promise<RunResult> {
    const lock = new TokenLock(this.redis, jobKeys.lock(job)), statusKey = jobKeys.status(job);
    if (!await lock.acquire(options.lockMs)) return this.#skipped(job, "locked");
    const keepAlive = setInterval(() => {
      lock.renew(options.lockMs).catch(() => {});
    }, Math.max(1000, options.lockMs / 3));
    try {
      if (options.tick !== undefined) {
        const done = Number(await this.redis.hget(statusKey, "tick") ?? -1);
        if (done >= options.tick) return this.#skipped(job, "done");
      }
      // When it ran by the service's clock; how long it took by the process's timer.
      const startedAt = this.clock.now(), started = performance.now();
      const took = () => Math.round(performance.now() - started);
      let result: RunResult;
      try {
        const details = await work();
        result = { outcome: "ok", details, durationMs: took() };
      } catch (err) {
        result = { outcome: "failed", error: errorMessage(err), durationMs: took() };
      }
      const endedAt = startedAt + result.durationMs;
      const status: Record<string, string | number> = {
        job,
        startedAt,
        endedAt,
        durationMs: result.durationMs,
        outcome: result.outcome,
        error: result.outcome === "failed" ? result.error : "",
        details: result.outcome === "ok" ? JSON.stringify(result.details) : "{}",
      };
      if (result.outcome === "ok") status.lastSuccessAt = endedAt;
      if (options.tick !== undefined) status.tick = options.tick;
      await this.redis.hset(statusKey, status);
      this.metrics?.runs.inc({ job, outcome: result.outcome });
      if (result.outcome === "ok") {
        this.log.info("Job done", { job, ms: result.durationMs, ...result.details });
      } else {
        this.log.error("Job failed", { job, ms: result.durationMs, err: result.error });
      }
      return result;
    } finally {
      clearInterval(keepAlive);
      await lock.release().catch(() => {});
    }
  }

  #skipped(job: JobName, why: "locked" | "done"): RunResult {
    this.metrics?.runs.inc({ job, outcome: "skipped" });
    this.log.debug("Job skipped", { job, why });
    return { outcome: "skipped", why };
  }
}

/** A job's last run as recorded, or undefined when it never ran. */
export async function jobStatus(redis: Redis, job: JobName): Promise<JobStatus | undefined> {
  const h = await redis.hgetall(jobKeys.status(job));
  if (!h.outcome) return undefined;
  return {
    job,
    startedAt: Number(h.startedAt),
    endedAt: Number(h.endedAt),
    durationMs: Number(h.durationMs),
    outcome: h.outcome as JobStatus["outcome"],
    error: h.error ?? "",
    lastSuccessAt: Number(h.lastSuccessAt ?? 0),
    details: h.details ?? "{}",
  };
}
