/**
 * What the tests of the apply in two rounds share (cluster_apply.ts): a workload of every
 * kind of operation, and a store's contents in a form two stores can be compared by.
 */
import type { Buffer } from "node:buffer";
import type { FirehoseEvent } from "@bsky/shared/events";
import { connectRedis, type Redis, type RedisClient } from "@bsky/shared/redis";
import { allKeys } from "@bsky/shared/testing/redis_cluster";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import type { ClusterEntry } from "../cluster_apply.ts";
import { storeKeys } from "../layout.ts";
import { account, block, create, unblock } from "./fixtures.ts";
import { didOf, generateEvents, random, recentStart, tidOf } from "./generate.ts";

/**
 * Everything a store holds, comparable: per key its type, expiry and content; logs and
 * posts by language as sorted entries (their order in a string does not count), sets
 * sorted. The watermarks of writes by slot are left out (one way of applying keeps them),
 * and so are the tombstones of live deletes (a Cluster keeps them whether a backfill runs
 * or not, one server only while one does: store/backfill.ts).
 */
/** A hash's fields and values as bytes, "field=value" in hex. */
async function hashFields(redis: RedisClient, key: string): Promise<string[]> {
  const flat = await redis.callBuffer("HGETALL", key) as Buffer[];
  const out: string[] = [];
  for (let k = 0; k < flat.length; k += 2) {
    out.push(`${flat[k].toString("hex")}=${flat[k + 1].toString("hex")}`);
  }
  return out;
}

export async function storeContents(redis: RedisClient): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  // The record memory per span, whichever buckets hold it (one server's or a Cluster's).
  const records = new Map<string, { fields: string[]; expiries: Set<number> }>();
  for (const key of await allKeys(redis)) {
    if (key.startsWith("sw:{") || key.startsWith("bt:{")) continue;
    if (key.startsWith("r:{")) {
      const span = key.slice(key.indexOf("}:") + 2).split(":")[0];
      const of = records.get(span) ?? { fields: [], expiries: new Set() };
      records.set(span, of);
      of.expiries.add(Number(await redis.call("EXPIRETIME", key)));
      of.fields.push(...await hashFields(redis, key));
      continue;
    }
    const type = await redis.type(key);
    const expiry = await redis.call("EXPIRETIME", key);
    let value: unknown;
    if (type === "string") {
      const bytes = (await redis.getBuffer(key))!;
      const width = key.startsWith("l:{") ? 5 : key.startsWith("lp:{") ? 6 : 0;
      if (width === 0) value = bytes.toString("hex");
      else {
        const entries: string[] = [];
        for (let k = 0; k < bytes.length; k += width) {
          entries.push(bytes.subarray(k, k + width).toString("hex"));
        }
        value = entries.sort();
      }
    } else if (type === "hash") {
      value = (await hashFields(redis, key)).sort();
    } else if (type === "zset") value = await redis.zrange(key, "0", "-1", "WITHSCORES");
    else if (type === "set") value = (await redis.smembers(key)).sort();
    else value = type;
    out.set(key, JSON.stringify([type, expiry, value]));
  }
  for (const [span, { fields, expiries }] of [...records].sort()) {
    out.set(`records of span ${span}`, JSON.stringify([[...expiries].sort(), fields.sort()]));
  }
  return out;
}

/** A workload of every kind of operation, in batches of entries with stream ids. */
export function mixedWorkload(): ClusterEntry[][] {
  const start = recentStart();
  const events: FirehoseEvent[] = [
    ...generateEvents({ accounts: 150, events: 2500, seed: 7, start, spanMs: 20 * 60_000 }),
  ];
  const time = start + 25 * 60_000;
  const rand = random(3);
  // Blocks made twice (a further record), ended, an account deleted with its blocks, opt codes.
  for (let k = 0; k < 40; k++) {
    const did = didOf(Math.floor(rand() * 30)), subject = didOf(30 + Math.floor(rand() * 30));
    const first = tidOf(900_000 + 2 * k);
    events.push(
      block(did, first, subject, time),
      block(did, tidOf(900_001 + 2 * k), subject, time),
    );
    if (k % 3 === 0) events.push(unblock(did, first, time));
  }
  for (const k of [1, 2]) {
    const opt = { chars: 12, opt: `out:CODE${k}` };
    events.push(create(didOf(k), "app.bsky.feed.post", tidOf(950_000 + k), opt, time));
  }
  events.push(account(didOf(3), false, "deleted"));
  const batches: ClusterEntry[][] = [];
  for (let k = 0; k < events.length; k += 97) {
    batches.push(events.slice(k, k + 97).map((event, j) => ({ id: `1-${k + j + 1}`, event })));
  }
  return batches;
}

/** The opt codes the workload posts, as the API hands them out (one for another action). */
export async function handOutOptCodes(redis: RedisClient): Promise<void> {
  await redis.set(storeKeys.optCode("CODE1"), `${didOf(1)} out`, "EX", 3600);
  await redis.set(storeKeys.optCode("CODE2"), `${didOf(2)} in`, "EX", 3600);
}

/** Two fresh redis-servers, each with the opt codes handed out. */
export async function twoStores(fn: (single: Redis, split: Redis) => Promise<void>) {
  await using a = await startRedisServer();
  await using b = await startRedisServer();
  const single = await connectRedis(a.url, { name: "single" });
  const split = await connectRedis(b.url, { name: "split" });
  try {
    // The opt codes the API handed out (the second one for another action).
    for (const redis of [single, split]) await handOutOptCodes(redis);
    await fn(single, split);
  } finally {
    single.disconnect();
    split.disconnect();
  }
}
