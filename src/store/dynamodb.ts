/**
 * The DynamoDB store: the `Store` port on one table, with every race guarded
 * by a condition expression inside a single request, and every request
 * reporting the capacity it consumed. The key schema and the access patterns
 * with their costs are in `docs/table.md`.
 *
 * Items are the plain objects of `./items.ts`, marshalled as they are, so a
 * stream image unmarshalled here is the same object the in-memory store emits
 * and the wake rule reads both alike.
 */
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type AttributeValue,
  type ConsumedCapacity,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type TableDescription,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import {
  EVENT_SK_PREFIX,
  EVENT_WAITER_SK_PREFIX,
  eventToItem,
  eventWaiterToItem,
  itemToEvent,
  itemToEventWaiter,
  type EventWaiter,
  type StoredEvent,
} from './events.ts';
import { ensureError, type Failure } from '../api/errors.ts';
import type {
  CompleteResult,
  Completion,
  InvocationMeta,
  InvocationStatus,
  JournalEntry,
  ListIndexQuery,
  ListIndexRow,
  LoadedInvocation,
  ObjectLock,
  PromiseWaiter,
  Store,
  SuspendOptions,
  AcquireOptions,
  UnpinResult,
} from './store.ts';
import { DEFAULT_JOURNAL_TTL_SECONDS, JOURNAL_TAIL_MARGIN_SECONDS } from './store.ts';

export { DEFAULT_JOURNAL_TTL_SECONDS };
import {
  INPUT,
  LIST_BUCKETS,
  LIST_INDEX,
  LIST_PK,
  LIST_SK,
  LOCK,
  META,
  invocationIdOf,
  invocationPk,
  isCompletionSk,
  journalSk,
  promiseWaiterSk,
  promiseWaitersPrefix,
  stateScope,
  stateSk,
} from './keys.ts';
import {
  completionToItem,
  entryToItem,
  itemToCompletion,
  itemToEntry,
  itemToLock,
  itemToMeta,
  journalExpiry,
  listKeys,
  newInvocationItems,
  type Item,
} from './items.ts';
import {
  LockQueueFullError,
  MAX_ITEM_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_STORED_LOCK_WAITERS,
  PayloadTooLargeError,
  assertItemFits,
  assertKeysFit,
  itemBytes,
} from './limits.ts';

/**
 * The store operations, as named in capacity reports.
 *
 * @example
 * ```ts
 * const op: StoreOperation = 'append';
 * ```
 */
export type StoreOperation =
  | 'createInvocation'
  | 'getInvocation'
  | 'listIndex'
  | 'getInvocations'
  | 'acquire'
  | 'unpin'
  | 'load'
  | 'hasJournal'
  | 'append'
  | 'suspend'
  | 'release'
  | 'finish'
  | 'complete'
  | 'heartbeat'
  | 'addCaller'
  | 'kill'
  | 'getCompletion'
  | 'getEntry'
  | 'renewJournal'
  | 'addPromiseWaiter'
  | 'promiseWaiters'
  | 'putEvent'
  | 'findEvents'
  | 'addEventWaiter'
  | 'eventWaiters'
  | 'existingCompletions'
  | 'readState'
  | 'writeState'
  | 'enqueueLock'
  | 'releaseLock'
  | 'grantLock'
  | 'readLock'
  | 'purge';

/**
 * Request units one DynamoDB request consumed.
 *
 * @example
 * ```ts
 * const units: CapacityUnits = { read: 0, write: 1 }; // one journal entry up to 1 KB
 * ```
 */
export interface CapacityUnits {
  read: number;
  write: number;
}

/**
 * Options of {@link DynamoDbStore}.
 *
 * @example
 * ```ts
 * const options: DynamoDbStoreOptions = { client: new DynamoDBClient({}), tableName: process.env.DORMANT_TABLE! };
 * ```
 */
export interface DynamoDbStoreOptions {
  /** A configured client (it honours `AWS_ENDPOINT_URL`); the store never creates one. */
  client: DynamoDBClient;
  tableName: string;
  /**
   * Called after every request with the units it consumed. A lost condition
   * is reported too: DynamoDB charges for it but does not say how much, so
   * the store reports the minimum (one write unit, or the size of the item
   * it lost to when that came back).
   */
  onCapacity?: (operation: StoreOperation, units: CapacityUnits) => void;
  /**
   * Expiry of journal entries, in seconds after they are written (the
   * entries after the first `JOURNAL_TAIL_MARGIN_SECONDS` later). The wake
   * renews a journal whose first entry expires while its invocation still
   * needs it (`renewJournal`), so this sets how often a long-lived
   * invocation pays a renewal, not how long it may wait. Completions,
   * promises and large inputs keep {@link COMPLETION_TTL_SECONDS}. Default
   * 30 days (`DEFAULT_JOURNAL_TTL_SECONDS`).
   */
  journalTtlSeconds?: number;
}

/**
 * A DynamoDB request failed for a reason other than a lost condition
 * (throttling past the SDK's retries, a missing table, access denied…).
 * Names the operation, the invocation (or state scope) and the table.
 *
 * @example
 * ```ts
 * try { await store.load(id); } catch (e) { if (e instanceof StoreError) console.error(e.operation, e.target, e.cause); }
 * ```
 */
export class StoreError extends Error {
  override name = 'StoreError';
  constructor(
    readonly operation: StoreOperation,
    /** The invocation id, or the state scope. */
    readonly target: string,
    readonly tableName: string,
    cause: unknown,
  ) {
    super(`DynamoDB ${operation} of ${target} on table ${tableName} failed: ${ensureError(cause).name}: ${ensureError(cause).message}`, {
      cause,
    });
  }
}

/**
 * Expiry of completions, promises and large inputs, in seconds after they are
 * written: they may be written before their invocation's journal exists (a
 * workflow's promise, a queued call's input), so they keep the long expiry
 * of earlier releases; `renewJournal` raises them with the journal.
 *
 * @example
 * ```ts
 * const ttl = Math.floor(Date.now() / 1000) + COMPLETION_TTL_SECONDS;
 * ```
 */
export const COMPLETION_TTL_SECONDS = 365 * 24 * 3600;

/**
 * What an UpdateItem on `meta` cannot see but the item holds: the input (the
 * ingress refuses more than `MAX_PAYLOAD_BYTES`) and small fixed fields. An
 * update is refused when what it sets plus this reserve would pass 400 KB.
 */
const META_RESERVE_BYTES = MAX_PAYLOAD_BYTES + 8 * 1024;

/** List index partitions read at once. */
const LIST_FAN_OUT = 16;
/** BatchGetItem takes at most 100 keys per request. */
const BATCH_GET_LIMIT = 100;
/** BatchWriteItem takes at most 25 requests. */
const BATCH_WRITE_LIMIT = 25;
const UNPROCESSED_RETRIES = 8;
/** Take-or-queue rounds before giving up on an object lock that keeps changing. */
const LOCK_ROUNDS = 8;

type Conditional<O> = { ok: true; output: O } | { ok: false; existing: Item | undefined };

/**
 * The `Store` port on a DynamoDB table (see `tableDefinition` for its shape).
 *
 * @example
 * ```ts
 * const client = new DynamoDBClient({});
 * await ensureTable(client, 'dormant');
 * const store = new DynamoDbStore({ client, tableName: 'dormant', onCapacity: (op, u) => console.log(op, u) });
 * const meta = await store.acquire('inv_…', { seenEpoch: 0, now: Date.now(), leaseMs: 900_000 });
 * ```
 */
export class DynamoDbStore implements Store {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #onCapacity: DynamoDbStoreOptions['onCapacity'];
  readonly #journalTtlSeconds: number;

  constructor(options: DynamoDbStoreOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#onCapacity = options.onCapacity;
    this.#journalTtlSeconds = options.journalTtlSeconds ?? DEFAULT_JOURNAL_TTL_SECONDS;
  }

  /** The table this store writes to. */
  get tableName(): string {
    return this.#table;
  }

  async createInvocation(meta: InvocationMeta): Promise<{ created: true } | { created: false; existing: InvocationMeta }> {
    const [item, inputItem] = newInvocationItems(meta);
    assertItemFits(item);
    if (inputItem) return this.#createWithInput(meta, item, { ...inputItem, ttl: this.#expiry(meta.createdAt) });
    const result = await this.#put('createInvocation', meta.id, item);
    if (result.ok) return { created: true };
    if (result.existing) return { created: false, existing: itemToMeta(result.existing) };
    // DynamoDB always returns ALL_OLD on a lost attribute_not_exists; this is a guard.
    const existing = await this.getInvocation(meta.id);
    if (!existing) throw new StoreError('createInvocation', meta.id, this.#table, new Error('the condition failed but no item exists'));
    return { created: false, existing };
  }

  /**
   * A new invocation whose input lives in an item of its own: both items in
   * one transaction, so there is never a `meta` without its input (an
   * attempt could not run it) nor a second submit's input under the first's
   * `meta`. The input item is written unconditionally: a stale one (its
   * `meta` expired) is replaced, and a lost `meta` condition cancels both.
   */
  async #createWithInput(
    meta: InvocationMeta,
    item: Item,
    inputItem: Item,
  ): Promise<{ created: true } | { created: false; existing: InvocationMeta }> {
    assertItemFits(inputItem);
    try {
      const out = await this.#client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.#table,
                Item: marshall(item, { removeUndefinedValues: true }),
                ConditionExpression: 'attribute_not_exists(#pk)',
                ExpressionAttributeNames: { '#pk': 'pk' },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            { Put: { TableName: this.#table, Item: marshall(inputItem, { removeUndefinedValues: true }) } },
          ],
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.#report('createInvocation', 'write', out.ConsumedCapacity);
      return { created: true };
    } catch (error) {
      const reasons = (error as { name?: string; CancellationReasons?: { Code?: string; Item?: Record<string, AttributeValue> }[] })
        .CancellationReasons;
      if ((error as { name?: string }).name !== 'TransactionCanceledException' || reasons?.[0]?.Code !== 'ConditionalCheckFailed') {
        throw new StoreError('createInvocation', meta.id, this.#table, error);
      }
      this.#onCapacity?.('createInvocation', { read: 0, write: 1 });
      const existing = reasons[0].Item ? itemToMeta(unmarshall(reasons[0].Item)) : await this.getInvocation(meta.id);
      if (!existing) throw new StoreError('createInvocation', meta.id, this.#table, new Error('the condition failed but no item exists'));
      return { created: false, existing };
    }
  }

  async getInvocation(id: string): Promise<InvocationMeta | undefined> {
    const item = await this.#get('getInvocation', id, invocationPk(id), META);
    return item && itemToMeta(item);
  }

  async listIndex(query: ListIndexQuery): Promise<{ rows: ListIndexRow[]; more: boolean }> {
    const lo = `${String(Math.max(0, query.since ?? 0)).padStart(15, '0')}#`;
    const until = query.until === undefined ? undefined : `${String(Math.max(0, query.until)).padStart(15, '0')}#~`;
    const hi = [until, query.before].filter((p): p is string => p !== undefined).sort()[0] ?? '~';
    const partitions = query.services.flatMap((service) => Array.from({ length: LIST_BUCKETS }, (_, b) => `${service}#${b}`));
    const rows: ListIndexRow[] = [];
    let more = false;
    // A few partitions at a time: every one is read for each page, newest first, and merged.
    for (let i = 0; i < partitions.length; i += LIST_FAN_OUT) {
      const pages = await Promise.all(partitions.slice(i, i + LIST_FAN_OUT).map((p) => this.#listPartition(p, lo, hi, query.limit + 1)));
      for (const page of pages) {
        more ||= page.more;
        rows.push(...page.rows.filter((row) => query.before === undefined || row.position < query.before));
      }
    }
    rows.sort((a, b) => (a.position < b.position ? 1 : a.position > b.position ? -1 : 0));
    return { rows: rows.slice(0, query.limit), more: more || rows.length > query.limit };
  }

  /** One index partition, newest first, from `hi` down to `lo` (both inclusive): at most `limit` rows. */
  async #listPartition(partition: string, lo: string, hi: string, limit: number): Promise<{ rows: ListIndexRow[]; more: boolean }> {
    let out;
    try {
      out = await this.#client.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: LIST_INDEX,
          KeyConditionExpression: '#p = :p AND #s BETWEEN :lo AND :hi',
          ExpressionAttributeNames: { '#p': LIST_PK, '#s': LIST_SK },
          ExpressionAttributeValues: marshall({ ':p': partition, ':lo': lo, ':hi': hi }),
          ScanIndexForward: false,
          Limit: limit,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
    } catch (error) {
      throw new StoreError('listIndex', partition, this.#table, error);
    }
    this.#report('listIndex', 'read', out.ConsumedCapacity);
    const rows = (out.Items ?? []).flatMap((raw) => {
      const item = unmarshall(raw);
      const id = invocationIdOf(String(item.pk));
      return id === undefined ? [] : [{ id, position: String(item[LIST_SK]) }];
    });
    return { rows, more: out.LastEvaluatedKey !== undefined };
  }

  async getInvocations(ids: string[]): Promise<InvocationMeta[]> {
    const found = new Map<string, InvocationMeta>();
    for (let i = 0; i < ids.length; i += BATCH_GET_LIMIT) {
      let keys: Record<string, AttributeValue>[] | undefined = ids
        .slice(i, i + BATCH_GET_LIMIT)
        .map((id) => marshall({ pk: invocationPk(id), sk: META }));
      for (let round = 0; keys && keys.length > 0; round++) {
        if (round > UNPROCESSED_RETRIES) {
          throw new StoreError(
            'getInvocations',
            ids[i]!,
            this.#table,
            new Error(`${keys.length} keys stayed unprocessed after ${UNPROCESSED_RETRIES} retries`),
          );
        }
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** round)));
        let out;
        try {
          // Eventually consistent (half a unit per 4 KB): a listing, never a decision.
          out = await this.#client.send(
            new BatchGetItemCommand({ RequestItems: { [this.#table]: { Keys: keys } }, ReturnConsumedCapacity: 'TOTAL' }),
          );
        } catch (error) {
          throw new StoreError('getInvocations', ids[i]!, this.#table, error);
        }
        this.#report('getInvocations', 'read', out.ConsumedCapacity);
        for (const item of out.Responses?.[this.#table] ?? []) {
          const meta = itemToMeta(unmarshall(item));
          found.set(meta.id, meta);
        }
        keys = out.UnprocessedKeys?.[this.#table]?.Keys;
      }
    }
    return ids.flatMap((id) => (found.has(id) ? [found.get(id)!] : []));
  }

  async acquire(id: string, { seenEpoch, now, leaseMs, version, invokeId }: AcquireOptions): Promise<InvocationMeta | undefined> {
    // Two attempts of one invocation (a duplicate invoke, a Lambda retry):
    //
    //   attempt A: acquire(seen 2) ── epoch 2→3 ✓ ── load ── append J#4 …
    //   attempt B: acquire(seen 2) ───────────────── ✗ (epoch is 3): stops, one write spent
    //
    // The lease clause lets a fresh attempt take over one that died, and its
    // epoch fences the dead one's suspend/finish.
    const e = new Expression();
    const status = e.name('status');
    const epoch = e.name('epoch');
    const lease = e.name('lease');
    const running = e.value('running');
    const now_ = e.value(now);
    // The first acquire that names a version pins the invocation to it
    // (if_not_exists: later attempts never overwrite the pin), and an attempt
    // on another version is refused: every attempt runs the code the
    // invocation started on (rule 12).
    const pinned = version === undefined ? '' : e.name('version');
    const pin = version === undefined ? '' : `, ${pinned} = if_not_exists(${pinned}, ${e.value(version)})`;
    // Which invoke holds the lease: only its own retries wait it out (engine/attempt.ts).
    const invoker = e.name('invokeId');
    const setInvoker = invokeId === undefined ? '' : `, ${invoker} = ${e.value(invokeId)}`;
    const removeInvoker = invokeId === undefined ? `, ${invoker}` : '';
    const update = `SET ${status} = ${running}, ${epoch} = ${epoch} + ${e.value(1)}, ${lease} = ${e.value(now + leaseMs)}, ${e.name('updatedAt')} = ${now_}${pin}${setInvoker} REMOVE ${e.name('awaiting')}, ${e.name('timers')}, ${e.name('awakeables')}, ${e.name('callees')}${removeInvoker}`;
    const runnable =
      `((${status} IN (${e.value('pending')}, ${e.value('suspended')}) AND ${epoch} = ${e.value(seenEpoch)})` +
      ` OR (${status} = ${running} AND (${lease} < ${now_} OR attribute_not_exists(${lease}))))`;
    const condition =
      version === undefined ? runnable : `${runnable} AND (attribute_not_exists(${pinned}) OR ${pinned} = ${e.value(version)})`;
    const result = await this.#update('acquire', id, update, condition, e, 'ALL_NEW');
    return result.ok && result.output ? itemToMeta(result.output) : undefined;
  }

  async hasJournal(id: string): Promise<boolean> {
    let out;
    try {
      out = await this.#client.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :j)',
          ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
          ExpressionAttributeValues: marshall({ ':pk': invocationPk(id), ':j': 'J#' }),
          ProjectionExpression: '#pk',
          Limit: 1,
          ConsistentRead: true,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
    } catch (error) {
      throw new StoreError('hasJournal', id, this.#table, error);
    }
    this.#report('hasJournal', 'read', out.ConsumedCapacity);
    return (out.Items ?? []).length > 0;
  }

  async load(id: string): Promise<LoadedInvocation> {
    const journal = new Map<number, JournalEntry>();
    const completions = new Map<string, Completion>();
    let input: string | undefined;
    // `meta` sorts after every `C#`, `J#` and `P#` key; the attempt holds it
    // from acquire already, so the Query stops short of it and reads nothing twice.
    for await (const item of this.#query('load', id, '#pk = :pk AND #sk < :meta', { ':pk': invocationPk(id), ':meta': META })) {
      const sk = String(item.sk);
      if (sk.startsWith('J#')) {
        const { ttl: _ttl, ...entry } = item;
        const parsed = itemToEntry(entry);
        journal.set(parsed.index, parsed);
      } else if (isCompletionSk(sk)) {
        completions.set(sk, itemToCompletion(item));
      } else if (sk === INPUT && typeof item.input === 'string') {
        input = item.input;
      }
    }
    return { journal, completions, ...(input === undefined ? {} : { input }) };
  }

  async append(id: string, entry: JournalEntry): Promise<boolean> {
    // First writer of entry i wins; the loser is a zombie or a duplicate and stops.
    const item = { ...entryToItem(id, entry), ttl: journalExpiry(entry.index, entry.writtenAt ?? Date.now(), this.#journalTtlSeconds) };
    assertItemFits(item);
    return (await this.#put('append', id, item)).ok;
  }

  async renewJournal(id: string, o: { head: JournalEntry; now: number; until?: number | undefined }): Promise<number> {
    const until = o.until ?? Math.floor(o.now / 1000) + this.#journalTtlSeconds;
    // The first entry goes first (the others expire JOURNAL_TAIL_MARGIN_SECONDS
    // later); put it back, then raise the rest. A conditional write each: a
    // deleted item stays deleted, an expiry is never lowered.
    let written = (await this.#put('renewJournal', id, { ...entryToItem(id, { ...o.head, index: 0 }), ttl: until })).ok ? 1 : 0;
    const tail = until + JOURNAL_TAIL_MARGIN_SECONDS;
    for (const { sk, ttl } of await this.#expiries(id)) {
      const wanted = sk === journalSk(0) ? until : tail;
      if (sk === META || (typeof ttl === 'number' && ttl >= wanted)) continue;
      const e = new Expression();
      const t = e.name('ttl');
      const v = e.value(wanted);
      const condition = `attribute_exists(${e.name('pk')}) AND (attribute_not_exists(${t}) OR ${t} < ${v})`;
      const raised = await this.#update('renewJournal', id, `SET ${t} = ${v}`, condition, e, 'NONE', { pk: invocationPk(id), sk });
      if (raised.ok) written++;
    }
    return written;
  }

  /** The sort keys and expiries of an invocation's items: consistent, two attributes each. */
  async #expiries(id: string): Promise<{ sk: string; ttl: unknown }[]> {
    const found: { sk: string; ttl: unknown }[] = [];
    for await (const item of this.#query('renewJournal', id, '#pk = :pk', { ':pk': invocationPk(id) }, ['sk', 'ttl']))
      found.push({ sk: String(item.sk), ttl: item.ttl });
    return found;
  }

  async suspend(id: string, o: SuspendOptions): Promise<boolean> {
    const set: Item = { status: 'suspended', awaiting: o.awaiting, updatedAt: o.now };
    const remove = ['lease'];
    if (o.timers.length > 0) set.timers = o.timers;
    else remove.push('timers');
    if (o.awakeables && Object.keys(o.awakeables).length > 0) set.awakeables = o.awakeables;
    else remove.push('awakeables');
    if (o.callees && Object.keys(o.callees).length > 0) set.callees = o.callees;
    else remove.push('callees');
    if (o.retries !== undefined) set.retries = o.retries;
    if (o.lastFailure !== undefined) set.lastFailure = o.lastFailure;
    if (o.journalEntries !== undefined) set.journalEntries = o.journalEntries;
    return this.#transition('suspend', id, o.epoch, set, remove);
  }

  async release(id: string, o: { epoch: number; now: number }): Promise<boolean> {
    return this.#transition('release', id, o.epoch, { status: 'pending', updatedAt: o.now }, ['lease']);
  }

  async finish(id: string, o: { epoch: number; now: number; output?: string; failure?: Failure; ttl: number }): Promise<boolean> {
    const set: Item = { status: o.failure ? 'failed' : 'completed', updatedAt: o.now, ttl: o.ttl };
    const remove = ['lease'];
    if (o.output !== undefined) set.output = o.output;
    else remove.push('output');
    if (o.failure !== undefined) set.failure = o.failure;
    else remove.push('failure');
    return this.#transition('finish', id, o.epoch, set, remove);
  }

  async complete(id: string, completion: Completion): Promise<CompleteResult> {
    // Two resolvers at once: both Puts are conditional, DynamoDB serializes
    // them, and the loser gets the winner's item in the same response.
    //
    //   resolve ──── Put C#2 (attribute_not_exists) ✓ ─────────────▶ 202
    //   reject  ────────── Put C#2 (attribute_not_exists) ✗ + ALL_OLD ▶ 409 "already resolved"
    const item = completionToItem(id, { ...completion, ttl: completion.ttl ?? this.#expiry(completion.at) });
    assertItemFits(item);
    const result = await this.#put('complete', id, item);
    if (result.ok) return { won: true };
    const existing = result.existing ? itemToCompletion(result.existing) : await this.getCompletion(id, completion.key);
    if (!existing)
      throw new StoreError('complete', id, this.#table, new Error(`the condition on ${completion.key} failed but no completion exists`));
    return { won: false, existing };
  }

  async heartbeat(id: string, key: string, at: number): Promise<void> {
    // Last heartbeat wins; one delayed behind a later one is dropped.
    const e = new Expression();
    const a = e.name('at');
    await this.#put(
      'heartbeat',
      id,
      completionToItem(id, { key, at, ttl: this.#expiry(at) }),
      `attribute_not_exists(${a}) OR ${a} <= ${e.value(at)}`,
      e,
    );
  }

  async addCaller(id: string, caller: { invocationId: string; key: string }): Promise<boolean> {
    // A caller added after the outcome would never hear of it; refusing sends it to read the result itself.
    return this.#unfinished('addCaller', id, itemBytes({ caller }), (e) => {
      const callers = e.name('callers');
      return `SET ${callers} = list_append(if_not_exists(${callers}, ${e.value([])}), ${e.value([caller])})`;
    });
  }

  async unpin(id: string, { now }: { now: number }): Promise<UnpinResult> {
    // Only while suspended: a running attempt is on its version until it
    // ends, and its next wake (after this write) invokes the alias.
    const e = new Expression();
    const pinned = e.name('version');
    const update = `SET ${e.name('upgradedFrom')} = ${pinned}, ${e.name('updatedAt')} = ${e.value(now)} REMOVE ${pinned}`;
    const condition = `${e.name('status')} = ${e.value('suspended')} AND attribute_exists(${pinned})`;
    const result = await this.#update('unpin', id, update, condition, e, 'ALL_NEW');
    if (result.ok) return { kind: 'upgraded', from: String(result.output?.upgradedFrom) };
    if (!result.existing) return { kind: 'unknown' };
    const meta = itemToMeta(result.existing);
    return meta.status === 'suspended' ? { kind: 'unpinned' } : { kind: 'not-suspended', status: meta.status };
  }

  async kill(id: string, o: { now: number; failure: Failure; ttl: number }): Promise<boolean> {
    // The epoch bump fences whatever attempt is running: its suspend or finish loses.
    return this.#unfinished('kill', id, itemBytes({ failure: o.failure }), (e) => {
      const epoch = e.name('epoch');
      const set = [
        `${e.name('status')} = ${e.value('failed')}`,
        `${epoch} = ${epoch} + ${e.value(1)}`,
        `${e.name('failure')} = ${e.value(o.failure)}`,
        `${e.name('updatedAt')} = ${e.value(o.now)}`,
        `${e.name('ttl')} = ${e.value(o.ttl)}`,
      ];
      return `SET ${set.join(', ')} REMOVE ${e.name('lease')}, ${e.name('awaiting')}, ${e.name('timers')}`;
    });
  }

  async getCompletion(id: string, key: string): Promise<Completion | undefined> {
    const item = await this.#get('getCompletion', id, invocationPk(id), key);
    return item && itemToCompletion(item);
  }

  async getEntry(id: string, index: number): Promise<JournalEntry | undefined> {
    const item = await this.#get('getEntry', id, invocationPk(id), journalSk(index));
    if (!item) return undefined;
    const { ttl: _ttl, ...entry } = item; // the store's own, as in load
    return itemToEntry(entry);
  }

  async addPromiseWaiter(id: string, name: string, waiter: PromiseWaiter): Promise<void> {
    // Written once (a replay of the subscribing step loses harmlessly), with
    // the journal's expiry: it must outlive the waiter's suspension.
    const now = Date.now();
    const item = {
      pk: invocationPk(id),
      sk: promiseWaiterSk(name, waiter),
      waiter: waiter.invocationId,
      waiterKey: waiter.key,
      at: now,
      ttl: this.#expiry(now),
    };
    await this.#put('addPromiseWaiter', id, item);
  }

  async promiseWaiters(id: string, name: string): Promise<PromiseWaiter[]> {
    const waiters: PromiseWaiter[] = [];
    for await (const item of this.#query('promiseWaiters', id, '#pk = :pk AND begins_with(#sk, :prefix)', {
      ':pk': invocationPk(id),
      ':prefix': promiseWaitersPrefix(name),
    })) {
      waiters.push({ invocationId: String(item.waiter), key: String(item.waiterKey) });
    }
    return waiters;
  }

  async putEvent(event: StoredEvent): Promise<boolean> {
    // A redelivery (same delivery id) loses the condition and writes nothing,
    // so it makes no stream record and wakes nobody twice.
    const item = eventToItem(event);
    assertItemFits(item);
    return (await this.#put('putEvent', event.partition, item)).ok;
  }

  async findEvents(partition: string): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    for await (const item of this.#query('findEvents', partition, '#pk = :pk AND begins_with(#sk, :prefix)', {
      ':pk': partition,
      ':prefix': EVENT_SK_PREFIX,
    })) {
      events.push(itemToEvent(item));
    }
    return events.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async addEventWaiter(partition: string, waiter: EventWaiter): Promise<void> {
    // Written once (a replay of the waiting step loses harmlessly).
    await this.#put('addEventWaiter', partition, eventWaiterToItem(partition, waiter));
  }

  async eventWaiters(partition: string): Promise<EventWaiter[]> {
    const waiters: EventWaiter[] = [];
    for await (const item of this.#query('eventWaiters', partition, '#pk = :pk AND begins_with(#sk, :prefix)', {
      ':pk': partition,
      ':prefix': EVENT_WAITER_SK_PREFIX,
    })) {
      waiters.push(itemToEventWaiter(item));
    }
    return waiters;
  }

  async existingCompletions(id: string, keys: string[]): Promise<string[]> {
    const unique = [...new Set(keys)];
    if (unique.length === 0) return [];
    const present = new Set<string>();
    if (unique.length === 1) {
      // The common case (one awaited key): a GetItem, 1 read unit.
      if (await this.#get('existingCompletions', id, invocationPk(id), unique[0]!, true)) present.add(unique[0]!);
    } else if (unique.every((k) => k.startsWith('C#'))) {
      // Completions only (an awakeable or a timer, and C#cancel, on every
      // suspension): one keys-only Query over the range between them, 1
      // read unit while the completions in that range total under 4 KB,
      // where a BatchGetItem costs a unit for every key, present or not.
      const sorted = [...unique].sort();
      for (const sk of await this.#keysBetween(id, sorted[0]!, sorted[sorted.length - 1]!)) present.add(sk);
    } else {
      for (let i = 0; i < unique.length; i += BATCH_GET_LIMIT) {
        for (const sk of await this.#batchKeys(id, unique.slice(i, i + BATCH_GET_LIMIT))) present.add(sk);
      }
    }
    return keys.filter((k) => present.has(k));
  }

  async readState(scope: string): Promise<Map<string, string>> {
    const state = new Map<string, string>();
    for await (const item of this.#query('readState', scope, '#pk = :pk AND begins_with(#sk, :prefix)', {
      ':pk': scope,
      ':prefix': 'S#',
    })) {
      // A cleared value is a tombstone without `value`: it keeps the fence, not a value.
      if (typeof item.value === 'string') state.set(String(item.sk).slice(2), item.value);
    }
    return state;
  }

  async enqueueLock(scope: string, invocationId: string, order: string, maxWaiting = MAX_STORED_LOCK_WAITERS): Promise<'held' | 'queued'> {
    // Two calls on a free key at once: both try to take it, one condition
    // holds, the other meets a holder and queues.
    //
    //   call A: take (free, nobody waits) ✓ ─────────────────────────▶ held
    //   call B: take ✗ (ALL_OLD: held by A) ── queue (someone holds) ✓ ▶ queued
    //   call B, if A released in between: queue ✗ (free) ── take again ✓
    //
    // A full queue refuses the newcomer in the same condition, so two calls
    // that both saw room cannot grow it past `maxWaiting`:
    //
    //   call X: queue (size 3999 < 4000) ✓
    //   call Y: queue (size 4000 < 4000) ✗ ── ALL_OLD: full ▶ LockQueueFullError
    for (let round = 0; round < LOCK_ROUNDS; round++) {
      const take = new Expression();
      const holder = take.name('holder');
      const waiting = take.name('waiting');
      const seq = take.name('seq');
      const zero = take.value(0);
      const taken = await this.#update(
        'enqueueLock',
        scope,
        `SET ${holder} = ${take.value(invocationId)}, ${seq} = if_not_exists(${seq}, ${zero}) + ${take.value(1)}, ${waiting} = if_not_exists(${waiting}, ${take.value({})})`,
        `attribute_not_exists(${holder}) AND (attribute_not_exists(${waiting}) OR size(${waiting}) = ${zero})`,
        take,
        'NONE',
        { pk: scope, sk: LOCK },
      );
      if (taken.ok) return 'held';
      const seen = taken.existing && itemToLock(taken.existing);
      if (seen?.holder === invocationId) return 'held';
      if (seen?.waiting[invocationId] !== undefined) return 'queued';

      const queue = new Expression();
      const entry = `${queue.name('waiting')}.${queue.name(invocationId)}`;
      const queued = await this.#update(
        'enqueueLock',
        scope,
        `SET ${entry} = ${queue.value(order)}`,
        `attribute_exists(${queue.name('waiting')}) AND (attribute_exists(${queue.name('holder')}) OR size(${queue.name('waiting')}) > ${queue.value(0)}) AND attribute_not_exists(${entry}) AND size(${queue.name('waiting')}) < ${queue.value(maxWaiting)}`,
        queue,
        'NONE',
        { pk: scope, sk: LOCK },
      );
      if (queued.ok) return 'queued';
      const now = queued.existing && itemToLock(queued.existing);
      if (now?.holder === invocationId) return 'held';
      if (now?.waiting[invocationId] !== undefined) return 'queued';
      if (now && Object.keys(now.waiting).length >= maxWaiting) throw new LockQueueFullError(scope, maxWaiting);
      // The lock was freed between the two requests: try to take it again.
    }
    throw new StoreError(
      'enqueueLock',
      scope,
      this.#table,
      new Error(`the lock kept changing under ${invocationId} for ${LOCK_ROUNDS} rounds`),
    );
  }

  async releaseLock(scope: string, invocationId: string): Promise<ObjectLock | undefined> {
    const e = new Expression();
    const holder = e.name('holder');
    const result = await this.#update('releaseLock', scope, `REMOVE ${holder}`, `${holder} = ${e.value(invocationId)}`, e, 'ALL_NEW', {
      pk: scope,
      sk: LOCK,
    });
    if (result.ok) return result.output ? itemToLock(result.output) : undefined;
    // Not the holder: if it still waits, it ended before its turn (killed
    // while queued) and leaves the queue, or it would be granted a key it
    // can never release.
    const w = new Expression();
    const entry = `${w.name('waiting')}.${w.name(invocationId)}`;
    const left = await this.#update('releaseLock', scope, `REMOVE ${entry}`, `attribute_exists(${entry})`, w, 'ALL_NEW', {
      pk: scope,
      sk: LOCK,
    });
    return left.ok && left.output ? itemToLock(left.output) : undefined;
  }

  async grantLock(scope: string, next: string): Promise<boolean> {
    const e = new Expression();
    const holder = e.name('holder');
    const seq = e.name('seq');
    const entry = `${e.name('waiting')}.${e.name(next)}`;
    const result = await this.#update(
      'grantLock',
      scope,
      `SET ${holder} = ${e.value(next)}, ${seq} = ${seq} + ${e.value(1)} REMOVE ${entry}`,
      `attribute_not_exists(${holder}) AND attribute_exists(${entry})`,
      e,
      'NONE',
      { pk: scope, sk: LOCK },
    );
    return result.ok;
  }

  async readLock(scope: string): Promise<ObjectLock | undefined> {
    const item = await this.#get('readLock', scope, scope, LOCK);
    return item && itemToLock(item);
  }

  async purge(id: string): Promise<{ purged: number } | 'unfinished' | 'unknown'> {
    const meta = await this.getInvocation(id);
    if (!meta) return 'unknown';
    if (meta.status !== 'completed' && meta.status !== 'failed') return 'unfinished';
    const pk = invocationPk(id);
    let purged = await this.#deleteAll('purge', id, pk, (sk) => sk !== META);
    if (meta.kind === 'workflow' && meta.handler === 'run' && meta.key !== undefined) {
      purged += await this.#deleteAll('purge', id, stateScope(meta.service, meta.key), (sk) => sk.startsWith('S#'));
    }
    // Meta last, and only while finished: a purge cut short leaves a finished
    // meta, so running it again completes the job, and a derived id (workflow
    // key, Idempotency-Key) is free again only once nothing of the old run
    // is left to replay.
    const e = new Expression();
    const status = e.name('status');
    const deleted = await this.#conditional('purge', id, async () => {
      const out = await this.#client.send(
        new DeleteItemCommand({
          TableName: this.#table,
          Key: marshall({ pk, sk: META }),
          ConditionExpression: `${status} IN (${e.value('completed')}, ${e.value('failed')})`,
          ...e.attributes(),
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.#report('purge', 'write', out.ConsumedCapacity);
    });
    return { purged: purged + (deleted.ok ? 1 : 0) };
  }

  /** Deletes the items of a partition whose sort key `wanted` picks (a keys-only Query, then BatchWriteItem by 25). */
  async #deleteAll(operation: StoreOperation, target: string, pk: string, wanted: (sk: string) => boolean): Promise<number> {
    const keys: Record<string, AttributeValue>[] = [];
    for await (const item of this.#query(operation, target, '#pk = :pk', { ':pk': pk }, ['pk', 'sk'])) {
      const sk = String(item.sk);
      if (wanted(sk)) keys.push({ pk: { S: String(item.pk) }, sk: { S: sk } });
    }
    for (let i = 0; i < keys.length; i += BATCH_WRITE_LIMIT) {
      let requests: WriteRequest[] | undefined = keys.slice(i, i + BATCH_WRITE_LIMIT).map((Key) => ({ DeleteRequest: { Key } }));
      for (let round = 0; requests && requests.length > 0; round++) {
        if (round > UNPROCESSED_RETRIES)
          throw new StoreError(
            operation,
            target,
            this.#table,
            new Error(`${requests.length} deletes stayed unprocessed after ${UNPROCESSED_RETRIES} retries`),
          );
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** round)));
        let out;
        try {
          out = await this.#client.send(
            new BatchWriteItemCommand({ RequestItems: { [this.#table]: requests }, ReturnConsumedCapacity: 'TOTAL' }),
          );
        } catch (error) {
          throw new StoreError(operation, target, this.#table, error);
        }
        this.#report(operation, 'write', out.ConsumedCapacity);
        requests = out.UnprocessedItems?.[this.#table];
      }
    }
    return keys.length;
  }

  async writeState(scope: string, name: string, value: string | undefined, fence: string): Promise<boolean> {
    // A zombie writing after a newer attempt cannot roll state back:
    //
    //   attempt 1 (zombie): ─────────────────────────── write x=old, fence (lock, entry 4, attempt 1) ✗
    //   attempt 2:          acquire ── write x=new, fence (lock, entry 4, attempt 2) ✓
    const item: Item = { pk: scope, sk: stateSk(name), fence, ...(value === undefined ? {} : { value }) };
    assertItemFits(item);
    const e = new Expression();
    const f = e.name('fence');
    return (await this.#put('writeState', scope, item, `attribute_not_exists(${f}) OR ${f} <= ${e.value(fence)}`, e)).ok;
  }

  // ---- requests ---------------------------------------------------------------

  /** Expiry of a completion, a promise, a waiter or an input item written at `writtenAtMs`. */
  #expiry(writtenAtMs: number): number {
    return Math.floor(writtenAtMs / 1000) + COMPLETION_TTL_SECONDS;
  }

  /** An UpdateItem on `meta` owned by the attempt at `epoch`. */
  async #transition(operation: StoreOperation, id: string, epoch: number, set: Item, remove: string[]): Promise<boolean> {
    const setBytes = itemBytes(set);
    if (setBytes + META_RESERVE_BYTES > MAX_ITEM_BYTES) {
      throw new PayloadTooLargeError(
        id,
        `${operation} of the invocation meta (${setBytes} bytes written, plus up to ${META_RESERVE_BYTES} bytes of input and fields already held)`,
        setBytes + META_RESERVE_BYTES,
      );
    }
    const e = new Expression();
    const assignments = Object.entries(set).map(([k, v]) => `${e.name(k)} = ${e.value(v)}`);
    const update = `SET ${assignments.join(', ')}${remove.length ? ` REMOVE ${remove.map((k) => e.name(k)).join(', ')}` : ''}`;
    const condition = `${e.name('epoch')} = ${e.value(epoch)} AND ${e.name('status')} = ${e.value('running')}`;
    return (await this.#update(operation, id, update, condition, e, 'NONE')).ok;
  }

  /** An UpdateItem on `meta` of an invocation that exists and has not finished. */
  async #unfinished(operation: StoreOperation, id: string, setBytes: number, update: (e: Expression) => string): Promise<boolean> {
    if (setBytes + META_RESERVE_BYTES > MAX_ITEM_BYTES) {
      throw new PayloadTooLargeError(id, `${operation} of the invocation meta`, setBytes + META_RESERVE_BYTES);
    }
    const e = new Expression();
    const expression = update(e);
    const status = e.name('status');
    const condition = `attribute_exists(${e.name('pk')}) AND NOT (${status} IN (${e.value('completed')}, ${e.value('failed')}))`;
    return (await this.#update(operation, id, expression, condition, e, 'NONE')).ok;
  }

  async #put(operation: StoreOperation, target: string, item: Item, condition?: string, e?: Expression): Promise<Conditional<unknown>> {
    const expression = e ?? new Expression();
    const conditionExpression = condition ?? `attribute_not_exists(${expression.name('pk')})`;
    return this.#conditional(operation, target, async () => {
      const out = await this.#client.send(
        new PutItemCommand({
          TableName: this.#table,
          Item: marshall(item, { removeUndefinedValues: true }),
          ConditionExpression: conditionExpression,
          ...expression.attributes(),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.#report(operation, 'write', out.ConsumedCapacity);
      return undefined;
    });
  }

  /** An UpdateItem, on `meta` of invocation `target` unless `key` names another item. */
  async #update(
    operation: StoreOperation,
    target: string,
    update: string,
    condition: string,
    e: Expression,
    returnValues: 'ALL_NEW' | 'NONE',
    key: { pk: string; sk: string } = { pk: invocationPk(target), sk: META },
  ): Promise<Conditional<Item | undefined>> {
    // A key DynamoDB would refuse is refused here, as the same error every time (not a retryable StoreError).
    assertKeysFit(key.pk, key.sk);
    return this.#conditional(operation, target, async () => {
      const out = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: marshall(key),
          UpdateExpression: update,
          ConditionExpression: condition,
          ...e.attributes(),
          ReturnValues: returnValues,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.#report(operation, 'write', out.ConsumedCapacity);
      return out.Attributes && unmarshall(out.Attributes);
    });
  }

  async #conditional<O>(operation: StoreOperation, target: string, send: () => Promise<O>): Promise<Conditional<O>> {
    try {
      return { ok: true, output: await send() };
    } catch (error) {
      if (isConditionFailure(error)) {
        const old = (error as { Item?: Record<string, AttributeValue> }).Item;
        const existing = old && unmarshall(old);
        // DynamoDB charges a lost condition by the size of the item it met (at least one unit) and does not report it.
        this.#onCapacity?.(operation, { read: 0, write: Math.max(1, Math.ceil((existing ? itemBytes(existing) : 0) / 1024)) });
        return { ok: false, existing };
      }
      throw new StoreError(operation, target, this.#table, error);
    }
  }

  async #get(operation: StoreOperation, target: string, pk: string, sk: string, keysOnly = false): Promise<Item | undefined> {
    try {
      const out = await this.#client.send(
        new GetItemCommand({
          TableName: this.#table,
          Key: marshall({ pk, sk }),
          ConsistentRead: true,
          ...(keysOnly ? { ProjectionExpression: '#sk', ExpressionAttributeNames: { '#sk': 'sk' } } : {}),
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.#report(operation, 'read', out.ConsumedCapacity);
      return out.Item && unmarshall(out.Item);
    } catch (error) {
      throw new StoreError(operation, target, this.#table, error);
    }
  }

  /**
   * Every item a consistent Query finds, page after page; with `projection`,
   * only those attributes (keys-only reads cost the same units but move less).
   */
  async *#query(
    operation: StoreOperation,
    target: string,
    keyCondition: string,
    values: Record<string, string>,
    projection?: readonly ('pk' | 'sk' | 'ttl')[],
  ): AsyncGenerator<Item> {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      let out;
      try {
        out = await this.#client.send(
          new QueryCommand({
            TableName: this.#table,
            KeyConditionExpression: keyCondition,
            ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', ...(projection?.includes('ttl') ? { '#ttl': 'ttl' } : {}) },
            ExpressionAttributeValues: marshall(values),
            ...(projection ? { ProjectionExpression: projection.map((name) => `#${name}`).join(', ') } : {}),
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
      } catch (error) {
        throw new StoreError(operation, target, this.#table, error);
      }
      this.#report(operation, 'read', out.ConsumedCapacity);
      for (const item of out.Items ?? []) yield unmarshall(item);
      startKey = out.LastEvaluatedKey;
    } while (startKey);
  }

  /** The sort keys of an invocation's items from `lo` to `hi` (inclusive): consistent, keys only. */
  async #keysBetween(id: string, lo: string, hi: string): Promise<string[]> {
    const found: string[] = [];
    const range = { ':pk': invocationPk(id), ':lo': lo, ':hi': hi };
    for await (const item of this.#query('existingCompletions', id, '#pk = :pk AND #sk BETWEEN :lo AND :hi', range, ['sk']))
      found.push(String(item.sk));
    return found;
  }

  /** One consistent BatchGetItem (keys only) of up to 100 completion keys; retries what DynamoDB left unprocessed. */
  async #batchKeys(id: string, sks: string[]): Promise<string[]> {
    const found: string[] = [];
    let keys: Record<string, AttributeValue>[] | undefined = sks.map((sk) => marshall({ pk: invocationPk(id), sk }));
    for (let round = 0; keys && keys.length > 0; round++) {
      if (round > UNPROCESSED_RETRIES) {
        throw new StoreError(
          'existingCompletions',
          id,
          this.#table,
          new Error(`${keys.length} keys stayed unprocessed after ${UNPROCESSED_RETRIES} retries`),
        );
      }
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** round)));
      let out;
      try {
        out = await this.#client.send(
          new BatchGetItemCommand({
            RequestItems: {
              [this.#table]: { Keys: keys, ConsistentRead: true, ProjectionExpression: '#sk', ExpressionAttributeNames: { '#sk': 'sk' } },
            },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
      } catch (error) {
        throw new StoreError('existingCompletions', id, this.#table, error);
      }
      this.#report('existingCompletions', 'read', out.ConsumedCapacity);
      for (const item of out.Responses?.[this.#table] ?? []) found.push(String(unmarshall(item).sk));
      keys = out.UnprocessedKeys?.[this.#table]?.Keys;
    }
    return found;
  }

  #report(operation: StoreOperation, kind: 'read' | 'write', consumed: ConsumedCapacity | ConsumedCapacity[] | undefined): void {
    if (!this.#onCapacity) return;
    const units: CapacityUnits = { read: 0, write: 0 };
    for (const c of consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed]) {
      if (c.ReadCapacityUnits !== undefined || c.WriteCapacityUnits !== undefined) {
        units.read += c.ReadCapacityUnits ?? 0;
        units.write += c.WriteCapacityUnits ?? 0;
      } else {
        units[kind] += c.CapacityUnits ?? 0;
      }
    }
    this.#onCapacity(operation, units);
  }
}

function isConditionFailure(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';
}

/** Placeholders for attribute names (many of ours are reserved words: status, name, value, ttl; map keys are ids) and values. */
class Expression {
  readonly #names = new Map<string, string>();
  readonly #values: Record<string, unknown> = {};

  name(attribute: string): string {
    let placeholder = this.#names.get(attribute);
    if (placeholder === undefined) this.#names.set(attribute, (placeholder = `#n${this.#names.size}`));
    return placeholder;
  }

  value(value: unknown): string {
    const placeholder = `:v${Object.keys(this.#values).length}`;
    this.#values[placeholder] = value;
    return placeholder;
  }

  attributes(): { ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, AttributeValue> } {
    return {
      ...(this.#names.size
        ? { ExpressionAttributeNames: Object.fromEntries([...this.#names].map(([attribute, placeholder]) => [placeholder, attribute])) }
        : {}),
      ...(Object.keys(this.#values).length ? { ExpressionAttributeValues: marshall(this.#values, { removeUndefinedValues: true }) } : {}),
    };
  }
}

// ---- the table --------------------------------------------------------------

/**
 * The table Dormant needs: string `pk` and `sk`, on-demand billing, and a
 * stream with both images (the wake role reads them). TTL on `ttl` is set by
 * {@link ensureTable} (CreateTable cannot).
 *
 * @example
 * ```ts
 * await client.send(new CreateTableCommand(tableDefinition('dormant')));
 * ```
 */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: LIST_PK, AttributeType: 'S' },
      { AttributeName: LIST_SK, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [listIndexDefinition()],
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  };
}

/** The list index: sparse (only `meta` carries its keys), keys only, written once per invocation. */
function listIndexDefinition(): GlobalSecondaryIndex {
  return {
    IndexName: LIST_INDEX,
    KeySchema: [
      { AttributeName: LIST_PK, KeyType: 'HASH' },
      { AttributeName: LIST_SK, KeyType: 'RANGE' },
    ],
    Projection: { ProjectionType: 'KEYS_ONLY' },
  };
}

/**
 * Creates the table unless it exists, waits until it is ACTIVE, and enables
 * TTL on `ttl`. Idempotent, and safe to race. Refuses an existing table whose
 * keys or stream do not fit (wake-ups depend on the stream). A table of an
 * earlier release, without the list index, gets it (and its invocations
 * appear in listings once `backfillListIndex` has run).
 *
 * @example
 * ```ts
 * const { streamArn } = await ensureTable(new DynamoDBClient({}), 'dormant');
 * ```
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  options: { timeoutMs?: number } = {},
): Promise<{ created: boolean; streamArn: string | undefined }> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let created = false;
  let table = await describe(client, tableName);
  if (!table) {
    try {
      await client.send(new CreateTableCommand(tableDefinition(tableName)));
      created = true;
    } catch (error) {
      if ((error as { name?: unknown }).name !== 'ResourceInUseException') throw error; // someone else created it meanwhile
    }
    table = await describe(client, tableName);
  }
  for (let delay = 100; table?.TableStatus !== 'ACTIVE'; delay = Math.min(delay * 2, 2_000)) {
    if (Date.now() > deadline)
      throw new Error(`table ${tableName} did not become ACTIVE in time (status ${table?.TableStatus ?? 'missing'})`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    table = await describe(client, tableName);
  }
  checkShape(tableName, table);
  if (!(table.GlobalSecondaryIndexes ?? []).some((index) => index.IndexName === LIST_INDEX)) {
    try {
      await client.send(
        new UpdateTableCommand({
          TableName: tableName,
          AttributeDefinitions: tableDefinition(tableName).AttributeDefinitions,
          GlobalSecondaryIndexUpdates: [{ Create: listIndexDefinition() }],
        }),
      );
    } catch (error) {
      // Someone else is adding it meanwhile.
      if ((error as { name?: unknown }).name !== 'ResourceInUseException' && !/already exists/i.test(ensureError(error).message))
        throw error;
    }
    for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
      table = await describe(client, tableName);
      const index = table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === LIST_INDEX);
      if (table?.TableStatus === 'ACTIVE' && index?.IndexStatus === 'ACTIVE') break;
      if (Date.now() > deadline) throw new Error(`the list index of table ${tableName} did not become ACTIVE in time`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
  const attribute = ttl.TimeToLiveDescription?.AttributeName;
  if ((status === 'ENABLED' || status === 'ENABLING') && attribute !== 'ttl') {
    throw new Error(`table ${tableName} has TTL on '${attribute}'; Dormant expires items by 'ttl'`);
  }
  if (status !== 'ENABLED' && status !== 'ENABLING') {
    try {
      await client.send(
        new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } }),
      );
    } catch (error) {
      if (!/already enabled/i.test(ensureError(error).message)) throw error;
    }
  }
  return { created, streamArn: table.LatestStreamArn };
}

/**
 * The ids of every unfinished invocation (pending, running or suspended), by
 * a strongly consistent Scan of the whole table, a page at a time. For the
 * local plane, whose emulated queues lose their timer and recovery messages
 * with the process, to re-check each on restart; never for a deployed table
 * (a Scan reads everything, and no role is granted it).
 *
 * @example
 * ```ts
 * for await (const id of unfinishedInvocationIds(client, 'dormant')) await recover(id);
 * ```
 */
export async function* unfinishedInvocationIds(client: DynamoDBClient, tableName: string): AsyncGenerator<string> {
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        FilterExpression: 'sk = :meta AND #status IN (:pending, :running, :suspended)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':meta': { S: META },
          ':pending': { S: 'pending' satisfies InvocationStatus },
          ':running': { S: 'running' satisfies InvocationStatus },
          ':suspended': { S: 'suspended' satisfies InvocationStatus },
        },
        ProjectionExpression: 'pk',
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      const id = invocationIdOf(item.pk?.S ?? '');
      if (id !== undefined) yield id;
    }
    start = page.LastEvaluatedKey;
  } while (start);
}

/**
 * Writes the list index's keys onto every `meta` item that lacks them (those
 * created before the index existed), so that they appear in listings: a
 * one-off, paged Scan of the table for `meta` items without the keys, then
 * one conditional UpdateItem each (`attribute_not_exists`, so running it
 * again, or beside live traffic, changes nothing twice). Reports progress
 * after each page. `dormant invocations backfill --table <name>` runs it.
 *
 * Cost: the Scan reads the whole table once (eventually consistent, half a
 * unit per 4 KB); each backfilled invocation 1 write unit on the table and
 * 1 on the index.
 *
 * @example
 * ```ts
 * const { updated } = await backfillListIndex(client, 'dormant', { onPage: (p) => console.log(p) });
 * ```
 */
export async function backfillListIndex(
  client: DynamoDBClient,
  tableName: string,
  options: { onPage?: (progress: { scanned: number; updated: number }) => void } = {},
): Promise<{ scanned: number; updated: number }> {
  let scanned = 0;
  let updated = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: '#sk = :meta AND attribute_not_exists(#lpk)',
        ExpressionAttributeNames: { '#sk': 'sk', '#lpk': LIST_PK, '#service': 'service', '#createdAt': 'createdAt' },
        ExpressionAttributeValues: { ':meta': { S: META } },
        ProjectionExpression: 'pk, #service, #createdAt',
        ExclusiveStartKey: start,
      }),
    );
    scanned += page.ScannedCount ?? 0;
    for (const raw of page.Items ?? []) {
      const item = unmarshall(raw);
      const id = invocationIdOf(String(item.pk));
      if (id === undefined || typeof item.service !== 'string' || typeof item.createdAt !== 'number') continue;
      const keys = listKeys({ id, service: item.service, createdAt: item.createdAt });
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: marshall({ pk: item.pk, sk: META }),
            UpdateExpression: 'SET #lpk = :lpk, #lsk = :lsk',
            ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#lpk)',
            ExpressionAttributeNames: { '#pk': 'pk', '#lpk': LIST_PK, '#lsk': LIST_SK },
            ExpressionAttributeValues: marshall({ ':lpk': keys[LIST_PK], ':lsk': keys[LIST_SK] }),
          }),
        );
        updated++;
      } catch (error) {
        // Purged or expired meanwhile, or backfilled by a run beside this one.
        if (!isConditionFailure(error)) throw error;
      }
    }
    options.onPage?.({ scanned, updated });
    start = page.LastEvaluatedKey;
  } while (start);
  return { scanned, updated };
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if ((error as { name?: unknown }).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

function checkShape(tableName: string, table: TableDescription): void {
  const keys = (table.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
  if (keys !== 'pk:HASH,sk:RANGE')
    throw new Error(`table ${tableName} has keys ${keys || 'none'}; Dormant needs pk (HASH) and sk (RANGE), both strings`);
  const stream = table.StreamSpecification;
  if (!stream?.StreamEnabled || stream.StreamViewType !== 'NEW_AND_OLD_IMAGES') {
    throw new Error(
      `table ${tableName} has ${stream?.StreamEnabled ? `a ${stream.StreamViewType} stream` : 'no stream'}; wake-ups need a NEW_AND_OLD_IMAGES stream`,
    );
  }
}
