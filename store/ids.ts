/** Reads of the DID ↔ id interning (written by the apply path, scripts/intern.lua). */
import type { Redis } from "@bsky/shared/redis";
import { didKey, didOfKey, ID_BUCKET, storeKeys } from "./layout.ts";

/** The store id of a DID, if it was ever seen. */
export async function idOf(redis: Redis, did: string): Promise<number | undefined> {
  const id = await redis.hget(storeKeys.didToId, didKey(did));
  return id === null ? undefined : Number(id);
}

/** The store ids of DIDs (undefined for one never seen). */
export async function idsOf(
  redis: Redis,
  dids: readonly string[],
): Promise<(number | undefined)[]> {
  if (dids.length === 0) return [];
  const ids = await redis.hmget(storeKeys.didToId, ...dids.map((d) => didKey(d) as string));
  return ids.map((id) => id === null ? undefined : Number(id));
}

/** The DIDs of store ids (undefined for an id never given out). */
export async function didsOf(
  redis: Redis,
  ids: readonly (number | string)[],
): Promise<(string | undefined)[]> {
  if (ids.length === 0) return [];
  const pipe = redis.pipeline();
  for (const id of ids) {
    pipe.hgetBuffer(storeKeys.idToDid(Number(id)), String(Number(id) % ID_BUCKET));
  }
  const rows = (await pipe.exec())!;
  return rows.map(([err, key]) => {
    if (err) throw err;
    return key ? didOfKey(key as Uint8Array) : undefined;
  });
}
