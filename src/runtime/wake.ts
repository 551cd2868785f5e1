/**
 * The wake rule: from one changed item (a DynamoDB stream record), decide
 * whether an invocation became runnable, with at most one read.
 *
 * Two writes race: the handler's suspension (`meta` turns suspended, naming
 * what it awaits) and a completion (`C#`/`P#` inserted). Whichever lands
 * second sees the first:
 *
 *   handler:  load ─── suspend(awaiting C#2) ─────────────▶ record A
 *   resolver:        complete(C#2) ──▶ record B
 *   record B: reads meta → still running → nothing
 *   record A: queries C#2 → exists → invoke            (no lost wake-up)
 *
 * and in the other order record B finds meta suspended awaiting C#2. Both
 * may fire; the epoch in the invoke makes the second a no-op.
 *
 * A workflow promise (`P#name`) also goes to the shared handlers waiting
 * on it: the wake reads their waiter items (beside the promise) and writes
 * each one the outcome as a completion of its own, which wakes it the same
 * way. A waiter that registers after that read finds the promise itself.
 *
 * Object keys use the same outbox: an exclusive call is born suspended on
 * `C#lock`; the wake queues it on the key's lock item, a free lock is granted
 * to the earliest waiter, a grant becomes the `C#lock` completion that wakes
 * it, and its end releases the lock. Every step is a stream record, so a
 * crash between any two of them loses nothing.
 */
import type { Completion, InvocationMeta, ItemChange, ObjectLock, Store, Timer } from '../store/store.ts';
import { decodeChange } from '../store/changes.ts';
import { matchesEvent, type StoredEvent } from '../store/events.ts';
import { LOCK_GRANTED, invocationIdOf, journalSk, promiseNameOf } from '../store/keys.ts';
import { itemToEntry } from '../store/items.ts';
import type { JournalEntry } from '../store/store.ts';
import { resultCompletion } from '../store/invocation.ts';
import type { WakeTarget } from './dispatch.ts';

/**
 * What the wake role does about a change.
 *
 * @example
 * ```ts
 * { type: 'invoke', invocationId: 'inv_…', epoch: 3, service: 'review' }
 * { type: 'schedule', invocationId: 'inv_…', timer: { key: 'C#00000004', at: 1767225600000 } }
 * ```
 */
export type WakeAction =
  | { type: 'invoke'; invocationId: string; epoch: number; service: string; version?: string | undefined }
  | { type: 'schedule'; invocationId: string; timer: Timer; wake?: WakeTarget }
  | { type: 'enqueue'; scope: string; invocationId: string; order: string }
  | { type: 'release'; scope: string; invocationId: string }
  | { type: 'grant'; scope: string; next: string }
  | { type: 'granted'; scope: string; invocationId: string; seq: number }
  | { type: 'deliver'; invocationId: string; completion: Completion }
  | { type: 'relay'; invocationId: string; name: string; completion: Completion }
  | { type: 'renew'; invocationId: string; head: JournalEntry; keepUntil?: number | undefined }
  | { type: 'match'; event: StoredEvent };

/** The reads the wake rule may make (one per change at most). */
export type WakeReader = Pick<Store, 'getInvocation' | 'existingCompletions'>;

/**
 * Decides what a changed item means for its invocation.
 *
 * @example
 * ```ts
 * for (const action of await decideWake(change, store)) await act(action);
 * ```
 */
export async function decideWake(change: ItemChange, reader: WakeReader): Promise<WakeAction[]> {
  if (change.eventName === 'REMOVE') return change.byTtl && change.sk === journalSk(0) ? onJournalHeadExpired(change, reader) : [];
  const c = decodeChange(change);
  switch (c.kind) {
    case 'lock':
      return onLock(c.scope, c.lock, c.old);
    case 'meta':
      return onMeta(c.meta, c.old, reader);
    case 'completion': {
      if (c.event !== 'INSERT') return [];
      const actions = await onCompletion(c.invocationId, c.completion.key, reader);
      // A workflow promise also reaches the shared handlers waiting on it.
      const name = promiseNameOf(c.completion.key);
      return name === undefined ? actions : [...actions, { type: 'relay', invocationId: c.invocationId, name, completion: c.completion }];
    }
    case 'event':
      // An event's first delivery goes to every waiter registered under its key.
      return c.event === 'INSERT' ? [{ type: 'match', event: c.stored }] : [];
    default:
      return [];
  }
}

/**
 * DynamoDB's TTL removed an invocation's first journal entry (the others
 * expire `JOURNAL_TAIL_MARGIN_SECONDS` later, so they are still there). An
 * invocation that may still replay it gets it back, with the rest renewed;
 * a finished one keeps its journal as long as its `meta` (the retention);
 * one whose `meta` is gone lets it go.
 *
 *   TTL:   delete J#0 ──▶ record (old image) ──▶ wake reads meta: suspended → renew: put J#0, raise J#1… C#…
 *   TTL:   delete J#0 ──▶ record ──▶ wake reads meta: absent → nothing (J#1… expire days later)
 */
async function onJournalHeadExpired(change: ItemChange, reader: WakeReader): Promise<WakeAction[]> {
  const invocationId = invocationIdOf(change.pk);
  if (!invocationId || !change.oldItem) return [];
  const { ttl: _ttl, ...entry } = change.oldItem;
  const head = itemToEntry(entry);
  const meta = await reader.getInvocation(invocationId);
  if (!meta) return [];
  if (meta.status === 'completed' || meta.status === 'failed')
    return meta.ttl === undefined ? [] : [{ type: 'renew', invocationId, head, keepUntil: meta.ttl }];
  return [{ type: 'renew', invocationId, head }];
}

async function onMeta(meta: InvocationMeta, old: InvocationMeta | undefined, reader: WakeReader): Promise<WakeAction[]> {
  const entered = !old || old.status !== meta.status || old.epoch !== meta.epoch;
  if (!entered) return [];
  if (meta.status === 'pending') return onPending(meta, old, reader);
  if (meta.status === 'suspended') {
    const actions = await onSuspended(meta, reader);
    return waitsForLock(meta)
      ? [{ type: 'enqueue', scope: meta.lockScope!, invocationId: meta.id, order: lockOrder(meta) }, ...actions]
      : actions;
  }
  if (meta.status === 'completed' || meta.status === 'failed') return onFinished(meta);
  return [];
}

/**
 * A new invocation. One the ingress invoked directly (`directWake`) is
 * looked at first: by the time its record arrives the handler has usually
 * acquired it, and one read costs less than a duplicate invoke and its
 * failed acquire. One still pending (the ingress died before its invoke,
 * or the invoke failed) is invoked as any other.
 */
async function onPending(meta: InvocationMeta, old: InvocationMeta | undefined, reader: WakeReader): Promise<WakeAction[]> {
  if (old || !meta.directWake) return [invoke(meta)];
  const now = await reader.getInvocation(meta.id);
  return now?.status === 'pending' && now.epoch === meta.epoch ? [invoke(now)] : [];
}

/** A completion written first: wake its invocation if it is suspended awaiting it. */
async function onCompletion(invocationId: string, key: string, reader: WakeReader): Promise<WakeAction[]> {
  const meta = await reader.getInvocation(invocationId);
  if (meta?.status === 'suspended' && meta.awaiting?.includes(key)) return [invoke(meta)];
  // A key granted to a call that already ended (killed while queued, then
  // queued again by a stale record): hand the key on, or it is held forever.
  if (key === LOCK_GRANTED && meta?.lockScope && (meta.status === 'completed' || meta.status === 'failed')) {
    return [{ type: 'release', scope: meta.lockScope, invocationId: meta.id }];
  }
  return [];
}

async function onSuspended(meta: InvocationMeta, reader: WakeReader): Promise<WakeAction[]> {
  const awaiting = meta.awaiting ?? [];
  if (awaiting.length === 0) return [];
  const present = await reader.existingCompletions(meta.id, awaiting);
  if (present.length > 0) return [invoke(meta)];
  // The suspension is the outbox for its timers: scheduling them here means a
  // handler that crashes right after suspending cannot lose one.
  // Each message names the suspension it ends, so the timer can wake it directly.
  const wake = { service: meta.service, epoch: meta.epoch, version: meta.version };
  return (meta.timers ?? []).map((timer) => ({ type: 'schedule' as const, invocationId: meta.id, timer, wake }));
}

/** A finished invocation frees its object key and answers its callers. */
function onFinished(meta: InvocationMeta): WakeAction[] {
  const actions: WakeAction[] = meta.lockScope ? [{ type: 'release', scope: meta.lockScope, invocationId: meta.id }] : [];
  for (const caller of meta.callers ?? []) {
    actions.push({ type: 'deliver', invocationId: caller.invocationId, completion: resultCompletion(meta, caller.key, meta.updatedAt) });
  }
  return actions;
}

function onLock(scope: string, lock: ObjectLock, old: ObjectLock | undefined): WakeAction[] {
  if (lock.holder !== undefined) {
    return lock.holder !== old?.holder ? [{ type: 'granted', scope, invocationId: lock.holder, seq: lock.seq }] : [];
  }
  const waiting = Object.entries(lock.waiting).sort(([, a], [, b]) => a.localeCompare(b));
  return waiting.length > 0 ? [{ type: 'grant', scope, next: waiting[0]![0] }] : [];
}

/** An exclusive call not yet granted its key: suspended on the lock (a granted call never waits for it again). */
export function waitsForLock(meta: InvocationMeta): boolean {
  return meta.lockScope !== undefined && meta.status === 'suspended' && (meta.awaiting ?? []).includes(LOCK_GRANTED);
}

/** Queue order of an exclusive call: arrival time, then id. */
export function lockOrder(meta: Pick<InvocationMeta, 'createdAt' | 'id'>): string {
  return `${String(meta.createdAt).padStart(15, '0')}#${meta.id}`;
}

/**
 * Where the wake role's actions go: Lambda for invokes, the timer queue for
 * timers; lock steps and grants are table writes.
 *
 * @example
 * ```ts
 * await executeWake(actions, { store, now: Date.now(), invoke: (a) => lambda.send(…), schedule: (a) => sqs.send(…) });
 * ```
 */
export interface WakeEffects {
  store: Pick<Store, 'enqueueLock' | 'releaseLock' | 'grantLock' | 'complete' | 'promiseWaiters' | 'renewJournal' | 'eventWaiters'>;
  now: number;
  invoke(action: Extract<WakeAction, { type: 'invoke' }>): Promise<void>;
  schedule(action: Extract<WakeAction, { type: 'schedule' }>): Promise<void>;
}

/**
 * Carries out wake actions in order. Each is idempotent, so a retried stream
 * record repeats them harmlessly.
 *
 * @example
 * ```ts
 * await executeWake(await decideWake(change, store), effects);
 * ```
 */
export async function executeWake(actions: WakeAction[], effects: WakeEffects): Promise<void> {
  for (const action of actions) {
    switch (action.type) {
      case 'invoke':
        await effects.invoke(action);
        break;
      case 'schedule':
        await effects.schedule(action);
        break;
      case 'enqueue':
        await effects.store.enqueueLock(action.scope, action.invocationId, action.order);
        break;
      case 'release':
        await effects.store.releaseLock(action.scope, action.invocationId);
        break;
      case 'grant':
        await effects.store.grantLock(action.scope, action.next);
        break;
      case 'granted': {
        const written = await effects.store.complete(action.invocationId, {
          key: LOCK_GRANTED,
          value: String(action.seq),
          at: effects.now,
        });
        // A grant under another sequence number means this call already had
        // its turn and finished: a late duplicate of its first record queued
        // it again. Free the key, or it stays held by a finished call forever.
        //
        //   INSERT meta suspended@0 (call x)  ── duplicate delivered late ─────────────┐
        //   x granted (seq 1), runs, finishes, releases                                ▼
        //                                         enqueue x → x granted again (seq 3): C#lock lost
        //
        // (Found by the simulator, seed 97.)
        if (!written.won && written.existing.value !== String(action.seq))
          await effects.store.releaseLock(action.scope, action.invocationId);
        break;
      }
      case 'deliver':
        await effects.store.complete(action.invocationId, action.completion);
        break;
      case 'relay': {
        // Each waiter registered before this read gets the outcome; one that
        // registers after it finds the promise itself (see `#awaitPromise` in
        // the engine's context). A repeat of the record writes nothing new.
        const { value, failure } = action.completion;
        for (const waiter of await effects.store.promiseWaiters(action.invocationId, action.name))
          await effects.store.complete(waiter.invocationId, { key: waiter.key, value, failure, at: effects.now });
        break;
      }
      case 'renew': {
        // A finished invocation past its retention lets its journal go.
        if (action.keepUntil !== undefined && action.keepUntil * 1000 <= effects.now) break;
        await effects.store.renewJournal(action.invocationId, { head: action.head, now: effects.now, until: action.keepUntil });
        break;
      }
      case 'match': {
        // Each waiter registered before this read whose match the event
        // satisfies gets it as its completion; one that registers after the
        // read finds the event itself (see `waitForEvent` in the engine's
        // context). A repeated record writes nothing new (first writer wins).
        const { event } = action;
        for (const waiter of await effects.store.eventWaiters(event.partition)) {
          if (!matchesEvent(waiter.match, event.values) || waiter.until < event.at) continue;
          await effects.store.complete(waiter.invocationId, eventCompletion(waiter.key, event, effects.now));
        }
        break;
      }
    }
  }
}

/**
 * The completion an event becomes for a waiter: the event, or why it could
 * not be kept; `by` names the delivery.
 *
 * @example
 * ```ts
 * await store.complete(waiter.invocationId, eventCompletion(waiter.key, event, Date.now()));
 * ```
 */
export function eventCompletion(key: string, event: StoredEvent, now: number): Completion {
  return { key, at: now, by: `event#${event.endpoint}#${event.id}`, value: event.value, failure: event.failure };
}

function invoke(meta: InvocationMeta): WakeAction {
  // The pinned version travels with the invoke: the attempt runs the code the invocation started on.
  return {
    type: 'invoke',
    invocationId: meta.id,
    epoch: meta.epoch,
    service: meta.service,
    ...(meta.version ? { version: meta.version } : {}),
  };
}
