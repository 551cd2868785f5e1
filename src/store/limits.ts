/**
 * Size limits. A DynamoDB item holds at most 400 KB; an invocation's `meta`
 * item carries its input and, once done, its output, so each payload is held
 * to a quarter of that. Larger payloads are refused with an error that names
 * the limit, before anything is written, so nothing is lost later.
 */
import { TerminalError } from '../api/errors.ts';

/** Largest serialized payload (input, output, step result, completion value), in bytes. */
export const MAX_PAYLOAD_BYTES = 128 * 1024;

/**
 * The size of a payload in bytes, as stored.
 *
 * @example
 * ```ts
 * payloadBytes('"é"') // 4
 * ```
 */
export function payloadBytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * DynamoDB's item size limit: 400 KB, attribute names included.
 *
 * @example
 * ```ts
 * itemBytes(item) <= MAX_ITEM_BYTES // what assertItemFits checks
 * ```
 */
export const MAX_ITEM_BYTES = 400 * 1024;

/**
 * An item DynamoDB would refuse, refused before anything was written: too
 * large ({@link PayloadTooLargeError}) or with a key too long
 * ({@link KeyTooLongError}). Terminal: writing it again cannot succeed, so
 * the engine fails the invocation at once instead of retrying, and nothing
 * is lost: the caller learns it at once, and the table is unchanged.
 *
 * @example
 * ```ts
 * try { await store.writeState(scope, name, value, fence); }
 * catch (e) { if (e instanceof ItemRefusedError) console.error(e.message); }
 * ```
 */
export class ItemRefusedError extends TerminalError {
  override name = 'ItemRefusedError';
}

/**
 * An item was refused before anything was written because it would not fit
 * in one DynamoDB item. Terminal: writing it again cannot succeed. Nothing is
 * lost: the caller learns it at once, and the table is unchanged.
 *
 * @example
 * ```ts
 * try { await store.append(id, entry); }
 * catch (e) { if (e instanceof PayloadTooLargeError) console.error(e.size, '>', e.limit, e.what); }
 * ```
 */
export class PayloadTooLargeError extends ItemRefusedError {
  override name = 'PayloadTooLargeError';
  constructor(
    /** The invocation (or state scope) the item belongs to. */
    readonly invocationId: string,
    /** What was being written, e.g. `journal entry 3 (run 'charge')`. */
    readonly what: string,
    /** The item's size in bytes, as DynamoDB counts it. */
    readonly size: number,
    /** The limit it exceeds, in bytes. */
    readonly limit: number = MAX_ITEM_BYTES,
  ) {
    super(
      `${what} of ${invocationId} is ${size} bytes, over DynamoDB's ${limit}-byte item limit; nothing was written. ` +
        'Keep large data elsewhere (e.g. S3) and journal a reference',
      { code: 413 },
    );
  }
}

/**
 * The size of a plain item as DynamoDB counts it: attribute names plus
 * values, strings in UTF-8, numbers at one byte per two digits plus one,
 * lists and maps at three bytes plus one per element. Undefined attributes
 * are not stored and not counted.
 *
 * @example
 * ```ts
 * itemBytes({ pk: 'I#inv_x', sk: 'J#00000000', value: '"ok"' }) // 30
 * ```
 */
export function itemBytes(item: Record<string, unknown>): number {
  let total = 0;
  // for…in, not Object.entries: no [name, value] pair per attribute on every write.
  for (const name in item) {
    const value = item[name];
    if (value === undefined) continue;
    total += payloadBytes(name) + valueBytes(value);
  }
  return total;
}

function valueBytes(value: unknown): number {
  if (typeof value === 'string') return payloadBytes(value);
  if (typeof value === 'number' || typeof value === 'bigint') {
    const digits = String(value).replace(/^-/, '').replace('.', '').replace(/^0+/, '').length;
    return Math.ceil(Math.max(digits, 1) / 2) + 1;
  }
  if (typeof value === 'boolean' || value === null) return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) return 3 + value.reduce<number>((sum, v) => sum + 1 + (v === undefined ? 0 : valueBytes(v)), 0);
  if (value instanceof Set) return [...(value as Set<unknown>)].reduce<number>((sum, v) => sum + valueBytes(v), 0);
  if (typeof value === 'object') return 3 + Object.keys(value).length + itemBytes(value as Record<string, unknown>);
  return 0;
}

/**
 * Refuses an item that would not fit in one DynamoDB item, before anything
 * is written. The error names the item (`journal entry 3 (run 'charge')`,
 * `completion C#00000002`, `state 'total'`, `invocation meta`) and whose it is.
 *
 * @example
 * ```ts
 * assertItemFits(entryToItem(id, entry)); // throws PayloadTooLargeError over 400 KB
 * ```
 */
export function assertItemFits(item: Record<string, unknown>): void {
  assertKeysFit(String(item.pk), String(item.sk));
  const size = itemBytes(item);
  if (size <= MAX_ITEM_BYTES) return;
  const pk = String(item.pk);
  const sk = String(item.sk);
  throw new PayloadTooLargeError(pk.startsWith('I#') ? pk.slice(2) : pk, describeItem(sk, item), size);
}

function describeItem(sk: string, item: Record<string, unknown>): string {
  if (sk === 'meta') return 'invocation meta';
  if (sk.startsWith('J#'))
    return `journal entry ${Number(sk.slice(2))} (${String(item.kind)}${item.name === undefined ? '' : ` '${String(item.name)}'`})`;
  if (sk.startsWith('C#') || sk.startsWith('P#')) return `completion ${sk}`;
  if (sk.startsWith('S#')) return `state '${sk.slice(2)}'`;
  return `item ${sk}`;
}

/** DynamoDB's limit on a partition key value, in bytes. */
export const MAX_PARTITION_KEY_BYTES = 2048;

/** DynamoDB's limit on a sort key value, in bytes. */
export const MAX_SORT_KEY_BYTES = 1024;

/**
 * Largest object or workflow key, in UTF-8 bytes. Its state partition
 * `O#<service>#<key>` (a service name has at most 128 characters) stays far
 * below DynamoDB's 2,048-byte partition key limit.
 */
export const MAX_OBJECT_KEY_BYTES = 1024;

/** Largest `Idempotency-Key`, in UTF-8 bytes (it is hashed into the id, and kept on `meta`). */
export const MAX_IDEMPOTENCY_KEY_BYTES = 1024;

/**
 * Largest state key or durable promise name, in UTF-8 bytes: its sort key
 * (`S#<name>`, `P#<name>`) stays within DynamoDB's 1,024 bytes.
 */
export const MAX_NAME_BYTES = MAX_SORT_KEY_BYTES - 2;

/**
 * A key or name longer than the table can hold, refused before anything was
 * written (DynamoDB itself would refuse the request, and a record that cannot
 * be written would fail every retry). Code 400.
 *
 * @example
 * ```ts
 * try { checkKeyBytes('object key', key, MAX_OBJECT_KEY_BYTES); }
 * catch (e) { if (e instanceof KeyTooLongError) console.error(e.bytes, '>', e.limit); }
 * ```
 */
export class KeyTooLongError extends ItemRefusedError {
  override name = 'KeyTooLongError';
  constructor(
    /** What the key is: `object key`, `state key`, `Idempotency-Key`… */
    readonly what: string,
    /** Its length in UTF-8 bytes. */
    readonly bytes: number,
    /** The limit, in bytes. */
    readonly limit: number,
  ) {
    super(
      `the ${what} is ${bytes} bytes (UTF-8), over the ${limit}-byte limit; nothing was written. Use a shorter one (e.g. a hash of it)`,
      {
        code: 400,
      },
    );
  }
}

/**
 * Refuses a key or name over `limit` UTF-8 bytes with a {@link KeyTooLongError}.
 *
 * @example
 * ```ts
 * checkKeyBytes('object key', 'contract-42', MAX_OBJECT_KEY_BYTES); // fine
 * checkKeyBytes('object key', 'x'.repeat(3000), MAX_OBJECT_KEY_BYTES); // throws KeyTooLongError
 * ```
 */
export function checkKeyBytes(what: string, value: string, limit: number): void {
  const bytes = payloadBytes(value);
  if (bytes > limit) throw new KeyTooLongError(what, bytes, limit);
}

/**
 * Refuses an item whose keys DynamoDB would refuse (partition key over
 * 2,048 bytes, sort key over 1,024), before any request is sent.
 *
 * @example
 * ```ts
 * assertKeysFit('O#ledger#alice', 'S#total'); // fine
 * ```
 */
export function assertKeysFit(pk: string, sk: string): void {
  checkKeyBytes('partition key', pk, MAX_PARTITION_KEY_BYTES);
  checkKeyBytes(sk.startsWith('S#') ? 'state key' : sk.startsWith('P#') ? 'durable promise name' : 'sort key', sk, MAX_SORT_KEY_BYTES);
}

/**
 * How many calls may wait for one object key (exclusive handlers run one at
 * a time per key). A call past it is refused with 429 before anything is
 * written, so a flood on one key cannot grow its lock item without bound.
 */
export const MAX_LOCK_QUEUE = 1_000;

/**
 * What the lock item itself refuses to hold, whatever the caller checked:
 * four times {@link MAX_LOCK_QUEUE}, about 280 KB of waiters, inside
 * DynamoDB's 400 KB item limit. Only concurrent starts that all read a
 * queue just under the limit can pass {@link MAX_LOCK_QUEUE}.
 */
export const MAX_STORED_LOCK_WAITERS = 4 * MAX_LOCK_QUEUE;

/**
 * An object key's queue is full: the call was not queued. Code 429.
 *
 * @example
 * ```ts
 * try { await store.enqueueLock(scope, id, order); }
 * catch (e) { if (e instanceof LockQueueFullError) console.error(e.scope, e.limit); }
 * ```
 */
export class LockQueueFullError extends ItemRefusedError {
  override name = 'LockQueueFullError';
  constructor(
    /** The key's state partition (`O#<service>#<key>`). */
    readonly scope: string,
    /** How many may wait. */
    readonly limit: number,
  ) {
    super(`${limit} calls already wait for this object key; try again once some have run`, { code: 429 });
  }
}
