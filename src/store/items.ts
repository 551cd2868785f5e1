/**
 * The item shapes of the table, shared by every store and by the wake rule
 * (which reads stream images). Items are plain objects, as `unmarshall` gives
 * them; absent fields are left out rather than stored as null.
 */
import type { Completion, InvocationMeta, JournalEntry, ObjectLock } from './store.ts';
import { META, invocationIdOf, invocationPk, journalSk } from './keys.ts';
import type { Failure } from '../api/errors.ts';

/** A table item. */
export type Item = Record<string, unknown>;

function compact(item: Item): Item {
  for (const k of Object.keys(item)) if (item[k] === undefined) delete item[k];
  return item;
}

/** The `meta` item of an invocation. @example metaToItem(meta).sk // 'meta' */
export function metaToItem(meta: InvocationMeta): Item {
  const { id, ...rest } = meta;
  return compact({ pk: invocationPk(id), sk: META, ...rest });
}

/** An invocation's meta from its item. @example itemToMeta(metaToItem(meta)).id === meta.id */
export function itemToMeta(item: Item): InvocationMeta {
  const { pk, sk: _sk, ...rest } = item;
  return { id: invocationIdOf(String(pk)) ?? String(pk), ...(rest as Omit<InvocationMeta, 'id'>) };
}

/** A journal entry's item. @example entryToItem('inv_x', e).sk // 'J#00000000' */
export function entryToItem(invocationId: string, entry: JournalEntry): Item {
  return compact({ pk: invocationPk(invocationId), sk: journalSk(entry.index), ...entry });
}

/** A journal entry from its item. */
export function itemToEntry(item: Item): JournalEntry {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as unknown as JournalEntry;
}

/** A completion's item. @example completionToItem('inv_x', c).sk === c.key */
export function completionToItem(invocationId: string, completion: Completion): Item {
  const { key, ...rest } = completion;
  return compact({ pk: invocationPk(invocationId), sk: key, ...rest });
}

/** A completion from its item. */
export function itemToCompletion(item: Item): Completion {
  const { pk: _pk, sk, ...rest } = item;
  return { key: String(sk), ...(rest as { value?: string; failure?: Failure; at: number; ttl?: number }) };
}

/**
 * An object key's lock from its item: nobody waiting and no grant yet read
 * as an empty queue and sequence number 0.
 *
 * @example
 * ```ts
 * itemToLock({ pk: 'O#ledger#a', sk: 'L#lock', holder: 'inv_a', seq: 2 }) // { holder: 'inv_a', seq: 2, waiting: {} }
 * ```
 */
export function itemToLock(item: Item): ObjectLock {
  return {
    holder: typeof item.holder === 'string' ? item.holder : undefined,
    seq: Number(item.seq ?? 0),
    waiting: (item.waiting ?? {}) as Record<string, string>,
  };
}
