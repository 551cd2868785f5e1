/**
 * Durable promises: thenables whose outcome comes from the journal or from a
 * completion, so every replay settles them the same way. Awaiting one that is
 * not complete parks the handler; once nothing else can make progress the
 * attempt suspends (see `Waiting`).
 */
import type { DurablePromise } from '../api/context.ts';
import { TerminalError, TimeoutError } from '../api/errors.ts';
import { COMBINE, type Combine } from '../api/promise.ts';
import { durationMs, show, type Duration } from '../api/duration.ts';
import { heartbeatDeadlineKey, heartbeatKey } from '../store/keys.ts';
import type { Completion, JournalEntry, Timer } from '../store/store.ts';
import type { Journal } from './journal.ts';

/** A settled value or error. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** What an undecided durable promise is waiting for. */
export interface Blockers {
  /** Completion keys written by someone else. */
  keys: string[];
  /** Timers among those keys. */
  timers: Timer[];
  /** Steps running in this attempt. */
  local: Promise<unknown>[];
  /** Writes to make before deciding (an awakeable timed out: close it first). */
  cancel?: (() => Promise<void>)[];
}

/** The engine services a durable promise needs; implemented by `Attempt`. */
export interface PromiseHost {
  completion(key: string): Completion | undefined;
  /** Writes a completion of this invocation (first writer wins) and learns the standing one. */
  completeOwn(completion: Completion): Promise<void>;
  await<T>(promise: Durable<T>): Promise<T>;
  /** Reads one completion of this invocation again from the store (an awakeable's last heartbeat). */
  reload(key: string): Promise<void>;
  /** The journal: a combinator journals its decision through it like any primitive. */
  readonly journal: Pick<Journal, 'allocate' | 'append' | 'cursor'>;
  sleep(ms: number): Durable<void>;
}

/**
 * Base of every durable promise: `then` hands the promise to the attempt,
 * which settles it from what is known or parks the handler.
 */
export abstract class Durable<T> implements DurablePromise<T> {
  #settled?: Promise<T>;
  readonly [Symbol.toStringTag] = 'DurablePromise';
  constructor(protected readonly host: PromiseHost) {}

  /** The outcome if it is known now (a combinator may journal its decision here). */
  abstract outcome(): Outcome<T> | undefined;
  /** What it waits for while undecided. */
  abstract blockers(): Blockers;

  then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: any) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.#settled ??= this.host.await(this);
    return this.#settled.then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: any) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<T> {
    return Promise.resolve(this).finally(onfinally);
  }

  orTimeout(timeout: Duration | number): DurablePromise<T> {
    const timer = this.host.sleep(durationMs(timeout, 'orTimeout'));
    return new Combinator<T>(this.host, 'timeout', [this, timer]);
  }

  map<U>(mapper: (value?: T, failure?: TerminalError) => U): DurablePromise<U> {
    return new Mapped(this.host, this, mapper);
  }

  /** `RestatePromise.all` and the others combine through the first durable promise they are given. */
  [COMBINE]: Combine = (kind, promises) => new Combinator(this.host, kind, promises as unknown as Durable<unknown>[]);
}

/**
 * `promise.map(mapper)`: settles as `mapper` makes of the inner outcome. It
 * journals nothing: the inner outcome is durable, and the mapper runs again
 * on replay.
 */
export class Mapped<T, U> extends Durable<U> {
  #outcome: Outcome<U> | undefined;
  constructor(
    host: PromiseHost,
    private readonly inner: Durable<T>,
    private readonly mapper: (value?: T, failure?: TerminalError) => U,
  ) {
    super(host);
  }

  outcome(): Outcome<U> | undefined {
    if (this.#outcome) return this.#outcome;
    const inner = this.inner.outcome();
    if (!inner) return undefined;
    try {
      const value = inner.ok ? this.mapper(inner.value, undefined) : this.mapper(undefined, inner.error as TerminalError);
      this.#outcome = { ok: true, value };
    } catch (error) {
      this.#outcome = { ok: false, error };
    }
    return this.#outcome;
  }

  blockers(): Blockers {
    return this.inner.blockers();
  }
}

/** Settled by a completion item (awakeable, timer, workflow promise). */
export class CompletionPromise<T> extends Durable<T> {
  constructor(
    host: PromiseHost,
    readonly key: string,
    private readonly decode: (completion: Completion) => Outcome<T>,
    private readonly timerAt?: number,
    /** An awakeable: this invocation may close it (on timeout) so late resolvers get a 409. */
    readonly closable = false,
  ) {
    super(host);
  }

  outcome(): Outcome<T> | undefined {
    const completion = this.host.completion(this.key);
    return completion && this.decode(completion);
  }

  blockers(): Blockers {
    return { keys: [this.key], timers: this.timerAt === undefined ? [] : [{ key: this.key, at: this.timerAt }], local: [] };
  }
}

/**
 * An awakeable with a heartbeat timeout. It waits on its completion and on a
 * timer at its deadline: the later of its creation and its last heartbeat,
 * plus the timeout. A heartbeat only overwrites the `.beat` item (it wakes
 * nothing); the timer is keyed by the deadline it was set for, so:
 *
 *   timer at d fires ── handler wakes ── reads .beat again
 *     └ beat moved the deadline to d' > d: suspend again on (C#i, timer d')
 *     └ it did not: close C#i with a TimeoutError (first writer wins: a
 *       resolve that got in first stands, a later one gets 409)
 *
 * The outcome is always C#i's completion, so replay needs nothing else, and
 * a quiet waiter costs one wake per deadline, not one per heartbeat.
 */
export class HeartbeatAwakeablePromise<T> extends CompletionPromise<T> {
  constructor(
    host: PromiseHost,
    key: string,
    decode: (completion: Completion) => Outcome<T>,
    /** When it was created (journaled), epoch ms. */
    private readonly since: number,
    private readonly timeoutMs: number,
  ) {
    super(host, key, decode, undefined, true);
  }

  /** The current deadline, from what this attempt knows of the last heartbeat. */
  deadline(): number {
    const beat = this.host.completion(heartbeatKey(this.key));
    return Math.max(this.since, beat?.at ?? 0) + this.timeoutMs;
  }

  override blockers(): Blockers {
    const at = this.deadline();
    const timer = heartbeatDeadlineKey(this.key, at);
    if (!this.host.completion(timer)) return { keys: [this.key, timer], timers: [{ key: timer, at }], local: [] };
    return {
      keys: [],
      timers: [],
      local: [],
      cancel: [
        async () => {
          // A heartbeat may have landed since this attempt loaded: look again before closing.
          await this.host.reload(heartbeatKey(this.key));
          if (this.deadline() > at) return;
          await this.host.completeOwn({
            key: this.key,
            failure: { name: 'TimeoutError', message: `no heartbeat for ${this.timeoutMs} ms`, code: 408 },
            at: 0,
          });
        },
      ],
    };
  }
}

/** Settled by a step of this attempt, or by its journaled result on replay. */
export class StepPromise<T> extends Durable<T> {
  #outcome: Outcome<T> | undefined;
  readonly #running: Promise<unknown> | undefined;

  constructor(host: PromiseHost, source: Outcome<T> | Promise<Outcome<T>>) {
    super(host);
    if (source instanceof Promise) {
      this.#running = source.then((o) => {
        this.#outcome = o;
      });
    } else {
      this.#outcome = source;
    }
  }

  outcome(): Outcome<T> | undefined {
    return this.#outcome;
  }

  blockers(): Blockers {
    return { keys: [], timers: [], local: this.#outcome || !this.#running ? [] : [this.#running] };
  }
}

/** The combinator kinds; `timeout` is `orTimeout`'s race against a timer. */
export type CombinatorKind = 'all' | 'race' | 'any' | 'allSettled' | 'timeout';

type View = (position: number) => Outcome<unknown> | undefined;
type Decision = { outcome: Outcome<unknown>; used: number[] };

/**
 * `all`, `race`, `any`, `allSettled` and `orTimeout` over durable promises.
 *
 * The first time it is decided, it journals which children decided it
 * (`settled`). On replay it decides from those children only, so a child that
 * completed later cannot change the outcome.
 */
export class Combinator<T> extends Durable<T> {
  readonly #index: number;
  readonly #recorded: JournalEntry | undefined;
  #decided: Outcome<T> | undefined;

  constructor(
    host: PromiseHost,
    private readonly kind: CombinatorKind,
    private readonly children: readonly Durable<unknown>[],
  ) {
    super(host);
    for (const child of children) {
      if (!(child instanceof Durable))
        throw new TerminalError(
          `${kind === 'timeout' ? 'orTimeout' : `ctx.${kind}()`} at journal entry ${host.journal.cursor} takes durable promises (from ctx.run, ctx.awakeable, ctx.sleep, ctx.promise, a client call), got ${show(child)}`,
          { code: 400 },
        );
    }
    ({ index: this.#index, recorded: this.#recorded } = host.journal.allocate('combinator', kind));
  }

  outcome(): Outcome<T> | undefined {
    if (this.#decided) return this.#decided;
    if (this.#recorded) {
      const used = new Set(this.#recorded.settled ?? []);
      const decision = decide(this.kind, this.children.length, (p) => (used.has(p) ? this.children[p]!.outcome() : undefined));
      if (decision) this.#decided = decision.outcome as Outcome<T>;
      return this.#decided;
    }
    if (this.#mustClose()) return undefined;
    const decision = decide(this.kind, this.children.length, (p) => this.children[p]!.outcome());
    if (!decision) return undefined;
    void this.host.journal.append({ index: this.#index, kind: 'combinator', name: this.kind, settled: decision.used });
    this.#decided = decision.outcome as Outcome<T>;
    return this.#decided;
  }

  /**
   * `orTimeout` on an awakeable whose timer fired: first close the awakeable
   * with a TimeoutError (first writer wins), so a late resolve is refused
   * with 409 instead of being accepted and ignored; then decide from
   * whichever completion stands.
   */
  #mustClose(): boolean {
    const [inner, timer] = this.children;
    return (
      this.kind === 'timeout' && inner instanceof CompletionPromise && inner.closable && !inner.outcome() && timer!.outcome() !== undefined
    );
  }

  blockers(): Blockers {
    if (this.#mustClose()) {
      const inner = this.children[0] as CompletionPromise<unknown>;
      const failure = { name: 'TimeoutError', message: 'timed out', code: 408 };
      return { keys: [], timers: [], local: [], cancel: [() => this.host.completeOwn({ key: inner.key, failure, at: 0 })] };
    }
    const all: Blockers = { keys: [], timers: [], local: [], cancel: [] };
    for (const child of this.children) {
      if (child.outcome()) continue;
      const b = child.blockers();
      all.keys.push(...b.keys);
      all.timers.push(...b.timers);
      all.local.push(...b.local);
      all.cancel!.push(...(b.cancel ?? []));
    }
    return all;
  }
}

function decide(kind: CombinatorKind, n: number, view: View): Decision | undefined {
  const outcomes = Array.from({ length: n }, (_, p) => view(p));
  const positions = outcomes.map((_, p) => p);
  switch (kind) {
    case 'race': {
      const p = outcomes.findIndex((o) => o !== undefined);
      return p < 0 ? undefined : { outcome: outcomes[p]!, used: [p] };
    }
    case 'timeout': {
      if (outcomes[0]) return { outcome: outcomes[0], used: [0] };
      if (outcomes[1]) return { outcome: { ok: false, error: new TimeoutError() }, used: [1] };
      return undefined;
    }
    case 'all': {
      const p = outcomes.findIndex((o) => o && !o.ok);
      if (p >= 0) return { outcome: outcomes[p]!, used: [p] };
      if (outcomes.some((o) => !o)) return undefined;
      return { outcome: { ok: true, value: outcomes.map((o) => (o as { value: unknown }).value) }, used: positions };
    }
    case 'any': {
      const p = outcomes.findIndex((o) => o?.ok);
      if (p >= 0) return { outcome: outcomes[p]!, used: [p] };
      if (outcomes.some((o) => !o)) return undefined;
      const errors = outcomes.map((o) => (o as { error: unknown }).error);
      return { outcome: { ok: false, error: new AggregateError(errors, 'all promises were rejected') }, used: positions };
    }
    case 'allSettled': {
      if (outcomes.some((o) => !o)) return undefined;
      const value = outcomes.map((o) => (o!.ok ? { status: 'fulfilled', value: o!.value } : { status: 'rejected', reason: o!.error }));
      return { outcome: { ok: true, value }, used: positions };
    }
  }
}
