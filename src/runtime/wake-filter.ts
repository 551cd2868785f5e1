/**
 * The wake's Lambda event filters: which stream records reach `decideWake`
 * (`./wake.ts`) at all. Pure data, shared by the CDK app (the wake's event
 * source mapping) and the local plane (its stream poller), so the two cannot
 * drift apart.
 */

/**
 * The wake's event filters (a record passes if any matches), so that Lambda
 * drops records that cannot wake anything before the wake is billed, as
 * `decideWake` would. Only items under `meta`, `C#` (completion), `P#`
 * (durable promise), `Q#` (queued call) and `L#` (object lock) can make an
 * invocation runnable; journal entries (`J#…`), by far the most frequent
 * writes, never do. Further:
 *
 * - completions and promises matter when inserted (first writer wins; they
 *   are never modified);
 * - locks and queued calls matter when inserted or modified;
 * - `meta` matters when inserted or modified to any status but `running`
 *   (an attempt acquiring its invocation wakes nothing); `anything-but`
 *   rather than a list, so a status added later is not silently dropped;
 * - removals (TTL expiry) never matter.
 *
 * @example
 * ```ts
 * new DynamoEventSource(table, { filters: WAKE_FILTER_PATTERNS.map((p) => FilterCriteria.filter(p)), startingPosition });
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
