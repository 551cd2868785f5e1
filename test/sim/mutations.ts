/**
 * Deliberately broken runtime rules: the simulator must catch each one, or
 * it is not testing what it claims to.
 */
import { decideWake } from 'dormant-lambda/internal';
import { Journal } from '../../src/engine/journal.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { META, invocationIdOf } from '../../src/store/keys.ts';
import type { EntryKind } from '../../src/store/store.ts';
import type { DecideWake } from './world.ts';

/**
 * A broken rule: a replacement wake rule, or a patch of the engine applied
 * for the run (it returns the undo).
 */
export interface Mutation {
  decideWake?: DecideWake;
  patch?: () => () => void;
}

/**
 * The wake rule without its second half: a `meta` record turning suspended
 * never looks for completions that already exist. A completion written
 * between the handler's load and its suspension then wakes nobody:
 *
 *   handler:  load ── suspend(awaiting C#2) ──▶ record: (broken) no query, no invoke
 *   resolver:      complete(C#2) ──▶ record: meta still running → nothing
 */
export const wakeIgnoringEarlierCompletions: DecideWake = (change, reader) =>
  decideWake(
    change,
    change.sk === META && change.newItem?.status === 'suspended'
      ? { getInvocation: (id) => reader.getInvocation(id), existingCompletions: async () => [] }
      : reader,
  );

/** The entry kinds whose appends the durable context made itself before the fix (and fenced state writes). */
const WRITTEN_BY_CONTEXT = new Set<EntryKind>([
  'resolve-awakeable',
  'reject-awakeable',
  'call',
  'send',
  'set',
  'clear',
  'clear-all',
  'promise-resolve',
  'promise-reject',
]);

/**
 * The engine as it was before lost writes had one outcome: a lost append of
 * a kind the context wrote itself (a send, a state write, a promise
 * resolve…), or a state write fenced off by a newer attempt, threw a plain
 * `Error`, which the attempt counted as a retryable handler failure:
 *
 *   zombie:  … append J#3 (send) ✓
 *   newer:   … append J#3 (send) ✗ → retrying (retries 1, lastFailure) — was
 *            lost, handed back; with maxAttempts 1 it failed the invocation
 */
export const lostWriteAsFailure: Mutation = {
  patch: () => {
    const original = Journal.prototype.lostWrite;
    Journal.prototype.lostWrite = function (this: Journal, reason: string, entry?: { kind: EntryKind }) {
      return entry === undefined || WRITTEN_BY_CONTEXT.has(entry.kind) ? new Error(reason) : original.call(this, reason, entry as never);
    };
    return () => {
      Journal.prototype.lostWrite = original;
    };
  },
};

/**
 * The wake rule without the relay of a workflow promise to the shared
 * handlers waiting on it: a waiter that recorded itself before the promise
 * landed is never handed its outcome.
 *
 *   shared:    record waiter ── read P#p: absent ── suspend on C#i
 *   resolver:                                   put P#p ──▶ record: (broken) run woken, waiters not
 */
export const wakeWithoutRelay: DecideWake = async (change, reader) =>
  (await decideWake(change, reader)).filter((action) => action.type !== 'relay');

/**
 * A shared handler that records itself as a waiter but never looks at the
 * promise: one that comes after the promise landed (and after its record
 * was relayed) waits forever. The patch hides workflow promises from
 * single reads (which only waiters and shared `peek`s make).
 *
 *   resolver:  put P#p ──▶ record: no waiters yet
 *   shared:                         record waiter ── read P#p: (broken) absent ── suspend on C#i
 */
export const waiterNotLooking: Mutation = {
  patch: () => {
    const original = MemoryStore.prototype.getCompletion;
    MemoryStore.prototype.getCompletion = async function (this: MemoryStore, id: string, key: string) {
      return key.startsWith('P#') ? undefined : original.call(this, id, key);
    };
    return () => {
      MemoryStore.prototype.getCompletion = original;
    };
  },
};

/**
 * An attempt that does not pin its invocation (the store ignores the
 * version at acquire): every later attempt goes to the alias, and a deploy
 * between two attempts replays the journal on code it was not written by.
 *
 *   attempt@v1:  acquire (no pin) ── suspend
 *   deploy v2
 *   wake:        meta has no pin → invoke the alias → attempt@v2 replays v1's journal
 */
export const unpinnedAttempts: Mutation = {
  patch: () => {
    const original = MemoryStore.prototype.acquire;
    MemoryStore.prototype.acquire = async function (this: MemoryStore, id, options) {
      return original.call(this, id, { ...options, version: undefined });
    };
    return () => {
      MemoryStore.prototype.acquire = original;
    };
  },
};

/**
 * An acquire that records someone else's invoke id: a retry of the invoke
 * whose attempt died holding the lease takes the lease for another invoke's
 * and stops, as a duplicate wake does, so nobody takes the invocation over:
 *
 *   invoke A@3:  acquire ✓ (running, lease L, (broken) invokeId A′) ── crash
 *   retry  A@3:  acquire ✗ ── invokeId A′ ≠ A → skipped; Lambda counts a success: stuck running
 */
export const invokeIdForgotten: Mutation = {
  patch: () => {
    const original = MemoryStore.prototype.acquire;
    let other = 0;
    MemoryStore.prototype.acquire = async function (this: MemoryStore, id, options) {
      return original.call(this, id, {
        ...options,
        invokeId: options.invokeId === undefined ? undefined : `${options.invokeId}′${other++}`,
      });
    };
    return () => {
      MemoryStore.prototype.acquire = original;
    };
  },
};

/**
 * The wake rule without the match of a new event to its waiters: a wait
 * recorded before the event landed is never handed it.
 *
 *   wait:   record waiter ── read events: none ── suspend on C#i
 *   event:                                   put E#id ──▶ record: (broken) waiters not read
 */
export const wakeWithoutEventMatch: DecideWake = async (change, reader) =>
  (await decideWake(change, reader)).filter((action) => action.type !== 'match');

/**
 * A wait that records itself but never reads the events already stored:
 * one that starts after its event landed (and after its record was
 * matched) waits forever.
 *
 *   event:  put E#id ──▶ record: no waiters yet
 *   wait:                        record waiter ── read events: (broken) none ── suspend on C#i
 */
export const eventWaiterNotLooking: Mutation = {
  patch: () => {
    const original = MemoryStore.prototype.findEvents;
    MemoryStore.prototype.findEvents = async () => [];
    return () => {
      MemoryStore.prototype.findEvents = original;
    };
  },
};

/** Broken rules by name, for `npm run sim -- --break NAME`. */
export const MUTATIONS: Record<string, Mutation> = {
  'suspend-after-completion': { decideWake: wakeIgnoringEarlierCompletions },
  'lost-write-as-failure': lostWriteAsFailure,
  'promise-without-relay': { decideWake: wakeWithoutRelay },
  'waiter-not-looking': waiterNotLooking,
  'unpinned-attempts': unpinnedAttempts,
  'invoke-id-forgotten': invokeIdForgotten,
  'event-without-match': { decideWake: wakeWithoutEventMatch },
  'event-waiter-not-looking': eventWaiterNotLooking,
};

/**
 * The wake rule trusting the timer's direct wake: a due timer's completion
 * record wakes nobody, as if the timer's own invoke were enough. A timer
 * that dies between its write and its invoke (the simulator's
 * `crashBeforeDirectWake`), or whose invoke names an epoch the invocation
 * has left, then strands the invocation:
 *
 *   timer:  put C#4 ✓ ── ✗ crash (no invoke)
 *   stream: record C#4 ──▶ (broken) nothing: suspended on C#4 for ever
 */
export const wakeTrustingTheTimer: DecideWake = async (change, reader) => {
  const id = invocationIdOf(change.pk);
  if (id !== undefined && change.eventName === 'INSERT' && change.sk.startsWith('C#')) {
    const meta = await reader.getInvocation(id);
    if (meta?.timers?.some((t) => t.key === change.sk)) return [];
  }
  return decideWake(change, reader);
};
