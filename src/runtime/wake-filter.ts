/**
 * The wake's Lambda event filters: which stream records reach `decideWake`
 * (`./wake.ts`) at all. Pure data, shared by the CDK app (the wake's event
 * source mapping) and the local plane (its stream poller), so the two cannot
 * drift apart.
 */
import { META, journalSk } from '../store/keys.ts';
import { EVENT_SK_PREFIX } from '../store/events.ts';
import type { InvocationMeta } from '../store/store.ts';

// Attributes of `meta` the filters read: the item carries InvocationMeta's
// fields under their own names (src/store/items.ts), so a rename fails here.
const STATUS = 'status' satisfies keyof InvocationMeta;
const LOCK_SCOPE = 'lockScope' satisfies keyof InvocationMeta;
const CALLERS = 'callers' satisfies keyof InvocationMeta;
const CALLER_ID = 'invocationId' satisfies keyof NonNullable<InvocationMeta['callers']>[number];

const FINISHED = ['completed', 'failed'] satisfies InvocationMeta['status'][];
const META_KEY = { sk: { S: [META] } };

/**
 * The wake's event filters (a record passes if any matches), so that Lambda
 * drops records that cannot wake anything before the wake is billed, as
 * `decideWake` would. Only items under `meta`, `C#` (completion), `P#`
 * (durable promise), `Q#` (queued call) and `L#` (object lock) can make an
 * invocation runnable, and `E#` (an event stored under its correlation key:
 * the wake hands it to the waiters); journal entries (`J#…`), by far the most frequent
 * writes, never do. Further:
 *
 * - completions, promises, locks and queued calls matter when inserted
 *   (completions and promises are never modified: first writer wins), and
 *   locks and queued calls when modified;
 * - `meta` matters when inserted or modified to any status but `running`
 *   (an attempt acquiring its invocation wakes nothing) or finished;
 *   `anything-but` rather than a list, so a status added later is not
 *   silently dropped;
 * - a finished `meta` (completed or failed) matters only if it has an object
 *   key to hand on (`lockScope`) or callers to answer (`callers`): that is
 *   all the wake does with it, and most invocations have neither, so this
 *   saves a wake invocation per finished invocation. `exists` only tests
 *   leaves, hence the type wrappers (`S`, and `L`/`M` for the list of
 *   callers, whose elements Lambda matches one by one);
 * - removals matter only of an invocation's first journal entry (one per
 *   invocation: the other entries expire after it), when DynamoDB's TTL
 *   removed it: the wake renews the journal if the invocation still needs
 *   it (`Store.renewJournal`). Lambda filters DynamoDB records on their
 *   `dynamodb` key only, so `decideWake` tells a TTL removal (its
 *   `userIdentity`) from a purge. It shares a pattern with modified locks
 *   and queued calls: a journal entry is never modified, and a lock or a
 *   queued call never removed (a purge leaves an object key's items).
 *
 * Five patterns: Lambda's default quota of filters per event source mapping.
 *
 * @example
 * ```ts
 * new DynamoEventSource(table, { filters: WAKE_FILTER_PATTERNS.map((p) => FilterCriteria.filter(p)), startingPosition });
 * ```
 */
export const WAKE_FILTER_PATTERNS: readonly Record<string, unknown>[] = [
  {
    eventName: ['INSERT'],
    dynamodb: {
      Keys: { sk: { S: [{ prefix: 'C#' }, { prefix: 'P#' }, { prefix: 'L#' }, { prefix: 'Q#' }, { prefix: EVENT_SK_PREFIX }] } },
    },
  },
  { eventName: ['MODIFY', 'REMOVE'], dynamodb: { Keys: { sk: { S: [{ prefix: 'L#' }, { prefix: 'Q#' }, journalSk(0)] } } } },
  {
    eventName: ['INSERT', 'MODIFY'],
    dynamodb: { Keys: META_KEY, NewImage: { [STATUS]: { S: [{ 'anything-but': ['running', ...FINISHED] }] } } },
  },
  {
    eventName: ['INSERT', 'MODIFY'],
    dynamodb: { Keys: META_KEY, NewImage: { [STATUS]: { S: FINISHED }, [LOCK_SCOPE]: { S: [{ exists: true }] } } },
  },
  {
    eventName: ['INSERT', 'MODIFY'],
    dynamodb: {
      Keys: META_KEY,
      NewImage: { [STATUS]: { S: FINISHED }, [CALLERS]: { L: { M: { [CALLER_ID]: { S: [{ exists: true }] } } } } },
    },
  },
];
