/**
 * How `deno task start` keeps its processes running: one that exits by itself is started
 * again after a pause that doubles from 0.5 s up to 30 s, and goes back to 0.5 s once the
 * process has run for a minute. A process that crashes 5 times within a minute is given up
 * on: one that cannot run (a port taken, a setting that does not parse) would only loop.
 */

export interface RestartPolicy {
  firstDelayMs: number;
  maxDelayMs: number;
  /** A process that ran this long starts again after the first delay. */
  resetAfterMs: number;
  /** This many crashes within `crashWindowMs` and the process is given up on. */
  maxCrashes: number;
  crashWindowMs: number;
}

export const RESTART_POLICY: RestartPolicy = {
  firstDelayMs: 500,
  maxDelayMs: 30_000,
  resetAfterMs: 60_000,
  maxCrashes: 5,
  crashWindowMs: 60_000,
};

/** The restarts of one process: how long to wait after each crash, or whether to give up. */
export class RestartPlan {
  #crashes: number[] = [];
  #streak = 0;

  constructor(readonly policy: RestartPolicy = RESTART_POLICY) {}

  /**
   * After a crash at `at` of a run that started at `startedAt` (both in ms): the pause
   * before the next start, or undefined when the process is to be given up on.
   */
  next(startedAt: number, at: number): number | undefined {
    const p = this.policy;
    if (at - startedAt >= p.resetAfterMs) this.#streak = 0;
    this.#crashes = this.#crashes.filter((t) => at - t < p.crashWindowMs);
    this.#crashes.push(at);
    if (this.#crashes.length >= p.maxCrashes) return undefined;
    const delay = Math.min(p.maxDelayMs, p.firstDelayMs * 2 ** this.#streak);
    this.#streak++;
    return delay;
  }

  /** Crashes within the window, the last one included. */
  get recentCrashes(): number {
    return this.#crashes.length;
  }
}

/** A running process, as far as supervision needs it. */
export interface Running {
  pid: number;
  status: Promise<Deno.CommandStatus>;
  kill(signal?: Deno.Signal): void;
}

export interface SuperviseOptions {
  /** Starts the process again; throwing counts as a crash. */
  start(): Promise<Running>;
  /** Aborted when the platform stops: no restart from then on. */
  signal: AbortSignal;
  log(msg: string, fields: Record<string, unknown>, level: "info" | "warn" | "error"): void;
  /** Told each time a new process runs. */
  started?(running: Running): void;
  policy?: RestartPolicy;
  now?: () => number;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/**
 * Watches `first` and starts the process again each time it exits, until `signal` is
 * aborted (settles then) or the process crashes too often (settles with the number of
 * crashes within the window: the caller stops everything).
 */
export async function supervise(
  name: string,
  first: Running,
  options: SuperviseOptions,
): Promise<number | undefined> {
  const { signal, log } = options;
  const now = options.now ?? Date.now;
  const plan = new RestartPlan(options.policy);
  let running: Running | undefined = first;
  let startedAt = now();
  let exit: Record<string, unknown> = {};
  while (true) {
    if (running) {
      const { code, signal: killedBy } = await running.status;
      exit = { pid: running.pid, code, signal: killedBy };
    }
    if (signal.aborted) return undefined;
    const delay = plan.next(startedAt, now());
    if (delay === undefined) return plan.recentCrashes;
    log(
      "Process exited: restarting it",
      { name, ...exit, inMs: delay, crashesWithinWindow: plan.recentCrashes },
      "error",
    );
    await pause(delay, signal);
    if (signal.aborted) return undefined;
    startedAt = now();
    try {
      running = await options.start();
    } catch (err) {
      running = undefined;
      exit = { err: err instanceof Error ? err.message : String(err) };
      continue;
    }
    if (signal.aborted) {
      // Started while the platform began to stop: stop it too.
      try {
        running.kill("SIGTERM");
      } catch { /* gone */ }
      await running.status;
      return undefined;
    }
    options.started?.(running);
  }
}
