/**
 * `TestRuntime`: unit tests of your own handlers, in memory, with a test
 * clock. Every call runs the runtime until nothing more can happen (each
 * invocation has finished or is suspended), so a test reads as a story:
 * start, see it wait, complete what it waits for, read the output.
 */
import { definitionOf, type AnyDefinition, type Definition, type HandlersOf, type InputOf, type OutputOf } from '../api/definitions.ts';
import { fromFailure, type Failure } from '../api/errors.ts';
import { json, type Serde } from '../api/serde.ts';
import type { AttemptDeps } from '../engine/attempt.ts';
import { heartbeatAwakeable, type InvocationStatusView } from '../runtime/invocations.ts';
import { CANCEL, stateScope } from '../store/keys.ts';
import type { JournalEntry } from '../store/store.ts';
import { MemoryRuntime, TestClock } from './memory-runtime.ts';
import type { WebhookEndpoint } from '../api/events.ts';

/**
 * Options of {@link TestRuntime}.
 *
 * @example
 * ```ts
 * new TestRuntime([review], { alwaysReplay: true, skipTime: true, now: new Date('2026-03-01') });
 * ```
 */
export interface TestRuntimeOptions {
  /**
   * End every attempt after each newly journaled step, so the handler is
   * replayed from its journal before every step it takes: a handler that
   * does not replay identically (a `Date.now()` or `Math.random()` outside
   * `ctx.run`, a branch on something not journaled) fails with a
   * `NonDeterminismError` in the unit test instead of in production.
   * @default false
   */
  alwaysReplay?: boolean;
  /**
   * Let time pass by itself while only timers are left to wait for: an
   * invocation that waits for nothing but timers (sleeps, retry backoffs, a
   * delayed start) has its next timer fired at once, the clock moving to its
   * due time. A timer raced against something the test completes (an
   * awakeable's `orTimeout`, a race with a call) waits for {@link TestRuntime.advance}.
   * @default false
   */
  skipTime?: boolean;
  /** Where the test clock starts. @default 2026-01-01T00:00:00Z */
  now?: number | Date;
  /** The API base URL awakeables put in their `url`. @default 'http://localhost:8080' */
  apiUrl?: string;
  /**
   * Lease of an attempt (the handler Lambda's timeout): a `ctx.run` step
   * that takes longer, by the test clock, loses the invocation to another attempt.
   * @default 15 minutes
   */
  leaseMs?: number;
  /**
   * Provider endpoints, as `DurableRuntime({ webhooks })` declares them, for
   * {@link TestRuntime.publishEvent} and {@link TestRuntime.deliverToEndpoint}.
   * @default none
   */
  webhooks?: Record<string, WebhookEndpoint>;
  /** Values of the secrets the endpoints' verifiers name. @default this process's environment */
  secrets?: Record<string, string>;
}

/**
 * Options of {@link TestRuntime.start}.
 *
 * @example
 * ```ts
 * await rt.start(cart, 'add', { sku: 'A1' }, { key: 'user-7', idempotencyKey: 'req-1' });
 * ```
 */
export interface StartOptions {
  /** The key of an object or workflow. */
  key?: string;
  /** As the `Idempotency-Key` header: the same key and input return the same invocation. */
  idempotencyKey?: string;
  /** Start this much later (a durable timer), as `/send?delay=`. */
  delayMs?: number;
}

/** What a definition's handler takes and returns, for typed calls. */
type HandlerName<D> = D extends AnyDefinition ? Extract<keyof HandlersOf<D>, string> & string : never;
type In<D, H> = H extends keyof HandlersOf<D> ? InputOf<HandlersOf<D>[H]> : unknown;
type Out<D, H> = H extends keyof HandlersOf<D> ? OutputOf<HandlersOf<D>[H]> : unknown;

const DEFAULT_API_URL = 'http://localhost:8080';
/** Timers fired by `skipTime` within one call, before it gives up on a handler that sleeps forever. */
const MAX_SKIPPED_TIMERS = 10_000;

/**
 * The Dormant runtime in memory, for unit tests of your handlers in vitest
 * (or jest in its ES module mode): no Java, no ports, no AWS. The engine, the wake rule and the
 * ingress are the production code; the DynamoDB table is the in-memory
 * store, its stream a queue, and time a {@link TestClock} that moves only
 * when the test says so ({@link advance}) or, with `skipTime`, by itself.
 *
 * Every method runs the runtime until it is quiet before it returns: each
 * invocation has finished or is suspended, waiting for something the test
 * provides (an awakeable, a timer to advance past).
 *
 * @example
 * ```ts
 * import { describe, expect, it } from 'vitest';
 * import { TestRuntime } from 'dormant-lambda/testing';
 * import { review } from '../src/services.ts';
 *
 * describe('review', () => {
 *   it('waits for the reviewer, then returns the verdict', async () => {
 *     const rt = new TestRuntime([review], { alwaysReplay: true });
 *     const run = await rt.start(review, 'request', { title: 'Q3 report' });
 *
 *     expect(await run.status()).toBe('suspended');
 *     const [awakeableId] = await run.awakeables();
 *     await rt.resolveAwakeable(awakeableId!, { approved: true });
 *
 *     expect(await run.output()).toEqual({ title: 'Q3 report', approved: true });
 *   });
 *
 *   it('gives up after a day', async () => {
 *     const rt = new TestRuntime([review]);
 *     const run = await rt.start(review, 'request', { title: 'Q3 report' });
 *     await rt.advance(24 * 3_600_000);
 *     await expect(run.output()).rejects.toThrow('timed out');
 *   });
 * });
 * ```
 */
export class TestRuntime {
  /** The clock handlers, timers and the ingress read. */
  readonly clock: TestClock;
  /** The step-by-step runtime underneath: its store, attempts' outcomes and scheduled timers. */
  readonly runtime: MemoryRuntime;
  readonly #definitions: ReadonlyMap<string, Definition>;
  readonly #skipTime: boolean;

  /**
   * @param services the services, objects and workflows to serve (those the handlers call too)
   */
  constructor(services: readonly AnyDefinition[], options: TestRuntimeOptions = {}) {
    const deps: Partial<AttemptDeps> = {
      alwaysReplay: options.alwaysReplay ?? false,
      apiUrl: options.apiUrl ?? DEFAULT_API_URL,
      ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    };
    this.runtime = new MemoryRuntime(services, deps);
    if (options.webhooks) this.runtime.declareEndpoints(options.webhooks, options.secrets);
    this.clock = this.runtime.clock;
    if (options.now !== undefined) this.clock.time = options.now instanceof Date ? options.now.getTime() : options.now;
    this.#definitions = new Map(services.map((d) => [d.name, definitionOf(d)]));
    this.#skipTime = options.skipTime ?? false;
  }

  /** The test clock's time, epoch milliseconds. */
  now(): number {
    return this.clock.now();
  }

  /**
   * Starts an invocation (as `POST /{service}/{handler}/send` would, or
   * `/{object}/{key}/{handler}/send`) and runs until the runtime is quiet.
   * The input goes through the handler's input serde (JSON by default).
   * Shared handlers of objects and workflows start the same way, with their key.
   *
   * @example
   * ```ts
   * const run = await rt.start(review, 'request', { title: 'Q3' });
   * const add = await rt.start(counter, 'add', 5, { key: 'clicks' });
   * const flow = await rt.start(reviewFlow, 'run', doc, { key: 'doc-7' });
   * ```
   */
  async start<D extends AnyDefinition, H extends HandlerName<D>>(
    service: D,
    handler: H,
    input?: In<D, H>,
    options?: StartOptions,
  ): Promise<TestInvocation<Out<D, H>>>;
  async start(service: string, handler: string, input?: unknown, options?: StartOptions): Promise<TestInvocation>;
  async start(service: AnyDefinition | string, handler: string, input?: unknown, options: StartOptions = {}): Promise<TestInvocation<any>> {
    const definition = this.#definition(service);
    const spec = definition.handlers[handler];
    if (!spec)
      throw new TypeError(`${definition.name} has no handler '${handler}' (it has: ${Object.keys(definition.handlers).join(', ')})`);
    const body = spec.input.serialize(input);
    const id = await this.runtime.start(definition.name, handler, body, options.key, options.idempotencyKey, options.delayMs);
    await this.settle();
    return new TestInvocation(this, id, spec.output);
  }

  /**
   * Starts an invocation and returns its output: for handlers that finish
   * without the test's help (with `skipTime`, sleeps included). Throws the
   * handler's error (a `TerminalError`) if it failed, and says what it waits
   * for if it did not finish.
   *
   * @example
   * ```ts
   * expect(await rt.call(greeter, 'greet', 'Ada')).toBe('Hello, Ada!');
   * expect(await rt.call(counter, 'get', undefined, { key: 'clicks' })).toBe(5);
   * ```
   */
  async call<D extends AnyDefinition, H extends HandlerName<D>>(
    service: D,
    handler: H,
    input?: In<D, H>,
    options?: StartOptions,
  ): Promise<Out<D, H>>;
  async call(service: string, handler: string, input?: unknown, options?: StartOptions): Promise<unknown>;
  async call(service: AnyDefinition | string, handler: string, input?: unknown, options: StartOptions = {}): Promise<unknown> {
    return (await this.start(service as string, handler, input, options)).output();
  }

  /** The handle of an invocation by id (one a handler started, say). */
  invocation<O = unknown>(id: string): TestInvocation<O> {
    return new TestInvocation<O>(this, id, json);
  }

  /**
   * Resolves an awakeable by id, as a webhook would
   * (`POST /restate/awakeables/{id}/resolve`), and runs until quiet. A
   * second resolve or reject of the same awakeable throws the ingress's
   * answer (409, with what it lost to), as it would over HTTP.
   *
   * @example
   * ```ts
   * const [id] = await run.awakeables();
   * await rt.resolveAwakeable(id!, { approved: true });
   * ```
   */
  async resolveAwakeable(awakeableId: string, value?: unknown, serde: Serde<any> = json): Promise<void> {
    await this.runtime.resolve(awakeableId, serde.serialize(value));
    await this.settle();
  }

  /**
   * Delivers a provider's request to a `ctx.webhook()` by id, as
   * `/restate/webhooks/{id}` would (a JSON body unless `headers` say
   * otherwise), and runs until quiet. Returns the answer the provider gets;
   * a refused request (a bad signature: 401; another request after the
   * first: 409) throws the ingress's answer, as it would over HTTP. Secrets
   * a verifier names come from `process.env`.
   *
   * @example
   * ```ts
   * const [id] = await run.awakeables(); // webhooks are listed with awakeables
   * await rt.deliverWebhook(id!, 'CallStatus=completed', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
   * ```
   */
  async deliverWebhook(
    webhookId: string,
    body: string | Uint8Array = '',
    request: { method?: string; headers?: Record<string, string>; query?: Record<string, string>; url?: string } = {},
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const answer = await this.runtime.deliver(webhookId, body, request);
    await this.settle();
    return { status: answer.statusCode, headers: answer.headers, body: answer.body };
  }

  /**
   * Publishes an event to a declared endpoint, as `POST /restate/events/{name}`
   * does (the JSON `body` is the event's body), and runs until quiet: every
   * `ctx.waitForEvent` it matches completes. Refusals throw the route's error.
   *
   * @example
   * ```ts
   * const rt = new TestRuntime([shop], { webhooks: { orders: { verify: github({ secret: 'S' }), correlate: ['body.orderId'] } } });
   * const run = await rt.start(shop, 'awaitShipment', 'o-1');
   * await rt.publishEvent('orders', { orderId: 'o-1', status: 'shipped' });
   * ```
   */
  async publishEvent(name: string, body: unknown, idempotencyKey?: string): Promise<void> {
    await this.runtime.publish(name, JSON.stringify(body), idempotencyKey);
    await this.settle();
  }

  /**
   * Delivers a provider's request to `/webhooks/{name}` (signed as the
   * provider signs it: the verifier runs), and runs until quiet. Returns
   * the answer the provider gets; refusals throw the route's error (401 for
   * a bad signature).
   *
   * @example
   * ```ts
   * const answer = await rt.deliverToEndpoint('github', body, { headers: { 'x-hub-signature-256': sig, 'content-type': 'application/json' } });
   * answer.status // 200
   * ```
   */
  async deliverToEndpoint(
    name: string,
    body: string | Uint8Array,
    request: { headers?: Record<string, string>; url?: string } = {},
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const answer = await this.runtime.deliverToEndpoint(name, body, request);
    await this.settle();
    return { status: answer.statusCode, headers: answer.headers, body: answer.body };
  }

  /**
   * Rejects an awakeable by id (`POST /restate/awakeables/{id}/reject`): the
   * handler's await throws a `TerminalError` with `reason`.
   *
   * @example
   * ```ts
   * await rt.rejectAwakeable(id, 'not this quarter');
   * ```
   */
  async rejectAwakeable(awakeableId: string, reason: string): Promise<void> {
    await this.runtime.reject(awakeableId, reason);
    await this.settle();
  }

  /**
   * Heartbeats an awakeable made with `heartbeatTimeoutMs` (AWS's
   * `SendDurableExecutionCallbackHeartbeat`): it stays open until that long
   * after the last heartbeat, by the test clock.
   *
   * @example
   * ```ts
   * await rt.advance(50_000);
   * await rt.heartbeatAwakeable(id); // the job is still working on it
   * ```
   */
  async heartbeatAwakeable(awakeableId: string): Promise<void> {
    await heartbeatAwakeable(this.runtime.ingress, awakeableId);
    await this.settle();
  }

  /**
   * Lets `ms` of time pass: every timer that falls due fires at its due
   * time (sleeps end, `orTimeout`s time out, retry backoffs end, delayed
   * starts begin), in order, and the runtime runs until quiet after each.
   *
   * @example
   * ```ts
   * await rt.advance(30 * 86_400_000); // a 30-day sleep is over
   * ```
   */
  async advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance: ms must be a finite number ≥ 0, not ${ms}`);
    const until = this.clock.now() + ms;
    await this.#advanceTo(until);
  }

  /** Stops at each due time up to `until`: fires what is due, runs until quiet, and looks again. */
  async #advanceTo(until: number): Promise<void> {
    for (let next = this.runtime.nextTimerAt(); next !== undefined && next <= until; next = this.runtime.nextTimerAt()) {
      if (next > this.clock.now()) this.clock.time = next;
      await this.runtime.fireDueTimers();
      await this.settle();
    }
    if (until > this.clock.now()) this.clock.time = until;
    await this.runtime.fireDueTimers();
    await this.settle();
  }

  /**
   * Cancels an invocation: it sees a `CancelledError` at its next await and
   * may run compensation steps; runs until quiet.
   *
   * @example
   * ```ts
   * await rt.cancel(run.id);
   * await expect(run.output()).rejects.toThrow(CancelledError);
   * ```
   */
  async cancel(invocationId: string): Promise<void> {
    await this.runtime.cancel(invocationId);
    await this.settle();
  }

  /**
   * Kills an invocation: it ends failed at once, running no more code.
   *
   * @example
   * ```ts
   * await rt.kill(run.id);
   * ```
   */
  async kill(invocationId: string): Promise<void> {
    await this.runtime.kill(invocationId);
    await this.settle();
  }

  /**
   * The state of an object or workflow key, each value through JSON (as
   * `ctx.get` reads it with the default serde).
   *
   * @example
   * ```ts
   * await rt.start(counter, 'add', 5, { key: 'clicks' });
   * expect(await rt.state(counter, 'clicks')).toEqual({ count: 5 });
   * ```
   */
  async state(service: AnyDefinition | string, key: string): Promise<Record<string, unknown>> {
    const name = typeof service === 'string' ? service : service.name;
    const raw = await this.runtime.store.readState(stateScope(name, key));
    return Object.fromEntries([...raw].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, json.deserialize(v)]));
  }

  /**
   * Runs until quiet: wakes what can be woken and runs its attempts; with
   * `skipTime`, fires the timers of invocations that wait for timers only.
   * Every other method calls it; call it yourself after writing to
   * `runtime` directly.
   *
   * @example
   * ```ts
   * await rt.runtime.resolve(id, '"raw body"');
   * await rt.settle();
   * ```
   */
  async settle(): Promise<void> {
    await this.runtime.settle();
    if (!this.#skipTime) return;
    for (let fired = 0; fired < MAX_SKIPPED_TIMERS; fired++) {
      const next = await this.#nextSkippableTimer();
      if (next === undefined) return;
      if (next > this.clock.now()) this.clock.time = next;
      await this.runtime.fireDueTimers();
      await this.runtime.settle();
    }
    throw new Error(`skipTime: gave up after firing ${MAX_SKIPPED_TIMERS} timers: a handler that sleeps in a loop without end?`);
  }

  /** The due time of the earliest timer whose invocation waits for timers only. */
  async #nextSkippableTimer(): Promise<number | undefined> {
    let next: number | undefined;
    for (const { invocationId, timer } of this.runtime.timers) {
      if (next !== undefined && timer.at >= next) continue;
      const meta = await this.runtime.store.getInvocation(invocationId);
      if (!meta || meta.status === 'completed' || meta.status === 'failed') continue;
      const timerKeys = new Set((meta.timers ?? []).map((t) => t.key));
      const waitsOnTimersOnly = (meta.awaiting ?? []).every((key) => key === CANCEL || timerKeys.has(key));
      if (waitsOnTimersOnly) next = timer.at;
    }
    return next;
  }

  #definition(service: AnyDefinition | string): Definition {
    const name = typeof service === 'string' ? service : service.name;
    const definition = this.#definitions.get(name);
    if (!definition)
      throw new TypeError(
        `no service, object or workflow named '${name}' in this TestRuntime (it has: ${[...this.#definitions.keys()].join(', ')})`,
      );
    return definition;
  }
}

/**
 * One invocation in a {@link TestRuntime}: its status, what it waits for,
 * its journal and its output.
 *
 * @example
 * ```ts
 * const run = await rt.start(review, 'request', { title: 'Q3' });
 * await run.status();     // 'suspended'
 * await run.awakeables(); // ['awk_…']
 * await run.output();     // throws until it has finished
 * ```
 */
export class TestInvocation<O = unknown> {
  constructor(
    private readonly rt: TestRuntime,
    /** The invocation id (`inv_…`). */
    readonly id: string,
    private readonly outputSerde: Serde<any>,
  ) {}

  /**
   * `pending`, `running`, `suspended`, `completed` or `failed`. Between the
   * test's calls nothing runs, so it is never `running` unless a handler
   * crashed mid-attempt.
   *
   * @example
   * ```ts
   * expect(await run.status()).toBe('completed');
   * ```
   */
  async status(): Promise<InvocationStatusView['status']> {
    return (await this.details()).status;
  }

  /**
   * The whole status, as `GET /restate/invocation/{id}` answers it: what it
   * awaits (awakeable ids, timers' due times, callees, an object key's
   * holder), attempts, retries, the last failure.
   *
   * @example
   * ```ts
   * (await run.details()).awaiting; // [{ key: 'C#00000001', awakeableId: 'awk_…' }]
   * ```
   */
  details(): Promise<InvocationStatusView> {
    return this.rt.runtime.status(this.id);
  }

  /**
   * The ids of the awakeables it is suspended on, in the order it created
   * them (empty when it waits for none). Complete one with
   * `rt.resolveAwakeable(id, value)` or `rt.rejectAwakeable(id, reason)`.
   *
   * @example
   * ```ts
   * const [id] = await run.awakeables();
   * ```
   */
  async awakeables(): Promise<string[]> {
    return this.rt.runtime.awaitedAwakeables(this.id);
  }

  /**
   * The output, through the handler's output serde. Throws the handler's
   * failure as the error it threw (`TerminalError`, `TimeoutError`,
   * `CancelledError`), or, if it has not finished, an error saying what it
   * waits for.
   *
   * @example
   * ```ts
   * expect(await run.output()).toEqual({ approved: true });
   * await expect(run.output()).rejects.toThrow(TerminalError);
   * ```
   */
  async output(): Promise<O> {
    const result = await this.result();
    if (result.ok) return result.value;
    throw fromFailure(result.failure);
  }

  /**
   * The outcome without throwing: `{ ok: true, value }` or `{ ok: false,
   * failure }` (name, message, code). Throws only if it has not finished,
   * naming what it waits for and, if its last attempt failed and will be
   * retried (a `NonDeterminismError`, an error thrown outside `ctx.run`),
   * that failure.
   *
   * @example
   * ```ts
   * expect(await run.result()).toEqual({ ok: false, failure: { name: 'TerminalError', message: 'no', code: 500 } });
   * ```
   */
  async result(): Promise<{ ok: true; value: O } | { ok: false; failure: Failure }> {
    const view = await this.details();
    if (view.status === 'completed') {
      const meta = await this.rt.runtime.store.getInvocation(this.id);
      return { ok: true, value: this.outputSerde.deserialize(meta?.output ?? '') as O };
    }
    if (view.status === 'failed') return { ok: false, failure: view.failure ?? { name: 'TerminalError', message: 'failed', code: 500 } };
    const waits = view.awaiting.map((a) =>
      a.awakeableId
        ? `awakeable ${a.awakeableId}`
        : a.timerAt
          ? `a timer due ${a.timerAt} (advance the clock)`
          : a.callee
            ? `invocation ${a.callee}`
            : a.lockHeldBy
              ? `the key's lock, held by ${a.lockHeldBy}`
              : a.key,
    );
    // A retryable failure (a non-determinism, an error thrown outside ctx.run)
    // leaves it waiting for its retry timer: name the failure, it is the news.
    const last = view.lastFailure ? `; its last attempt failed, to be retried: ${view.lastFailure.name}: ${view.lastFailure.message}` : '';
    throw new Error(
      `invocation ${this.id} has not finished: it is ${view.status}${waits.length ? `, awaiting ${waits.join(', ')}` : ''}${last}`,
    );
  }

  /**
   * Its journal: each step as recorded, in order (`kind`: `run`, `sleep`,
   * `awakeable`, `call`, `get`, `set`, …; `name` as the handler gave it;
   * `value` the serialized result).
   *
   * @example
   * ```ts
   * expect((await run.journal()).map((e) => e.name ?? e.kind)).toEqual(['notify', 'awakeable']);
   * ```
   */
  journal(): Promise<JournalEntry[]> {
    return this.rt.runtime.journal(this.id);
  }
}
