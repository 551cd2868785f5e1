/**
 * Where an attempt reports its timeline for tracing: the engine's port,
 * free of any tracing library. The runtime implements it with OpenTelemetry
 * (`src/runtime/tracing.ts`); without one, nothing is reported and nothing
 * is spent.
 *
 * What an attempt reports is only what it does anew: a replayed entry was
 * reported by the attempt that wrote it, so a trace shows every step once.
 */
import type { Completion, InvocationMeta, JournalEntry } from '../store/store.ts';
import type { AttemptOutcome } from './attempt.ts';

/**
 * Starts the trace of each attempt.
 *
 * @example
 * ```ts
 * const deps: AttemptDeps = { store, signer, clock, services, tracing: otelTracing() };
 * ```
 */
export interface Tracing {
  /** An attempt acquired `meta` at `at` (epoch ms). */
  attemptStarted(meta: InvocationMeta, at: number): AttemptTrace;
}

/**
 * The trace of one attempt.
 *
 * @example
 * ```ts
 * const trace = tracing.attemptStarted(meta, now);
 * trace.loaded(journal, completions);
 * await trace.inStep(3, 'charge', () => charge(order));
 * trace.ended(outcome);
 * ```
 */
export interface AttemptTrace {
  /**
   * What the attempt loaded: from it the trace learns what came before this
   * attempt (the wait since the invocation was created, or since it
   * suspended, and the wake-up that ended it).
   */
  loaded(journal: ReadonlyMap<number, JournalEntry>, completions: ReadonlyMap<string, Completion>): void;
  /**
   * Runs a new step's body within the step's span, so what the body traces
   * nests under it; a result with a `failure` marks the span failed.
   */
  inStep<T>(index: number, name: string | undefined, body: () => Promise<T>): Promise<T>;
  /** A new entry (other than a step's) was written; it was taken at `allocatedAt`. */
  written(entry: JournalEntry, allocatedAt: number, writtenAt: number): void;
  /** The attempt ended: with an outcome, or with the error `runAttempt` throws. */
  ended(outcome: AttemptOutcome | undefined, error?: unknown): void;
  /** The W3C `traceparent` of the attempt, handed to the invocations it starts so they join its trace. */
  readonly traceparent: string | undefined;
}

/** An attempt with no tracing: every report is dropped. */
export const untraced: AttemptTrace = {
  loaded: () => undefined,
  inStep: (_index, _name, body) => body(),
  written: () => undefined,
  ended: () => undefined,
  traceparent: undefined,
};
