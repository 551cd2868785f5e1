/**
 * What the handler waits for, and when the attempt suspends.
 *
 * Awaiting a durable promise settles it from what the attempt knows, or parks
 * the handler on the completions it needs. Once no step runs and the handler
 * is parked only on completions nobody in this attempt can provide, the
 * attempt lingers a moment (`lingerMs`) for callbacks that usually arrive
 * quickly, then suspends. A cancellation is delivered here too: at an await,
 * at the same place on every replay.
 */
import { CancelledError, type Failure } from '../api/errors.ts';
import { CANCEL } from '../store/keys.ts';
import type { Completion, Store, Timer } from '../store/store.ts';
import type { Clock } from './clock.ts';
import type { Completions } from './completions.ts';
import type { Ending } from './ending.ts';
import type { Journal } from './journal.ts';
import { derivedInvocationId } from './ids.ts';
import type { Durable } from './promises.ts';

type Waiter = { keys: string[]; timers: Timer[]; wake: () => void };

/** The waits of one attempt. */
export class Waiting {
  #inflight = 0;
  readonly #waiters = new Set<Waiter>();
  #idleCheck = false;
  /** Awakeable ids by completion key, so a suspension can name them. */
  readonly #awakeables = new Map<string, string>();
  /** Callee invocation ids by result key, so a suspension can name what it awaits. */
  readonly #callees = new Map<string, string>();
  /** Awaits since the journal cursor last moved (at `#awaitsAt`): where a cancellation is delivered. */
  #awaits = 0;
  #awaitsAt = 0;
  #cancelDelivered = false;

  constructor(
    private readonly invocationId: string,
    private readonly deps: { clock: Clock; lingerMs?: number | undefined },
    /** The store as given: a failed poll while lingering interrupts the attempt saying so (see `#suspendWhenIdle`). */
    private readonly store: Store,
    private readonly journal: Journal,
    private readonly completions: Completions,
    private readonly ending: Ending,
  ) {
    completions.listen((completion) => this.#wake(completion));
  }

  /** Remembers an awakeable's id by completion key, so a suspension can name it. */
  noteAwakeable(key: string, id: string): void {
    this.#awakeables.set(key, id);
  }

  /** Remembers a call's callee id by result key, so a suspension can name it. */
  noteCallee(key: string, calleeId: string): void {
    this.#callees.set(key, calleeId);
  }

  /** Settles a durable promise from what is known, or parks until it can be. */
  async await<T>(promise: Durable<T>): Promise<T> {
    if (this.journal.cursor !== this.#awaitsAt) {
      this.#awaitsAt = this.journal.cursor;
      this.#awaits = 0;
    }
    this.#awaits++;
    const replayed = this.#cancellation(false);
    if (replayed) throw replayed;
    for (;;) {
      const outcome = promise.outcome();
      if (outcome) {
        if (outcome.ok) return outcome.value;
        throw outcome.error;
      }
      const blockers = promise.blockers();
      if (blockers.cancel?.length) {
        for (const cancel of blockers.cancel) await cancel();
        continue;
      }
      if (blockers.local.length > 0) {
        await (blockers.local.length === 1 ? blockers.local[0] : Promise.race(blockers.local));
        continue;
      }
      const cancelled = this.#cancellation(true);
      if (cancelled) throw cancelled;
      await this.#block(blockers.keys, blockers.timers);
    }
  }

  /** Runs a step body, counted as in flight so the attempt does not suspend under it. */
  async inFlight<T>(work: () => Promise<T>): Promise<T> {
    this.#inflight++;
    try {
      return await work();
    } finally {
      this.#inflight--;
      this.#scheduleIdleCheck();
    }
  }

  /**
   * Ends the attempt suspended on one timer (a step's long retry backoff):
   * nothing runs, nothing is billed, until it fires. `step` names the step
   * for an interruption's message, e.g. `step 'charge' (entry 3)`.
   */
  async suspendOnTimer(timer: Timer, lastFailure: Failure, step: string): Promise<void> {
    await this.journal.flush();
    if (this.ending.ended) return;
    const awaiting = this.#cancelDelivered ? [timer.key] : [CANCEL, timer.key];
    this.ending.suspend(`suspending ${step} on its retry timer ${timer.key}`, { awaiting, timers: [timer], lastFailure });
  }

  /**
   * Delivers a cancellation at an await, deterministically: the first time at
   * an await that would block, journaled with that await's position; on replay
   * at the same position.
   */
  #cancellation(wouldBlock: boolean): CancelledError | undefined {
    if (this.#cancelDelivered) return undefined;
    const recorded = this.journal.recorded.get(this.journal.cursor);
    if (recorded?.kind !== 'cancel' && (recorded || !wouldBlock || !this.completions.has(CANCEL))) return undefined;
    const position = String(this.#awaits);
    if (recorded && recorded.name !== position) return undefined;
    const { index } = this.journal.allocate('cancel', position);
    this.#cancelDelivered = true;
    if (!recorded) {
      // Propagate to callees still running, then journal the delivery. The
      // callees this attempt knows (replayed calls and new ones alike), not
      // only the loaded journal's: a call made in this very attempt
      //
      //   replay sleep → call approver (new entry) → await → cancel delivered
      //
      // would otherwise be left waiting forever. Its entry is queued ahead of
      // this one, so the callee exists when the cancel is written.
      const callees = [...this.#callees].filter(([key]) => !this.completions.has(key)).map(([, calleeId]) => calleeId);
      // And the callee a call at this very index would have made: an attempt
      // that did not see the cancellation may have created it just before
      // losing this index to the cancel entry, leaving a callee no journal
      // names, which only a cancellation can end (simulator seed 328):
      //
      //   attempt A (zombie):  sees C#cancel → cancel at J#i ✓
      //   attempt B:           create callee(caller, i) ✓ → call at J#i ✗ lost
      //
      // Written whichever lands first: a callee created after its C#cancel
      // item loads it with its completions and is cancelled at its first await.
      const orphan = derivedInvocationId('call', this.invocationId, index);
      if (!callees.includes(orphan)) callees.push(orphan);
      void this.journal.append(
        { index, kind: 'cancel', name: position },
        {
          before: async (writes) => {
            for (const callee of callees) await writes.complete(callee, { key: CANCEL, at: this.deps.clock.now() });
          },
        },
      );
    }
    return new CancelledError(`invocation ${this.invocationId} was cancelled`);
  }

  /** Wakes the waiters of a completion just learned. */
  #wake(completion: Completion): void {
    // A cancellation is awaited by every wait (it is delivered at the await):
    // waiters do not list it, so wake them all. (Found by the simulator: a
    // lingering attempt that saw C#cancel arrive woke nobody and hung.)
    for (const waiter of this.#waiters) if (completion.key === CANCEL || waiter.keys.includes(completion.key)) waiter.wake();
  }

  async #block(keys: string[], timers: Timer[]): Promise<void> {
    const now = this.deps.clock.now();
    const due = timers.filter((t) => t.at <= now);
    if (due.length > 0) {
      // A timer already due needs no queue round trip: complete it here.
      for (const t of due) await this.completions.complete(this.invocationId, { key: t.key, at: now });
      return;
    }
    await new Promise<void>((wake) => {
      const waiter: Waiter = {
        keys,
        timers,
        wake: () => {
          this.#waiters.delete(waiter);
          wake();
        },
      };
      this.#waiters.add(waiter);
      this.#scheduleIdleCheck();
    });
  }

  #scheduleIdleCheck(): void {
    if (this.#idleCheck || this.ending.ended) return;
    this.#idleCheck = true;
    // After the microtasks settle: if no step is running and the handler is
    // parked on completions nobody here can provide, suspend.
    setImmediate(() => {
      this.#idleCheck = false;
      if (this.ending.ended || this.#inflight > 0 || this.#waiters.size === 0) return;
      this.#suspendWhenIdle().catch((error: unknown) => this.ending.interrupt('suspending', error));
    });
  }

  async #suspendWhenIdle(): Promise<void> {
    await this.journal.flush();
    if (this.ending.ended || this.#inflight > 0 || this.#waiters.size === 0) return;
    const keys = [...this.#waiters].flatMap((w) => w.keys);
    const awaiting = [...new Set(this.#cancelDelivered ? keys : [...keys, CANCEL])].sort();
    let arrived: boolean;
    try {
      arrived = await this.#linger(awaiting);
    } catch (error) {
      return this.ending.interrupt(`polling ${awaiting.join(', ')} before suspending`, error);
    }
    if (arrived || this.ending.ended) return;
    const timers = dedupeTimers([...this.#waiters].flatMap((w) => w.timers));
    const awakeables = Object.fromEntries(awaiting.filter((k) => this.#awakeables.has(k)).map((k) => [k, this.#awakeables.get(k)!]));
    const callees = Object.fromEntries(awaiting.filter((k) => this.#callees.has(k)).map((k) => [k, this.#callees.get(k)!]));
    this.ending.suspend(`suspending on ${awaiting.join(', ')}`, { awaiting, timers, awakeables, callees });
  }

  /**
   * Polls the awaited completions for up to `lingerMs` (at most one read per
   * 100 ms). True when one arrived and the handler carries on instead.
   */
  async #linger(awaiting: string[]): Promise<boolean> {
    const { clock } = this.deps;
    const until = clock.now() + (this.deps.lingerMs ?? 0);
    while (clock.now() < until && !this.ending.nearDeadline()) {
      await clock.sleep(Math.min(100, until - clock.now()));
      if (this.ending.ended) return true;
      const present = await this.store.existingCompletions(this.invocationId, awaiting);
      if (present.length > 0) {
        for (const key of present) await this.completions.reload(key);
        return true;
      }
    }
    return false;
  }
}

function dedupeTimers(timers: Timer[]): Timer[] {
  const byKey = new Map(timers.map((t) => [t.key, t]));
  return [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key));
}
