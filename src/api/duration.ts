/**
 * Durations as Restate's SDK takes them: a number of milliseconds, or an
 * object of days, hours, minutes, seconds and milliseconds added together.
 */
import { TerminalError } from './errors.ts';

/**
 * A span of time; its parts add up.
 *
 * @example
 * ```ts
 * await ctx.sleep({ hours: 1, minutes: 30 }); // 5 400 000 ms
 * ```
 */
export interface Duration {
  days?: number;
  hours?: number;
  minutes?: number;
  seconds?: number;
  milliseconds?: number;
}

const UNIT_MS = { days: 86_400_000, hours: 3_600_000, minutes: 60_000, seconds: 1_000, milliseconds: 1 } as const;

/**
 * Milliseconds of a duration given as a number or a {@link Duration}
 * (fractions of a millisecond are dropped, as Restate does). Anything else,
 * or a negative or infinite span, is a `TerminalError` (400) naming `call`,
 * so a wrong argument fails the invocation once instead of being retried.
 *
 * @example
 * ```ts
 * durationMs({ minutes: 2 }, 'ctx.sleep')  // 120000
 * durationMs(1500, 'orTimeout')            // 1500
 * durationMs('5s', 'ctx.sleep')            // throws TerminalError: ctx.sleep: expected milliseconds or { days, hours, minutes, seconds, milliseconds }, got "5s"
 * ```
 */
export function durationMs(duration: unknown, call: string): number {
  let ms: number;
  if (typeof duration === 'number') ms = duration;
  else if (duration !== null && typeof duration === 'object' && !Array.isArray(duration)) {
    ms = 0;
    for (const [unit, value] of Object.entries(duration)) {
      const scale = UNIT_MS[unit as keyof typeof UNIT_MS];
      if (scale === undefined) throw invalid(call, duration, `unknown unit '${unit}'`);
      if (value === undefined) continue;
      if (typeof value !== 'number') throw invalid(call, duration, `'${unit}' is not a number`);
      ms += value * scale;
    }
  } else throw invalid(call, duration);
  if (!Number.isFinite(ms) || ms < 0) throw invalid(call, duration, 'it must be finite and not negative');
  return Math.trunc(ms);
}

function invalid(call: string, duration: unknown, why?: string): TerminalError {
  return new TerminalError(
    `${call}: expected milliseconds or { days, hours, minutes, seconds, milliseconds }, got ${show(duration)}${why ? ` (${why})` : ''}`,
    { code: 400 },
  );
}

/** A short rendering of a wrong argument for an error message. */
export function show(value: unknown): string {
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
}
