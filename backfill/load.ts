/**
 * Reading one repository and loading it by the merge rule (README "Backfill"): its profile
 * and handle as account events, and the records that count (before the live start and, for
 * likes, reposts and posts, inside the retention) in batches that move its mark along.
 */
import type { AccountEvent, CommitWriteEvent, IdentityEvent } from "@bsky/shared/events";
import { EVENT_VERSION } from "@bsky/shared/events";
import { DAY_MS } from "@bsky/store/layout";
import { recordEvent } from "./records.ts";
import { readRepo } from "./repo.ts";
import type { RunState as Run } from "./state.ts";
import { type ListedRepo, SourceError } from "./source.ts";

/** A repository read longer ago than this is read again rather than loaded (tombstones last 2 h). */
const MAX_READ_AGE_MS = 30 * 60_000;

export async function loadRepo(run: Run, repo: ListedRepo, mark: string): Promise<void> {
  const { did } = repo;
  const { clock, signal } = run.o;
  const token = run.token;
  const readAt = clock.now();
  const car = await run.source.getRepo(did, signal);
  let handle: string | undefined;
  if (run.handles) {
    try {
      handle = await run.source.describeRepo(did, signal);
    } catch (err) {
      if (err instanceof SourceError && err.reason === "unsupported") {
        run.handles = false;
        run.log.info("The source does not serve describeRepo: no handles from it");
      }
    }
  }
  const read = readRepo(car, did);
  run.recordsRead += read.records.length;
  run.summary.recordsRead += read.records.length;
  run.count("dropped", read.missing);
  const now = clock.now();
  if (now - readAt > MAX_READ_AGE_MS) {
    throw new SourceError("slow", "The repository was read too long ago: reading it again");
  }
  const windowStart = now - run.retentionDays * DAY_MS;
  const records: { event: CommitWriteEvent; recent: boolean }[] = [];
  const account: (AccountEvent | IdentityEvent | CommitWriteEvent)[] = [{
    v: EVENT_VERSION,
    kind: "account",
    seq: 0,
    time: now,
    did,
    active: true,
  }];
  if (handle) {
    account.push({ v: EVENT_VERSION, kind: "identity", seq: 0, time: now, did, handle });
  }
  const paths: string[] = [];
  for (const r of read.records) {
    const result = recordEvent(did, r.collection, r.rkey, r.block, now);
    if ("drop" in result) {
      run.count("dropped");
      continue;
    }
    const { event, time } = result;
    if (r.collection === "app.bsky.actor.profile") {
      account.push(event);
      continue;
    }
    if (r.path <= mark) continue;
    const graph = r.collection === "app.bsky.graph.follow" ||
      r.collection === "app.bsky.graph.block";
    if (time === undefined && !graph) {
      run.count("no_time");
      continue;
    }
    if ((time ?? 0) >= run.liveStart) {
      run.count("after_live_start");
      continue;
    }
    const recent = time !== undefined && time >= windowStart;
    if (!recent && !graph) {
      run.count("before_window");
      continue;
    }
    records.push({ event, recent });
    paths.push(r.path);
  }
  await run.store.writeAccount(account, run);
  const size = run.o.BACKFILL_BATCH_RECORDS;
  let from = mark;
  for (let i = 0; i < records.length || i === 0; i += size) {
    const part = records.slice(i, i + size);
    const to = i + size >= records.length ? "done" : paths[i + size - 1];
    const out = await run.store.load({
      did,
      host: run.host,
      from,
      to,
      token,
      now: clock.now(),
      readAt,
      records: part,
    });
    run.count("counted", out.counted);
    run.count("seen_live", out.seenLive);
    run.count("hidden", out.hidden);
    run.count("idle", out.idle);
    from = to;
  }
}
