/**
 * What handler code sees. These interfaces are the public programming model;
 * the engine implements them in `src/engine/context.ts`.
 */
import type { Serde } from './serde.ts';
import type { Webhook, WebhookOptions } from './webhook.ts';
import type { ReceivedEvent, WaitForEventOptions } from './events.ts';
import type { HandlersOf, InputOf, OutputOf } from './definitions.ts';
import type { Duration } from './duration.ts';
import type { TerminalError } from './errors.ts';
import type { Opts, SendOpts } from './rpc.ts';

/**
 * How `ctx.run` retries a failing step. A `TerminalError` is never retried.
 * When attempts or duration run out the step fails terminally with the last
 * error as its cause.
 *
 * @example
 * ```ts
 * await ctx.run('charge', () => psp.charge(order), {
 *   retry: { maxAttempts: 5, initialIntervalMs: 100, factor: 2, maxIntervalMs: 2_000 },
 * });
 * ```
 */
export interface RetryPolicy {
  /** Total attempts including the first; unlimited when absent. */
  maxAttempts?: number;
  /** Delay before the second attempt. Default 50 ms. */
  initialIntervalMs?: number;
  /** Growth of the delay per attempt. Default 2. */
  factor?: number;
  /** Upper bound of one delay. Default 10 s. */
  maxIntervalMs?: number;
  /** Give up once this much time has passed since the first attempt. */
  maxDurationMs?: number;
}

/**
 * Options of `ctx.run`: Dormant's `retry` policy, or Restate's flat retry
 * options (`maxRetryAttempts`, `initialRetryInterval`, …), which mean the
 * same; given both, the flat ones win.
 *
 * @example
 * ```ts
 * await ctx.run('fetch', () => fetchQuote(), { retry: { maxAttempts: 3 }, serde: json });
 * await ctx.run(() => fetchQuote(), { maxRetryAttempts: 3, initialRetryInterval: { seconds: 1 } });
 * ```
 */
export interface RunOptions<T> {
  retry?: RetryPolicy;
  serde?: Serde<T>;
  /** Total attempts including the first (Restate's name for `retry.maxAttempts`). */
  maxRetryAttempts?: number;
  /** Give up once this much time has passed since the first attempt (`retry.maxDurationMs`). */
  maxRetryDuration?: Duration | number;
  /** Delay before the second attempt (`retry.initialIntervalMs`). */
  initialRetryInterval?: Duration | number;
  /** Upper bound of one delay (`retry.maxIntervalMs`). */
  maxRetryInterval?: Duration | number;
  /** Growth of the delay per attempt (`retry.factor`). */
  retryIntervalFactor?: number;
}

/**
 * The body of a `ctx.run` step.
 *
 * @example
 * ```ts
 * const charge: RunAction<string> = () => psp.charge(order);
 * ```
 */
export type RunAction<T> = (() => Promise<T>) | (() => T);

/**
 * A value that will be known durably: an awakeable's, a timer's, a workflow
 * promise's, a step's. Await it like a promise; on replay it settles to the
 * same outcome. Awaiting one that is not complete suspends the invocation.
 *
 * @example
 * ```ts
 * const approved = await ctx.awakeable<boolean>().promise.orTimeout(86_400_000);
 * ```
 */
export interface DurablePromise<T> extends Promise<T> {
  /**
   * Rejects with a `TimeoutError` unless this settles within the timeout,
   * in milliseconds or as a {@link Duration} (a durable timer: the wait may
   * span many Lambda invocations).
   */
  orTimeout(timeout: Duration | number): DurablePromise<T>;
  /**
   * A durable promise of what `mapper` makes of this one's outcome: called
   * with the value, or with the failure (then the value is `undefined`).
   * It runs again on every replay, so keep it free of side effects. The
   * result combines and times out like any durable promise.
   *
   * @example
   * ```ts
   * const verdict = ctx.awakeable<boolean>().promise.map((ok, failure) => (failure ? 'rejected' : ok ? 'yes' : 'no'));
   * ```
   */
  map<U>(mapper: (value?: T, failure?: TerminalError) => U): DurablePromise<U>;
}

/**
 * An invocation id (`inv_…`).
 *
 * @example
 * ```ts
 * const id: InvocationId = ctx.request().id;
 * ```
 */
export type InvocationId = string;

/**
 * Reads an invocation id from text (Restate's helper): Dormant's ids are
 * `inv_` and 22 URL-safe base64 characters; anything else is refused.
 *
 * @example
 * ```ts
 * ctx.cancel(InvocationIdParser.fromString(request.jobId));
 * ```
 */
export const InvocationIdParser = {
  fromString(id: string): InvocationId {
    if (typeof id !== 'string' || !/^inv_[A-Za-z0-9_-]{22}$/.test(id))
      throw new TypeError(`expected an invocation id (inv_ and 22 characters), got ${JSON.stringify(id)}`);
    return id;
  },
};

/**
 * What a send returns, and a call besides its result: the id of the
 * invocation it started (or found), to cancel or attach to later.
 *
 * @example
 * ```ts
 * const handle = ctx.serviceSendClient(reports).build(spec);
 * ctx.set('report', await handle.invocationId);
 * ```
 */
export interface InvocationHandle {
  readonly invocationId: Promise<InvocationId>;
}

/**
 * Another invocation, by id.
 *
 * @example
 * ```ts
 * const report = await ctx.invocation(reportId).attach<Report>();
 * ```
 */
export interface InvocationReference {
  cancel(): void;
  attach<T = unknown>(serde?: Serde<T>): DurablePromise<T>;
  /** Refused: see `Context.signal`. */
  signal(name: string): never;
}

/**
 * A call's durable result, with the callee's invocation id.
 *
 * @example
 * ```ts
 * const call = ctx.serviceClient(reports).build(spec);
 * const [id, report] = [await call.invocationId, await call];
 * ```
 */
export type InvocationPromise<T> = DurablePromise<T> & InvocationHandle;

/**
 * An awakeable: a durable promise that something outside completes through
 * `POST /restate/awakeables/{id}/resolve` (or `/reject`), or another handler
 * through `ctx.resolveAwakeable(id, value)`.
 *
 * @example
 * ```ts
 * const { id, promise } = ctx.awakeable<{ approved: boolean }>();
 * await ctx.run('ask', () => slack.post(`approve? curl -XPOST $API/restate/awakeables/${id}/resolve -d '{"approved":true}'`));
 * const { approved } = await promise;
 * ```
 */
export interface Awakeable<T> {
  /** Capability id: whoever holds it can complete the awakeable. */
  id: string;
  promise: DurablePromise<T>;
  /** The full HTTPS resolve URL, when the runtime knows its API base URL. */
  url?: string;
}

/**
 * Deterministic randomness: the same sequence on every replay of an invocation.
 *
 * @example
 * ```ts
 * const coupon = ctx.rand.uuidv4();
 * ```
 */
export interface Rand {
  /** A number in [0, 1). */
  random(): number;
  /** A version 4 UUID. */
  uuidv4(): string;
}

/**
 * Facts about the current request.
 *
 * @example
 * ```ts
 * console.log(ctx.request().id); // "inv_…"
 * ```
 */
export interface Request {
  /** The invocation id. */
  id: InvocationId;
  /** Attempt counter: 1 on the first attempt, higher on replays. */
  attempt: number;
  /** What was called. */
  target: { service: string; handler: string; key?: string | undefined; toString(): string };
  /**
   * Headers of the request that started the invocation: the HTTP request's
   * (without credentials, cookies and what API Gateway adds), or a caller's
   * `rpc.opts({ headers })`. Names are lowercase.
   */
  headers: ReadonlyMap<string, string>;
  /** Restate's headers of the current attempt's request to the endpoint: a Lambda invoke has none, so always empty. */
  attemptHeaders: ReadonlyMap<string, string | string[] | undefined>;
  /** The input as it arrived (UTF-8 bytes of its serialized text). */
  body: Uint8Array;
  /** Extra handler arguments (Restate's); always empty. */
  extraArgs: unknown[];
  /** The Idempotency-Key the invocation was started with, if any. */
  idempotencyKey?: string | undefined;
  /** Aborted when this attempt ends (suspended, finished, handed on): stop work a step started. */
  attemptCompletedSignal: AbortSignal;
}

type ArgsOf<E> = undefined extends InputOf<E> ? [input?: InputOf<E>] : [input: InputOf<E>];
type Handler<H, K extends keyof H> = H[K] extends ((...args: any[]) => any) | { fn: (...args: any[]) => any } ? K : never;

/**
 * A typed request-response client: one method per handler of the target;
 * each call is journaled and its result completes the caller like an
 * awakeable (the caller suspends while the callee runs). The last argument
 * may be `rpc.opts(...)`.
 *
 * @example
 * ```ts
 * const greeting = await ctx.serviceClient(greeter).greet('Ada');
 * ```
 */
export type Client<H> = {
  [K in keyof H as Handler<H, K>]: (
    ...args: [...ArgsOf<H[K]>, opts?: Opts<InputOf<H[K]>, OutputOf<H[K]>>]
  ) => InvocationPromise<OutputOf<H[K]>>;
};

/**
 * A typed one-way client: starts the target and does not wait for it. The
 * last argument may be `rpc.sendOpts(...)`.
 *
 * @example
 * ```ts
 * ctx.objectSendClient(ledger, 'alice').add(5, rpc.sendOpts({ delay: { minutes: 1 } }));
 * ```
 */
export type SendClient<H> = {
  [K in keyof H as Handler<H, K>]: (...args: [...ArgsOf<H[K]>, opts?: SendOpts<InputOf<H[K]>>]) => InvocationHandle;
};

/**
 * Options of a one-way client, for every send it makes.
 *
 * @example
 * ```ts
 * ctx.serviceSendClient(mailer, { delayMs: 3_600_000 }).remind(user);
 * ```
 */
export interface SendOptions {
  /** Start the target this much later, through a durable timer. */
  delayMs?: number;
  /** The same as `delayMs`, in milliseconds or as a {@link Duration} (Restate's name). */
  delay?: Duration | number;
}

/**
 * What a client is made from: a definition (`service(...)` and the others),
 * or Restate's `{ name }` stub of one, found by name among the services
 * this function serves. The type argument types the client:
 * `ctx.serviceClient<typeof greeter>({ name: 'greeter' })`.
 *
 * @example
 * ```ts
 * const target: ClientTarget<typeof greeter> = { name: 'greeter' };
 * ```
 */
export type ClientTarget<D> = D | { readonly name: string };

/**
 * A call by name, for targets without a definition at hand. The input is
 * serialized with JSON.
 *
 * @example
 * ```ts
 * const n = await ctx.genericCall<number>({ service: 'ledger', handler: 'add', key: 'alice', input: 5 });
 * ```
 */
export interface GenericCall {
  service: string;
  handler: string;
  key?: string;
  input?: unknown;
}

/**
 * A call by name as Restate writes it: `method` and `parameter`, with
 * serdes. Without `inputSerde` the parameter is bytes (`Uint8Array` of the
 * serialized input), and without `outputSerde` the result is too.
 *
 * @example
 * ```ts
 * const n = await ctx.genericCall({ service: 'ledger', method: 'add', key: 'alice', parameter: 5, inputSerde: serde.json, outputSerde: serde.json });
 * ```
 */
export interface RestateGenericCall<I = Uint8Array, O = Uint8Array> {
  service: string;
  method: string;
  parameter: I;
  key?: string;
  headers?: Record<string, string>;
  inputSerde?: Serde<I>;
  outputSerde?: Serde<O>;
  idempotencyKey?: string;
  name?: string;
}

/**
 * A one-way send by name as Restate writes it.
 *
 * @example
 * ```ts
 * ctx.genericSend({ service: 'mailer', method: 'send', parameter: mail, inputSerde: serde.json, delay: { hours: 1 } });
 * ```
 */
export interface RestateGenericSend<I = Uint8Array> extends Omit<RestateGenericCall<I, never>, 'outputSerde'> {
  delay?: Duration | number;
}

/**
 * The context of a service handler.
 *
 * @example
 * ```ts
 * const greeter = service({ name: 'greeter', handlers: {
 *   greet: async (ctx: Context, name: string) => ctx.run('greeting', () => `hello ${name}`),
 * } });
 * ```
 */
export interface Context {
  /**
   * Runs `fn` once and journals its result; on replay the result comes back
   * without running it. The name is optional: an unnamed step is known by
   * its position in the journal, which replay checks like a name.
   *
   * @example
   * ```ts
   * const ref = await ctx.run('pay', () => psp.charge(order));
   * const id = await ctx.run(() => crm.createUser(user), { maxRetryAttempts: 5 });
   * ```
   */
  run<T>(name: string, fn: RunAction<T>, options?: RunOptions<T>): DurablePromise<T>;
  run<T>(fn: RunAction<T>, options?: RunOptions<T>): DurablePromise<T>;
  /**
   * Creates an awakeable. With `heartbeatTimeoutMs`, the wait fails with a
   * `TimeoutError` once that long passes without a heartbeat
   * (`SendDurableExecutionCallbackHeartbeat`, counted from its creation
   * until the first); each heartbeat extends it.
   *
   * @example
   * ```ts
   * const job = ctx.awakeable<Report>({ heartbeatTimeoutMs: 60_000 }); // the worker heartbeats every ~20 s
   * ```
   */
  awakeable<T = unknown>(options?: { serde?: Serde<T>; heartbeatTimeoutMs?: number }): Awakeable<T>;
  /**
   * Creates a webhook: a per-request callback URL (`/restate/webhooks/{id}`)
   * for a provider that takes one. The first request it accepts (any method
   * and content type; signed, when `verify` is given) completes the promise
   * with a {@link WebhookRequest}; a redelivery of that request is answered
   * 2xx again, a different one 409, and 410 once the invocation finished.
   *
   * @example
   * ```ts
   * const hook = ctx.webhook({ verify: twilio({ authToken: 'TWILIO_AUTH_TOKEN' }) });
   * await ctx.run('call', () => startCall({ statusCallback: hook.url }));
   * const { body } = await hook.promise; // { CallStatus: 'completed', … }
   * ```
   */
  webhook(options?: WebhookOptions): Webhook;
  /**
   * Waits for an event of the named endpoint (`/webhooks/{name}`, or
   * `POST /restate/events/{name}`) whose correlation paths equal `match`.
   * An event that arrived before the wait, within the endpoint's lookback,
   * completes it at once; a later one when it arrives. With `timeout`, the
   * wait fails with a `TimeoutError` after that long.
   *
   * @example
   * ```ts
   * const paid = await ctx.waitForEvent<StripeEvent>('stripe', { match: { 'body.data.object.id': intent.id }, timeout: { days: 1 } });
   * paid.body.type // 'payment_intent.succeeded'
   * ```
   */
  waitForEvent<T = unknown>(name: string, options: WaitForEventOptions): DurablePromise<ReceivedEvent<T>>;
  /** Completes an awakeable (of any invocation) with a value. */
  resolveAwakeable<T>(id: string, value?: T, options?: { serde?: Serde<T> }): void;
  /** Completes an awakeable (of any invocation) with a terminal failure. */
  rejectAwakeable(id: string, reason: string): void;
  /**
   * A durable timer, in milliseconds or as a {@link Duration}. `name` labels
   * it in logs only (as in Restate).
   *
   * @example
   * ```ts
   * await ctx.sleep({ days: 1 });
   * ```
   */
  sleep(duration: Duration | number, name?: string): DurablePromise<void>;
  /** Settles when all settle, or rejects with the first rejection (deterministic on replay). */
  all<const P extends readonly DurablePromise<unknown>[]>(promises: P): DurablePromise<{ -readonly [K in keyof P]: Awaited<P[K]> }>;
  /** Settles like the first to settle. */
  race<const P extends readonly DurablePromise<unknown>[]>(promises: P): DurablePromise<Awaited<P[number]>>;
  /** Resolves with the first to resolve, or rejects when all reject. */
  any<const P extends readonly DurablePromise<unknown>[]>(promises: P): DurablePromise<Awaited<P[number]>>;
  /** Resolves with every outcome once all settle. */
  allSettled<const P extends readonly DurablePromise<unknown>[]>(
    promises: P,
  ): DurablePromise<{ -readonly [K in keyof P]: PromiseSettledResult<Awaited<P[K]>> }>;
  /** Deterministic randomness. */
  readonly rand: Rand;
  /**
   * A console that prints only when the handler runs new code, not while it
   * replays its journal, so a line shows once per invocation instead of once
   * per attempt.
   *
   * @example
   * ```ts
   * ctx.console.log(`charging ${order.id}`);
   * ```
   */
  readonly console: Console;
  /** A clock that replays: `now()` is journaled. */
  readonly date: { now(): Promise<number> };
  /** The current request. */
  request(): Request;
  /** A request-response client for a service. */
  serviceClient<D>(target: ClientTarget<D>): Client<HandlersOf<D>>;
  /** A request-response client for one key of a virtual object. */
  objectClient<D>(target: ClientTarget<D>, key: string): Client<HandlersOf<D>>;
  /** A request-response client for one key of a workflow (`run` attaches if it already runs). */
  workflowClient<D>(target: ClientTarget<D>, key: string): Client<HandlersOf<D>>;
  /** A one-way client for a service. */
  serviceSendClient<D>(target: ClientTarget<D>, options?: SendOptions): SendClient<HandlersOf<D>>;
  /** A one-way client for one key of a virtual object. */
  objectSendClient<D>(target: ClientTarget<D>, key: string, options?: SendOptions): SendClient<HandlersOf<D>>;
  /** A one-way client for one key of a workflow. */
  workflowSendClient<D>(target: ClientTarget<D>, key: string, options?: SendOptions): SendClient<HandlersOf<D>>;
  /** Calls a handler this function serves, by name (Dormant's shape or Restate's). */
  genericCall<O = unknown>(call: GenericCall): InvocationPromise<O>;
  genericCall<I = Uint8Array, O = Uint8Array>(call: RestateGenericCall<I, O>): InvocationPromise<O>;
  /**
   * Cancels another invocation: it sees a `CancelledError` at its next
   * await (and may compensate), as `DELETE /restate/invocation/{id}` does.
   * Fire and forget: an invocation that has finished, or does not exist,
   * is left alone.
   *
   * @example
   * ```ts
   * ctx.cancel(await ctx.get<string>('report'));
   * ```
   */
  cancel(invocationId: InvocationId): void;
  /**
   * Waits for another invocation's result (its output, or its failure as a
   * `TerminalError`), suspending meanwhile; an unknown id fails with a 404
   * `TerminalError`.
   *
   * @example
   * ```ts
   * const report = await ctx.attach<Report>(reportInvocationId);
   * ```
   */
  attach<T = unknown>(invocationId: InvocationId, serde?: Serde<T>): DurablePromise<T>;
  /**
   * Another invocation by id (Restate's shape): `cancel()` and `attach()`
   * as `ctx.cancel` and `ctx.attach`; `signal()` throws (see `ctx.signal`).
   *
   * @example
   * ```ts
   * ctx.invocation(jobId).cancel();
   * ```
   */
  invocation(invocationId: InvocationId): InvocationReference;
  /**
   * Restate's scoped calls: refused with a `TerminalError` (400), since
   * Dormant has no scopes; make clients on `ctx` itself.
   *
   * @example
   * ```ts
   * ctx.scope('tenant-1'); // throws: use ctx.serviceClient(...) directly
   * ```
   */
  scope(scopeKey: string): never;
  /**
   * Restate's named signals: refused with a `TerminalError` (400); use an
   * awakeable, or a workflow's durable promise.
   *
   * @example
   * ```ts
   * ctx.signal('approved'); // throws: use ctx.awakeable() or ctx.promise('approved')
   * ```
   */
  signal(name: string): never;
  /** Starts a handler this function serves, by name, without waiting. */
  genericSend(call: GenericCall & SendOptions): InvocationHandle;
  genericSend<I = Uint8Array>(call: RestateGenericSend<I>): InvocationHandle;
}

/**
 * The state of an object or workflow key, typed: names are its keys, values
 * its value types.
 *
 * @example
 * ```ts
 * type Cart = { items: string[]; total: number };
 * const add = async (ctx: ObjectContext<Cart>, item: string) => ctx.set('items', [...((await ctx.get('items')) ?? []), item]);
 * ```
 */
export type TypedState = Record<string, any>;

/**
 * State without declared types (the default): any name, the value type given per call.
 *
 * @example
 * ```ts
 * const n = (await (ctx as ObjectContext<UntypedState>).get<number>('n')) ?? 0;
 * ```
 */
export type UntypedState = { _: never };

/** The name a state call takes: any string, or a key of the declared state. */
export type StateName<S, K> = S extends UntypedState ? string : K;
/** The value of a state name: the call's type argument, or the declared type. */
export type StateValue<S, T, K> = S extends UntypedState ? T : K extends keyof S ? S[K] : never;

/**
 * Read access to the state of a virtual object or workflow key. With a
 * declared state (`ObjectContext<{ total: number }>`), names and values are
 * checked against it.
 *
 * @example
 * ```ts
 * const total = (await ctx.get<number>('total')) ?? 0;
 * ```
 */
export interface StateReader<S extends TypedState = UntypedState> {
  /** The key of this object or workflow. */
  readonly key: string;
  /** The value, or `null` when there is none (as in Restate). */
  get<T = unknown, K extends keyof S = keyof S>(
    name: StateName<S, K>,
    serde?: Serde<StateValue<S, T, K>>,
  ): Promise<StateValue<S, T, K> | null>;
  stateKeys(): Promise<string[]>;
}

/**
 * Write access to the state of a virtual object or workflow key.
 *
 * @example
 * ```ts
 * ctx.set('total', total + amount);
 * ```
 */
export interface StateWriter<S extends TypedState = UntypedState> {
  set<T = unknown, K extends keyof S = keyof S>(
    name: StateName<S, K>,
    value: StateValue<S, T, K>,
    serde?: Serde<StateValue<S, T, K>>,
  ): void;
  clear<K extends keyof S = keyof S>(name: StateName<S, K>): void;
  clearAll(): void;
}

/**
 * The context of a shared handler of a virtual object: reads state, runs concurrently.
 *
 * @example
 * ```ts
 * balance: handlers.object.shared(async (ctx: ObjectSharedContext) => (await ctx.get<number>('balance')) ?? 0),
 * ```
 */
export interface ObjectSharedContext<S extends TypedState = UntypedState> extends Context, StateReader<S> {}

/**
 * The context of an exclusive handler of a virtual object: one at a time per key.
 *
 * @example
 * ```ts
 * add: async (ctx: ObjectContext<{ v: number }>, n: number) => { const v = ((await ctx.get('v')) ?? 0) + n; ctx.set('v', v); return v; },
 * ```
 */
export interface ObjectContext<S extends TypedState = UntypedState> extends ObjectSharedContext<S>, StateWriter<S> {}

/**
 * A workflow's durable promise, shared between `run` and its shared
 * handlers. Await it (or its `get()`) to wait for it, in `run` or in a
 * shared handler; `peek()` looks without waiting; `resolve` and `reject`
 * complete it, once. (A `PromiseLike`, not a `Promise`: type-aware lint
 * would read its `reject` as `Promise.reject`.)
 *
 * @example
 * ```ts
 * const review = await ctx.promise<string>('review');          // in run, or a shared handler
 * await ctx.promise<string>('review').resolve('approved');     // in a shared handler
 * const verdict = await ctx.promise<string>('review').get().orTimeout({ minutes: 5 });
 * ```
 */
export interface WorkflowPromise<T> extends PromiseLike<T> {
  /** Like `Promise.prototype.catch`. */
  catch<R = never>(onrejected?: ((reason: any) => R | PromiseLike<R>) | null): Promise<T | R>;
  /** Like `Promise.prototype.finally`. */
  finally(onfinally?: (() => void) | null): Promise<T>;
  /** Waits for the promise (suspending until someone completes it), as a durable promise that combines and times out. */
  get(): DurablePromise<T>;
  /** The value if already resolved, `undefined` if not yet completed; rejects if it was rejected. */
  peek(): Promise<T | undefined>;
  /** Completes it; a promise completes once, and a later resolve throws a 409 `TerminalError`. */
  resolve(value?: T): Promise<void>;
  /** Completes it with a failure: a reason, or a `TerminalError` (its code is kept). */
  reject(reason: string | Error): Promise<void>;
}

/**
 * The context of a workflow's shared handlers: read state, signal `run` through promises.
 *
 * @example
 * ```ts
 * submitReview: handlers.workflow.shared(async (ctx: WorkflowSharedContext, verdict: string) =>
 *   ctx.promise<string>('review').resolve(verdict)),
 * ```
 */
export interface WorkflowSharedContext<S extends TypedState = UntypedState> extends ObjectSharedContext<S> {
  promise<T = unknown>(name: string, serde?: Serde<T>): WorkflowPromise<T>;
}

/**
 * The context of a workflow's `run` handler: executes once per key.
 *
 * @example
 * ```ts
 * run: async (ctx: WorkflowContext, doc: string) => { ctx.set('status', 'in review'); return ctx.promise<string>('review').get(); },
 * ```
 */
export interface WorkflowContext<S extends TypedState = UntypedState> extends WorkflowSharedContext<S>, StateWriter<S> {}
