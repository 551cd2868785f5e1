/**
 * One attempt of an invocation: acquire, load, replay, run new steps, and end
 * completed, failed, or suspended.
 *
 * Replay works by running the handler from the top. Every durable call takes
 * the next journal index; where the journal has an entry the recorded result
 * comes back (after checking kind and name), otherwise the step runs and its
 * result is appended. Appends go through one queue in call order, and a step
 * body never starts before earlier appends are durable: what a step sends out
 * (an awakeable id, say) is always already in the journal.
 */
import type { Definition, HandlerSpec } from '../api/definitions.ts';
import {
  CancelledError,
  NonDeterminismError,
  TerminalError,
  ensureError,
  fromFailure,
  isTerminal,
  toFailure,
  type Failure,
} from '../api/errors.ts';
import type { RetryPolicy } from '../api/context.ts';
import type { Completion, InvocationMeta, JournalEntry, LoadedInvocation, Store, Timer } from '../store/store.ts';
import { CANCEL, LOCK_GRANTED, completionKey, retryKey } from '../store/keys.ts';
import type { Clock } from './clock.ts';
import type { IdSigner } from './ids.ts';
import { type Durable, type Outcome, type PromiseHost } from './promises.ts';
import { DurableContext } from './context.ts';
import { backoffMs, mayRetry, stepRetryOf, type StepRetry } from './retry.ts';
import { PayloadTooLargeError } from '../store/limits.ts';

/**
 * What the handler role needs.
 *
 * @example
 * ```ts
 * const deps: AttemptDeps = { store, signer: new IdSigner(key), clock: systemClock, services: registry([greeter]) };
 * ```
 */
export interface AttemptDeps {
  store: Store;
  signer: IdSigner;
  clock: Clock;
  /** Definitions by service name. */
  services: ReadonlyMap<string, Definition>;
  /** How long an attempt owns the invocation; set to the Lambda timeout. Default 15 minutes. */
  leaseMs?: number;
  /** How long a finished invocation stays readable. Default 24 hours. */
  retentionMs?: number;
  /** Backoff between attempts after a retryable handler failure. Default 1 s doubling to 10 min, unlimited. */
  invocationRetry?: RetryPolicy;
  /** The API's base URL, so awakeables know their resolve URL. */
  apiUrl?: string | undefined;
  /**
   * Test mode after Restate's: end the attempt after every newly journaled
   * entry, whatever its kind, so every entry is replayed at least once.
   * Flushes out non-determinism.
   */
  alwaysReplay?: boolean;
  /**
   * Milliseconds this attempt has left (Lambda's `getRemainingTimeInMillis`).
   * Past `deadlineMarginMs` the attempt hands the invocation on at the next
   * new step, and a fresh Lambda invocation carries on.
   */
  remainingMs?: () => number;
  /** Safety margin before the deadline. Default 10 s. */
  deadlineMarginMs?: number;
  /**
   * Before suspending, keep the attempt alive this long, polling the awaited
   * completions, for callbacks that usually arrive within moments. Default 0.
   */
  lingerMs?: number;
  /** `ctx.run` backoffs longer than this suspend on a durable timer instead of sleeping. Default 1 s. */
  maxInAttemptBackoffMs?: number;
}

/**
 * How an attempt ended.
 *
 * - `completed` / `failed`: the outcome is recorded.
 * - `suspended`: waiting for `awaiting`; nothing runs until one completes.
 * - `retrying`: a retryable failure; a timer brings it back at `retryAt`.
 * - `yielded`: always-replay mode handed it back as pending.
 * - `skipped`: nothing to do (a duplicate invoke, a zombie, an unknown id).
 * - `lost`: a conditional write was lost to another attempt; this one stopped.
 *
 * @example
 * ```ts
 * const outcome = await runAttempt(deps, { invocationId, epoch });
 * if (outcome.kind === 'suspended') return suspensionMarker(outcome);
 * ```
 */
export type AttemptOutcome =
  | { kind: 'completed'; invocationId: string; output: string }
  | { kind: 'failed'; invocationId: string; failure: Failure }
  | { kind: 'suspended'; invocationId: string; awaiting: string[]; timers: Timer[] }
  | { kind: 'retrying'; invocationId: string; failure: Failure; retryAt: number }
  | { kind: 'yielded'; invocationId: string }
  | { kind: 'skipped'; invocationId: string; reason: string }
  | { kind: 'lost'; invocationId: string; reason: string };

/**
 * Which invocation to run, and the epoch the waker saw (duplicates of the same
 * invoke fail to acquire and stop at the cost of one write).
 *
 * @example
 * ```ts
 * const req: AttemptRequest = { invocationId: 'inv_…', epoch: 3 };
 * ```
 */
export interface AttemptRequest {
  invocationId: string;
  epoch: number;
}

const DEFAULT_LEASE_MS = 15 * 60_000;
const DEFAULT_RETENTION_MS = 24 * 3_600_000;
const DEFAULT_INVOCATION_RETRY: RetryPolicy = { initialIntervalMs: 1_000, factor: 2, maxIntervalMs: 600_000 };

/**
 * Runs one attempt of an invocation.
 *
 * @example
 * ```ts
 * const outcome = await runAttempt(deps, { invocationId: 'inv_…', epoch: 0 });
 * ```
 */
export async function runAttempt(deps: AttemptDeps, request: AttemptRequest): Promise<AttemptOutcome> {
  const { store, clock } = deps;
  const id = request.invocationId;
  const now = clock.now();
  const meta = await store.acquire(id, { seenEpoch: request.epoch, now, leaseMs: deps.leaseMs ?? DEFAULT_LEASE_MS });
  if (!meta) {
    // Lost the acquire: usually a duplicate invoke of an invocation that has
    // moved on. But it can be this very invoke's earlier attempt, dead while
    // its lease runs (a crash, or an acquire whose reply was lost):
    //
    //   invoke@e  acquire ✓ (running, lease L) ── crash
    //   retry@e   a minute later, before L: acquire ✗ → skipped
    //   Lambda counts that as success and nobody looks again: stuck running.
    //
    // The two look the same, so a live lease fails the invoke: Lambda retries
    // it, then its on-failure destination re-checks once the lease is over.
    // The lease is judged at the acquire's `now`: one that ran out since
    // would otherwise be skipped with nobody left to take over.
    // (Found by the simulator, seeds 144 and 14.)
    const current = await store.getInvocation(id);
    if (current?.status === 'running' && (current.lease ?? 0) >= now) throw new LeaseHeldError(id, current.lease ?? 0);
    return {
      kind: 'skipped',
      invocationId: id,
      reason: `invocation ${id} is not runnable at epoch ${request.epoch} (a duplicate invoke, or another attempt owns it)`,
    };
  }
  const handler = deps.services.get(meta.service)?.handlers[meta.handler];
  if (!handler) {
    // The ingress refuses unknown handlers; this is a deployment that lost one.
    const failure = toFailure(
      new TerminalError(`invocation ${id}: handler ${meta.service}.${meta.handler} is not registered in this deployment`, { code: 404 }),
    );
    return finishFailed(deps, meta, failure);
  }
  const loaded = await owning(deps, meta, 'loading its journal', () => store.load(id));
  let lockSeq = 0;
  if (meta.lockScope) {
    const grant = loaded.completions.get(LOCK_GRANTED);
    if (!grant) {
      // Not granted its object key yet (woken early): keep waiting for the grant.
      const ok = await owning(deps, meta, `suspending until it is granted its object key (${LOCK_GRANTED})`, () =>
        store.suspend(id, { epoch: meta.epoch, now: clock.now(), awaiting: [LOCK_GRANTED], timers: [] }),
      );
      return ok
        ? { kind: 'suspended', invocationId: id, awaiting: [LOCK_GRANTED], timers: [] }
        : { kind: 'lost', invocationId: id, reason: 'suspend lost to a newer attempt' };
    }
    lockSeq = Number(grant.value);
  }
  return new Attempt(deps, meta, handler, loaded, lockSeq).execute();
}

/**
 * A store call of an attempt that owns the invocation (acquired, before the
 * `Attempt` takes over): a failure hands the invocation back (see
 * `interruption`) rather than leave it running until the lease ends.
 */
async function owning<T>(deps: AttemptDeps, meta: InvocationMeta, during: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw await interruption(deps.store, meta, deps.clock.now(), during, error);
  }
}

async function finishFailed(deps: AttemptDeps, meta: InvocationMeta, failure: Failure): Promise<AttemptOutcome> {
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

/** Raised inside the attempt when a conditional write is lost; never reaches user code as a result. */
class LostWrite extends Error {
  override name = 'LostWrite';
}

type Waiter = { keys: string[]; timers: Timer[]; wake: () => void };

/** The state of one attempt; the durable context and promises call into it. */
export class Attempt implements PromiseHost {
  readonly context: DurableContext;
  /** The given deps, with a store whose failures interrupt the attempt (see `#watch`). */
  readonly deps: AttemptDeps;
  /** The store as given: endings call it directly and report their own failures. */
  readonly #store: Store;
  #next = 0;
  #queue: Promise<void> = Promise.resolve();
  #inflight = 0;
  readonly #waiters = new Set<Waiter>();
  readonly #awakeables = new Map<string, string>();
  /**
   * The latest retry timer of each step, by entry: built once from the loaded
   * completions and kept up to date by `learn`, so a new step finds where its
   * retries stand without scanning every completion (quadratic in long handlers).
   */
  readonly #stepRetries = new Map<number, StepRetry>();
  /** Callee invocation ids by result key, so a suspension can name what it awaits. */
  readonly #callees = new Map<string, string>();
  #ended = false;
  /** Whether `#end` has settled: the first outcome or interruption stands. */
  #settled = false;
  #resolveEnd!: (outcome: AttemptOutcome) => void;
  #rejectEnd!: (error: AttemptInterruptedError) => void;
  /** How the attempt ended; `execute` returns it. */
  readonly #end = new Promise<AttemptOutcome>((resolve, reject) => {
    this.#resolveEnd = resolve;
    this.#rejectEnd = reject;
  });
  #idleCheck = false;

  constructor(
    deps: AttemptDeps,
    readonly meta: InvocationMeta,
    private readonly handler: HandlerSpec,
    private readonly loaded: LoadedInvocation,
    /** The object key's lock sequence (0 when not an exclusive object call): orders state writes. */
    readonly lockSeq = 0,
  ) {
    this.#store = deps.store;
    this.deps = { ...deps, store: this.#watch(deps.store) };
    // `execute` observes #end; this keeps one that rejects before it looks from counting as unhandled.
    this.#end.catch(() => undefined);
    for (const key of loaded.completions.keys()) this.#noteStepRetry(key);
    this.context = new DurableContext(this, meta, handler.shared);
    const budget = deps.remainingMs?.();
    this.#margin = deps.deadlineMarginMs ?? (budget === undefined ? undefined : Math.min(10_000, budget / 5));
  }

  get id(): string {
    return this.meta.id;
  }

  /** Whether the attempt has ended; late calls from handler code do nothing. */
  get ended(): boolean {
    return this.#ended;
  }

  async execute(): Promise<AttemptOutcome> {
    const done = (async (): Promise<Outcome<unknown>> => {
      try {
        const input = this.handler.input.deserialize(this.meta.input);
        return { ok: true, value: await this.handler.fn(this.context, input) };
      } catch (error) {
        return { ok: false, error };
      }
    })();
    const first = await Promise.race([done.then((o) => ({ handler: o })), this.#end.then((e) => ({ end: e }))]);
    if ('end' in first) return first.end;
    const result = first.handler;
    // Queued journal writes land first; one that fails interrupts the attempt, and #end rejects.
    await Promise.race([this.#queue, this.#end]);
    if (this.#ended) return this.#end;
    if (!result.ok) {
      if (isTerminal(result.error)) this.#finish({ failure: toFailure(result.error) });
      else this.#fail(result.error);
      return this.#end;
    }
    let output: string;
    try {
      output = this.handler.output.serialize(result.value);
    } catch (e) {
      this.#finish({
        failure: toFailure(new TerminalError(`invocation ${this.id}: output could not be serialized: ${ensureError(e).message}`)),
      });
      return this.#end;
    }
    this.#finish({ output });
    return this.#end;
  }

  // ---- journal --------------------------------------------------------------

  /** Takes the next journal index; on replay checks the recorded entry's kind and name. */
  allocate(kind: JournalEntry['kind'], name?: string): { index: number; recorded: JournalEntry | undefined } {
    if (this.#ended) throw new TerminalError(`invocation ${this.id}: the attempt has ended`);
    const index = this.#next++;
    this.#awaitsSinceAllocation = 0;
    const recorded = this.loaded.journal.get(index);
    // Past its lease an attempt may have been replaced (it was frozen, or
    // stalled): a newer one may have journaled this very step. Start nothing
    // new; hand back, which fails harmlessly if it was replaced.
    if (!recorded && this.#pastLease()) {
      this.#yield();
      throw new TerminalError(`invocation ${this.id}: the attempt outlived its lease; a fresh attempt carries on`);
    }
    // Hand on only after this attempt made progress: an attempt that yields
    // before its first new step would be replaced by one that does the same.
    if (!recorded && this.#newSteps++ > 0 && this.#nearDeadline()) {
      // Hand on before the Lambda deadline; the step runs in a fresh attempt.
      this.#yield();
      throw new TerminalError(`invocation ${this.id}: handed on to a fresh attempt before the Lambda deadline`);
    }
    if (recorded && (recorded.kind !== kind || recorded.name !== name)) {
      const error = new NonDeterminismError(this.id, index, recorded, { kind, name });
      this.#fail(error);
      throw error;
    }
    if (recorded?.kind === 'call' && recorded.value) this.#callees.set(completionKey(index), recorded.value);
    return { index, recorded };
  }

  #newSteps = 0;
  /** The margin: `deadlineMarginMs`, or 10 s but at most a fifth of the time the attempt started with. */
  #margin: number | undefined;

  #pastLease(): boolean {
    return this.meta.lease !== undefined && this.deps.clock.now() >= this.meta.lease;
  }

  #nearDeadline(): boolean {
    const remaining = this.deps.remainingMs?.();
    return remaining !== undefined && this.#margin !== undefined && remaining < this.#margin;
  }

  /** Queues `op` after every earlier journal write. */
  enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(() => (this.#ended ? undefined : op()));
    this.#queue = run.catch((e: unknown) => {
      this.#fail(e);
    });
    return run;
  }

  /** Appends an entry (queued). Losing the write ends the attempt. */
  append(entry: JournalEntry): void {
    void this.appendNow(entry).catch(() => undefined);
  }

  /** Appends an entry and resolves once it is durable. */
  appendNow(entry: JournalEntry): Promise<void> {
    return this.enqueue(() => this.write(entry));
  }

  /**
   * Writes a journal entry, first writer wins. Losing it means another
   * attempt wrote entry i (a zombie or a duplicate): whatever the entry's
   * kind, that is the one lost-write outcome (see `lostWrite`).
   */
  async write(entry: JournalEntry): Promise<void> {
    if (!(await this.deps.store.append(this.id, entry)))
      throw this.lostWrite(`entry ${entry.index} (${entry.kind}) was already written by another attempt`, entry);
    if (this.deps.alwaysReplay) this.#yield();
  }

  /**
   * The error for a conditional write this attempt lost to another attempt
   * (a journal entry, or state fenced by a newer write). Thrown from a queued
   * write, it ends the attempt `lost`: handed back, no retry counted, no
   * failure recorded. (The simulator's mutations replace it to prove their
   * check can fail.)
   */
  lostWrite(reason: string, _entry?: JournalEntry): Error {
    return new LostWrite(reason);
  }

  /** Resolves once every queued write is durable. */
  flush(): Promise<void> {
    return this.#queue;
  }

  // ---- completions and waiting -----------------------------------------------

  completion(key: string): Completion | undefined {
    return this.loaded.completions.get(key);
  }

  /** Records a completion this attempt wrote (or lost to), and wakes local waiters. */
  learn(completion: Completion): void {
    this.loaded.completions.set(completion.key, completion);
    this.#noteStepRetry(completion.key);
    // A cancellation is awaited by every wait (it is delivered at the await):
    // waiters do not list it, so wake them all. (Found by the simulator: a
    // lingering attempt that saw C#cancel arrive woke nobody and hung.)
    for (const waiter of this.#waiters) if (completion.key === CANCEL || waiter.keys.includes(completion.key)) waiter.wake();
  }

  /** Reads one completion again and learns it: a heartbeat since the load, or one that arrived while lingering. */
  async reload(key: string): Promise<void> {
    const completion = await this.deps.store.getCompletion(this.id, key);
    if (completion) this.learn(completion);
  }

  /** Remembers an awakeable's id by completion key, so a suspension can name it. */
  noteAwakeable(key: string, id: string): void {
    this.#awakeables.set(key, id);
  }

  /** Remembers a new call's callee id by result key (replayed calls are noted from their entry). */
  noteCallee(key: string, calleeId: string): void {
    this.#callees.set(key, calleeId);
  }

  sleep(ms: number): Durable<void> {
    return this.context.sleep(ms) as Durable<void>;
  }

  /** Awaits since the last journal allocation: where a cancellation was delivered. */
  #awaitsSinceAllocation = 0;
  #cancelDelivered = false;

  /**
   * Delivers a cancellation at an await, deterministically: the first time at
   * an await that would block, journaled with that await's position; on replay
   * at the same position.
   */
  #cancellation(wouldBlock: boolean): CancelledError | undefined {
    if (this.#cancelDelivered) return undefined;
    const recorded = this.loaded.journal.get(this.#next);
    if (recorded?.kind !== 'cancel' && (recorded || !wouldBlock || !this.loaded.completions.has(CANCEL))) return undefined;
    const position = String(this.#awaitsSinceAllocation);
    if (recorded && recorded.name !== position) return undefined;
    const { index } = this.allocate('cancel', position);
    this.#cancelDelivered = true;
    if (!recorded) {
      // Propagate to callees still running, then journal the delivery.
      const callees = [...this.loaded.journal.values()].filter(
        (e) => e.kind === 'call' && e.value && !this.loaded.completions.has(completionKey(e.index)),
      );
      void this.enqueue(async () => {
        for (const callee of callees) await this.deps.store.complete(callee.value!, { key: CANCEL, at: this.deps.clock.now() });
        await this.write({ index, kind: 'cancel', name: position });
      }).catch(() => undefined);
    }
    return new CancelledError(`invocation ${this.id} was cancelled`);
  }

  /** Settles a durable promise from what is known, or parks until it can be. */
  async await<T>(promise: Durable<T>): Promise<T> {
    this.#awaitsSinceAllocation++;
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

  async #block(keys: string[], timers: Timer[]): Promise<void> {
    const now = this.deps.clock.now();
    const due = timers.filter((t) => t.at <= now);
    if (due.length > 0) {
      // A timer already due needs no queue round trip: complete it here.
      for (const t of due) await this.completeLocally(this.id, { key: t.key, at: now });
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

  async completeOwn(completion: Completion): Promise<void> {
    await this.completeLocally(this.id, { ...completion, at: this.deps.clock.now() });
  }

  /** Writes a completion (first writer wins) and learns whichever one stands. */
  async completeLocally(invocationId: string, completion: Completion): Promise<{ won: boolean; standing: Completion }> {
    const result = await this.deps.store.complete(invocationId, completion);
    const standing = result.won ? completion : result.existing;
    if (invocationId === this.id) this.learn(standing);
    return { won: result.won, standing };
  }

  #scheduleIdleCheck(): void {
    if (this.#idleCheck || this.#ended) return;
    this.#idleCheck = true;
    // After the microtasks settle: if no step is running and the handler is
    // parked on completions nobody here can provide, suspend.
    setImmediate(() => {
      this.#idleCheck = false;
      if (this.#ended || this.#inflight > 0 || this.#waiters.size === 0) return;
      this.#suspendWhenIdle().catch((error: unknown) => this.#interrupt('suspending', error));
    });
  }

  async #suspendWhenIdle(): Promise<void> {
    await this.#queue;
    if (this.#ended || this.#inflight > 0 || this.#waiters.size === 0) return;
    const keys = [...this.#waiters].flatMap((w) => w.keys);
    const awaiting = [...new Set(this.#cancelDelivered ? keys : [...keys, CANCEL])].sort();
    let arrived: boolean;
    try {
      arrived = await this.#linger(awaiting);
    } catch (error) {
      return this.#interrupt(`polling ${awaiting.join(', ')} before suspending`, error);
    }
    if (arrived || this.#ended) return;
    const timers = dedupeTimers([...this.#waiters].flatMap((w) => w.timers));
    const awakeables = Object.fromEntries(awaiting.filter((k) => this.#awakeables.has(k)).map((k) => [k, this.#awakeables.get(k)!]));
    const callees = Object.fromEntries(awaiting.filter((k) => this.#callees.has(k)).map((k) => [k, this.#callees.get(k)!]));
    this.#stop(`suspending on ${awaiting.join(', ')}`, async () => {
      const ok = await this.#store.suspend(this.id, {
        epoch: this.meta.epoch,
        now: this.deps.clock.now(),
        awaiting,
        timers,
        awakeables,
        callees,
      });
      return ok
        ? { kind: 'suspended', invocationId: this.id, awaiting, timers }
        : { kind: 'lost', invocationId: this.id, reason: 'suspend lost to a newer attempt' };
    });
  }

  /**
   * Polls the awaited completions for up to `lingerMs` (at most one read per
   * 100 ms). True when one arrived and the handler carries on instead.
   */
  async #linger(awaiting: string[]): Promise<boolean> {
    const until = this.deps.clock.now() + (this.deps.lingerMs ?? 0);
    while (this.deps.clock.now() < until && !this.#nearDeadline()) {
      await this.deps.clock.sleep(Math.min(100, until - this.deps.clock.now()));
      if (this.#ended) return true;
      const present = await this.#store.existingCompletions(this.id, awaiting);
      if (present.length > 0) {
        for (const key of present) await this.reload(key);
        return true;
      }
    }
    return false;
  }

  /**
   * Ends the attempt suspended on one timer (a step's long retry backoff):
   * nothing runs, nothing is billed, until it fires. `step` names the step
   * for an interruption's message, e.g. `step 'charge' (entry 3)`.
   */
  async suspendOnTimer(timer: Timer, lastFailure: Failure, step: string): Promise<void> {
    await this.#queue;
    if (this.#ended) return;
    const awaiting = this.#cancelDelivered ? [timer.key] : [CANCEL, timer.key];
    this.#stop(`suspending ${step} on its retry timer ${timer.key}`, async () => {
      const ok = await this.#store.suspend(this.id, {
        epoch: this.meta.epoch,
        now: this.deps.clock.now(),
        awaiting,
        timers: [timer],
        lastFailure,
      });
      return ok
        ? { kind: 'suspended', invocationId: this.id, awaiting, timers: [timer] }
        : { kind: 'lost', invocationId: this.id, reason: 'suspend lost to a newer attempt' };
    });
  }

  /** Where the retries of the step at `entry` stand: its latest retry timer that fired, if any. */
  stepRetry(entry: number): StepRetry | undefined {
    return this.#stepRetries.get(entry);
  }

  #noteStepRetry(key: string): void {
    const retry = stepRetryOf(key);
    if (!retry) return;
    const known = this.#stepRetries.get(retry.entry);
    if (!known || retry.attempt > known.attempt) this.#stepRetries.set(retry.entry, retry);
  }

  // ---- endings ---------------------------------------------------------------
  //
  // Every ending is a store write that can fail. Each one goes through #stop,
  // so a failure rejects `runAttempt` (#interrupt) instead of leaving it
  // pending until the Lambda timeout.

  /**
   * Ends the attempt with the outcome `record` writes. The attempt counts as
   * ended from here on, so no new step starts while it is written; if the
   * write fails, the attempt is interrupted instead.
   */
  #stop(during: string, record: () => Promise<AttemptOutcome>): void {
    this.#ended = true;
    void record().then(
      (outcome) => this.#settle(outcome),
      (error: unknown) => this.#interrupt(during, error),
    );
  }

  #settle(outcome: AttemptOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolveEnd(outcome);
  }

  /**
   * Ends the attempt on a store failure: hands the invocation back if it can
   * and rejects `runAttempt`. Once the attempt has an outcome, a late failure
   * (a step body still running) changes nothing.
   */
  #interrupt(during: string, error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#ended = true;
    void interruption(this.#store, this.meta, this.deps.clock.now(), during, error).then(this.#rejectEnd);
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
            if (error instanceof PayloadTooLargeError) throw error;
            this.#interrupt(describeCall(operation, args, this.id), error);
            return new Promise<never>(() => undefined);
          });
        };
      },
    });
  }

  #finish(result: { output: string } | { failure: Failure }): void {
    this.#stop(`recording its ${'output' in result ? 'output' : 'failure'}`, () => this.#record(result));
  }

  /** Writes the invocation's outcome. */
  async #record(result: { output: string } | { failure: Failure }): Promise<AttemptOutcome> {
    const now = this.deps.clock.now();
    let ok: boolean;
    try {
      ok = await this.#store.finish(this.id, { epoch: this.meta.epoch, now, ttl: ttlOf(this.deps, now), ...result });
    } catch (error) {
      // An output too large to store fails the same way on every retry: fail with that error instead.
      if (error instanceof PayloadTooLargeError && 'output' in result) return this.#record({ failure: toFailure(error) });
      throw error;
    }
    if (!ok) return { kind: 'lost', invocationId: this.id, reason: 'finish lost to a newer attempt' };
    return 'output' in result
      ? { kind: 'completed', invocationId: this.id, output: result.output }
      : { kind: 'failed', invocationId: this.id, failure: result.failure };
  }

  #yield(): void {
    if (this.#ended) return;
    this.#stop('handing the invocation on to a fresh attempt', async () => {
      const handedOn = await this.#store.release(this.id, { epoch: this.meta.epoch, now: this.deps.clock.now() });
      // A refused release means a newer attempt owns the invocation: this one was a zombie.
      return handedOn
        ? { kind: 'yielded', invocationId: this.id }
        : { kind: 'lost', invocationId: this.id, reason: 'a newer attempt took the invocation over' };
    });
  }

  /**
   * Ends the attempt on a retryable failure: lost writes hand the invocation
   * back; anything else backs off by a durable timer (no compute while waiting).
   */
  #fail(error: unknown): void {
    if (this.#ended) return;
    const now = this.deps.clock.now();
    const epoch = this.meta.epoch;
    if (error instanceof LostWrite) {
      // Whoever wrote the entry first may be a zombie; hand the invocation
      // back so a fresh attempt replays what it wrote. Fails harmlessly if we
      // are the zombie.
      return this.#stop('handing the invocation back after a lost write', async () => {
        await this.#store.release(this.id, { epoch, now });
        return { kind: 'lost', invocationId: this.id, reason: error.message };
      });
    }
    const failure = toFailure(error);
    const policy = this.deps.invocationRetry ?? DEFAULT_INVOCATION_RETRY;
    const retries = (this.meta.retries ?? 0) + 1;
    // A step result too large to journal is too large on every retry: fail now.
    if (!mayRetry(policy, retries, this.meta.createdAt, now) || error instanceof PayloadTooLargeError) {
      return this.#stop(`recording its failure (${failure.message})`, async () => {
        await this.#queue;
        return this.#record({ failure });
      });
    }
    const key = retryKey(retries);
    const retryAt = now + backoffMs(policy, retries);
    this.#stop(`scheduling retry ${retries} (timer ${key}) after: ${failure.message}`, async () => {
      await this.#queue;
      const ok = await this.#store.suspend(this.id, {
        epoch,
        now,
        awaiting: [key],
        timers: [{ key, at: retryAt }],
        retries,
        lastFailure: failure,
      });
      return ok
        ? { kind: 'retrying', invocationId: this.id, failure, retryAt }
        : { kind: 'lost', invocationId: this.id, reason: 'suspend lost' };
    });
  }
}

function dedupeTimers(timers: Timer[]): Timer[] {
  const byKey = new Map(timers.map((t) => [t.key, t]));
  return [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key));
}

/** Rebuilds a journaled outcome. */
export function recordedOutcome<T>(
  entry: { value?: string | undefined; failure?: Failure | undefined },
  deserialize: (text: string) => T,
): Outcome<T> {
  if (entry.failure) return { ok: false, error: fromFailure(entry.failure) };
  return { ok: true, value: deserialize(entry.value ?? '') };
}
