/**
 * The single-table key schema shared by every store.
 *
 * | item                 | pk                    | sk                      |
 * |----------------------|-----------------------|-------------------------|
 * | invocation meta      | `I#<invocationId>`    | `meta`                  |
 * | input over 1 KiB     | `I#<invocationId>`    | `input`                 |
 * | journal entry i      | `I#<invocationId>`    | `J#<i, 8 digits>`       |
 * | completion of entry i| `I#<invocationId>`    | `C#<i, 8 digits>`       |
 * | invocation retry     | `I#<invocationId>`    | `C#r<n, 8 digits>`      |
 * | workflow promise     | `I#<runInvocationId>` | `P#<name>`              |
 * | object/workflow state| `O#<service>#<key>`   | `S#<name>`              |
 * | object key lock      | `O#<service>#<key>`   | `L#lock`                |
 * | lock grant           | `I#<invocationId>`    | `C#lock`                |
 * | cancellation request | `I#<invocationId>`    | `C#cancel`              |
 * | delayed start        | `I#<invocationId>`    | `C#start`               |
 * | step retry timer     | `I#<invocationId>`    | `C#t<i>.<attempt>.<t0>` |
 * | awakeable heartbeat  | `I#<invocationId>`    | `C#<i, 8 digits>.beat`  |
 * | heartbeat deadline   | `I#<invocationId>`    | `C#<i, 8 digits>.hb.<t>`|
 * | promise waiter       | `I#<runInvocationId>` | `waiter#<name>#<id>#<key>` |
 *
 * One partition per invocation means one strongly consistent Query loads the
 * journal with everything that completes it.
 */

/** Partition key of an invocation. @example invocationPk('inv_x') // 'I#inv_x' */
export function invocationPk(id: string): string {
  return `I#${id}`;
}

/** Invocation id from its partition key. @example invocationIdOf('I#inv_x') // 'inv_x' */
export function invocationIdOf(pk: string): string | undefined {
  return pk.startsWith('I#') ? pk.slice(2) : undefined;
}

/** Sort key of the meta item. */
export const META = 'meta';

/** Sort key of an input kept in an item of its own (sorts before `meta`, so `load`'s Query reads it). */
export const INPUT = 'input';

/** Sort key of journal entry `index`. @example journalSk(3) // 'J#00000003' */
export function journalSk(index: number): string {
  return `J#${String(index).padStart(8, '0')}`;
}

/** Completion key of the entry at `index` (awakeable, timer). @example completionKey(3) // 'C#00000003' */
export function completionKey(index: number): string {
  return `C#${String(index).padStart(8, '0')}`;
}

/** Completion key of the n-th invocation-level retry timer. @example retryKey(1) // 'C#r00000001' */
export function retryKey(n: number): string {
  return `C#r${String(n).padStart(8, '0')}`;
}

/** Whether a completion key is a retry's backoff timer. @example isRetryKey('C#r00000002') // true */
export function isRetryKey(key: string): boolean {
  return /^C#r\d{8}$/.test(key);
}

/** Key of a workflow's durable promise. @example promiseKey('review') // 'P#review' */
export function promiseKey(name: string): string {
  return `P#${name}`;
}

/** The promise name of a `P#` key; `undefined` for any other key. @example promiseNameOf('P#review') // 'review' */
export function promiseNameOf(key: string): string | undefined {
  return key.startsWith('P#') ? key.slice(2) : undefined;
}

/** Partition of an object's or workflow's state. @example stateScope('ledger', 'a') // 'O#ledger#a' */
export function stateScope(service: string, key: string): string {
  return `O#${service}#${key}`;
}

/** Sort key of a state value. @example stateSk('total') // 'S#total' */
export function stateSk(name: string): string {
  return `S#${name}`;
}

/** Whether a sort key is a completion or workflow promise. */
export function isCompletionSk(sk: string): boolean {
  return sk.startsWith('C#') || sk.startsWith('P#');
}

/** Sort key of an object key's lock item. */
export const LOCK = 'L#lock';

/** Completion key written into an invocation when it is granted its object key's lock. */
export const LOCK_GRANTED = 'C#lock';

/** Completion key of a cancellation request: every suspension also waits for it. */
export const CANCEL = 'C#cancel';

/** Completion key of a delayed start's timer. */
export const START = 'C#start';

/**
 * Key of an awakeable's last heartbeat (overwritten by each, never awaited).
 * @example heartbeatKey('C#00000003') // 'C#00000003.beat'
 */
export function heartbeatKey(awakeableKey: string): string {
  return `${awakeableKey}.beat`;
}

/**
 * Timer key of an awakeable's heartbeat deadline at `at` (epoch ms): one key
 * per deadline, so a timer for a deadline a heartbeat since moved is told
 * apart from the current one.
 * @example heartbeatDeadlineKey('C#00000003', 1700000000000) // 'C#00000003.hb.1700000000000'
 */
export function heartbeatDeadlineKey(awakeableKey: string, at: number): string {
  return `${awakeableKey}.hb.${at}`;
}

/**
 * Sort key of a shared handler's invocation waiting on a workflow promise
 * (in the run's partition, beside the promise). It sorts after `meta`, so
 * the journal load (`sk < "meta"`) never reads it; the name is URI-encoded,
 * so one promise's waiters are never another's.
 * @example promiseWaiterSk('review', { invocationId: 'inv_s', key: 'C#00000002' }) // 'waiter#review#inv_s#C#00000002'
 */
export function promiseWaiterSk(name: string, waiter: { invocationId: string; key: string }): string {
  return `${promiseWaitersPrefix(name)}${waiter.invocationId}#${waiter.key}`;
}

/** The sort-key prefix of one promise's waiters. @example promiseWaitersPrefix('a#b') // 'waiter#a%23b#' */
export function promiseWaitersPrefix(name: string): string {
  return `waiter#${encodeURIComponent(name)}#`;
}

/**
 * The list index: a sparse, keys-only global secondary index over `meta`
 * items only (no other item carries its keys), written once when the
 * invocation is created and never again (no later update of `meta` touches
 * its keys, and keys-only projects nothing else). See docs/table.md, "List index".
 */
export const LIST_INDEX = 'list';

/** Partition key attribute of the list index (on `meta` only). */
export const LIST_PK = 'lpk';

/** Sort key attribute of the list index (on `meta` only). */
export const LIST_SK = 'lsk';

/**
 * How many index partitions one service's invocations are spread over (by a
 * hash of the id), so one busy service's starts never meet the per-partition
 * write limit of the index (1,000 units a second each) and throttle the
 * table through index back-pressure. Fixed: changing it would hide rows
 * already written under the other spread.
 */
export const LIST_BUCKETS = 4;

/**
 * The list index partition of an invocation: its service and a bucket from
 * the id's hash.
 *
 * @example
 * ```ts
 * listPartition('greeter', 'inv_1a2b…') // 'greeter#2'
 * ```
 */
export function listPartition(service: string, id: string): string {
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) >>> 0;
  return `${service}#${hash % LIST_BUCKETS}`;
}

/**
 * An invocation's place in the list index: its creation time (epoch ms,
 * 15 digits so text order is time order) and its id (ties).
 *
 * @example
 * ```ts
 * listPosition(1765152000000, 'inv_x') // '001765152000000#inv_x'
 * ```
 */
export function listPosition(createdAt: number, id: string): string {
  return `${String(Math.max(0, Math.floor(createdAt))).padStart(15, '0')}#${id}`;
}
