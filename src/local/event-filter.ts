/**
 * Lambda event filtering, locally: the subset of the filter-pattern syntax
 * the wake's mapping uses (exact values, `prefix`, `anything-but`,
 * `exists`, nested objects), applied to a record as Lambda would deliver it.
 */

/**
 * The wake's event filters, the same as the CDK app's `WAKE_FILTER_PATTERNS`
 * (cdk/lib/durable-runtime.ts; a test keeps the two equal): completions on
 * insert, locks and queued calls on insert or modify, `meta` on any status
 * but `running`, never a removal or a journal entry.
 *
 * @example
 * ```ts
 * WAKE_FILTER_PATTERNS.some((p) => matchesFilter(p, record))
 * ```
 */
export const WAKE_FILTER_PATTERNS: readonly Record<string, unknown>[] = [
  { eventName: ['INSERT'], dynamodb: { Keys: { sk: { S: [{ prefix: 'C#' }, { prefix: 'P#' }] } } } },
  { eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { sk: { S: [{ prefix: 'L#' }, { prefix: 'Q#' }] } } } },
  {
    eventName: ['INSERT', 'MODIFY'],
    dynamodb: { Keys: { sk: { S: ['meta'] } }, NewImage: { status: { S: [{ 'anything-but': ['running'] }] } } },
  },
];

/**
 * Whether a record matches one filter pattern: every field the pattern
 * names must match; a list matches if any of its rules does.
 *
 * @example
 * ```ts
 * matchesFilter({ eventName: ['INSERT'] }, { eventName: 'INSERT' }) // true
 * matchesFilter({ a: { b: [{ prefix: 'C#' }] } }, { a: { b: 'J#1' } }) // false
 * ```
 */
export function matchesFilter(pattern: Record<string, unknown>, record: unknown): boolean {
  const value = record as Record<string, unknown> | null | undefined;
  for (const [field, rule] of Object.entries(pattern)) {
    const actual = value && typeof value === 'object' ? value[field] : undefined;
    if (Array.isArray(rule)) {
      if (!rule.some((r) => matchesRule(r, actual))) return false;
    } else if (rule && typeof rule === 'object') {
      if (!matchesFilter(rule as Record<string, unknown>, actual)) return false;
    } else {
      return false;
    }
  }
  return true;
}

function matchesRule(rule: unknown, actual: unknown): boolean {
  if (rule === null || typeof rule !== 'object') return actual === rule;
  const r = rule as Record<string, unknown>;
  if ('prefix' in r) return typeof actual === 'string' && actual.startsWith(String(r.prefix));
  if ('anything-but' in r) {
    const excluded = Array.isArray(r['anything-but']) ? r['anything-but'] : [r['anything-but']];
    return actual !== undefined && !excluded.includes(actual);
  }
  if ('exists' in r) return (actual !== undefined) === Boolean(r.exists);
  return false;
}
