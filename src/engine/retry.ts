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
