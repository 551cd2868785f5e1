/**
 * Time as the engine sees it. Passed in, so tests and the simulator can
 * advance a 30-day sleep in microseconds.
 *
 * @example
 * ```ts
 * const clock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
 * ```
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Waits `ms` (used for short in-attempt backoff only). */
  sleep(ms: number): Promise<void>;
}

/**
 * The wall clock.
 *
 * @example
 * ```ts
 * runAttempt({ ...deps, clock: systemClock }, request);
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
