/**
 * How an attempt ends: completed or failed (the outcome recorded), suspended,
 * retrying on a durable timer, handed on to a fresh attempt, lost to another
 * attempt, or interrupted by a store failure.
 *
 * Every ending is a store write that can fail. Each one goes through `stop`,
 * so a failure rejects `runAttempt` (`interrupt`) instead of leaving it
 * pending until the Lambda timeout; and the first ending stands.
 */
import { ensureError, toFailure, type Failure } from '../api/errors.ts';
import type { RetryPolicy } from '../api/context.ts';
import { retryKey } from '../store/keys.ts';
import { ItemRefusedError, PayloadTooLargeError } from '../store/limits.ts';
import type { Completion, InvocationMeta, JournalEntry, Store, SuspendOptions } from '../store/store.ts';
import type { AttemptDeps, AttemptOutcome } from './attempt.ts';
import { backoffMs, mayRetry } from './retry.ts';

const DEFAULT_RETENTION_MS = 24 * 3_600_000;
const DEFAULT_INVOCATION_RETRY: RetryPolicy = { initialIntervalMs: 1_000, factor: 2, maxIntervalMs: 600_000 };

/**
 * A conditional write this attempt lost to another attempt: a journal entry
 * another attempt wrote first, or state fenced off by a newer write. Made by
 * `Journal.lostWrite`; `Ending.fail` turns it into the `lost` ending. It never
 * reaches user code.
 */
export class LostWrite extends Error {
  override name = 'LostWrite';
}

/**
 * An invoke found its invocation running under a live lease: a duplicate
 * racing a live attempt, or an attempt of this invoke that died holding the
 * lease. Thrown out of `runAttempt` so that Lambda retries the invoke and its
 * on-failure destination looks again after the lease.
 *
 * @example
 * ```ts
 * try { await runAttempt(deps, req); } catch (e) { if (e instanceof LeaseHeldError) console.log('retry after', e.lease); }
 * ```
 */
export class LeaseHeldError extends Error {
  override name = 'LeaseHeldError';
  constructor(
    readonly invocationId: string,
    /** Epoch ms when the lease ends. */
    readonly lease: number,
  ) {
    super(
      `invocation ${invocationId} is running under a lease until ${new Date(lease).toISOString()}; if that attempt died, it is taken over once the lease is over`,
    );
  }
}

/**
 * A store call failed while an attempt ran or ended (a throttle that outlasted
 * the SDK's retries, a network error). `runAttempt` rejects with it at once,
 * so Lambda fails the invoke and retries it instead of waiting out its
 * timeout. Before that, the attempt hands the invocation back as pending if
 * the store lets it, and the stream wakes a fresh attempt that replays the
 * journal; if not, the invocation stays running until its lease ends, and
 * Lambda's retry or its on-failure destination takes it over then. Nothing
 * unjournaled is kept: a step whose result missed the journal runs again.
 *
 * @example
 * ```ts
 * try { await runAttempt(deps, req); }
 * catch (e) { if (e instanceof AttemptInterruptedError) console.error(e.invocationId, e.during, e.cause); throw e; }
 * ```
 */
export class AttemptInterruptedError extends Error {
  override name = 'AttemptInterruptedError';
  constructor(
    readonly invocationId: string,
    /** What the attempt was doing, e.g. `journaling entry 2 (run 'charge')`. */
    readonly during: string,
    /** Whether the invocation was handed back as pending for a fresh attempt. */
    readonly handedBack: boolean,
    /** Epoch ms when this attempt's lease ends. */
    readonly lease: number,
    cause: unknown,
    /**
     * Why it could not be handed back, when the store could tell: this
     * attempt's own ending had already landed (the invocation is `pending`,
     * `suspended`, `completed` or `failed` at this attempt's epoch), or a
     * newer attempt owns it.
     */
    readonly found?: { status: InvocationMeta['status']; epoch: number; newer: boolean },
  ) {
    const error = ensureError(cause);
    super(
      `invocation ${invocationId}: the store failed while ${during} (${error.name}: ${error.message}). ` +
        (handedBack
          ? 'The invocation was handed back as pending; a fresh attempt replays its journal and carries on. '
          : found
            ? `It was not handed back: ${found.newer ? `a newer attempt (epoch ${found.epoch}) owns it` : `this attempt's own ending had landed after all (it is ${found.status})`}, so nothing of this attempt is left running. `
            : `It was not handed back (the store failed again), so it stays running until its lease ends at ${new Date(lease).toISOString()}; then Lambda's retry of this invoke, or its on-failure destination, takes it over. `) +
        'Let this invoke fail so Lambda retries it; if it keeps happening, check the table for throttling and its capacity.',
      { cause },
    );
  }
}

/**
 * A store call of an attempt that owns the invocation (acquired, before the
 * `Attempt` takes over): a failure hands the invocation back (see
 * `interruption`) rather than leave it running until the lease ends.
 */
export async function owning<T>(deps: AttemptDeps, meta: InvocationMeta, during: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw await interruption(deps.store, meta, deps.clock.now(), during, error);
  }
}

/** Records a failure found before the attempt ran (a handler this deployment lost). */
export async function finishFailed(deps: AttemptDeps, meta: InvocationMeta, failure: Failure): Promise<AttemptOutcome> {
  const now = deps.clock.now();
  const ok = await owning(deps, meta, `recording its failure (${failure.message})`, () =>
    deps.store.finish(meta.id, { epoch: meta.epoch, now, failure, ttl: ttlOf(deps, now) }),
  );
  return ok
    ? { kind: 'failed', invocationId: meta.id, failure }
    : { kind: 'lost', invocationId: meta.id, reason: 'finish lost to a newer attempt' };
}

function ttlOf(deps: AttemptDeps, now: number): number {
  return Math.floor((now + (deps.retentionMs ?? DEFAULT_RETENTION_MS)) / 1000);
}

/**
 * After a store failure in an attempt that owns the invocation: hands it back
 * as pending if the store lets us (the stream then wakes a fresh attempt now,
 * not after the lease), and says what happened. The release is conditional on
 * this epoch still running, so it does nothing if the failed write took effect
 * after all or a newer attempt has taken over. Never rejects.
 *
 *   invoke@e   acquire ✓ (e+1) … suspend ✗ throttled → release ✓ (pending) → reject
 *   stream     meta turned pending → invoke@e+1 → replays the journal, suspends
 *   Lambda     retries invoke@e → acquire ✗, not running → skipped
 */
async function interruption(
  store: Store,
  meta: InvocationMeta,
  now: number,
  during: string,
  cause: unknown,
): Promise<AttemptInterruptedError> {
  let handedBack = false;
  let found: AttemptInterruptedError['found'];
  try {
    handedBack = await store.release(meta.id, { epoch: meta.epoch, now });
    if (!handedBack) {
      // Refused: say why (a write whose reply was lost may have landed), so the error does not mislead.
      const current = await store.getInvocation(meta.id);
      if (current && (current.epoch > meta.epoch || current.status !== 'running')) {
        found = { status: current.status, epoch: current.epoch, newer: current.epoch > meta.epoch };
      }
    }
  } catch {
    // The store is still failing: the lease and Lambda's retries recover it.
  }
  return new AttemptInterruptedError(meta.id, during, handedBack, meta.lease ?? now, cause, found);
}

/** What a store call inside the attempt was doing, for an interruption's message. */
function describeCall(operation: string, args: unknown[], self: string): string {
  switch (operation) {
    case 'append': {
      const entry = args[1] as JournalEntry;
      return `journaling entry ${entry.index} (${entry.kind}${entry.name === undefined ? '' : ` '${entry.name}'`})`;
    }
    case 'complete': {
      const target = args[0] as string;
      return `writing completion ${(args[1] as Completion).key}${target === self ? '' : ` of invocation ${target}`}`;
    }
    case 'writeState':
      return `writing state '${String(args[1])}' of ${String(args[0])}`;
    case 'readState':
      return `reading the state of ${String(args[0])}`;
    case 'createInvocation':
      return `starting invocation ${(args[0] as InvocationMeta).id}`;
    default:
      return `calling the store's ${operation}`;
  }
}

/** What a suspension awaits (the store's `suspend` without the fence, which the ending adds). */
export type Suspension = Omit<SuspendOptions, 'epoch' | 'now' | 'retries'>;

/**
 * The endings of one attempt, and the store its other units work through
 * (`store`: a failure there interrupts the attempt).
 */
export class Ending {
  /** The given store, with failures that interrupt the attempt (see `#watch`). */
  readonly store: Store;
  /** The store as given: endings call it directly and report their own failures. */
  readonly #store: Store;
  /** How the attempt ended; `runAttempt` returns it. */
  readonly outcome: Promise<AttemptOutcome>;
  #ended = false;
  /** Whether `outcome` has settled: the first outcome or interruption stands. */
  #settled = false;
  #resolve!: (outcome: AttemptOutcome) => void;
  #reject!: (error: AttemptInterruptedError) => void;
  /** The margin before the Lambda deadline: `deadlineMarginMs`, or 10 s but at most a fifth of the time the attempt started with. */
  readonly #margin: number | undefined;

  constructor(
    private readonly deps: AttemptDeps,
    private readonly meta: InvocationMeta,
    /** Resolves once the journal's queued writes have landed: endings that record a failure wait for them. */
    private readonly drain: () => Promise<void>,
    /** How many journal entries are durable, recorded on `meta` at each suspension (`journalEntries`). */
    private readonly journalEntries: () => number | undefined = () => undefined,
  ) {
    this.#store = deps.store;
    this.store = this.#watch(deps.store);
    this.outcome = new Promise<AttemptOutcome>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // `runAttempt` observes the outcome; this keeps one that rejects before it looks from counting as unhandled.
    this.outcome.catch(() => undefined);
    const budget = deps.remainingMs?.();
    this.#margin = deps.deadlineMarginMs ?? (budget === undefined ? undefined : Math.min(10_000, budget / 5));
  }

  /** Whether the attempt has ended (or is writing its ending): no new step starts. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Past its lease an attempt may have been replaced (it was frozen, or stalled). */
  pastLease(): boolean {
    return this.meta.lease !== undefined && this.deps.clock.now() >= this.meta.lease;
  }

  /** Whether the Lambda deadline is within the margin: time to hand on. */
  nearDeadline(): boolean {
    const remaining = this.deps.remainingMs?.();
    return remaining !== undefined && this.#margin !== undefined && remaining < this.#margin;
  }

  /** Records the invocation's output or terminal failure. */
  finish(result: { output: string } | { failure: Failure }): void {
    this.#stop(`recording its ${'output' in result ? 'output' : 'failure'}`, () => this.#record(result));
  }

  /** Suspends until one of `suspension.awaiting` completes: nothing runs, nothing is billed. */
  suspend(during: string, suspension: Suspension): void {
    this.#stop(during, async () => {
      const length = this.journalEntries();
      const ok = await this.#store.suspend(this.meta.id, {
        epoch: this.meta.epoch,
        now: this.deps.clock.now(),
        ...suspension,
        ...(length === undefined ? {} : { journalEntries: length }),
      });
      return ok
        ? { kind: 'suspended', invocationId: this.meta.id, awaiting: suspension.awaiting, timers: suspension.timers }
        : { kind: 'lost', invocationId: this.meta.id, reason: 'suspend lost to a newer attempt' };
    });
  }

  /** Hands the invocation on to a fresh attempt (pending), which replays the journal and carries on. */
  handOn(): void {
    if (this.#ended) return;
    this.#stop('handing the invocation on to a fresh attempt', async () => {
      const handedOn = await this.#store.release(this.meta.id, { epoch: this.meta.epoch, now: this.deps.clock.now() });
      // A refused release means a newer attempt owns the invocation: this one was a zombie.
      return handedOn
        ? { kind: 'yielded', invocationId: this.meta.id }
        : { kind: 'lost', invocationId: this.meta.id, reason: 'a newer attempt took the invocation over' };
    });
  }

  /**
   * Ends the attempt on a retryable failure: lost writes hand the invocation
   * back; anything else backs off by a durable timer (no compute while waiting).
   */
  fail(error: unknown): void {
    if (this.#ended) return;
    const now = this.deps.clock.now();
    const epoch = this.meta.epoch;
    const id = this.meta.id;
    if (error instanceof LostWrite) {
      // Whoever wrote the entry first may be a zombie; hand the invocation
      // back so a fresh attempt replays what it wrote. Fails harmlessly if we
      // are the zombie.
      return this.#stop('handing the invocation back after a lost write', async () => {
        await this.#store.release(id, { epoch, now });
        return { kind: 'lost', invocationId: id, reason: error.message };
      });
    }
    const failure = toFailure(error);
    const policy = this.deps.invocationRetry ?? DEFAULT_INVOCATION_RETRY;
    const retries = (this.meta.retries ?? 0) + 1;
    // A step result too large to journal (or a key too long) is refused on every retry: fail now.
    if (!mayRetry(policy, retries, this.meta.createdAt, now) || error instanceof ItemRefusedError) {
      return this.#stop(`recording its failure (${failure.message})`, async () => {
        await this.drain();
        return this.#record({ failure });
      });
    }
    const key = retryKey(retries);
    const retryAt = now + backoffMs(policy, retries);
    this.#stop(`scheduling retry ${retries} (timer ${key}) after: ${failure.message}`, async () => {
      await this.drain();
      const length = this.journalEntries();
      const ok = await this.#store.suspend(id, {
        epoch,
        now,
        awaiting: [key],
        timers: [{ key, at: retryAt }],
        retries,
        lastFailure: failure,
        ...(length === undefined ? {} : { journalEntries: length }),
      });
      return ok ? { kind: 'retrying', invocationId: id, failure, retryAt } : { kind: 'lost', invocationId: id, reason: 'suspend lost' };
    });
  }

  /**
   * Ends the attempt on a store failure: hands the invocation back if it can
   * and rejects `runAttempt`. Once the attempt has an outcome, a late failure
   * (a step body still running) changes nothing.
   */
  interrupt(during: string, error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#ended = true;
    void interruption(this.#store, this.meta, this.deps.clock.now(), during, error).then(this.#reject);
  }

  /**
   * Ends the attempt with the outcome `record` writes. The attempt counts as
   * ended from here on, so no new step starts while it is written; if the
   * write fails, the attempt is interrupted instead.
   */
  #stop(during: string, record: () => Promise<AttemptOutcome>): void {
    this.#ended = true;
    void record().then(
      (outcome) => this.#settle(outcome),
      (error: unknown) => this.interrupt(during, error),
    );
  }

  #settle(outcome: AttemptOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve(outcome);
  }

  /** Writes the invocation's outcome. */
  async #record(result: { output: string } | { failure: Failure }): Promise<AttemptOutcome> {
    const now = this.deps.clock.now();
    const id = this.meta.id;
    let ok: boolean;
    try {
      ok = await this.#store.finish(id, { epoch: this.meta.epoch, now, ttl: ttlOf(this.deps, now), ...result });
    } catch (error) {
      // An output too large to store fails the same way on every retry: fail with that error instead.
      if (error instanceof PayloadTooLargeError && 'output' in result) return this.#record({ failure: toFailure(error) });
      throw error;
    }
    if (!ok) return { kind: 'lost', invocationId: id, reason: 'finish lost to a newer attempt' };
    return 'output' in result
      ? { kind: 'completed', invocationId: id, output: result.output }
      : { kind: 'failed', invocationId: id, failure: result.failure };
  }

  /**
   * The store for work inside the attempt: journal writes, completions, state.
   * A failed call interrupts the attempt, and the caller's promise never
   * settles: the handler must neither carry on past a write that did not
   * happen nor see a store error it might catch and ignore. A payload too
   * large is passed on: it fails the same way every time, and the callers
   * turn it into a terminal failure.
   */
  #watch(store: Store): Store {
    return new Proxy(store, {
      get: (target, operation, receiver) => {
        const value = Reflect.get(target, operation, receiver) as unknown;
        if (typeof value !== 'function' || typeof operation !== 'string') return value;
        return (...args: unknown[]): Promise<unknown> => {
          let call: Promise<unknown>;
          try {
            call = Promise.resolve((value as (...a: unknown[]) => unknown).apply(target, args));
          } catch (error) {
            call = Promise.reject(ensureError(error));
          }
          return call.catch((error: unknown) => {
            if (error instanceof ItemRefusedError) throw error;
            this.interrupt(describeCall(operation, args, this.meta.id), error);
            return new Promise<never>(() => undefined);
          });
        };
      },
    });
  }
}
