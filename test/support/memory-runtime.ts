/**
 * The whole runtime in one process over the in-memory store, driven step by
 * step: the store's change feed stands in for the DynamoDB stream, a list of
 * pending invokes for Lambda, a timer list for SQS, and a test clock for time.
 * For unit tests of the engine; the simulator adds faults on top.
 */
import {
  IdSigner,
  MemoryStore,
  catalogOf,
  decideWake,
  executeWake,
  getOutput,
  cancelInvocation,
  killInvocation,
  getStatus,
  registry,
  rejectAwakeable,
  resolveAwakeable,
  runAttempt,
  startInvocation,
  type AttemptDeps,
  type AttemptOutcome,
  type Clock,
  type CompletionAnswer,
  type Definition,
  type IngressDeps,
  type ItemChange,
  type Timer,
} from 'dormant-lambda';

/**
 * A clock the test moves. `sleep` advances it instantly (in-attempt backoff).
 *
 * @example
 * ```ts
 * const clock = new TestClock(); clock.advance(30 * 86_400_000);
 * ```
 */
export class TestClock implements Clock {
  constructor(public time = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.time;
  }
  async sleep(ms: number): Promise<void> {
    this.time += ms;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

export const TEST_SIGNING_KEY = 'test-signing-key-0123456789abcdef';

/**
 * @example
 * ```ts
 * const rt = new MemoryRuntime([greeter]);
 * const id = await rt.start('greeter', 'greet', '"Ada"');
 * await rt.settle();
 * ```
 */
export class MemoryRuntime {
  readonly store = new MemoryStore();
  readonly clock = new TestClock();
  readonly signer = new IdSigner(TEST_SIGNING_KEY);
  readonly deps: AttemptDeps;
  readonly ingress: IngressDeps;
  readonly changes: ItemChange[] = [];
  readonly timers: { invocationId: string; timer: Timer }[] = [];
  readonly outcomes: AttemptOutcome[] = [];
  readonly #invokes: { invocationId: string; epoch: number }[] = [];

  constructor(definitions: Definition[], options: Partial<AttemptDeps> = {}) {
    const services = registry(definitions);
    this.deps = { store: this.store, signer: this.signer, clock: this.clock, services, ...options };
    this.ingress = { store: this.store, signer: this.signer, clock: this.clock, catalog: catalogOf(services) };
    this.store.onChange((c) => this.changes.push(c));
  }

  /** Starts an invocation through the ingress core; returns its id. */
  async start(service: string, handler: string, body = '', key?: string, idempotencyKey?: string, delayMs?: number): Promise<string> {
    return (await startInvocation(this.ingress, { service, handler, body, key, idempotencyKey, delayMs })).invocationId;
  }

  resolve(awakeableId: string, body = ''): Promise<CompletionAnswer> {
    return resolveAwakeable(this.ingress, awakeableId, body);
  }

  reject(awakeableId: string, reason: string): Promise<CompletionAnswer> {
    return rejectAwakeable(this.ingress, awakeableId, reason);
  }

  cancel(id: string): Promise<void> {
    return cancelInvocation(this.ingress, id);
  }

  kill(id: string): Promise<void> {
    return killInvocation(this.ingress, id);
  }

  status(id: string) {
    return getStatus(this.ingress, id);
  }

  async output(id: string): Promise<unknown> {
    const out = await getOutput(this.ingress, id);
    if (!out.ready) throw new Error(`invocation ${id} is ${out.status}, not finished`);
    if ('failure' in out) throw Object.assign(new Error(out.failure.message), { failure: out.failure });
    return out.output === '' ? undefined : JSON.parse(out.output);
  }

  /** Feeds changes to the wake rule and runs invokes until nothing is left. */
  async settle(maxSteps = 10_000): Promise<void> {
    for (let step = 0; step < maxSteps; step++) {
      const change = this.changes.shift();
      if (change) {
        await executeWake(await decideWake(change, this.store), {
          store: this.store,
          now: this.clock.now(),
          invoke: async (a) => void this.#invokes.push({ invocationId: a.invocationId, epoch: a.epoch }),
          schedule: async (a) => void this.timers.push({ invocationId: a.invocationId, timer: a.timer }),
        });
        continue;
      }
      const invoke = this.#invokes.shift();
      if (invoke) {
        this.outcomes.push(await runAttempt(this.deps, invoke));
        continue;
      }
      return;
    }
    throw new Error(`runtime did not settle within ${maxSteps} steps`);
  }

  /** Moves time forward, fires due timers, and settles. */
  async advance(ms: number): Promise<void> {
    this.clock.advance(ms);
    const now = this.clock.now();
    for (const t of this.timers.splice(0).sort((a, b) => a.timer.at - b.timer.at)) {
      if (t.timer.at <= now) await this.store.complete(t.invocationId, { key: t.timer.key, at: now });
      else this.timers.push(t);
    }
    await this.settle();
  }

  /** The awakeable ids a suspended invocation waits on. */
  async awaitedAwakeables(id: string): Promise<string[]> {
    return (await this.status(id)).awaiting.flatMap((a) => (a.awakeableId ? [a.awakeableId] : []));
  }

  /** Journal entries of an invocation, in index order. */
  async journal(id: string) {
    return [...(await this.store.load(id)).journal.values()].sort((a, b) => a.index - b.index);
  }
}
