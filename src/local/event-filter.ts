/**
 * Lambda event filtering, locally: the subset of the filter-pattern syntax
 * the wake's mapping uses (exact values, `prefix`, `anything-but`,
 * `exists`, nested objects, lists in the record), applied to a record as
 * Lambda would deliver it.
 */

import { WAKE_FILTER_PATTERNS } from '../runtime/wake-filter.ts';
import { toStreamRecord } from '../store/dynamodb-stream.ts';
import type { ItemChange } from '../store/store.ts';

/**
 * Whether Lambda would deliver this change to the wake, under the wake's
 * event filters ({@link WAKE_FILTER_PATTERNS}).
 *
 * @example
 * ```ts
 * passesWakeFilter({ eventName: 'INSERT', pk: 'I#inv_…', sk: 'J#00000001', newItem: {} }) // false: journal entries never wake
 * ```
 */
export function passesWakeFilter(change: ItemChange): boolean {
  const record = toStreamRecord(change);
  return WAKE_FILTER_PATTERNS.some((pattern) => matchesFilter(pattern, record));
}

/**
 * Whether a record matches one filter pattern: every field the pattern
 * names must match; a list of rules matches if any of its rules does. As in
 * Lambda (which filters as EventBridge's event-ruler does):
 *
 * - arrays in the record are crushed out: a pattern under a list attribute
 *   (`{ L: { M: { id: { S: [...] } } } }`) matches if one element matches
 *   all of it, and a rule on a list of strings matches if one string does;
 * - rules see leaf values only, so `exists` tests a leaf (`{ S: [{ exists:
 *   true }] }`), never an attribute's type wrapper, which is never a leaf;
 * - a missing field matches nothing but `{ exists: false }`.
 *
 * An operator it does not know is an error, not a silent mismatch, so the
 * plane cannot drop records that Lambda would deliver.
 *
 * @example
 * ```ts
 * matchesFilter({ eventName: ['INSERT'] }, { eventName: 'INSERT' }) // true
 * matchesFilter({ a: { b: [{ prefix: 'C#' }] } }, { a: { b: 'J#1' } }) // false
 * matchesFilter({ l: { L: { S: [{ exists: true }] } } }, { l: { L: [{ S: 'x' }] } }) // true
 * ```
 */
export function matchesFilter(pattern: Record<string, unknown>, record: unknown): boolean {
  return matchesObject(pattern, [record]);
}

/** Whether one of `nodes` (the objects at a path, arrays crushed) matches every field of `pattern`. */
function matchesObject(pattern: Record<string, unknown>, nodes: unknown[]): boolean {
  // An absent path still lets `{ exists: false }` below it match.
  const candidates = nodes.length > 0 ? nodes : [{}];
  return candidates.some((node) =>
    Object.entries(pattern).every(([field, rule]) => {
      const value =
        node !== null && typeof node === 'object' && !Array.isArray(node) ? (node as Record<string, unknown>)[field] : undefined;
      if (Array.isArray(rule)) {
        const leaves = leavesOf(value);
        return rule.some((r) => matchesRule(r, leaves));
      }
      if (rule !== null && typeof rule === 'object') return matchesObject(rule as Record<string, unknown>, objectsOf(value));
      throw new Error(`filter pattern: the value of '${field}' must be a list of rules or an object, not ${JSON.stringify(rule)}`);
    }),
  );
}

/** Leaf values at a path: a scalar, or the scalars of a (nested) array; objects are not leaves. */
function leavesOf(value: unknown): unknown[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap(leavesOf);
  return value !== null && typeof value === 'object' ? [] : [value];
}

/** Objects at a path, arrays crushed out. */
function objectsOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(objectsOf);
  return value !== null && typeof value === 'object' ? [value] : [];
}

function matchesRule(rule: unknown, leaves: unknown[]): boolean {
  if (rule === null || typeof rule !== 'object') return leaves.includes(rule);
  const r = rule as Record<string, unknown>;
  if ('prefix' in r) return leaves.some((v) => typeof v === 'string' && v.startsWith(String(r.prefix)));
  if ('anything-but' in r) {
    const excluded = Array.isArray(r['anything-but']) ? r['anything-but'] : [r['anything-but']];
    return leaves.some((v) => !excluded.includes(v));
  }
  if ('exists' in r) return leaves.length > 0 === (r.exists === true);
  throw new Error(`filter pattern: operator ${JSON.stringify(rule)} is not supported locally; add it to src/local/event-filter.ts`);
}
