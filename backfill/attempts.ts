/**
 * One repository of a backfill run: read and loaded (load.ts), tried again on failure with
 * a pause doubling each time, and recorded as failed for a later run when the tries run out.
 * Accounts listed as inactive and repositories gone since the listing finish with nothing
 * loaded.
 */
import { errorMessage } from "@bsky/shared/errors";
import type { AccountEvent } from "@bsky/shared/events";
import { EVENT_VERSION } from "@bsky/shared/events";
import { StaleProgressError } from "@bsky/store/backfill";
import { loadRepo } from "./load.ts";
import type { Failure } from "./progress.ts";
import { RepoError } from "./repo.ts";
import type { BackfillOptions, RepoOutcome, RunState as Run } from "./state.ts";
import { type ListedRepo, RepoGoneError, sleep, SourceError } from "./source.ts";

/** A repository left where its mark says when the run was stopped: its page stays open. */
export type Outcome = RepoOutcome | "stopped";

/** The pause before a try again: what the source asked for, else doubling up to an hour. */
export function backoff(o: BackfillOptions, attempt: number, err: unknown): number {
  const after = err instanceof SourceError ? err.retryAfterMs : undefined;
  return after ?? Math.min(o.BACKFILL_RETRY_MS * 2 ** (attempt - 1), 3_600_000);
}

/** Reads and loads one repository, trying it again on failure; records it when it fails. */
export async function backfillRepo(
  run: Run,
  repo: ListedRepo,
  previous?: Failure,
): Promise<Outcome> {
  run.inFlight++;
  try {
    const outcome = await attempts(run, repo, previous);
    if (outcome === "stopped") return outcome;
    run.summary.repos[outcome]++;
    run.o.metrics?.repos.inc({ outcome });
    if (outcome !== "skipped" && outcome !== "failed") await run.progress.finished();
    return outcome;
  } finally {
    run.inFlight--;
  }
}

async function attempts(run: Run, repo: ListedRepo, previous?: Failure): Promise<Outcome> {
  const { did } = repo;
  let lastError: unknown;
  const attempts = run.o.BACKFILL_MAX_ATTEMPTS;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const mark = await run.progress.mark(did);
    if (mark === "done") return "skipped";
    if (attempt > 1) {
      try {
        await sleep(backoff(run.o, attempt - 1, lastError), run.o.signal);
      } catch {
        break;
      }
    }
    if (run.o.signal?.aborted) break;
    try {
      if (!repo.active) {
        await inactive(run, repo, mark);
        return "inactive";
      }
      await loadRepo(run, repo, mark);
      return "loaded";
    } catch (err) {
      if (err instanceof RepoGoneError) {
        // Gone since it was listed (deleted, deactivated…): the live stream says so.
        await finishEmpty(run, did, await run.progress.mark(did));
        return "gone";
      }
      if (run.o.signal?.aborted) break;
      lastError = err;
      // A stale mark or hold, or ids the store reclaimed meanwhile: read again and retry.
      const reason = err instanceof StaleProgressError
        ? "stale"
        : err instanceof SourceError || err instanceof RepoError
        ? err.reason
        : (err as Error)?.name === "IdsChangedError"
        ? "ids_changed"
        : "error";
      run.o.metrics?.failures.inc({ reason });
      run.log.debug("A repository failed: trying again", { did, attempt, reason });
    }
  }
  if (run.o.signal?.aborted) return "stopped";
  const now = run.o.clock.now();
  const total = (previous?.attempts ?? 0) + attempts;
  const failure: Failure = {
    attempts: total,
    error: errorMessage(lastError).slice(0, 300),
    at: now,
    nextAt: now + Math.min(run.o.BACKFILL_RETRY_MS * 2 ** attempts, 6 * 3_600_000) *
        (previous ? 2 : 1),
    active: repo.active,
    ...(repo.status ? { status: repo.status } : {}),
  };
  await run.progress.fail(did, failure);
  run.log.warn("A repository failed: recorded for a later try", {
    did,
    attempts: total,
    err: failure.error,
    nextAt: new Date(failure.nextAt).toISOString(),
  });
  return "failed";
}

/** An account the source lists as inactive: its status only (any live one wins). */
async function inactive(run: Run, repo: ListedRepo, mark: string): Promise<void> {
  const event: AccountEvent = {
    v: EVENT_VERSION,
    kind: "account",
    seq: 0,
    time: run.o.clock.now(),
    did: repo.did,
    active: false,
    ...(repo.status ? { status: repo.status } : {}),
  };
  await run.store.writeAccount([event], run);
  await finishEmpty(run, repo.did, mark);
}

/** Moves the mark to "done" with nothing loaded. */
async function finishEmpty(run: Run, did: string, mark: string): Promise<void> {
  if (mark === "done") return;
  const now = run.o.clock.now();
  await run.store.load({
    did,
    host: run.host,
    from: mark,
    to: "done",
    token: run.token,
    now,
    readAt: now,
    records: [],
  });
}
