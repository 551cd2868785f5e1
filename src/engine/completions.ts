/**
 * What an attempt knows of its invocation's completions: those loaded with
 * the journal, and those it wrote, lost to, or read since. Durable promises
 * settle from here; `Waiting` hears of each one learned, to wake the handler.
 */
import type { Completion, Store } from '../store/store.ts';
import { stepRetryOf, type StepRetry } from './retry.ts';

/** The completions of one invocation, as one attempt knows them. */
export class Completions {
  /**
   * The latest retry timer of each step, by entry: built once from the loaded
   * completions and kept up to date by `learn`, so a new step finds where its
   * retries stand without scanning every completion (quadratic in long handlers).
   */
  readonly #stepRetries = new Map<number, StepRetry>();
  readonly #listeners: ((completion: Completion) => void)[] = [];

  constructor(
    /** The attempt's store (its failures interrupt the attempt). */
    private readonly store: Store,
    private readonly invocationId: string,
    /** The completions loaded with the journal; learned ones are added. */
    private readonly known: Map<string, Completion>,
  ) {
    for (const key of known.keys()) this.#noteStepRetry(key);
  }

  get(key: string): Completion | undefined {
    return this.known.get(key);
  }

  has(key: string): boolean {
    return this.known.has(key);
  }

  /** Calls `listener` with every completion learned from now on. */
  listen(listener: (completion: Completion) => void): void {
    this.#listeners.push(listener);
  }

  /** Records a completion this attempt wrote, lost to, or read, and tells the listeners. */
  learn(completion: Completion): void {
    this.known.set(completion.key, completion);
    this.#noteStepRetry(completion.key);
    for (const listener of this.#listeners) listener(completion);
  }

  /** Reads one completion again and learns it: a heartbeat since the load, or one that arrived while lingering. */
  async reload(key: string): Promise<void> {
    const completion = await this.store.getCompletion(this.invocationId, key);
    if (completion) this.learn(completion);
  }

  /** Writes a completion of any invocation (first writer wins); learns whichever one stands when it is this invocation's. */
  async complete(invocationId: string, completion: Completion): Promise<{ won: boolean; standing: Completion }> {
    const result = await this.store.complete(invocationId, completion);
    const standing = result.won ? completion : result.existing;
    if (invocationId === this.invocationId) this.learn(standing);
    return { won: result.won, standing };
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
}
