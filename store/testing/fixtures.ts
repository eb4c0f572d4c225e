/** What the store's tests share: a store on a real redis-server, and events to apply to it. */
import type { FirehoseEvent } from "@bsky/shared/events";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "../apply.ts";
import { topInteractions } from "../interactions.ts";
import { HOUR_MS } from "../layout.ts";

export const A = "did:plc:alice", B = "did:plc:bob", C = "did:plc:carol";
/** Half past the current hour: keys expire by the real clock, so the events happen now. */
export const T0 = Math.floor(Date.now() / HOUR_MS) * HOUR_MS + 30 * 60_000;

let seq = 0;
/** A seq after every one given before. */
export const nextSeq = () => ++seq;

/** A created record of `collection` with the facts the indexer reads. */
export const create = (
  did: string,
  collection: string,
  rkey: string,
  facts: Record<string, unknown>,
  time = T0,
): FirehoseEvent => ({
  v: 1,
  kind: "commit",
  seq: ++seq,
  time,
  did,
  action: "create",
  collection: collection as "app.bsky.feed.like",
  rkey,
  ...facts,
});

export const like = (did: string, rkey: string, subject: string, time = T0) =>
  create(did, "app.bsky.feed.like", rkey, { subject }, time);

export const del = (did: string, collection: string, rkey: string, time = T0): FirehoseEvent => ({
  v: 1,
  kind: "commit",
  seq: ++seq,
  time,
  did,
  action: "delete",
  collection: collection as "app.bsky.feed.like",
  rkey,
});

const BLOCK = "app.bsky.graph.block";
export const block = (did: string, rkey: string, subject: string, time = T0) =>
  create(did, BLOCK, rkey, { subject }, time);
export const unblock = (did: string, rkey: string, time = T0) => del(did, BLOCK, rkey, time);

/** An #account event: the account active, or not and why. */
export const account = (did: string, active: boolean, status?: string): FirehoseEvent => ({
  v: 1,
  kind: "account",
  seq: ++seq,
  time: T0,
  did,
  active,
  ...(status ? { status } : {}),
});

/** Runs `fn` with a connection to a fresh redis-server and an applier writing to it. */
export async function withStore(fn: (redis: Redis, applier: Applier) => Promise<void>) {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    await fn(redis, new Applier(redis, { retentionDays: 30, memoryHours: 48 }));
  } finally {
    redis.disconnect();
  }
}

/**
 * The apply script's own reply for `events`, without what Applier.run() does after it (the
 * ending of blocks left): the store as a stop right after the call would leave it.
 */
export async function applyCallOnly(
  redis: Redis,
  applier: Applier,
  events: FirehoseEvent[],
): Promise<number[]> {
  const args = await applier.prepare(events);
  return await (redis as unknown as { applyOps(...a: unknown[]): Promise<number[]> })
    .applyOps(...args);
}

/** The top 10 counterparts of `did` in one direction. */
export const top = (
  redis: Redis,
  did: string,
  direction: "sent" | "received" | "both" | "mutual",
  windowHours = 24,
  now = T0,
) => topInteractions(redis, did, { direction, windowHours, limit: 10, now });
