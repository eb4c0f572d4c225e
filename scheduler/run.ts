/**
 * `deno task scheduler:run <job>`: runs one job now, under the same lock as the service
 * (it waits for nobody: a job another process is running is reported as skipped), and
 * records the run like a scheduled one. Exits 1 when the job failed.
 */
import "@bsky/shared/scoped_env";
import { systemClock } from "@bsky/shared/clock";
import { JOB_NAMES, type JobName } from "@bsky/shared/keys";
import { createLogger } from "@bsky/shared/log";
import { connectRedis } from "@bsky/shared/redis";
import { loadSchedulerConfig } from "./config.ts";
import { jobsOf } from "./jobs.ts";
import { JobRunner } from "./runner.ts";

const name = Deno.args[0];
if (!JOB_NAMES.includes(name as JobName)) {
  console.error(`Usage: deno task scheduler:run <${JOB_NAMES.join("|")}>`);
  Deno.exit(2);
}
const config = loadSchedulerConfig();
const log = createLogger("scheduler", { level: config.LOG_LEVEL });
const redis = await connectRedis(config, { name: "scheduler-run", log });
const job = jobsOf(config).find((j) => j.name === name);
if (!job) {
  console.error(`The ${name} job is off: set SCHEDULER_BACKFILL_SOURCE_URL`);
  Deno.exit(2);
}
const result = await new JobRunner(redis, log).run(
  job.name,
  { lockMs: job.lockMs },
  () => job.run(redis, systemClock.now()),
);
console.log(JSON.stringify({ job: job.name, ...result }));
redis.disconnect();
Deno.exit(result.outcome === "failed" ? 1 : 0);
