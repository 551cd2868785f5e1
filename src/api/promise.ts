/**
 * `RestatePromise`: Restate's static combinators over durable promises
 * (`RestatePromise.all([...])` and the others). They journal their decision
 * like `ctx.all`, through the invocation of the promises they are given.
 */
import type { DurablePromise } from './context.ts';
import { show } from './duration.ts';
import { TerminalError } from './errors.ts';

/** The combinators a durable promise can make with others of its invocation. */
export type CombinatorKind = 'all' | 'race' | 'any' | 'allSettled';

/** Makes a journaled combinator of durable promises of one invocation (the engine's). */
export type Combine = (kind: CombinatorKind, promises: readonly DurablePromise<unknown>[]) => DurablePromise<unknown>;

/** Where a durable promise keeps its way to combine with others (set by the engine). */
export const COMBINE: unique symbol = Symbol('dormant.combine');

type Combinable = DurablePromise<unknown> & { [COMBINE]?: Combine };

/**
 * A combinator over no promises: decided at once (or, for `race`, never),
 * with nothing to journal: the same on every replay.
 */
class Decided<T> implements DurablePromise<T> {
  readonly [Symbol.toStringTag] = 'DurablePromise';
  constructor(
    private readonly promise: Promise<T>,
    private readonly kind: CombinatorKind,
  ) {
    promise.catch(() => undefined); // rejected only for whoever awaits it
  }
  then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: any) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.promise.then(onfulfilled, onrejected);
  }
  catch<R = never>(onrejected?: ((reason: any) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.promise.catch(onrejected);
  }
  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.promise.finally(onfinally);
  }
  orTimeout(): DurablePromise<T> {
    throw new TerminalError(
      `RestatePromise.${this.kind}([]).orTimeout(): a combinator of no promises belongs to no invocation, so it has no durable timer; use ctx.${this.kind}([]) instead`,
      { code: 400 },
    );
  }
  map<U>(mapper: (value?: T, failure?: TerminalError) => U): DurablePromise<U> {
    const mapped = this.promise.then(
      (v) => mapper(v, undefined),
      (e: unknown) => mapper(undefined, e as TerminalError),
    );
    return new Decided(mapped, this.kind);
  }
}

function combine(kind: CombinatorKind, promises: readonly DurablePromise<unknown>[]): DurablePromise<unknown> {
  if (!Array.isArray(promises))
    throw new TerminalError(`RestatePromise.${kind}() takes an array of durable promises, got ${show(promises)}`, { code: 400 });
  const first = promises.find((p) => typeof (p as Combinable)?.[COMBINE] === 'function') as Combinable | undefined;
  if (first) return first[COMBINE]!(kind, promises);
  if (promises.length > 0)
    throw new TerminalError(
      `RestatePromise.${kind}() takes durable promises (from ctx.run, ctx.awakeable, ctx.sleep, ctx.promise, a client call), got ${show(promises[0])}`,
      { code: 400 },
    );
  switch (kind) {
    case 'all':
    case 'allSettled':
      return new Decided(Promise.resolve([]), kind);
    case 'any':
      return new Decided(Promise.reject(new AggregateError([], 'all promises were rejected')), kind);
    case 'race':
      return new Decided(new Promise<never>(() => undefined), kind); // as Promise.race([]): never settles
  }
}

/**
 * Restate's name for a {@link DurablePromise}.
 *
 * @example
 * ```ts
 * const p: RestatePromise<string> = ctx.run(() => 'x');
 * ```
 */
export type RestatePromise<T> = DurablePromise<T>;

/**
 * Restate's combinators of durable promises, deterministic on replay like
 * `ctx.all` and the others (which they are).
 *
 * @example
 * ```ts
 * const [a, b] = await RestatePromise.all([ctx.run(() => 1), ctx.run(() => 2)]);
 * const first = await RestatePromise.race([approval.promise, ctx.sleep({ hours: 1 })]);
 * ```
 */
export const RestatePromise = {
  all<const P extends readonly DurablePromise<unknown>[]>(promises: P): DurablePromise<{ -readonly [K in keyof P]: Awaited<P[K]> }> {
    return combine('all', promises) as DurablePromise<{ -readonly [K in keyof P]: Awaited<P[K]> }>;
  },
  race<const P extends readonly DurablePromise<unknown>[]>(promises: P): DurablePromise<Awaited<P[number]>> {
    return combine('race', promises) as DurablePromise<Awaited<P[number]>>;
  },
  any<const P extends readonly DurablePromise<unknown>[]>(promises: P): DurablePromise<Awaited<P[number]>> {
    return combine('any', promises) as DurablePromise<Awaited<P[number]>>;
  },
  allSettled<const P extends readonly DurablePromise<unknown>[]>(
    promises: P,
  ): DurablePromise<{ -readonly [K in keyof P]: PromiseSettledResult<Awaited<P[K]>> }> {
    return combine('allSettled', promises) as DurablePromise<{ -readonly [K in keyof P]: PromiseSettledResult<Awaited<P[K]>> }>;
  },
};
