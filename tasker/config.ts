/** The tasker's configuration (documented in .env.example). */
import { commonEnv, env, type EnvSource, loadConfig } from "@bsky/shared/config";

/** Where a test may hold the tasker so that it can be killed there (TASKER_TEST_CRASH_AT). */
export const CRASH_POINTS = ["after_upload", "after_post"] as const;
export type CrashPoint = typeof CRASH_POINTS[number];

export const taskerEnv = {
  ...commonEnv,
  FIREHOSE_PARTITIONS: env.int(1, { min: 1, max: 256 }),
  /** The bot's PDS (or the entryway that hosts it): every XRPC call goes there. */
  TASKER_SERVICE_URL: env.url("https://bsky.social", ["http", "https"]),
  /** The bot's handle or DID. Unset: `deno task start` leaves the tasker out. */
  TASKER_IDENTIFIER: env.string(),
  /** An app password of the bot's account (Settings → Privacy and security → App passwords). */
  TASKER_APP_PASSWORD: env.string(),
  /** After a reply, the same account gets one "try again later", then silence, for this long. */
  TASKER_COOLDOWN_SECONDS: env.int(600, { min: 0, max: 7 * 86400 }),
  /** Mentions older than this (by their commit time or their createdAt) get no reply. */
  TASKER_MAX_AGE_SECONDS: env.int(300, { min: 5, max: 86400 }),
  /** Posts an hour, all accounts together; the PDS allows about 1,666 record creations. */
  TASKER_REPLIES_PER_HOUR: env.int(300, { min: 1, max: 1200 }),
  /** Mentions answered at the same time. */
  TASKER_CONCURRENCY: env.int(8, { min: 1, max: 32 }),
  TASKER_GROUP: env.string("tasker"),
  TASKER_LEASE_MS: env.int(10_000, { min: 1000 }),
  TASKER_METRICS_PORT: env.int(8004, { min: 0, max: 65535 }),
  /** The API the images and lists come from, as the site reads it. */
  FART_URL: env.url("http://127.0.0.1:8000", ["http", "https"]),
  /** The tasker's own API key, sent as Authorization: Bearer; unset: none is sent. */
  TASKER_FART_KEY: env.string(""),
  /** The site's public origin, for the link in each reply. */
  SITE_PUBLIC_URL: env.url("http://127.0.0.1:8080", ["http", "https"]),
  /** Tests only: hold at this point of a reply, so that the process can be killed there. */
  TASKER_TEST_CRASH_AT: env.oneOf(["", ...CRASH_POINTS] as const, ""),
};

export type TaskerConfig = ReturnType<typeof loadTaskerConfig>;

export function loadTaskerConfig(source?: EnvSource) {
  return loadConfig(taskerEnv, source);
}
