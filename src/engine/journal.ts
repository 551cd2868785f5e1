/**
 * The journal of one attempt: the one path by which every durable call takes
 * its place in the journal and every new entry is written.
 *
 * Replay works by running the handler from the top. Every durable call takes
 * the next index (`allocate`); where the journal has an entry, the recorded
 * result comes back (after checking kind and name), otherwise the call
 * journals a new entry (`append`). Appends go through one queue in call
 * order, and a step body never starts before earlier entries are durable
 * (`durable`): what a step sends out (an awakeable id, say) is always
 * already in the journal.
 *
 * A `ctx` primitive follows one template:
 *
 * ```ts
 * const { index, recorded } = journal.allocate('sleep');           // the next index; replay-checks kind and name
 * const at = recorded?.at ?? clock.now() + ms;                      // replay: the journal decides
 * if (!recorded) void journal.append({ index, kind: 'sleep', at }); // new: queued, first writer wins
 * ```
 *
 * with `append(entry, { before })` for writes that must land before the
 * entry (a completion of another invocation, a callee's creation, state
 * under its fence), and `await journal.durable()` first where the entry
 * records what the world says once earlier entries are durable (a step's
 * result, a state read).
 */
import { NonDeterminismError, TerminalError, fromFailure, type Failure } from '../api/errors.ts';
import type { Completion, JournalEntry, Store } from '../store/store.ts';
import type { Completions } from './completions.ts';
import { LostWrite, type Ending } from './ending.ts';
import type { Outcome } from './promises.ts';
import { untraced, type AttemptTrace } from './tracing.ts';

/** The next index, and the entry recorded there by an earlier attempt (replay) if any. */
export interface Allocation {
  index: number;
  recorded: JournalEntry | undefined;
}

/**
 * The writes an entry's `before` may make, each through the attempt's store.
 * The durable context reaches the store's writes only through these.
 */
export interface SideWrites {
  /** Writes a completion of any invocation, first writer wins; learns whichever stands when it is this invocation's. */
  complete(invocationId: string, completion: Completion): Promise<{ won: boolean; standing: Completion }>;
  /** Inserts an invocation (a callee) unless one with its id exists, which it returns. */
  createInvocation: Store['createInvocation'];
  /** Adds a caller to be handed an existing invocation's result; false once it has finished. */
  addCaller: Store['addCaller'];
  /** Records a shared handler's invocation as a waiter on a workflow's durable promise (idempotent). */
  addPromiseWaiter: Store['addPromiseWaiter'];
  /** Records a `ctx.waitForEvent` under its correlation key (idempotent). */
  addEventWaiter: Store['addEventWaiter'];
  /**
   * Writes one state value under `fence`. Fenced off by a newer write, it is
   * the lost-write outcome: the attempt ends `lost` and the entry is not
   * written.
   */
  writeState(scope: string, name: string, value: string | undefined, fence: string): Promise<void>;
}

/** How a new entry is written (see `Journal.append`). */
export interface AppendOptions {
  /**
   * Writes that must be durable before the entry, run in the write queue once
   * every earlier entry is written. It may complete the entry (set its
   * `value` or `failure`): the entry is written as it stands after. A crash
   * between these writes and the entry replays the call as new, so they must
   * be idempotent (first writer wins, or a fence).
   */
  before?: (writes: SideWrites) => Promise<void>;
}

/** The journal of one attempt: cursor, replay check, and the write queue. */
export class Journal {
  #next = 0;
  #queue: Promise<void> = Promise.resolve();
  #newSteps = 0;
  #durable = 0;
  /** When each new entry was allocated, by index: the start of its span. */
  readonly #allocatedAt = new Map<number, number>();
  readonly #writes: SideWrites;
  /** The highest index an earlier attempt wrote (-1: none): below it, the handler replays. */
  readonly #lastRecorded: number;

  constructor(
    private readonly invocationId: string,
    /** The entries an earlier attempt wrote, by index (loaded with the invocation). */
    readonly recorded: ReadonlyMap<number, JournalEntry>,
    /** The attempt's store (its failures interrupt the attempt). */
    private readonly store: Store,
    private readonly ending: Ending,
    completions: Completions,
    /** Test mode: hand on after every new entry, so each one is replayed (see `AttemptDeps.alwaysReplay`). */
    private readonly alwaysReplay: boolean,
    /** The function versions that wrote the journal and that replays it, named by a `NonDeterminismError`. */
    private readonly versions: { journal?: string | undefined; running?: string | undefined } = {},
    /** The attempt's clock: stamps when each entry was written (`writtenAt`, for the journal's timeline). */
    private readonly now: () => number = Date.now,
    /** Where new entries are reported (a step's span is its body's: see `DurableContext.run`). */
    readonly trace: AttemptTrace = untraced,
  ) {
    let last = -1;
    for (const index of recorded.keys()) if (index > last) last = index;
    this.#lastRecorded = last;
    this.#durable = recorded.size;
    this.#writes = {
      complete: (id, completion) => completions.complete(id, completion),
      createInvocation: (meta) => store.createInvocation(meta),
      addCaller: (id, caller) => store.addCaller(id, caller),
      addPromiseWaiter: (id, name, waiter) => store.addPromiseWaiter(id, name, waiter),
      addEventWaiter: (partition, waiter) => store.addEventWaiter(partition, waiter),
      // The fence orders state writes by (lock, entry, epoch); its timeline is at `DurableContext#fence`.
      writeState: async (scope, name, value, fence) => {
        if (!(await store.writeState(scope, name, value, fence))) throw this.lostWrite(`state '${name}' was written by a newer attempt`);
      },
    };
  }

  /** How many entries are in the table: those loaded and those this attempt wrote. */
  get durableEntries(): number {
    return this.#durable;
  }

  /** The index the next allocation takes. */
  get cursor(): number {
    return this.#next;
  }

  /** Whether the handler is still replaying what earlier attempts journaled (`ctx.console` is quiet then). */
  get replaying(): boolean {
    return this.#next <= this.#lastRecorded;
  }

  /**
   * Takes the next journal index. On replay, checks the recorded entry's kind
   * and name: a mismatch fails the invocation with a `NonDeterminismError`
   * naming both, and the journal stays untouched. A new entry may not start
   * past the lease, nor near the Lambda deadline once this attempt has made
   * one: the attempt hands on instead.
   */
  allocate(kind: JournalEntry['kind'], name?: string): Allocation {
    if (this.ending.ended) throw new TerminalError(`invocation ${this.invocationId}: the attempt has ended`);
    const index = this.#next++;
    const recorded = this.recorded.get(index);
    // Past its lease an attempt may have been replaced (it was frozen, or
    // stalled): a newer one may have journaled this very step. Start nothing
    // new; hand back, which fails harmlessly if it was replaced.
    if (!recorded && this.ending.pastLease()) {
      this.ending.handOn();
      throw new TerminalError(`invocation ${this.invocationId}: the attempt outlived its lease; a fresh attempt carries on`);
    }
    // Hand on only after this attempt made progress: an attempt that yields
    // before its first new step would be replaced by one that does the same.
    if (!recorded && this.#newSteps++ > 0 && this.ending.nearDeadline()) {
      // Hand on before the Lambda deadline; the step runs in a fresh attempt.
      this.ending.handOn();
      throw new TerminalError(`invocation ${this.invocationId}: handed on to a fresh attempt before the Lambda deadline`);
    }
    if (recorded && (recorded.kind !== kind || recorded.name !== name)) {
      const error = new NonDeterminismError(this.invocationId, index, recorded, { kind, name }, this.versions);
      this.ending.fail(error);
      throw error;
    }
    if (!recorded) this.#allocatedAt.set(index, this.now());
    return { index, recorded };
  }

  /**
   * Journals a new entry: the one way an entry is written. Queued behind every
   * earlier write; runs `before`; writes the entry, first writer wins.
   * Resolves with the entry once it is durable. Losing the write (another
   * attempt wrote entry i: a zombie or a duplicate) is the lost-write
   * outcome, whatever the entry's kind; then, as on any other ending, the
   * promise never settles: the handler neither carries on past an entry that
   * is not this attempt's, nor sees an error it could catch and ignore.
   */
  append(entry: JournalEntry, options: AppendOptions = {}): Promise<JournalEntry> {
    const { before } = options;
    const written = this.#enqueue(async () => {
      if (before) await before(this.#writes);
      // First writer wins; the loser stops without side effects (DESIGN rule 1):
      //
      //   zombie (epoch 1):  … append J#i ✓
      //   this   (epoch 2):  … append J#i ✗ → lost: handed back, no retry counted
      //   fresh  (epoch 3):  replays J#i as the zombie wrote it, carries on
      const writtenAt = this.now();
      if (!(await this.store.append(this.invocationId, { ...entry, writtenAt })))
        throw this.lostWrite(`entry ${entry.index} (${entry.kind}) was already written by another attempt`, entry);
      this.#durable++;
      if (entry.kind !== 'run') this.trace.written(entry, this.#allocatedAt.get(entry.index) ?? writtenAt, this.now());
      this.#allocatedAt.delete(entry.index);
      if (this.alwaysReplay) this.ending.handOn();
    });
    return written.then(
      () => (this.ending.ended ? never() : entry),
      () => never(),
    );
  }

  /** Resolves once every entry queued so far is durable; never, if the attempt ends first. */
  async durable(): Promise<void> {
    await this.#queue;
    if (this.ending.ended) return never();
  }

  /** Resolves once the queued writes have landed or failed (for the attempt's endings). */
  flush(): Promise<void> {
    return this.#queue;
  }

  /**
   * The error for a conditional write this attempt lost to another attempt (a
   * journal entry, or state fenced off by a newer write): the one lost-write
   * outcome. Thrown from a queued write, it ends the attempt `lost`: handed
   * back, no retry counted, no failure recorded (`Ending.fail`). The
   * simulator's mutation `lost-write-as-failure` replaces it to prove that
   * its check can fail.
   */
  lostWrite(reason: string, _entry?: JournalEntry): Error {
    return new LostWrite(reason);
  }

  /** Queues `op` after every earlier write; skipped once the attempt has ended. A failure ends the attempt. */
  #enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(() => (this.ending.ended ? undefined : op()));
    this.#queue = run.catch((e: unknown) => {
      this.ending.fail(e);
    });
    return run;
  }
}

/** Rebuilds a journaled outcome. */
export function recordedOutcome<T>(
  entry: { value?: string | undefined; failure?: Failure | undefined },
  deserialize: (text: string) => T,
): Outcome<T> {
  if (entry.failure) return { ok: false, error: fromFailure(entry.failure) };
  return { ok: true, value: deserialize(entry.value ?? '') };
}

/** A promise that never settles: what the handler gets from an attempt that has ended. */
function never(): Promise<never> {
  return new Promise<never>(() => undefined);
}
