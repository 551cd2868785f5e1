/**
 * The error family of Dormant. Every error has a literal `name` so it survives
 * serialization, and an HTTP-style `code`.
 *
 * Errors thrown from a handler or a `ctx.run` body are retried unless they are
 * a {@link TerminalError} (or a subclass): a terminal error ends the step or the
 * invocation with that failure, once, for good.
 */

/**
 * A failure that must not be retried. Thrown from `ctx.run` it is journaled as
 * the step's outcome; thrown from a handler it fails the invocation.
 *
 * @example
 * ```ts
 * if (!order.paid) throw new TerminalError('order is not paid', { code: 402 });
 * ```
 */
export class TerminalError extends Error {
  override name = 'TerminalError';
  /** HTTP-style status code; 500 unless given. */
  readonly code: number;
  /** Restate's extra details of a failure; kept in memory only (the journal stores name, message and code). */
  readonly metadata: Record<string, string>;
  /**
   * `errorCode` is Restate's name for `code`; either sets it.
   *
   * @example
   * ```ts
   * new TerminalError('no such order', { errorCode: 404 }).code // 404
   * ```
   */
  constructor(message: string, options: { code?: number; errorCode?: number; cause?: unknown; metadata?: Record<string, string> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? options.errorCode ?? 500;
    this.metadata = options.metadata ?? {};
  }

  /** Restate's name for `code`. */
  get errorCode(): number {
    return this.code;
  }
}

/**
 * A failure to retry after a given delay (Restate's): thrown from a
 * `ctx.run` body, the step's next attempt waits `retryAfter` instead of its
 * policy's backoff (the attempt count and the limits still apply).
 *
 * @example
 * ```ts
 * if (res.status === 429) throw new RetryableError('rate limited', { retryAfter: { seconds: Number(res.headers.get('retry-after')) } });
 * ```
 */
export class RetryableError extends Error {
  override name = 'RetryableError';
  /** Milliseconds, or a `{ days, hours, minutes, seconds, milliseconds }` duration. */
  readonly retryAfter: number | { days?: number; hours?: number; minutes?: number; seconds?: number; milliseconds?: number } | undefined;
  readonly code: number;
  constructor(message: string, options: { retryAfter?: RetryableError['retryAfter']; errorCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfter = options.retryAfter;
    this.code = options.errorCode ?? 500;
  }
}

/**
 * A durable wait ran out of time: a `promise.orTimeout(ms)` whose timer fired
 * first. It is terminal, so a handler can catch it and compensate.
 *
 * @example
 * ```ts
 * try { await approval.promise.orTimeout(3_600_000); }
 * catch (e) { if (e instanceof TimeoutError) await ctx.run('escalate', escalate); else throw e; }
 * ```
 */
export class TimeoutError extends TerminalError {
  override name = 'TimeoutError';
  constructor(message = 'timed out') {
    super(message, { code: 408 });
  }
}

/**
 * The invocation was cancelled. Seen by the handler at its next await; it may
 * run compensation steps before rethrowing.
 *
 * @example
 * ```ts
 * catch (e) { if (e instanceof CancelledError) await ctx.run('refund', refund); throw e; }
 * ```
 */
export class CancelledError extends TerminalError {
  override name = 'CancelledError';
  constructor(message = 'cancelled') {
    super(message, { code: 409 });
  }
}

/**
 * Replay met a call that differs from what the journal recorded at the same
 * position: the handler code is not deterministic (or changed while
 * invocations were in flight). The journal is left untouched; the invocation
 * is retried with backoff so a fixed deployment can carry it on.
 *
 * @example
 * ```ts
 * // recorded: run "charge" at entry 2; replayed: run "refund" at entry 2
 * err.message // "invocation inv_… entry 2: journal has run 'charge', code called run 'refund' (journal written on function version 3, replayed on version 4); …"
 * ```
 */
export class NonDeterminismError extends Error {
  override name = 'NonDeterminismError';
  readonly code = 570;
  constructor(
    readonly invocationId: string,
    readonly index: number,
    readonly recorded: { kind: string; name?: string | undefined },
    readonly called: { kind: string; name?: string | undefined },
    /**
     * The function versions involved, when known: the one the journal was
     * written on (the invocation's start, or the version an operator
     * upgraded it from) and the one that replayed it.
     */
    readonly versions: { journal?: string | undefined; running?: string | undefined } = {},
  ) {
    super(
      `invocation ${invocationId} entry ${index}: journal has ${describe(recorded)}, code called ${describe(called)}` +
        describeVersions(versions) +
        '; handler code must make the same durable calls in the same order on every replay ' +
        '(keep randomness, clocks and I/O inside ctx.run, or deploy changed handlers under a new name)',
    );
  }
}

function describeVersions(v: { journal?: string | undefined; running?: string | undefined }): string {
  if (v.journal === undefined && v.running === undefined) return '';
  return ` (journal written on function version ${v.journal ?? 'unknown'}, replayed on version ${v.running ?? '$LATEST'})`;
}

function describe(call: { kind: string; name?: string | undefined }): string {
  if (call.name === undefined) return call.kind === 'run' ? 'an unnamed run' : call.kind;
  return `${call.kind} '${call.name}'`;
}

/**
 * What a failure looks like once it is journaled, stored or sent over HTTP.
 *
 * @example
 * ```ts
 * const f: Failure = { name: 'TerminalError', message: 'rejected by reviewer', code: 500 };
 * ```
 */
export interface Failure {
  name: string;
  message: string;
  code: number;
}

/**
 * Turns anything thrown into an `Error`.
 *
 * @example
 * ```ts
 * catch (e) { log(ensureError(e).message); }
 * ```
 */
export function ensureError(e: unknown): Error {
  if (e instanceof Error) return e;
  try {
    return new Error(typeof e === 'string' ? e : JSON.stringify(e));
  } catch {
    return new Error(String(e));
  }
}

/**
 * The journaled form of an error.
 *
 * @example
 * ```ts
 * toFailure(new TerminalError('no', { code: 400 })) // { name: 'TerminalError', message: 'no', code: 400 }
 * ```
 */
export function toFailure(e: unknown): Failure {
  const err = ensureError(e);
  const code = (err as { code?: unknown }).code;
  return { name: err.name, message: err.message, code: typeof code === 'number' ? code : 500 };
}

/**
 * Rebuilds the terminal error a journaled failure stands for, so replay
 * throws the same class with the same message.
 *
 * @example
 * ```ts
 * fromFailure({ name: 'TimeoutError', message: 'timed out', code: 408 }) instanceof TimeoutError // true
 * ```
 */
export function fromFailure(f: Failure): TerminalError {
  switch (f.name) {
    case 'TimeoutError':
      return Object.assign(new TimeoutError(f.message));
    case 'CancelledError':
      return new CancelledError(f.message);
    default:
      return new TerminalError(f.message, { code: f.code });
  }
}

/**
 * Whether an error must not be retried.
 *
 * @example
 * ```ts
 * isTerminal(new TimeoutError()) // true
 * ```
 */
export function isTerminal(e: unknown): e is TerminalError {
  return e instanceof TerminalError;
}
