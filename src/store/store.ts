/**
 * The store port: the narrow set of operations the runtime needs from its
 * table, after Powertools' persistence layer. Two leaves implement it, the
 * DynamoDB store and the in-memory store (simulation and unit tests), and
 * both pass the same contract suite.
 *
 * Every operation that guards a race is conditional in the store itself;
 * callers never read-then-write.
 */
import type { Failure } from '../api/errors.ts';
import type { ServiceKind } from '../api/definitions.ts';
import type { EventWaiter, StoredEvent } from './events.ts';

/** Lifecycle of an invocation. */
export type InvocationStatus = 'pending' | 'running' | 'suspended' | 'completed' | 'failed';

/**
 * A durable timer the invocation waits on; the wake role schedules it when
 * the invocation suspends (the suspension write is the outbox).
 *
 * @example
 * ```ts
 * const t: Timer = { key: 'C#00000004', at: Date.now() + 60_000 };
 * ```
 */
export interface Timer {
  /** The completion key the timer writes when due. */
  key: string;
  /** Due time, epoch milliseconds. */
  at: number;
}

/**
 * The `meta` item of an invocation.
 *
 * @example
 * ```ts
 * meta.status === 'suspended' && meta.awaiting // ['C#00000002']
 * ```
 */
export interface InvocationMeta {
  id: string;
  service: string;
  handler: string;
  kind: ServiceKind;
  /** Object or workflow key. */
  key?: string | undefined;
  status: InvocationStatus;
  /** Incremented by every acquire: fences older attempts. */
  epoch: number;
  /**
   * The published handler function version the invocation first ran on
   * (its pin): every later attempt is invoked on it. Set once, by the first
   * acquire that names a version; absent on invocations started before
   * pinning (they run the alias) and on `$LATEST`.
   */
  version?: string | undefined;
  /** The version an operator moved this invocation off (`upgrade`), for error messages and status pages. */
  upgradedFrom?: string | undefined;
  /** While running: epoch ms after which another attempt may take over. */
  lease?: number | undefined;
  /**
   * While running: the id of the invoke whose attempt holds the lease
   * (`AcquireOptions.invokeId`). Only that invoke's own retries wait the
   * lease out; any other invoke that finds it running stops. Absent on
   * attempts of invokes without an id (earlier releases).
   */
  invokeId?: string | undefined;
  /**
   * How many journal entries were in the table at the last suspension.
   * Entries are never deleted while the invocation runs, so a load that
   * finds fewer means some expired or were deleted: the replay refuses
   * (`JournalGapError`) rather than run those steps again. (Indices alone
   * cannot tell: parallel steps journal out of order, so a step that never
   * finished leaves a hole too.) Absent on items older than this field.
   */
  journalEntries?: number | undefined;
  /** While suspended: completion keys any of which makes it runnable again. */
  awaiting?: string[] | undefined;
  /** While suspended: timers among `awaiting` that must be scheduled. */
  timers?: Timer[] | undefined;
  /** While suspended: the awakeable ids among `awaiting`, by completion key (for status pages). */
  awakeables?: Record<string, string> | undefined;
  /** While suspended: the invocation ids of callees whose results are among `awaiting`, by completion key (for status pages). */
  callees?: Record<string, string> | undefined;
  /**
   * Serialized input, when it is kept on `meta` (up to
   * `INLINE_INPUT_MAX_BYTES`, and every input of an earlier release).
   * A larger one lives in an item of its own (`input`), so reading `meta`
   * (a status, each poll of a waiting call) costs the same whatever the
   * input's size; `load` returns it, and `inputSha256` stands for it.
   */
  input?: string | undefined;
  /** SHA-256 (base64url) of the input, when the input lives in its own item: a retry's body is compared with it. */
  inputSha256?: string | undefined;
  /** Serialized output once completed. */
  output?: string | undefined;
  /** Terminal failure once failed. */
  failure?: Failure | undefined;
  /** Retryable failures so far (the invocation backs off by timer between them). */
  retries?: number | undefined;
  /** The last retryable failure, for status pages. */
  lastFailure?: Failure | undefined;
  idempotencyKey?: string | undefined;
  /** Headers of the request that started it (lowercase names), for `ctx.request().headers`; absent when none (and on items older than this field). */
  headers?: Record<string, string> | undefined;
  /** Invocations awaiting this one's result: each gets it as a completion under `key`. */
  callers?: { invocationId: string; key: string }[] | undefined;
  /** Exclusive object handlers: the state scope whose lock this invocation holds or waits for. */
  lockScope?: string | undefined;
  /**
   * Set on a new invocation whose starter invokes its handler directly: the
   * wake then reads `meta` before invoking it again. Absent on items older
   * than this field (the wake invokes, as it did).
   */
  directWake?: true | undefined;
  createdAt: number;
  updatedAt: number;
  /** Expiry, integer epoch seconds (DynamoDB TTL), once finished. */
  ttl?: number | undefined;
}

/** What a journal entry records. */
export type EntryKind =
  | 'run'
  | 'call'
  | 'send'
  | 'cancel'
  | 'awakeable'
  | 'sleep'
  | 'combinator'
  | 'now'
  | 'resolve-awakeable'
  | 'reject-awakeable'
  | 'get'
  | 'set'
  | 'clear'
  | 'clear-all'
  | 'state-keys'
  | 'promise-peek'
  | 'promise-resolve'
  | 'promise-reject'
  | 'promise-await'
  | 'cancel-invocation'
  | 'attach'
  | 'webhook'
  | 'event-await';

/**
 * One journal entry (`J#` + index). Written once, never changed.
 *
 * @example
 * ```ts
 * const e: JournalEntry = { index: 0, kind: 'run', name: 'charge', value: '{"ok":true}' };
 * ```
 */
export interface JournalEntry {
  index: number;
  kind: EntryKind;
  name?: string | undefined;
  /** Serialized result. */
  value?: string | undefined;
  /** Terminal failure result. */
  failure?: Failure | undefined;
  /** `awakeable`, `webhook`: the minted id. */
  id?: string | undefined;
  /** `sleep`: due time, epoch ms. */
  at?: number | undefined;
  /** `combinator`: positions of the children whose outcomes decided it, in order. */
  settled?: number[] | undefined;
  /** When the entry was written, epoch ms (absent on entries written before it was recorded). */
  writtenAt?: number | undefined;
}

/**
 * A completion (`C#` + key, or `P#` + name for workflow promises): written
 * once by whoever completes first.
 *
 * @example
 * ```ts
 * const c: Completion = { key: 'C#00000002', value: '"approved"', at: Date.now() };
 * ```
 */
export interface Completion {
  key: string;
  value?: string | undefined;
  failure?: Failure | undefined;
  /** When it was written, epoch ms. */
  at: number;
  /** Expiry, integer epoch seconds. */
  ttl?: number | undefined;
  /**
   * The journal entry that wrote it (`invocationId#index`), when a handler
   * did: its replay after a crash recognizes its own write as won.
   */
  by?: string | undefined;
}

/**
 * A shared workflow handler's invocation waiting on the workflow's durable
 * promise, and the completion key of its own partition that gets the
 * promise's outcome.
 *
 * @example
 * ```ts
 * const w: PromiseWaiter = { invocationId: 'inv_shared…', key: 'C#00000001' };
 * ```
 */
export interface PromiseWaiter {
  invocationId: string;
  key: string;
}

/**
 * The outcome of writing a completion: the first writer wins; the loser
 * learns what it lost to without a second read.
 *
 * @example
 * ```ts
 * const r = await store.complete(id, c);
 * if (!r.won) console.log('already', r.existing.value ?? r.existing.failure);
 * ```
 */
export type CompleteResult = { won: true } | { won: false; existing: Completion };

/**
 * What one Query of an invocation's partition returns.
 *
 * @example
 * ```ts
 * const { journal, completions } = await store.load(id);
 * journal[0]?.kind // 'run'
 * ```
 */
export interface LoadedInvocation {
  /** Entries by index; gaps are possible (an entry whose step had not finished). */
  journal: Map<number, JournalEntry>;
  /** Completions and workflow promises by key. */
  completions: Map<string, Completion>;
  /** The input, when it lives in an item of its own rather than on `meta`. */
  input?: string | undefined;
}

/**
 * A change to an item, as a DynamoDB stream delivers it (both images as plain
 * objects). The in-memory store emits the same shape so the wake rule is
 * tested on both.
 *
 * @example
 * ```ts
 * const change: ItemChange = { eventName: 'INSERT', pk: 'I#inv_…', sk: 'C#00000002', newItem: { … } };
 * ```
 */
export interface ItemChange {
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  pk: string;
  sk: string;
  newItem?: Record<string, unknown> | undefined;
  oldItem?: Record<string, unknown> | undefined;
  /** On a REMOVE: DynamoDB's TTL deleted the item (not a purge or a user's delete). */
  byTtl?: true | undefined;
}

/**
 * The lock item of an object key (`L#lock` in the key's partition): who holds
 * it, a sequence number bumped by every grant (it orders state writes), and
 * who waits, with an order value each (arrival time and id).
 *
 * @example
 * ```ts
 * const lock: ObjectLock = { holder: 'inv_a', seq: 7, waiting: { inv_b: '000001767225600000#inv_b' } };
 * ```
 */
export interface ObjectLock {
  holder?: string | undefined;
  seq: number;
  waiting: Record<string, string>;
}

/**
 * What a suspension records.
 *
 * @example
 * ```ts
 * await store.suspend(id, { epoch: 2, now, awaiting: ['C#00000001', 'C#00000003'], timers: [], awakeables: { 'C#00000001': 'awk_…' }, callees: { 'C#00000003': 'inv_…' } });
 * ```
 */
export interface SuspendOptions {
  epoch: number;
  now: number;
  awaiting: string[];
  timers: Timer[];
  /** Awakeable ids among `awaiting`, by completion key; left out when empty. */
  awakeables?: Record<string, string>;
  /** Callee invocation ids among `awaiting`, by completion key; left out when empty. */
  callees?: Record<string, string>;
  retries?: number;
  lastFailure?: Failure;
  /** How many journal entries are in the table (`InvocationMeta.journalEntries`). */
  journalEntries?: number;
}

/**
 * Options of `acquire`.
 *
 * @example
 * ```ts
 * await store.acquire(id, { seenEpoch: 2, now: Date.now(), leaseMs: 900_000, version: '7' });
 * ```
 */
export interface AcquireOptions {
  seenEpoch: number;
  now: number;
  leaseMs: number;
  /**
   * The function version this attempt runs on. The first acquire that names
   * one pins the invocation to it; an invocation pinned to another version
   * is not acquired (the engine then fails the invoke, and recovery invokes the pinned version).
   */
  version?: string | undefined;
  /**
   * The id of the invoke this attempt runs for (its payload's `invokeId`),
   * kept on `meta` while it runs; an acquire without one clears it.
   */
  invokeId?: string | undefined;
}

/**
 * What `unpin` did.
 *
 * @example
 * ```ts
 * const r = await store.unpin(id, { now: Date.now() });
 * if (r.kind === 'upgraded') console.log(`moved off version ${r.from}`);
 * ```
 */
export type UnpinResult =
  { kind: 'upgraded'; from: string } | { kind: 'unpinned' } | { kind: 'not-suspended'; status: InvocationStatus } | { kind: 'unknown' };

/**
 * A read of the list index (`Store.listIndex`): the services whose
 * partitions to read, a creation-time window, and where the previous page
 * stopped.
 *
 * @example
 * ```ts
 * const q: ListIndexQuery = { services: ['greeter'], since: Date.now() - 3_600_000, limit: 20 };
 * ```
 */
export interface ListIndexQuery {
  services: string[];
  /** Created at or after, epoch ms. */
  since?: number | undefined;
  /** Created at or before, epoch ms. */
  until?: number | undefined;
  /** Only positions strictly before this one (where the previous page stopped). */
  before?: string | undefined;
  /** At most this many rows (1 to 1,000). */
  limit: number;
}

/**
 * One row of the list index: an invocation id and its position (creation
 * time and id, see `listPosition`).
 *
 * @example
 * ```ts
 * const row: ListIndexRow = { id: 'inv_x', position: '001765152000000#inv_x' };
 * ```
 */
export interface ListIndexRow {
  id: string;
  position: string;
}

/**
 * The persistence operations of the runtime. Conditions (first writer wins,
 * epoch fences) live inside each operation.
 *
 * @example
 * ```ts
 * const meta = await store.acquire(id, { seenEpoch: 0, now: Date.now(), leaseMs: 900_000 });
 * if (!meta) return; // a duplicate or a zombie: stop at the cost of one write
 * ```
 */
export interface Store {
  /** Inserts a pending invocation unless one with this id exists (then returns it). */
  createInvocation(meta: InvocationMeta): Promise<{ created: true } | { created: false; existing: InvocationMeta }>;
  /** Strongly consistent read of `meta`. */
  getInvocation(id: string): Promise<InvocationMeta | undefined>;
  /**
   * Newest first, the invocations of `services` created in the window and
   * before `before`: at most `limit` rows of the sparse, keys-only list
   * index (eventually consistent on AWS). `more` is false once nothing is
   * left; it may be true with nothing left (the next page is then empty).
   * Invocations created before the index existed are listed once
   * `backfillListIndex` has run.
   */
  listIndex(query: ListIndexQuery): Promise<{ rows: ListIndexRow[]; more: boolean }>;
  /**
   * The `meta` of each id that still exists, in the order given (an
   * eventually consistent batch read: for listings, never for decisions).
   */
  getInvocations(ids: string[]): Promise<InvocationMeta[]>;
  /**
   * Takes the invocation for one attempt: `running`, `epoch + 1`, a lease; only
   * if it is pending or suspended at `seenEpoch`, or running with an expired
   * lease. Returns the new `meta`, or `undefined` when another attempt owns it.
   */
  acquire(id: string, options: AcquireOptions): Promise<InvocationMeta | undefined>;
  /** One strongly consistent Query: the journal with the completions. */
  load(id: string): Promise<LoadedInvocation>;
  /**
   * Whether any journal entry of `id` exists (one keys-only Query of at most
   * one item). The ingress asks before it reuses a derived id (workflow key,
   * Idempotency-Key) whose `meta` may have expired while its journal lives on.
   */
  hasJournal(id: string): Promise<boolean>;
  /**
   * Renews an invocation's journal once DynamoDB's TTL has removed its first
   * entry (`head`, as the stream's old image holds it) while the invocation
   * still needs it: puts the entry back unless it exists, expiring at `until`
   * (epoch seconds; default `now` plus the store's journal TTL), or raises
   * its expiry to `until`, and raises every other item of the partition but
   * `meta` to expire no sooner than `until + JOURNAL_TAIL_MARGIN_SECONDS`. Never lowers an expiry, never
   * brings back another deleted item. Returns how many items it wrote.
   */
  renewJournal(id: string, o: { head: JournalEntry; now: number; until?: number | undefined }): Promise<number>;
  /** Writes entry `entry.index` unless it exists. `false`: another attempt wrote it. */
  append(id: string, entry: JournalEntry): Promise<boolean>;
  /** Records a suspension, if this attempt (`epoch`) still owns the invocation. */
  suspend(id: string, options: SuspendOptions): Promise<boolean>;
  /**
   * Moves a suspended, pinned invocation off its version (an operator's
   * deliberate upgrade): its next attempt runs the alias and pins that
   * version. `not-suspended` and `unknown` change nothing; `unpinned` means
   * it runs the alias already.
   */
  unpin(id: string, options: { now: number }): Promise<UnpinResult>;
  /** Hands a running invocation back as pending (a fresh attempt replays it), if `epoch` still owns it. */
  release(id: string, options: { epoch: number; now: number }): Promise<boolean>;
  /** Records the outcome, if `epoch` still owns the invocation. */
  finish(id: string, options: { epoch: number; now: number; output?: string; failure?: Failure; ttl: number }): Promise<boolean>;
  /**
   * Records an awakeable's heartbeat at `at` under `key` (a
   * `heartbeatKey`): overwritten by later heartbeats, never by earlier ones.
   */
  heartbeat(id: string, key: string, at: number): Promise<void>;
  /** Writes a completion into an invocation's partition; first writer wins. */
  complete(id: string, completion: Completion): Promise<CompleteResult>;
  /**
   * Adds a caller to an unfinished invocation (a second caller of a workflow
   * run). `false` when it has finished (the caller reads the result itself)
   * or does not exist.
   */
  addCaller(id: string, caller: { invocationId: string; key: string }): Promise<boolean>;
  /**
   * Ends an unfinished invocation as failed without running any more code
   * (kill). Bumps the epoch, so a running attempt's suspend or finish loses.
   */
  kill(id: string, options: { now: number; failure: Failure; ttl: number }): Promise<boolean>;
  /** Reads one completion (or workflow promise). */
  getCompletion(id: string, key: string): Promise<Completion | undefined>;
  /** Reads one journal entry (a webhook's options, for the callback route that receives it). */
  getEntry(id: string, index: number): Promise<JournalEntry | undefined>;
  /**
   * Records that `waiter` waits on durable promise `name` of workflow run
   * `id` (idempotent: the first record stands). The wake rule hands the
   * promise's outcome to every waiter when it completes.
   */
  addPromiseWaiter(id: string, name: string, waiter: PromiseWaiter): Promise<void>;
  /** The waiters of durable promise `name` of workflow run `id` (one strongly consistent Query). */
  promiseWaiters(id: string, name: string): Promise<PromiseWaiter[]>;
  /**
   * Stores an event under its correlation key unless an event of that
   * delivery id is there (`false`: a redelivery, nothing written).
   */
  putEvent(event: StoredEvent): Promise<boolean>;
  /** The events stored under a correlation key, oldest first (one strongly consistent Query). */
  findEvents(partition: string): Promise<StoredEvent[]>;
  /** Records a `ctx.waitForEvent` under a correlation key (idempotent: the first record stands). */
  addEventWaiter(partition: string, waiter: EventWaiter): Promise<void>;
  /** The waiters under a correlation key (one strongly consistent Query). */
  eventWaiters(partition: string): Promise<EventWaiter[]>;
  /** Which of `keys` exist as completions (the wake rule's one read after a suspension). */
  existingCompletions(id: string, keys: string[]): Promise<string[]>;
  /** All state of an object or workflow key. */
  readState(scope: string): Promise<Map<string, string>>;
  /**
   * Joins an object key's lock: takes it if it is free and nobody waits,
   * otherwise queues (idempotent: a holder or waiter stays where it is).
   * A queue of `maxWaiting` (default `MAX_STORED_LOCK_WAITERS`) takes no
   * newcomer: `LockQueueFullError`.
   */
  enqueueLock(scope: string, invocationId: string, order: string, maxWaiting?: number): Promise<'held' | 'queued'>;
  /**
   * Frees the lock if `invocationId` holds it, or takes it off the queue if
   * it waits (it ended before its turn); returns the lock as left.
   */
  releaseLock(scope: string, invocationId: string): Promise<ObjectLock | undefined>;
  /** Hands a free lock to a waiter; `false` if someone holds it or `next` no longer waits. */
  grantLock(scope: string, next: string): Promise<boolean>;
  /** Reads an object key's lock (status pages). */
  readLock(scope: string): Promise<ObjectLock | undefined>;
  /**
   * Deletes a finished invocation's items: its journal (with every state
   * change and step result it recorded), completions, promises, input, and
   * last its `meta` with the output (so a purge cut short is finished by
   * running it again). A workflow's `run` takes its workflow's state with
   * it; an object call leaves the object's state (it belongs to the key).
   * `unfinished` and `unknown` delete nothing.
   */
  purge(id: string): Promise<{ purged: number } | 'unfinished' | 'unknown'>;
  /**
   * Writes (or with `undefined`, clears) one state value, unless a newer
   * writer (a larger `fence`) already wrote it: zombies cannot roll state back.
   */
  writeState(scope: string, name: string, value: string | undefined, fence: string): Promise<boolean>;
}

/**
 * Default expiry of journal entries: 30 days after they are written (the
 * entries after the first 3 days more, {@link JOURNAL_TAIL_MARGIN_SECONDS}).
 * An invocation that still needs its journal when the first entry expires
 * gets it back with the rest renewed (`Store.renewJournal`, from the wake),
 * so this only sets how often a long-lived invocation pays that renewal.
 *
 * @example
 * ```ts
 * new DynamoDbStore({ client, tableName, journalTtlSeconds: DEFAULT_JOURNAL_TTL_SECONDS });
 * ```
 */
export const DEFAULT_JOURNAL_TTL_SECONDS = 30 * 24 * 3600;

/**
 * How much later than the journal's first entry every other item of an
 * invocation expires: more than DynamoDB's TTL lateness (up to 48 hours), so
 * the first entry is always deleted first, and its removal (which the wake
 * sees) comes while the rest is still there to renew.
 *
 * @example
 * ```ts
 * const tailTtl = headTtl + JOURNAL_TAIL_MARGIN_SECONDS;
 * ```
 */
export const JOURNAL_TAIL_MARGIN_SECONDS = 3 * 24 * 3600;
