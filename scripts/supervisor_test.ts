import assert from "node:assert/strict";
import { RESTART_POLICY, RestartPlan, type Running, supervise } from "./supervisor.ts";

Deno.test("RestartPlan waits 0.5 s after a crash, doubling up to 30 s, and gives up at the 5th crash within a minute", () => {
  const plan = new RestartPlan();
  // Crashes a second after each start, each restart after the pause asked for.
  let t = 0;
  const delays: (number | undefined)[] = [];
  for (let i = 0; i < 5; i++) {
    const delay = plan.next(t, t + 1000);
    delays.push(delay);
    t += 1000 + (delay ?? 0);
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000, undefined]);
  assert.equal(plan.recentCrashes, 5);

  // Crashes far enough apart never add up to the limit; the pause stops growing at 30 s.
  const spaced = new RestartPlan({ ...RESTART_POLICY, crashWindowMs: 10_000 });
  const pauses: (number | undefined)[] = [];
  for (let i = 0, at = 0; i < 9; i++, at += 20_000) pauses.push(spaced.next(at, at + 100));
  assert.deepEqual(pauses, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});

Deno.test("RestartPlan starts again from 0.5 s after a run of a minute", () => {
  const plan = new RestartPlan();
  assert.equal(plan.next(0, 100), 500);
  assert.equal(plan.next(600, 700), 1000);
  assert.equal(plan.next(1700, 1800), 2000);
  // This run lasted a minute: the next pause is the first one again.
  assert.equal(plan.next(3800, 63_800), 500);
});

/** A real process that exits with `code` after `ms`. */
function exiting(code: number, ms = 0): Running {
  return new Deno.Command("sh", { args: ["-c", `sleep ${ms / 1000}; exit ${code}`] }).spawn();
}

const FAST = { ...RESTART_POLICY, firstDelayMs: 20, maxDelayMs: 100 };

Deno.test("supervise() starts a process again each time it exits, logs each restart, and says when it crashed too often", async () => {
  const lines: Record<string, unknown>[] = [];
  let starts = 0;
  const crashes = await supervise("crashing", exiting(3), {
    start: () => (starts++, Promise.resolve(exiting(3))),
    signal: new AbortController().signal,
    log: (msg, fields, level) => lines.push({ msg, level, ...fields }),
    policy: FAST,
  });
  assert.equal(crashes, 5);
  assert.equal(starts, 4, "the first run and 4 restarts");
  assert.deepEqual(lines.map((l) => [l.msg, l.name, l.code, l.inMs]), [
    ["Process exited: restarting it", "crashing", 3, 20],
    ["Process exited: restarting it", "crashing", 3, 40],
    ["Process exited: restarting it", "crashing", 3, 80],
    ["Process exited: restarting it", "crashing", 3, 100],
  ]);
});

Deno.test("supervise() counts a restart that cannot start as a crash, and starts nothing once stopped", async () => {
  const stop = new AbortController();
  const lines: Record<string, unknown>[] = [];
  let starts = 0;
  const done = supervise("failing", exiting(1), {
    start: () => {
      starts++;
      if (starts === 2) stop.abort();
      return Promise.reject(new Error("Cannot start: port 1 is in use"));
    },
    signal: stop.signal,
    log: (msg, fields) => lines.push({ msg, ...fields }),
    policy: FAST,
  });
  assert.equal(await done, undefined, "stopped, not given up");
  assert.equal(starts, 2);
  assert.equal(lines[1].err, "Cannot start: port 1 is in use");

  // A process that runs when the platform stops is not started again after it exits.
  const quiet = new AbortController();
  let restarted = false;
  const long = exiting(0, 200);
  const watching = supervise("stopping", long, {
    start: () => (restarted = true, Promise.resolve(exiting(0))),
    signal: quiet.signal,
    log: () => {},
    policy: FAST,
  });
  quiet.abort();
  assert.equal(await watching, undefined);
  assert.equal(restarted, false);
});
