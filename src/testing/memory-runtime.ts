/**
 * The whole runtime in one process over the in-memory store, driven step by
 * step: the store's change feed stands in for the DynamoDB stream, a list of
 * pending invokes for Lambda, a timer list for SQS, and a test clock for time.
 * The engine, the wake rule and the ingress core are the production code;
 * only the transport between them is a loop. `TestRuntime` (the testing kit's
 * front) drives one of these; the runtime's own unit tests and simulator use
 * it directly, to control every step.
 */
import type { AnyDefinition } from '../api/definitions.ts';
import { deliverWebhook, type IncomingRequest } from '../runtime/webhooks.ts';
import { checkEndpoints, deliverToEndpoint, publishEvent, type EndpointDeps } from '../runtime/endpoints.ts';
import type { WebhookEndpoint } from '../api/events.ts';
import type { HttpAnswer } from '../runtime/http.ts';
import { runAttempt, type AttemptDeps, type AttemptOutcome } from '../engine/attempt.ts';
import type { Clock } from '../engine/clock.ts';
import { IdSigner } from '../engine/ids.ts';
import {
  cancelInvocation,
  getOutput,
  getStatus,
  killInvocation,
  rejectAwakeable,
  resolveAwakeable,
  startInvocation,
  type CompletionAnswer,
  type InvocationStatusView,
} from '../runtime/invocations.ts';
import { catalogOf, registry } from '../runtime/registry.ts';
import { decideWake, executeWake } from '../runtime/wake.ts';
import { MemoryStore } from '../store/memory.ts';
import type { ItemChange, JournalEntry, Timer } from '../store/store.ts';

/**
 * A clock the test moves: time stands still until the test advances it.
 * `sleep` (the engine's in-attempt backoff) advances it at once. Starts at
 * 2026-01-01T00:00:00Z unless given a time.
 *
 * @example
 * ```ts
 * const clock = new TestClock();
 * clock.advance(30 * 86_400_000); // thirty days pass in no time
 * new Date(clock.now()).toISOString(); // '2026-01-31T00:00:00.000Z'
 * ```
 */
export class TestClock implements Clock {
  constructor(public time: number = Date.UTC(2026, 0, 1)) {}
  /** The current time, epoch milliseconds. */
  now(): number {
    return this.time;
  }
  /** Advances the clock by `ms` at once (in-attempt backoff does not wait). */
  async sleep(ms: number): Promise<void> {
    this.time += ms;
  }
  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    this.time += ms;
  }
}

/**
 * The HMAC key awakeable ids are signed with in tests. Never use it in a
 * deployment: whoever knows the key can mint ids.
 *
 * @example
 * ```ts
 * new IdSigner(TEST_SIGNING_KEY);
 * ```
 */
export const TEST_SIGNING_KEY = 'test-signing-key-0123456789abcdef';

/**
 * The runtime in memory, driven step by step: `start` writes an invocation
 * and returns at once; nothing runs until `settle()` feeds the store's
 * changes to the wake rule and runs the attempts they invoke; `advance(ms)`
 * moves the clock and fires the timers that fell due. Bodies are raw text as
 * they would arrive over HTTP. `store`, `outcomes` (every attempt's ending)
 * and `changes` are there to look at. For handler tests, `TestRuntime` is
 * the simpler front.
 *
 * @example
 * ```ts
 * const rt = new MemoryRuntime([greeter], { alwaysReplay: true });
 * const id = await rt.start('greeter', 'greet', '"Ada"');
 * await rt.settle();
 * await rt.output(id); // 'Hello, Ada'
 * ```
 */
export class MemoryRuntime {
  /** The in-memory store, with the same items and conditions as the DynamoDB one. */
  readonly store = new MemoryStore();
  readonly clock = new TestClock();
  readonly signer = new IdSigner(TEST_SIGNING_KEY);
  readonly deps: AttemptDeps;
  readonly ingress: EndpointDeps;
  /** Store changes not yet fed to the wake rule (the stream's backlog). */
  readonly changes: ItemChange[] = [];
  /** Timers the wake scheduled and that have not fired. */
  readonly timers: { invocationId: string; timer: Timer }[] = [];
  /** How each attempt ended, in order. */
  readonly outcomes: AttemptOutcome[] = [];
  readonly #invokes: { invocationId: string; epoch: number }[] = [];

  /**
   * @param definitions what it serves
   * @param options the attempt's dependencies to override (`alwaysReplay`, `leaseMs`, `lingerMs`, …)
   */
  constructor(definitions: readonly AnyDefinition[], options: Partial<AttemptDeps> = {}) {
    const services = registry(definitions);
    this.deps = { store: this.store, signer: this.signer, clock: this.clock, services, ...options };
    this.ingress = { store: this.store, signer: this.signer, clock: this.clock, catalog: catalogOf(services) };
    this.store.onChange((c) => this.changes.push(c));
  }

  /** Starts an invocation through the ingress core (raw JSON body); returns its id. Runs nothing yet. */
  async start(service: string, handler: string, body = '', key?: string, idempotencyKey?: string, delayMs?: number): Promise<string> {
    return (await startInvocation(this.ingress, { service, handler, body, key, idempotencyKey, delayMs })).invocationId;
  }

  /** Resolves an awakeable with a raw body, as `POST /restate/awakeables/{id}/resolve` does; settles nothing. */
  resolve(awakeableId: string, body = ''): Promise<CompletionAnswer> {
    return resolveAwakeable(this.ingress, awakeableId, body);
  }

  /**
   * Delivers a provider's request to a webhook, as `/restate/webhooks/{id}`
   * does (a JSON body by default); settles nothing. Refusals throw the
   * `IngressError` the route would answer with.
   */
  deliver(webhookId: string, body: string | Uint8Array = '', request: Partial<Omit<IncomingRequest, 'body'>> = {}): Promise<HttpAnswer> {
    return deliverWebhook(this.ingress, webhookId, {
      method: request.method ?? 'POST',
      headers: request.headers ?? { 'content-type': 'application/json' },
      query: request.query ?? {},
      body: typeof body === 'string' ? Buffer.from(body) : body,
      url: request.url,
    });
  }

  /**
   * Declares provider endpoints, as `DurableRuntime({ webhooks })` does, and
   * the secrets their verifiers name (else this process's environment).
   */
  declareEndpoints(webhooks: Record<string, WebhookEndpoint>, secrets?: Record<string, string>): void {
    this.ingress.endpoints = checkEndpoints(webhooks);
    if (secrets) this.ingress.secrets = async (name) => (Object.hasOwn(secrets, name) ? secrets[name] : undefined);
  }

  /**
   * A provider's delivery to `/webhooks/{name}` (a JSON body by default);
   * settles nothing. Refusals throw the `IngressError` the route answers with.
   */
  deliverToEndpoint(name: string, body: string | Uint8Array, request: Partial<Omit<IncomingRequest, 'body'>> = {}): Promise<HttpAnswer> {
    return deliverToEndpoint(this.ingress, name, {
      method: request.method ?? 'POST',
      headers: request.headers ?? { 'content-type': 'application/json' },
      query: request.query ?? {},
      body: typeof body === 'string' ? Buffer.from(body) : body,
      url: request.url,
    });
  }

  /** Publishes an event, as `POST /restate/events/{name}` does; settles nothing. */
  publish(name: string, body: string, idempotencyKey?: string): Promise<HttpAnswer> {
    return publishEvent(this.ingress, name, body, idempotencyKey);
  }

  /** Rejects an awakeable, as `POST /restate/awakeables/{id}/reject` does; settles nothing. */
  reject(awakeableId: string, reason: string): Promise<CompletionAnswer> {
    return rejectAwakeable(this.ingress, awakeableId, reason);
  }

  /** Cancels an invocation (`DELETE /restate/invocation/{id}`); settles nothing. */
  cancel(id: string): Promise<void> {
    return cancelInvocation(this.ingress, id);
  }

  /** Kills an invocation (`?mode=kill`): it ends failed without running code. */
  kill(id: string): Promise<void> {
    return killInvocation(this.ingress, id);
  }

  /** The invocation's status as `GET /restate/invocation/{id}` answers it. */
  status(id: string): Promise<InvocationStatusView> {
    return getStatus(this.ingress, id);
  }

  /** The output, parsed as JSON; throws if it failed (the error carries `failure`) or has not finished. */
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

  /**
   * Moves the clock forward by `ms` in one jump, fires the timers then due
   * (each once, at the new time) and settles. Timers that the woken
   * handlers schedule wait for the next call, even if already due: a test
   * steps through a chain of sleeps one call at a time.
   * (`TestRuntime.advance` instead stops at each due time on the way.)
   */
  async advance(ms: number): Promise<void> {
    this.clock.advance(ms);
    await this.fireDueTimers();
    await this.settle();
  }

  /** When the earliest scheduled timer is due, if any is scheduled. */
  nextTimerAt(): number | undefined {
    return this.timers.reduce<number | undefined>((min, t) => (min === undefined || t.timer.at < min ? t.timer.at : min), undefined);
  }

  /** Writes the completion of every scheduled timer due by now (a timer fired twice is harmless: first writer wins). */
  async fireDueTimers(): Promise<void> {
    const now = this.clock.now();
    for (const t of this.timers.splice(0).sort((a, b) => a.timer.at - b.timer.at)) {
      if (t.timer.at <= now) await this.store.complete(t.invocationId, { key: t.timer.key, at: now });
      else this.timers.push(t);
    }
  }

  /** The awakeable ids a suspended invocation waits on. */
  async awaitedAwakeables(id: string): Promise<string[]> {
    return (await this.status(id)).awaiting.flatMap((a) => (a.awakeableId ? [a.awakeableId] : []));
  }

  /** Journal entries of an invocation, in index order. */
  async journal(id: string): Promise<JournalEntry[]> {
    return [...(await this.store.load(id)).journal.values()].sort((a, b) => a.index - b.index);
  }
}
