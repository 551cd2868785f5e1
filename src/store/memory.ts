/**
 * An in-memory store with the DynamoDB store's semantics: the same items, the
 * same conditions, and a change feed shaped like a DynamoDB stream. For the
 * simulator and unit tests; it passes the same contract suite.
 */
import type {
  CompleteResult,
  Completion,
  InvocationMeta,
  ItemChange,
  ListIndexQuery,
  ListIndexRow,
  JournalEntry,
  LoadedInvocation,
  ObjectLock,
  PromiseWaiter,
  Store,
  SuspendOptions,
  AcquireOptions,
  UnpinResult,
} from './store.ts';
import { DEFAULT_JOURNAL_TTL_SECONDS, JOURNAL_TAIL_MARGIN_SECONDS } from './store.ts';
import {
  INPUT,
  LIST_PK,
  LIST_SK,
  LOCK,
  META,
  listPartition,
  listPosition,
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
  journalExpiry,
  itemToLock,
  itemToMeta,
  metaToItem,
  newInvocationItems,
  type Item,
} from './items.ts';
import type { Failure } from '../api/errors.ts';
import { LockQueueFullError, MAX_STORED_LOCK_WAITERS, assertItemFits, assertKeysFit } from './limits.ts';
import type { ChangeFeed } from './changes.ts';
import {
  EVENT_SK_PREFIX,
  EVENT_WAITER_SK_PREFIX,
  eventSk,
  eventToItem,
  eventWaiterSk,
  eventWaiterToItem,
  itemToEvent,
  itemToEventWaiter,
  type EventWaiter,
  type StoredEvent,
} from './events.ts';

/**
 * A `Store` held in process memory.
 *
 * @example
 * ```ts
 * const store = new MemoryStore();
 * store.onChange((change) => queue.push(change)); // feeds the wake rule, like a DynamoDB stream
 * ```
 */
export class MemoryStore implements Store, ChangeFeed {
  readonly #partitions = new Map<string, Map<string, Item>>();
  readonly #listeners = new Set<(change: ItemChange) => void>();
  readonly #journalTtlSeconds: number;
  /** How late past its expiry the sweeper deletes each item (DynamoDB: up to 48 hours), drawn once per written item. */
  readonly #lateness = new WeakMap<Item, number>();

  constructor(options: { journalTtlSeconds?: number } = {}) {
    this.#journalTtlSeconds = options.journalTtlSeconds ?? DEFAULT_JOURNAL_TTL_SECONDS;
  }

  /**
   * Deletes what DynamoDB's TTL would have deleted by `nowMs`: every item
   * whose `ttl` passed, each at a lateness of its own of up to 48 hours, in
   * an arbitrary order, each reported as a REMOVE by TTL (`byTtl`). Returns
   * how many it deleted. For tests of what outlives what, with a test clock.
   *
   * @example
   * ```ts
   * clock.advance(400 * 86_400_000);
   * store.sweepExpired(clock.now(), prng.next); // then feed the REMOVEs to the wake
   * ```
   */
  sweepExpired(nowMs: number, random: () => number = Math.random): number {
    const due: [string, string][] = [];
    for (const [pk, partition] of this.#partitions)
      for (const [sk, item] of partition) {
        if (typeof item.ttl !== 'number') continue;
        let late = this.#lateness.get(item);
        if (late === undefined) this.#lateness.set(item, (late = Math.floor(random() * TTL_LATENESS_MS)));
        if (item.ttl * 1000 + late <= nowMs) due.push([pk, sk]);
      }
    // DynamoDB deletes expired items in no particular order.
    for (let i = due.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [due[i], due[j]] = [due[j]!, due[i]!];
    }
    for (const [pk, sk] of due) this.#remove(pk, sk, true);
    return due.length;
  }

  /** Subscribes to item changes (INSERT / MODIFY / REMOVE with both images), reported as each write happens. Returns an unsubscribe function. */
  onChange(listener: (change: ItemChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every item, for assertions in tests. */
  items(): Item[] {
    return [...this.#partitions.values()].flatMap((p) => [...p.values()].map(copyOf));
  }

  async createInvocation(meta: InvocationMeta): Promise<{ created: true } | { created: false; existing: InvocationMeta }> {
    const existing = this.#get(invocationPk(meta.id), META);
    if (existing) return { created: false, existing: itemToMeta(existing) };
    const [metaItem, inputItem] = newInvocationItems(meta);
    if (inputItem) assertItemFits(inputItem);
    assertItemFits(metaItem);
    if (inputItem) this.#put(inputItem);
    this.#put(metaItem);
    return { created: true };
  }

  async getInvocation(id: string): Promise<InvocationMeta | undefined> {
    const item = this.#get(invocationPk(id), META);
    return item && itemToMeta(item);
  }

  async listIndex(query: ListIndexQuery): Promise<{ rows: ListIndexRow[]; more: boolean }> {
    const lo = listPosition(query.since ?? 0, '');
    const hi = query.until === undefined ? undefined : `${listPosition(query.until, '')}~`;
    const rows: ListIndexRow[] = [];
    for (const partition of this.#partitions.values()) {
      const item = partition.get(META);
      // Sparse, like the index: a meta without the keys (an earlier release's) is not listed.
      if (!item || typeof item[LIST_PK] !== 'string' || typeof item[LIST_SK] !== 'string') continue;
      const meta = itemToMeta(item);
      const position = item[LIST_SK];
      if (!query.services.some((service) => listPartition(service, meta.id) === item[LIST_PK])) continue;
      if (position < lo || (hi !== undefined && position > hi) || (query.before !== undefined && position >= query.before)) continue;
      rows.push({ id: meta.id, position });
    }
    rows.sort((a, b) => (a.position < b.position ? 1 : a.position > b.position ? -1 : 0));
    return { rows: rows.slice(0, query.limit), more: rows.length > query.limit };
  }

  async getInvocations(ids: string[]): Promise<InvocationMeta[]> {
    return ids.flatMap((id) => {
      const item = this.#get(invocationPk(id), META);
      return item ? [copyOf(itemToMeta(item))] : [];
    });
  }

  async acquire(id: string, { seenEpoch, now, leaseMs, version, invokeId }: AcquireOptions): Promise<InvocationMeta | undefined> {
    const item = this.#get(invocationPk(id), META);
    if (!item) return undefined;
    const meta = itemToMeta(item);
    const runnable = (meta.status === 'pending' || meta.status === 'suspended') && meta.epoch === seenEpoch;
    const abandoned = meta.status === 'running' && (meta.lease ?? 0) < now;
    if (!runnable && !abandoned) return undefined;
    if (version !== undefined && meta.version !== undefined && meta.version !== version) return undefined;
    const next: InvocationMeta = {
      ...meta,
      ...(meta.version === undefined && version !== undefined ? { version } : {}),
      status: 'running',
      epoch: meta.epoch + 1,
      lease: now + leaseMs,
      invokeId,
      awaiting: undefined,
      timers: undefined,
      awakeables: undefined,
      callees: undefined,
      updatedAt: now,
    };
    this.#put(metaToItem(next));
    return next;
  }

  async load(id: string): Promise<LoadedInvocation> {
    const journal = new Map<number, JournalEntry>();
    const completions = new Map<string, Completion>();
    // forEach rather than for…of: no [key, item] pair per item.
    this.#partitions.get(invocationPk(id))?.forEach((item, sk) => {
      if (sk.startsWith('J#')) {
        const entry = copyBelow(entryOf(item));
        journal.set(entry.index, entry);
      } else if (isCompletionSk(sk)) {
        completions.set(sk, copyBelow(itemToCompletion(item)));
      }
    });
    const input = this.#get(invocationPk(id), INPUT)?.input;
    return { journal, completions, ...(typeof input === 'string' ? { input } : {}) };
  }

  async hasJournal(id: string): Promise<boolean> {
    for (const sk of this.#partitions.get(invocationPk(id))?.keys() ?? []) if (sk.startsWith('J#')) return true;
    return false;
  }

  /**
   * Deletes an item as DynamoDB's TTL does once it has expired (a REMOVE on
   * the change feed), for tests of what outlives what.
   *
   * @example
   * ```ts
   * store.expire(invocationPk(id), META); // a finished invocation's meta, past its retention
   * ```
   */
  expire(pk: string, sk: string): void {
    this.#remove(pk, sk, false);
  }

  #remove(pk: string, sk: string, byTtl: boolean): void {
    const partition = this.#partitions.get(pk);
    const old = partition?.get(sk);
    if (!partition || !old) return;
    partition.delete(sk);
    for (const listener of this.#listeners)
      listener({ eventName: 'REMOVE', pk, sk, oldItem: copyOf(old), ...(byTtl ? { byTtl: true } : {}) });
  }

  async append(id: string, entry: JournalEntry): Promise<boolean> {
    const item: Item = {
      ...entryToItem(id, entry),
      ttl: journalExpiry(entry.index, entry.writtenAt ?? Date.now(), this.#journalTtlSeconds),
    };
    if (this.#get(item.pk as string, item.sk as string)) return false;
    this.#put(item);
    return true;
  }

  async renewJournal(id: string, o: { head: JournalEntry; now: number; until?: number | undefined }): Promise<number> {
    const until = o.until ?? Math.floor(o.now / 1000) + this.#journalTtlSeconds;
    const pk = invocationPk(id);
    let written = 0;
    if (!this.#get(pk, journalSk(0))) {
      this.#put({ ...entryToItem(id, { ...o.head, index: 0 }), ttl: until });
      written++;
    }
    const tail = until + JOURNAL_TAIL_MARGIN_SECONDS;
    for (const [sk, item] of [...(this.#partitions.get(pk) ?? [])]) {
      const wanted = sk === journalSk(0) ? until : tail;
      if (sk === META || (typeof item.ttl === 'number' && item.ttl >= wanted)) continue;
      this.#put({ ...item, ttl: wanted });
      written++;
    }
    return written;
  }

  async suspend(id: string, o: SuspendOptions): Promise<boolean> {
    return this.#transition(id, o.epoch, (m) => ({
      ...m,
      status: 'suspended',
      lease: undefined,
      awaiting: o.awaiting,
      timers: o.timers.length ? o.timers : undefined,
      awakeables: o.awakeables && Object.keys(o.awakeables).length ? o.awakeables : undefined,
      callees: o.callees && Object.keys(o.callees).length ? o.callees : undefined,
      retries: o.retries ?? m.retries,
      lastFailure: o.lastFailure ?? m.lastFailure,
      journalEntries: o.journalEntries ?? m.journalEntries,
      updatedAt: o.now,
    }));
  }

  async release(id: string, o: { epoch: number; now: number }): Promise<boolean> {
    return this.#transition(id, o.epoch, (m) => ({ ...m, status: 'pending', lease: undefined, updatedAt: o.now }));
  }

  async finish(id: string, o: { epoch: number; now: number; output?: string; failure?: Failure; ttl: number }): Promise<boolean> {
    return this.#transition(id, o.epoch, (m) => ({
      ...m,
      status: o.failure ? 'failed' : 'completed',
      lease: undefined,
      output: o.output,
      failure: o.failure,
      updatedAt: o.now,
      ttl: o.ttl,
    }));
  }

  async complete(id: string, completion: Completion): Promise<CompleteResult> {
    const existing = this.#get(invocationPk(id), completion.key);
    if (existing) return { won: false, existing: copyBelow(itemToCompletion(existing)) };
    this.#put(completionToItem(id, completion));
    return { won: true };
  }

  async heartbeat(id: string, key: string, at: number): Promise<void> {
    const existing = this.#get(invocationPk(id), key);
    if (existing && Number(existing.at) > at) return;
    this.#put(completionToItem(id, { key, at }));
  }

  async addCaller(id: string, caller: { invocationId: string; key: string }): Promise<boolean> {
    const item = this.#get(invocationPk(id), META);
    if (!item) return false;
    const meta = itemToMeta(item);
    if (meta.status === 'completed' || meta.status === 'failed') return false;
    this.#put(metaToItem({ ...meta, callers: [...(meta.callers ?? []), caller] }));
    return true;
  }

  async unpin(id: string, { now }: { now: number }): Promise<UnpinResult> {
    const item = this.#get(invocationPk(id), META);
    if (!item) return { kind: 'unknown' };
    const meta = itemToMeta(item);
    if (meta.status !== 'suspended') return { kind: 'not-suspended', status: meta.status };
    if (meta.version === undefined) return { kind: 'unpinned' };
    this.#put(metaToItem({ ...meta, version: undefined, upgradedFrom: meta.version, updatedAt: now }));
    return { kind: 'upgraded', from: meta.version };
  }

  async kill(id: string, o: { now: number; failure: Failure; ttl: number }): Promise<boolean> {
    const item = this.#get(invocationPk(id), META);
    if (!item) return false;
    const meta = itemToMeta(item);
    if (meta.status === 'completed' || meta.status === 'failed') return false;
    this.#put(
      metaToItem({
        ...meta,
        status: 'failed',
        epoch: meta.epoch + 1,
        lease: undefined,
        awaiting: undefined,
        timers: undefined,
        failure: o.failure,
        updatedAt: o.now,
        ttl: o.ttl,
      }),
    );
    return true;
  }

  async getCompletion(id: string, key: string): Promise<Completion | undefined> {
    const item = this.#get(invocationPk(id), key);
    return item && copyBelow(itemToCompletion(item));
  }

  async getEntry(id: string, index: number): Promise<JournalEntry | undefined> {
    const item = this.#get(invocationPk(id), journalSk(index));
    return item && copyBelow(entryOf(item));
  }

  async addPromiseWaiter(id: string, name: string, waiter: PromiseWaiter): Promise<void> {
    const sk = promiseWaiterSk(name, waiter);
    if (this.#get(invocationPk(id), sk)) return;
    this.#put({ pk: invocationPk(id), sk, waiter: waiter.invocationId, waiterKey: waiter.key });
  }

  async promiseWaiters(id: string, name: string): Promise<PromiseWaiter[]> {
    const prefix = promiseWaitersPrefix(name);
    return [...(this.#partitions.get(invocationPk(id)) ?? [])]
      .filter(([sk]) => sk.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, item]) => ({ invocationId: String(item.waiter), key: String(item.waiterKey) }));
  }

  async putEvent(event: StoredEvent): Promise<boolean> {
    if (this.#get(event.partition, eventSk(event.id))) return false;
    this.#put(eventToItem(event));
    return true;
  }

  async findEvents(partition: string): Promise<StoredEvent[]> {
    return [...(this.#partitions.get(partition) ?? [])]
      .filter(([sk]) => sk.startsWith(EVENT_SK_PREFIX))
      .map(([, item]) => copyBelow(itemToEvent(item)))
      .sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async addEventWaiter(partition: string, waiter: EventWaiter): Promise<void> {
    if (this.#get(partition, eventWaiterSk(waiter))) return;
    this.#put(eventWaiterToItem(partition, waiter));
  }

  async eventWaiters(partition: string): Promise<EventWaiter[]> {
    return [...(this.#partitions.get(partition) ?? [])]
      .filter(([sk]) => sk.startsWith(EVENT_WAITER_SK_PREFIX))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, item]) => copyBelow(itemToEventWaiter(item)));
  }

  async existingCompletions(id: string, keys: string[]): Promise<string[]> {
    return keys.filter((k) => this.#get(invocationPk(id), k));
  }

  async readState(scope: string): Promise<Map<string, string>> {
    const state = new Map<string, string>();
    for (const [sk, item] of this.#partitions.get(scope) ?? []) {
      if (sk.startsWith('S#') && typeof item.value === 'string') state.set(sk.slice(2), item.value);
    }
    return state;
  }

  async enqueueLock(scope: string, invocationId: string, order: string, maxWaiting = MAX_STORED_LOCK_WAITERS): Promise<'held' | 'queued'> {
    assertKeysFit(scope, LOCK);
    const lock = this.#lock(scope) ?? { seq: 0, waiting: {} };
    if (lock.holder === invocationId) return 'held';
    if (lock.holder === undefined && Object.keys(lock.waiting).length === 0) {
      this.#put({ pk: scope, sk: LOCK, ...lock, holder: invocationId, seq: lock.seq + 1 });
      return 'held';
    }
    if (lock.waiting[invocationId] === undefined) {
      if (Object.keys(lock.waiting).length >= maxWaiting) throw new LockQueueFullError(scope, maxWaiting);
      this.#put({ pk: scope, sk: LOCK, ...lock, waiting: { ...lock.waiting, [invocationId]: order } });
    }
    return 'queued';
  }

  async releaseLock(scope: string, invocationId: string): Promise<ObjectLock | undefined> {
    const lock = this.#lock(scope);
    if (lock && lock.holder !== invocationId && lock.waiting[invocationId] !== undefined) {
      // Ended before its turn (killed while queued): leave the queue.
      const { [invocationId]: _gone, ...waiting } = lock.waiting;
      this.#put({ pk: scope, sk: LOCK, ...lock, waiting });
      return { ...lock, waiting };
    }
    if (!lock || lock.holder !== invocationId) return undefined;
    const next: ObjectLock = { seq: lock.seq, waiting: lock.waiting };
    this.#put({ pk: scope, sk: LOCK, ...next });
    return next;
  }

  async grantLock(scope: string, next: string): Promise<boolean> {
    const lock = this.#lock(scope);
    if (!lock || lock.holder !== undefined || lock.waiting[next] === undefined) return false;
    const { [next]: _granted, ...waiting } = lock.waiting;
    this.#put({ pk: scope, sk: LOCK, holder: next, seq: lock.seq + 1, waiting });
    return true;
  }

  async readLock(scope: string): Promise<ObjectLock | undefined> {
    return this.#lock(scope);
  }

  #lock(scope: string): ObjectLock | undefined {
    const item = this.#get(scope, LOCK);
    if (!item) return undefined;
    const lock = itemToLock(item);
    return { ...lock, waiting: copyOf(lock.waiting) };
  }

  async purge(id: string): Promise<{ purged: number } | 'unfinished' | 'unknown'> {
    const pk = invocationPk(id);
    const metaItem = this.#get(pk, META);
    if (!metaItem) return 'unknown';
    const meta = itemToMeta(metaItem);
    if (meta.status !== 'completed' && meta.status !== 'failed') return 'unfinished';
    let purged = 0;
    const remove = (partition: string, keep: (sk: string) => boolean) => {
      for (const sk of [...(this.#partitions.get(partition)?.keys() ?? [])]) {
        if (keep(sk)) continue;
        this.expire(partition, sk);
        purged++;
      }
    };
    remove(pk, (sk) => sk === META);
    if (meta.kind === 'workflow' && meta.handler === 'run' && meta.key !== undefined)
      remove(stateScope(meta.service, meta.key), (sk) => !sk.startsWith('S#'));
    this.expire(pk, META);
    return { purged: purged + 1 };
  }

  async writeState(scope: string, name: string, value: string | undefined, fence: string): Promise<boolean> {
    const existing = this.#get(scope, stateSk(name));
    if (existing && String(existing.fence) > fence) return false;
    // A cleared value stays as a tombstone that keeps its fence.
    this.#put({ pk: scope, sk: stateSk(name), ...(value === undefined ? {} : { value }), fence });
    return true;
  }

  #transition(id: string, epoch: number, next: (meta: InvocationMeta) => InvocationMeta): boolean {
    const item = this.#get(invocationPk(id), META);
    if (!item) return false;
    const meta = itemToMeta(item);
    if (meta.epoch !== epoch || meta.status !== 'running') return false;
    this.#put(metaToItem(next(meta)));
    return true;
  }

  #get(pk: string, sk: string): Item | undefined {
    return this.#partitions.get(pk)?.get(sk);
  }

  #put(item: Item): void {
    // DynamoDB's 400 KB item limit, so the contract holds here too.
    assertItemFits(item);
    const pk = String(item.pk);
    const sk = String(item.sk);
    let partition = this.#partitions.get(pk);
    if (!partition) this.#partitions.set(pk, (partition = new Map()));
    const old = partition.get(sk);
    for (const k in item) if (item[k] === undefined) delete item[k];
    // Every caller builds the item's top level afresh for this call: only what lies below is shared.
    partition.set(sk, copyBelow(item));
    // The change feed only when someone listens (the simulator, the local plane): its images are copies too.
    if (this.#listeners.size === 0) return;
    const change: ItemChange = {
      eventName: old ? 'MODIFY' : 'INSERT',
      pk,
      sk,
      newItem: copyOf(item),
      ...(old ? { oldItem: copyOf(old) } : {}),
    };
    for (const listener of this.#listeners) listener(change);
  }
}

/**
 * A deep copy of an item, as DynamoDB's marshalling would make: the store
 * never shares an object with its callers. Items are plain data (strings,
 * numbers, arrays, plain objects), copied directly; anything else goes
 * through `structuredClone`, which costs about 1.5 µs even for a small item
 * (most of a step's time on this store when every copy went through it).
 */
function copyOf<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copyOf) as T;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const copy: Record<string, unknown> = {};
  // for…in sees the same keys as Object.keys here (a plain object), without an array of them.
  for (const key in value) copy[key] = copyOf((value as Record<string, unknown>)[key]);
  return copy as T;
}

/** How late DynamoDB's TTL may delete an expired item: up to 48 hours. */
const TTL_LATENESS_MS = 48 * 3_600_000;

/** A journal entry from its item, without the store's own `ttl` (as the DynamoDB store loads it). */
function entryOf(item: Item): JournalEntry {
  const { ttl: _ttl, ...rest } = item;
  return itemToEntry(rest);
}

/** `itemToEntry` and `itemToCompletion` make a new top level: copies what lies below it, so the result shares nothing with the stored item. */
function copyBelow<T extends object>(fresh: T): T {
  for (const key in fresh) fresh[key] = copyOf(fresh[key]);
  return fresh;
}
