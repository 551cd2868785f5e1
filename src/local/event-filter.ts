/**
 * Lambda event filtering, locally: the subset of the filter-pattern syntax
 * the wake's mapping uses (exact values, `prefix`, `anything-but`,
 * `exists`, nested objects), applied to a record as Lambda would deliver it.
 */

// The plane applies the wake's filters as the CDK mapping does; they live
// beside the wake rule (src/runtime/wake-filter.ts).
export { WAKE_FILTER_PATTERNS } from '../runtime/wake-filter.ts';

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
