/**
 * The listing of a backfill run: pages of repositories listed a little ahead of the work,
 * their repositories worked through BACKFILL_CONCURRENCY at a time, and the cursor moved
 * past each page once every repository on it has finished, in the listing's order.
 */
import { errorMessage } from "@bsky/shared/errors";
import { backfillRepo, backoff } from "./attempts.ts";
import type { RunState as Run } from "./state.ts";
import { type ListedRepo, sleep, SourceError } from "./source.ts";

/** Pages listed ahead of the one in progress. */
const PAGES_AHEAD = 2;

interface Page {
  next: string | undefined;
  dids: string[];
  left: number;
  failed: Set<string>;
}

/** Lists the pages from `cursor` on and works through their repositories. */
export async function workThroughListing(run: Run, cursor: string | undefined): Promise<void> {
  const pages: Page[] = [];
  const queue: { repo: ListedRepo; page: Page }[] = [];
  let listing = true;
  let next = cursor;
  const concurrency = run.o.BACKFILL_CONCURRENCY;
  const active = new Set<Promise<void>>();
  // Pages finish in order: the cursor moves past each finished one, with its marks, and
  // these writes go one after another in that order.
  let writes = Promise.resolve();
  const settle = () => {
    let moved = false, to: string | undefined, dids: string[] = [];
    while (pages.length > 0 && pages[0].left === 0) {
      const page = pages.shift()!;
      dids = dids.concat(page.dids.filter((d) => !page.failed.has(d)));
      to = page.next;
      moved = true;
    }
    if (moved) writes = writes.then(() => run.progress.pagesDone(to, dids));
    return writes;
  };
  let error: unknown;
  while (!run.stopping() && error === undefined) {
    if (listing && queue.length < concurrency * 2 && pages.length <= PAGES_AHEAD) {
      const page = await listPage(run, next);
      if (page === "stop") break;
      const entry: Page = {
        next: page.cursor,
        dids: page.repos.map((r) => r.did),
        left: page.repos.length,
        failed: new Set(),
      };
      await run.progress.listed(page.repos.length);
      if (page.repos.length === 0 || page.cursor === undefined || page.cursor === next) {
        listing = false;
        entry.next = undefined;
      }
      next = page.cursor;
      pages.push(entry);
      for (const repo of page.repos) queue.push({ repo, page: entry });
      if (entry.left === 0) await settle();
      continue;
    }
    if (queue.length === 0 && active.size === 0) break;
    if (queue.length > 0 && active.size < concurrency) {
      const { repo, page } = queue.shift()!;
      const p = (async () => {
        const outcome = await backfillRepo(run, repo);
        if (outcome === "stopped") return;
        if (outcome === "failed") page.failed.add(repo.did);
        page.left--;
        await settle();
      })().catch((err) => {
        error ??= err;
      }).finally(() => active.delete(p));
      active.add(p);
      continue;
    }
    await Promise.race(active);
  }
  await Promise.allSettled(active);
  await writes;
  if (error !== undefined) throw error;
}

/** A page of the listing, tried like a repository: "stop" once the run is to stop. */
async function listPage(run: Run, cursor: string | undefined) {
  for (let attempt = 1;; attempt++) {
    try {
      return await run.source.listRepos(cursor, run.o.BACKFILL_PAGE_SIZE, run.o.signal);
    } catch (err) {
      if (run.o.signal?.aborted) return "stop" as const;
      const reason = err instanceof SourceError ? err.reason : "error";
      run.o.metrics?.failures.inc({ reason: `list_${reason}` });
      const wait = backoff(run.o, attempt, err);
      run.log.warn("Cannot list repositories: trying again", {
        err: errorMessage(err),
        attempt,
        waitMs: wait,
      });
      try {
        await sleep(wait, run.o.signal);
      } catch {
        return "stop" as const;
      }
      if (run.stopping()) return "stop" as const;
    }
  }
}
