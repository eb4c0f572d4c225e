/**
 * A backfill run's progress: a log line every BACKFILL_LOG_SECONDS and the rate gauges,
 * over the last minute (since the run started when it is younger), with the time left.
 */
import type { RunState as Run } from "./state.ts";

export class ProgressReport {
  #history: [number, number, number][] = [];

  constructor(readonly run: Run) {}

  /** A progress line and the rate gauges: the last minute's rates and the time left. */
  report(): void {
    const run = this.run;
    const now = run.o.clock.now();
    const repos = run.summary.repos;
    const finished = repos.loaded + repos.gone + repos.inactive;
    // Over the last minute; since the run started when it is younger.
    this.#history.push([now, finished, run.recordsRead]);
    while (this.#history.length > 2 && now - this.#history[1][0] >= 60_000) this.#history.shift();
    const [t0, r0, c0] = this.#history.length > 1 && now - this.#history[0][0] >= 60_000
      ? this.#history[0]
      : [run.started, 0, 0];
    const seconds = (now - t0) / 1000;
    const reposRate = seconds > 0 ? (finished - r0) / seconds : 0;
    const recordsRate = seconds > 0 ? (run.recordsRead - c0) / seconds : 0;
    const m = run.o.metrics;
    m?.reposRate.set(undefined, reposRate);
    m?.recordsRate.set(undefined, recordsRate);
    m?.inFlight.set(undefined, run.inFlight);
    run.progress.read().then((p) => {
      const expected = Math.max(run.o.BACKFILL_EXPECTED_REPOS, p.listed);
      const eta = reposRate > 0 ? Math.max(0, expected - p.done) / reposRate : -1;
      m?.done.set(undefined, p.done);
      m?.listed.set(undefined, p.listed);
      m?.eta.set(undefined, eta);
      run.log.info("Backfill progress", {
        host: run.host,
        done: p.done,
        listed: p.listed,
        reposPerSecond: Math.round(reposRate * 100) / 100,
        recordsPerSecond: Math.round(recordsRate),
        etaSeconds: Math.round(eta),
        inFlight: run.inFlight,
        ...repos,
      });
    }).catch(() => {});
  }
}
