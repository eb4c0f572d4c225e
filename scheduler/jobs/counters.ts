/**
 * The network counters' roll-up: events per minute (written by the firehose with each
 * batch) are summed into hours, hourly unique-account HyperLogLogs are merged into days,
 * and what is past its resolution's horizon goes: minutes after 48 hours, hours and days
 * after 30 days. Every key it writes expires; running it twice gives the same keys.
 */
import { ACTIVE_KINDS, networkKeys } from "@bsky/shared/keys";
import { type Redis, scanKeys } from "@bsky/shared/redis";

const MINUTE_MS = 60_000, HOUR_MS = 3_600_000, DAY_MS = 86_400_000;
export const MINUTE_HOURS = 48;
export const HOUR_DAYS = 30;

export async function rollUpCounters(redis: Redis, now: number) {
  const hour = Math.floor(now / HOUR_MS), day = Math.floor(now / DAY_MS);
  // Hours whose minutes are all still kept: the two newest are redone every run (they may
  // still grow), older ones only when missing.
  const hours: number[] = [];
  {
    const candidates = Array.from({ length: MINUTE_HOURS - 1 }, (_, k) => hour - k);
    const exists = await redis.pipeline(
      candidates.map((h) => ["exists", networkKeys.eventsHour(h)]),
    ).exec();
    candidates.forEach((h, k) => {
      if (k < 2 || exists![k][1] === 0) hours.push(h);
    });
  }
  let hoursWritten = 0;
  for (const h of hours) {
    const pipe = redis.pipeline();
    for (let m = h * 60; m < (h + 1) * 60; m++) pipe.hgetall(networkKeys.eventsMinute(m));
    const sum: Record<string, number> = {};
    for (const [err, fields] of (await pipe.exec())!) {
      if (err) throw err;
      for (const [field, n] of Object.entries(fields as Record<string, string>)) {
        sum[field] = (sum[field] ?? 0) + Number(n);
      }
    }
    if (Object.keys(sum).length === 0) continue;
    const key = networkKeys.eventsHour(h);
    const ttl = Math.ceil(((h + 1) * HOUR_MS - now) / 1000) + HOUR_DAYS * 86400;
    await redis.multi().del(key).hset(key, sum).expire(key, ttl).exec();
    hoursWritten++;
  }
  // Unique accounts per day: the union of the day's hours (today and yesterday may grow).
  let daysMerged = 0;
  for (const d of [day - 1, day]) {
    const pipe = redis.multi();
    for (const kind of ACTIVE_KINDS) {
      const key = networkKeys.activeDay(kind, d);
      const sources = Array.from(
        { length: 24 },
        (_, k) => networkKeys.activeHour(kind, d * 24 + k),
      );
      pipe.pfmerge(key, ...sources);
      pipe.expire(key, Math.ceil(((d + 1) * DAY_MS - now) / 1000) + HOUR_DAYS * 86400);
    }
    await pipe.exec();
    daysMerged++;
  }
  // Past the horizon (they expire too; this keeps the series exact at its edge).
  const stale: string[] = [];
  const oldestMinute = Math.floor((now - MINUTE_HOURS * HOUR_MS) / MINUTE_MS);
  for (let m = oldestMinute - 120; m < oldestMinute; m++) stale.push(networkKeys.eventsMinute(m));
  const oldestHour = hour - HOUR_DAYS * 24;
  for (let h = oldestHour - 48; h < oldestHour; h++) {
    stale.push(networkKeys.eventsHour(h), networkKeys.createdHour(h));
    for (const kind of ACTIVE_KINDS) stale.push(networkKeys.activeHour(kind, h));
  }
  for (let d = day - HOUR_DAYS - 2; d < day - HOUR_DAYS; d++) {
    for (const kind of ACTIVE_KINDS) stale.push(networkKeys.activeDay(kind, d));
  }
  const removed = await redis.unlink(...stale);
  return { hoursWritten, daysMerged, removed };
}

/** Bytes of Redis memory the network counters take (MEMORY USAGE of each key). */
export async function countersMemory(redis: Redis): Promise<{ keys: number; bytes: number }> {
  let keys = 0, bytes = 0;
  for await (const found of scanKeys(redis, { match: "stats:{firehose}:*" })) {
    const res = await redis.pipeline(found.map((k) => ["memory", "USAGE", k, "SAMPLES", "0"]))
      .exec();
    keys += found.length;
    for (const [, v] of res!) bytes += Number(v ?? 0);
  }
  return { keys, bytes };
}
