/**
 * Changes of the table, read as what they mean. A backend reports raw item
 * changes (`ItemChange`, the shape of a DynamoDB stream record) through a
 * {@link ChangeFeed}; {@link decodeChange} turns one into a typed change (an
 * invocation's `meta` with its old and new state, a completion written, an
 * object lock handed on, …), so the item formats stay inside the store and
 * the wake rule reads types, not attributes.
 */
import { LOCK, META, invocationIdOf, isCompletionSk } from './keys.ts';
import { itemToCompletion, itemToEntry, itemToLock, itemToMeta } from './items.ts';
import type { Completion, InvocationMeta, ItemChange, JournalEntry, ObjectLock } from './store.ts';
import { isEventKey, itemToEvent, type StoredEvent } from './events.ts';

/**
 * A source of the table's item changes, in write order per item, with both
 * images: what a DynamoDB stream is to the DynamoDB store. The in-memory
 * store reports its writes as they happen; the local plane's stream poller
 * reports the records it reads from DynamoDB Local's stream. A second
 * backend provides its own (an outbox table, a log) and the wake rule runs
 * on it unchanged.
 *
 * @example
 * ```ts
 * const stop = feed.onChange((change) => {
 *   const c = decodeChange(change);
 *   if (c.kind === 'meta' && c.meta.status === 'suspended') console.log(c.meta.id, 'awaits', c.meta.awaiting);
 * });
 * stop();
 * ```
 */
export interface ChangeFeed {
  /** Calls `listener` with every change from now on; returns a function that stops it. */
  onChange(listener: (change: ItemChange) => void): () => void;
}

/** The keys of a changed item, and whether it was inserted or modified. */
interface Written {
  event: 'INSERT' | 'MODIFY';
  pk: string;
  sk: string;
}

/**
 * One item change, decoded.
 *
 * - `meta`: an invocation's `meta` inserted or updated; `old` is its state
 *   before (absent on insert).
 * - `completion`: a completion (`C#…`) or workflow promise (`P#…`) of an
 *   invocation; `event` says whether it was written first (`INSERT`, the
 *   only one that wakes) or overwritten (a heartbeat moving on).
 * - `lock`: an object key's lock taken, queued for, handed on or released.
 * - `entry`: a journal entry appended.
 * - `event`: an event stored under a correlation key (`INSERT`: its first
 *   delivery, which the wake relays to the waiters).
 * - `removed`: an item deleted (TTL expiry); nothing wakes on it.
 * - `other`: anything else (state values, writes without a new image).
 *
 * @example
 * ```ts
 * const c: StoreChange = { kind: 'completion', event: 'INSERT', pk: 'I#inv_…', sk: 'C#00000002', invocationId: 'inv_…', completion: { key: 'C#00000002', value: '"ok"', at: 0 } };
 * ```
 */
export type StoreChange =
  | (Written & { kind: 'meta'; meta: InvocationMeta; old: InvocationMeta | undefined })
  | (Written & { kind: 'completion'; invocationId: string; completion: Completion })
  | (Written & { kind: 'lock'; scope: string; lock: ObjectLock; old: ObjectLock | undefined })
  | (Written & { kind: 'entry'; invocationId: string; entry: JournalEntry })
  | (Written & { kind: 'event'; stored: StoredEvent })
  | { kind: 'removed'; event: 'REMOVE'; pk: string; sk: string }
  | { kind: 'other'; event: ItemChange['eventName']; pk: string; sk: string };

/**
 * What an item change means, by its keys: the item formats of `./items.ts`
 * read back into the port's types.
 *
 * @example
 * ```ts
 * const c = decodeChange({ eventName: 'MODIFY', pk: 'I#inv_x', sk: 'meta', oldItem, newItem });
 * if (c.kind === 'meta' && c.old?.status !== c.meta.status) console.log(`${c.meta.id} is ${c.meta.status}`);
 * ```
 */
export function decodeChange(change: ItemChange): StoreChange {
  const { eventName: event, pk, sk, newItem, oldItem } = change;
  if (event === 'REMOVE') return { kind: 'removed', event, pk, sk };
  if (!newItem) return { kind: 'other', event, pk, sk };
  // An object key's lock lives in the key's own partition (`O#…`).
  if (sk === LOCK) return { kind: 'lock', event, pk, sk, scope: pk, lock: itemToLock(newItem), old: oldItem && itemToLock(oldItem) };
  if (isEventKey(pk, sk)) return { kind: 'event', event, pk, sk, stored: itemToEvent(newItem) };
  const invocationId = invocationIdOf(pk);
  if (!invocationId) return { kind: 'other', event, pk, sk };
  if (sk === META) return { kind: 'meta', event, pk, sk, meta: itemToMeta(newItem), old: oldItem && itemToMeta(oldItem) };
  if (isCompletionSk(sk)) return { kind: 'completion', event, pk, sk, invocationId, completion: itemToCompletion(newItem) };
  if (sk.startsWith('J#')) {
    const { ttl: _ttl, ...entry } = newItem; // the store's own, as in load
    return { kind: 'entry', event, pk, sk, invocationId, entry: itemToEntry(entry) };
  }
  return { kind: 'other', event, pk, sk };
}
