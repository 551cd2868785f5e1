/**
 * One attempt of an invocation: acquire, load, replay, run new steps, and end
 * completed, failed, or suspended.
 *
 * `runAttempt` acquires and loads; an `Attempt` then runs the handler over
 * units of its own:
 *
 * - `Journal` (journal.ts): the cursor, the replay check, and the one write
 *   queue every new entry goes through (`append`): the template for a new
 *   `ctx` primitive;
 * - `Completions` (completions.ts): what the attempt knows has completed;
 * - `Waiting` (waiting.ts): awaits, the idle check, linger, suspension, and
 *   cancellation delivered at an await;
 * - `Ending` (ending.ts): every way the attempt ends, and the store whose
 *   failures interrupt it;
 * - `DurableContext` (context.ts): the `ctx` handed to the handler.
 */
import type { Definition, HandlerSpec } from '../api/definitions.ts';
import { TerminalError, ensureError, isTerminal, toFailure, type Failure } from '../api/errors.ts';
import type { RetryPolicy } from '../api/context.ts';
import {
  DEFAULT_JOURNAL_TTL_SECONDS,
  JOURNAL_TAIL_MARGIN_SECONDS,
  type Completion,
  type InvocationMeta,
  type LoadedInvocation,
  type Store,
  type Timer,
} from '../store/store.ts';
import { LOCK_GRANTED } from '../store/keys.ts';
import type { Clock } from './clock.ts';
import type { IdSigner } from './ids.ts';
import { Completions } from './completions.ts';
import { DurableContext } from './context.ts';
import { Ending, LeaseHeldError, finishFailed, owning } from './ending.ts';
import { Journal } from './journal.ts';
import type { Durable, Outcome, PromiseHost } from './promises.ts';
import { Waiting } from './waiting.ts';
import { untraced, type AttemptTrace, type Tracing } from './tracing.ts';

export { AttemptInterruptedError, LeaseHeldError } from './ending.ts';

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
  /**
   * The store's journal TTL (`journalTtlSeconds`), so that a replay can tell
   * a first entry DynamoDB's TTL removed from a step still unfinished.
   * Default `DEFAULT_JOURNAL_TTL_SECONDS` (30 days).
   */
  journalTtlSeconds?: number;
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
  /**
   * The published function version this attempt runs on (Lambda's
   * `AWS_LAMBDA_FUNCTION_VERSION`; absent on `$LATEST`). The first attempt
   * pins the invocation to it; an invocation pinned to another version is
   * refused (rule 12).
   */
  version?: string | undefined;
  /** Where the attempt reports its timeline (OpenTelemetry spans, in Lambda); none by default. */
  tracing?: Tracing;
  /**
   * Where `ctx.console` writes past the replayed part of the journal (in
   * Lambda, structured log lines with the invocation's fields). Default: the
   * global console, each line prefixed with the service, handler and id.
   */
  handlerConsole?: (meta: InvocationMeta) => Console;
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
  /**
   * The id of the invoke (its payload's `invokeId`), recorded on `meta` at
   * acquire: an invoke that finds the invocation running under a live lease
   * waits it out only if that lease is its own (a retry of its own attempt);
   * another invoke's lease means a duplicate wake, which stops at once.
   */
  invokeId?: string | undefined;
}

const DEFAULT_LEASE_MS = 15 * 60_000;

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
  const meta = await store.acquire(id, {
    seenEpoch: request.epoch,
    now,
    leaseMs: deps.leaseMs ?? DEFAULT_LEASE_MS,
    version: deps.version,
    invokeId: request.invokeId,
  });
  if (!meta) {
    // Lost the acquire: usually a duplicate invoke of an invocation that has
    // moved on. But it can be this very invoke's earlier attempt, dead while
    // its lease runs (a crash, or an acquire whose reply was lost):
    //
    //   invoke@e  acquire ✓ (running, lease L) ── crash
    //   retry@e   a minute later, before L: acquire ✗ → skipped
    //   Lambda counts that as success and nobody looks again: stuck running.
    //
    // Without invoke ids the two look the same, so a live lease fails the
    // invoke: Lambda retries it, then its on-failure destination re-checks
    // once the lease is over. The lease is judged at the acquire's `now`: one
    // that ran out since would otherwise be skipped with nobody left to take
    // over. (Found by the simulator, seeds 144 and 14.)
    //
    // With invoke ids they differ: a lease taken by another invoke is that
    // invoke's to recover (its own retries and on-failure destination carry
    // its id), so this one is a duplicate wake (the stream's and the direct
    // one, both at the same epoch) and stops here, at the cost of one failed
    // acquire and this read, instead of failing into Lambda's retries.
    //
    //   direct invoke A@3:  acquire ✓ (running, epoch 4, invokeId A) ── runs …
    //   stream invoke B@3:  acquire ✗ ── meta: running, lease live, invokeId A ≠ B → skipped
    //   A's retry (crash):  acquire ✗ ── meta: invokeId A = A → LeaseHeldError → retried after the lease
    const current = await store.getInvocation(id);
    if (current?.status === 'running' && (current.lease ?? 0) >= now) {
      const anotherInvoke = request.invokeId !== undefined && current.invokeId !== undefined && current.invokeId !== request.invokeId;
      if (!anotherInvoke) throw new LeaseHeldError(id, current.lease ?? 0);
      return {
        kind: 'skipped',
        invocationId: id,
        reason: `invocation ${id} is running for another invoke (a duplicate wake); that invoke's retries take it over if its attempt dies`,
      };
    }
    // Runnable, but pinned to another version (an invoke that raced an
    // upgrade, or reached the wrong version): fail the invoke, so its
    // on-failure destination re-checks, and recovery invokes the pinned one.
    if (current && pinnedElsewhere(current, deps.version, request.epoch, now))
      throw new PinnedElsewhereError(id, current.version!, deps.version!);
    return {
      kind: 'skipped',
      invocationId: id,
      reason: `invocation ${id} is not runnable at epoch ${request.epoch} (a duplicate invoke, or another attempt owns it)`,
    };
  }
  const trace = deps.tracing?.attemptStarted(meta, now) ?? untraced;
  let outcome: AttemptOutcome;
  try {
    outcome = await runAcquired(deps, meta, trace);
  } catch (error) {
    trace.ended(undefined, error);
    throw error;
  }
  trace.ended(outcome);
  return outcome;
}

/** The rest of an attempt, once it holds the invocation. */
async function runAcquired(deps: AttemptDeps, meta: InvocationMeta, trace: AttemptTrace): Promise<AttemptOutcome> {
  const { store, clock } = deps;
  const id = meta.id;
  const handler = deps.services.get(meta.service)?.handlers[meta.handler];
  if (!handler) {
    // The ingress refuses unknown handlers; this is a deployment that lost one.
    const failure = toFailure(
      new TerminalError(`invocation ${id}: handler ${meta.service}.${meta.handler} is not registered in this deployment`, { code: 404 }),
    );
    return finishFailed(deps, meta, failure);
  }
  const loaded = await owning(deps, meta, 'loading its journal', () => store.load(id));
  trace.loaded(loaded.journal, loaded.completions);
  // A journal nearing its expiry is renewed by the attempt that holds it, so
  // its first entry cannot expire under a running invocation (whose entries
  // since its last suspension `meta` has not counted yet); a suspended one's
  // is renewed by the wake when the first entry goes.
  const head = loaded.journal.get(0);
  if (head && journalNearsExpiry(loaded.journal, clock.now(), (deps.journalTtlSeconds ?? DEFAULT_JOURNAL_TTL_SECONDS) * 1000))
    await owning(deps, meta, 'renewing its journal', () => store.renewJournal(id, { head, now: clock.now() }));
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
  return new Attempt(deps, meta, handler, loaded, lockSeq, trace).execute();
}

/**
 * An invoke reached a function version other than the one its invocation
 * is pinned to. Thrown out of `runAttempt` (like {@link LeaseHeldError}), so
 * Lambda's retries and on-failure destination hand it to recovery, which
 * invokes the pinned version.
 *
 * @example
 * ```ts
 * err.message // "invocation inv_… is pinned to function version 3, not 4: …"
 * ```
 */
export class PinnedElsewhereError extends Error {
  override name = 'PinnedElsewhereError';
  constructor(
    readonly invocationId: string,
    readonly pinned: string,
    readonly running: string,
  ) {
    super(
      `invocation ${invocationId} is pinned to function version ${pinned}, not ${running}: recovery invokes version ${pinned} ` +
        `(to move it deliberately, upgrade it: dormant upgrade ${invocationId})`,
    );
  }
}

function pinnedElsewhere(meta: InvocationMeta, version: string | undefined, seenEpoch: number, now: number): boolean {
  if (version === undefined || meta.version === undefined || meta.version === version) return false;
  const runnable = (meta.status === 'pending' || meta.status === 'suspended') && meta.epoch === seenEpoch;
  return runnable || (meta.status === 'running' && (meta.lease ?? 0) < now);
}

/** The store reads the durable context makes (through the attempt's store: a failure interrupts the attempt). */
export type StoreReads = Pick<Store, 'readState' | 'getCompletion' | 'getInvocation' | 'hasJournal' | 'findEvents'>;

/** One attempt: its units, composed, and the handler run over them. */
export class Attempt implements PromiseHost {
  readonly ending: Ending;
  readonly completions: Completions;
  readonly journal: Journal;
  readonly waiting: Waiting;
  readonly reads: StoreReads;
  readonly context: DurableContext;
  /** Aborted once the attempt has ended (`ctx.request().attemptCompletedSignal`). */
  readonly completed: AbortSignal;
  readonly #input: string;

  constructor(
    private readonly deps: AttemptDeps,
    readonly meta: InvocationMeta,
    private readonly handler: HandlerSpec,
    loaded: LoadedInvocation,
    /** The object key's lock sequence (0 when not an exclusive object call): orders state writes. */
    lockSeq = 0,
    /** Where this attempt reports its timeline. */
    readonly trace: AttemptTrace = untraced,
  ) {
    // An input over 1 KiB lives in an item of its own, which the load's Query read.
    this.#input = meta.input ?? loaded.input ?? '';
    this.ending = new Ending(
      deps,
      meta,
      () => this.journal.flush(),
      () => this.journal?.durableEntries,
    );
    const completed = new AbortController();
    this.completed = completed.signal;
    const abort = () => completed.abort(new Error(`attempt ${meta.epoch} of invocation ${meta.id} has ended`));
    void this.ending.outcome.then(abort, abort);
    const store = this.ending.store;
    this.completions = new Completions(store, meta.id, loaded.completions);
    this.journal = new Journal(
      meta.id,
      loaded.journal,
      store,
      this.ending,
      this.completions,
      deps.alwaysReplay ?? false,
      { journal: meta.upgradedFrom ?? meta.version, running: deps.version },
      () => deps.clock.now(),
      trace,
    );
    this.waiting = new Waiting(meta.id, deps, deps.store, this.journal, this.completions, this.ending);
    this.reads = store;
    const { clock, signer, services, apiUrl, maxInAttemptBackoffMs, handlerConsole } = deps;
    this.context = new DurableContext(this, meta, handler.shared, lockSeq, {
      clock,
      signer,
      services,
      apiUrl,
      maxInAttemptBackoffMs,
      handlerConsole,
    });
  }

  get id(): string {
    return this.meta.id;
  }

  async execute(): Promise<AttemptOutcome> {
    // A journal that lost entries cannot be replayed: the steps that were
    // there would run again (their side effects twice). Only the first entry
    // missing is DynamoDB's TTL ahead of the wake that puts it back
    // (`Store.renewJournal`): back off and look again. Anything else is lost.
    const gap = journalGap(this.journal.recorded, this.meta.journalEntries, {
      now: this.deps.clock.now(),
      journalTtlMs: (this.deps.journalTtlSeconds ?? DEFAULT_JOURNAL_TTL_SECONDS) * 1000,
    });
    if (gap !== undefined) {
      const error = new JournalGapError(this.id, gap.missing, gap.lost, gap.renewing);
      if (gap.renewing) this.ending.fail(error);
      else this.ending.finish({ failure: toFailure(error) });
      return this.ending.outcome;
    }
    const done = (async (): Promise<Outcome<unknown>> => {
      let input: unknown;
      try {
        input = this.handler.input.deserialize(this.#input);
      } catch (error) {
        // The same input fails the same way on every retry: fail once, saying why.
        const why = ensureError(error).message;
        const failure = new TerminalError(
          `invocation ${this.id}: the input of ${this.meta.service}.${this.meta.handler} could not be read: ${why}`,
          {
            code: 400,
          },
        );
        return { ok: false, error: failure };
      }
      try {
        return { ok: true, value: await this.handler.fn(this.context, input) };
      } catch (error) {
        return { ok: false, error };
      }
    })();
    const { ending } = this;
    const first = await Promise.race([done.then((o) => ({ handler: o })), ending.outcome.then((e) => ({ end: e }))]);
    if ('end' in first) return first.end;
    const result = first.handler;
    // Queued journal writes land first; one that fails interrupts the attempt, and the outcome rejects.
    await Promise.race([this.journal.flush(), ending.outcome]);
    if (ending.ended) return ending.outcome;
    if (!result.ok) {
      if (isTerminal(result.error)) ending.finish({ failure: toFailure(result.error) });
      else ending.fail(result.error);
      return ending.outcome;
    }
    let output: string;
    try {
      output = this.handler.output.serialize(result.value);
    } catch (e) {
      ending.finish({
        failure: toFailure(new TerminalError(`invocation ${this.id}: output could not be serialized: ${ensureError(e).message}`)),
      });
      return ending.outcome;
    }
    ending.finish({ output });
    return ending.outcome;
  }

  // ---- PromiseHost: what durable promises need ---------------------------------

  completion(key: string): Completion | undefined {
    return this.completions.get(key);
  }

  async completeOwn(completion: Completion): Promise<void> {
    await this.completions.complete(this.id, { ...completion, at: this.deps.clock.now() });
  }

  await<T>(promise: Durable<T>): Promise<T> {
    return this.waiting.await(promise);
  }

  reload(key: string): Promise<void> {
    return this.completions.reload(key);
  }

  sleep(ms: number): Durable<void> {
    return this.context.sleep(ms) as unknown as Durable<void>;
  }
}

/**
 * Whether the oldest entry of a journal is past half its expiry (at most 3
 * days before it): time for the attempt to renew it.
 *
 * @example
 * ```ts
 * journalNearsExpiry(journal, Date.now(), 30 * 86_400_000) // true once the oldest entry is 27 days old
 * ```
 */
export function journalNearsExpiry(
  journal: ReadonlyMap<number, { writtenAt?: number | undefined }>,
  now: number,
  journalTtlMs: number,
): boolean {
  let oldest = Infinity;
  for (const entry of journal.values()) if (entry.writtenAt !== undefined && entry.writtenAt < oldest) oldest = entry.writtenAt;
  return oldest + journalTtlMs - Math.min(journalTtlMs / 2, JOURNAL_TAIL_MARGIN_SECONDS * 1000) <= now;
}

/**
 * Whether a loaded journal lost entries: fewer than `meta` recorded at its
 * last suspension (`journalEntries`), or its first entry missing while the
 * others are old enough for it to have expired (`journalTtlMs` after the
 * oldest one's `writtenAt`: entries added since the last suspension are not
 * counted yet). `missing` is the first index absent; `renewing` when only
 * the first entry is missing (DynamoDB's TTL removes it first, and the wake
 * is putting it back).
 *
 * @example
 * ```ts
 * journalGap(new Map([[1, e1], [2, e2]]), 3) // { missing: 0, lost: 1, renewing: true }
 * journalGap(new Map([[0, e0], [2, e2]]), 2) // undefined: a parallel step that never finished
 * ```
 */
export function journalGap(
  journal: ReadonlyMap<number, { writtenAt?: number | undefined }>,
  journalEntries = 0,
  age?: { now: number; journalTtlMs: number },
): { missing: number; lost: number; renewing: boolean } | undefined {
  let missing = 0;
  while (journal.has(missing)) missing++;
  const lost = journalEntries - journal.size;
  if (lost > 0) return { missing, lost, renewing: lost === 1 && missing === 0 };
  if (missing > 0 || journal.size === 0 || !age) return undefined;
  // The first entry missing, and none counted lost: a step at index 0 that
  // has not finished yet (parallel steps journal out of order), unless the
  // journal is old enough for its first entry to have expired.
  let oldest = Infinity;
  for (const entry of journal.values()) if (entry.writtenAt !== undefined && entry.writtenAt < oldest) oldest = entry.writtenAt;
  return oldest + age.journalTtlMs <= age.now ? { missing: 0, lost: 1, renewing: true } : undefined;
}

/**
 * An attempt found its journal with a hole: an entry deleted (by DynamoDB's
 * TTL, or by hand) while its invocation still needed it. Replaying past the
 * hole would run that step again, so the invocation fails instead (or backs
 * off, while the wake puts a TTL-removed first entry back).
 *
 * @example
 * ```ts
 * new JournalGapError('inv_…', 3, false).message // "invocation inv_… cannot replay its journal: entry 3 is missing …"
 * ```
 */
export class JournalGapError extends TerminalError {
  override name = 'JournalGapError';
  constructor(
    readonly invocationId: string,
    /** The first missing index. */
    readonly index: number,
    /** How many entries are missing. */
    readonly lost: number,
    /** Whether the wake is expected to put it back (only the first entry missing). */
    readonly renewing: boolean,
  ) {
    super(
      `invocation ${invocationId} cannot replay its journal: ${lost} entr${lost === 1 ? 'y is' : 'ies are'} missing, the first at index ${index} ` +
        `(expired or deleted while the invocation still needed it), ` +
        `and replaying past it would run that step again. ` +
        (renewing
          ? 'The first entry expired by TTL and the wake is putting it back; the attempt backs off and tries again.'
          : "Keep journals at least as long as invocations wait (the journal TTL, renewed by the wake from the table's stream, must not be lowered below 3 days), " +
            'never delete J# items of unfinished invocations by hand, and start the invocation again.'),
      { code: 500 },
    );
  }
}
