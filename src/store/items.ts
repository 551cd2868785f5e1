/**
 * The item shapes of the table, shared by every store and by the wake rule
 * (which reads stream images). Items are plain objects, as `unmarshall` gives
 * them; absent fields are left out rather than stored as null.
 */
import { JOURNAL_TAIL_MARGIN_SECONDS, type Completion, type InvocationMeta, type JournalEntry, type ObjectLock } from './store.ts';
import { createHash } from 'node:crypto';
import { INPUT, LIST_PK, LIST_SK, META, invocationIdOf, invocationPk, journalSk, listPartition, listPosition } from './keys.ts';
import { payloadBytes } from './limits.ts';
import type { Failure } from '../api/errors.ts';

/** A table item. */
export type Item = Record<string, unknown>;

function compact(item: Item): Item {
  for (const k of Object.keys(item)) if (item[k] === undefined) delete item[k];
  return item;
}

/**
 * The `meta` item of an invocation, with the list index's keys (derived from
 * its service, creation time and id, so they never change once written).
 *
 * @example
 * ```ts
 * metaToItem(meta).sk // 'meta'
 * metaToItem(meta).lpk // 'greeter#2'
 * ```
 */
export function metaToItem(meta: InvocationMeta): Item {
  const { id, ...rest } = meta;
  return compact({ pk: invocationPk(id), sk: META, ...rest, ...listKeys(meta) });
}

/**
 * The list index's keys of an invocation (`docs/table.md`, "List index").
 *
 * @example
 * ```ts
 * listKeys({ id: 'inv_x', service: 'greeter', createdAt: 1765152000000 }) // { lpk: 'greeter#…', lsk: '001765152000000#inv_x' }
 * ```
 */
export function listKeys(meta: Pick<InvocationMeta, 'id' | 'service' | 'createdAt'>): { [LIST_PK]: string; [LIST_SK]: string } {
  return { [LIST_PK]: listPartition(meta.service, meta.id), [LIST_SK]: listPosition(meta.createdAt, meta.id) };
}

/**
 * Largest input kept on `meta`, in bytes. A larger one goes to an item of
 * its own, so that `meta` stays within one read unit (4 KB, strongly
 * consistent) and a poll of a waiting call, a status or an acquire costs
 * the same for a 100-byte and a 128 KB input.
 */
export const INLINE_INPUT_MAX_BYTES = 1024;

/**
 * The items of a new invocation: its `meta` and, for an input over
 * {@link INLINE_INPUT_MAX_BYTES}, an `input` item beside it (then `meta`
 * carries the input's SHA-256 instead).
 *
 * @example
 * ```ts
 * const [meta, input] = newInvocationItems(m); // input is undefined for a small input
 * ```
 */
export function newInvocationItems(meta: InvocationMeta): [Item, Item | undefined] {
  const input = meta.input ?? '';
  if (payloadBytes(input) <= INLINE_INPUT_MAX_BYTES) return [metaToItem(meta), undefined];
  const item = metaToItem({ ...meta, input: undefined, inputSha256: inputSha256(input) });
  return [item, { pk: item.pk, sk: INPUT, input }];
}

/**
 * The digest a `meta` keeps of an input that lives in its own item.
 *
 * @example
 * ```ts
 * inputSha256('{"title":"Q3"}') // 43 base64url characters
 * ```
 */
export function inputSha256(input: string): string {
  return createHash('sha256').update(input, 'utf8').digest('base64url');
}

/**
 * Whether a request body is the input an invocation was started with
 * (kept on `meta`, or in its own item and compared by digest).
 *
 * @example
 * ```ts
 * sameInput(existing, req.body) // an Idempotency-Key retried with the same body
 * ```
 */
export function sameInput(meta: Pick<InvocationMeta, 'input' | 'inputSha256'>, body: string): boolean {
  return meta.input !== undefined ? meta.input === body : meta.inputSha256 === inputSha256(body);
}

/** An invocation's meta from its item. @example itemToMeta(metaToItem(meta)).id === meta.id */
export function itemToMeta(item: Item): InvocationMeta {
  const { pk, sk: _sk, [LIST_PK]: _lpk, [LIST_SK]: _lsk, ...rest } = item;
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

/**
 * When journal entry `index` expires (epoch seconds): `ttlSeconds` after it
 * was written, and the entries after the first {@link JOURNAL_TAIL_MARGIN_SECONDS}
 * later still, so the first one always goes first (`Store.renewJournal`).
 *
 * @example
 * ```ts
 * journalExpiry(0, Date.now(), DEFAULT_JOURNAL_TTL_SECONDS) // 30 days from now
 * ```
 */
export function journalExpiry(index: number, writtenAtMs: number, ttlSeconds: number): number {
  return Math.floor(writtenAtMs / 1000) + ttlSeconds + (index === 0 ? 0 : JOURNAL_TAIL_MARGIN_SECONDS);
}
