/** The tasker's metrics. */
import { Registry } from "@bsky/shared/metrics";

/** Outcomes that are a post of the bot; every other outcome is a mention left unanswered. */
export const POSTED = ["circles", "no_data", "top", "help", "cooldown"] as const;

export function taskerMetrics(registry = new Registry()) {
  return {
    registry,
    mentions: registry.counter(
      "tasker_mentions_total",
      "Posts of other accounts that mention the bot, as read from the streams",
    ),
    replies: registry.counter(
      "tasker_replies_total",
      "Mentions handled, by outcome: a reply posted (circles, no_data, top, help, cooldown) " +
        "or why none was (silent, rate_limited, too_old, opted_out, no_command, malformed, " +
        "failed, gave_up, rkey_taken)",
      ["outcome"],
    ),
    latency: registry.histogram(
      "tasker_reply_seconds",
      "From the mention's commit to the reply's creation",
      [0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60, 300],
    ),
    retries: registry.counter(
      "tasker_retries_total",
      "Mentions left pending after a failure, to be tried again",
    ),
    pds: registry.counter("tasker_pds_answers_total", "Answers of the PDS, by method and status", [
      "method",
      "status",
    ]),
    entries: registry.counter("tasker_entries_total", "Stream entries read"),
    owned: registry.gauge("tasker_partitions_owned", "Partitions this process holds"),
  };
}

export type TaskerMetrics = ReturnType<typeof taskerMetrics>;
