/**
 * The one source of "now" for logic that depends on time: windows, roll-ups, retention, job
 * ticks. Services are handed a clock when they are wired (the system clock in production);
 * the modules below them take `now` as an argument and never read the wall clock themselves,
 * so tests run them at any instant of any week.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The machine's clock. */
export const systemClock: Clock = { now: () => Date.now() };
