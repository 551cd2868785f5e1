/**
 * Backoff arithmetic shared by `ctx.run` retries and invocation retries.
 */
import type { RetryPolicy } from '../api/context.ts';

/** `ctx.run`'s default: unlimited attempts, 50 ms doubling to 10 s. */
export const DEFAULT_RUN_RETRY: Required<Pick<RetryPolicy, 'initialIntervalMs' | 'factor' | 'maxIntervalMs'>> = {
  initialIntervalMs: 50,
  factor: 2,
  maxIntervalMs: 10_000,
};

/**
 * The delay before attempt `attempt + 1` (attempt counts from 1).
 *
 * @example
 * ```ts
 * backoffMs({ initialIntervalMs: 100, factor: 2 }, 3) // 400
 * ```
 */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  const initial = policy.initialIntervalMs ?? DEFAULT_RUN_RETRY.initialIntervalMs;
  const factor = policy.factor ?? DEFAULT_RUN_RETRY.factor;
  const max = policy.maxIntervalMs ?? DEFAULT_RUN_RETRY.maxIntervalMs;
  return Math.min(max, Math.round(initial * factor ** Math.max(0, attempt - 1)));
}

/**
 * Whether another attempt is allowed after `attempt` failures that began at `startedAt`.
 *
 * @example
 * ```ts
 * mayRetry({ maxAttempts: 3 }, 3, 0, 0) // false: three attempts made
 * ```
 */
export function mayRetry(policy: RetryPolicy, attempt: number, startedAt: number, now: number): boolean {
  if (policy.maxAttempts !== undefined && attempt >= policy.maxAttempts) return false;
  if (policy.maxDurationMs !== undefined && now + backoffMs(policy, attempt) - startedAt > policy.maxDurationMs) return false;
  return true;
}

/**
 * Where a step's retries stand across suspensions: the attempt that failed
 * last and when the step first started. Carried in the key of the step's
 * retry timer, so it survives across Lambda invocations at no extra write.
 *
 * @example
 * ```ts
 * const r: StepRetry = { entry: 3, attempt: 2, startedAt: 1767225600000 };
 * ```
 */
export interface StepRetry {
  /** The step's journal index. */
  entry: number;
  /** Attempts made so far (the one that failed last). */
  attempt: number;
  /** Epoch ms of the step's first attempt (what `maxDurationMs` counts from). */
  startedAt: number;
}

const STEP_RETRY = /^C#t(\d{8,})\.(\d+)\.(-?\d+)$/;

/**
 * The completion key of a step's retry timer: `C#t<entry>.<attempt>.<startedAt>`.
 *
 * @example
 * ```ts
 * stepRetryKey({ entry: 3, attempt: 2, startedAt: 1767225600000 }) // 'C#t00000003.0002.1767225600000'
 * ```
 */
export function stepRetryKey(retry: StepRetry): string {
  return `C#t${String(retry.entry).padStart(8, '0')}.${String(retry.attempt).padStart(4, '0')}.${retry.startedAt}`;
}

/**
 * Reads a step retry timer's key; `undefined` for any other completion key.
 *
 * @example
 * ```ts
 * stepRetryOf('C#t00000003.0002.1767225600000') // { entry: 3, attempt: 2, startedAt: 1767225600000 }
 * stepRetryOf('C#00000003') // undefined
 * ```
 */
export function stepRetryOf(key: string): StepRetry | undefined {
  const match = STEP_RETRY.exec(key);
  return match ? { entry: Number(match[1]), attempt: Number(match[2]), startedAt: Number(match[3]) } : undefined;
}
