/**
 * The durable context handed to handlers. Every method follows the journal's
 * one template (see `journal.ts`): allocate the next index; if an earlier
 * attempt recorded it, decode that; otherwise journal a new entry through
 * `Journal.append`, with the writes that must precede it in `before`. The
 * context reaches the store only through the journal (`before`'s writes) and
 * the attempt's reads.
 */
import type {
  Awakeable,
  Client,
  ClientTarget,
  DurablePromise,
  GenericCall,
  InvocationHandle,
  InvocationId,
  InvocationPromise,
  InvocationReference,
  RestateGenericCall,
  RestateGenericSend,
  Rand,
  Request,
  RetryPolicy,
  RunAction,
  RunOptions,
  SendClient,
  SendOptions,
  WorkflowContext,
  WorkflowPromise,
} from '../api/context.ts';
import { isDefinition, type Definition, type HandlersOf } from '../api/definitions.ts';
import { clientArguments, type CallOptions, type SendCallOptions } from '../api/rpc.ts';
import { RetryableError, TerminalError, ensureError, fromFailure, isTerminal, toFailure, type Failure } from '../api/errors.ts';
import { bytes, json, type Serde } from '../api/serde.ts';
import { durationMs, show, type Duration } from '../api/duration.ts';
import type { Completion, InvocationMeta, JournalEntry } from '../store/store.ts';
import { CANCEL, completionKey, promiseKey, stateScope } from '../store/keys.ts';
import { newInvocationMeta, resultCompletion } from '../store/invocation.ts';
import type { Attempt, AttemptDeps } from './attempt.ts';
import { derivedInvocationId, isInvocationId, shortId, workflowInvocationId } from './ids.ts';
import { recordedOutcome, type Journal } from './journal.ts';
import { checkWebhookOptions } from './webhook-options.ts';
import { checkEventWait } from './event-wait.ts';
import { matchesEvent } from '../store/events.ts';
import type { ReceivedEvent, WaitForEventOptions } from '../api/events.ts';
import type { Webhook, WebhookOptions, WebhookRequest } from '../api/webhook.ts';
import { Combinator, CompletionPromise, HeartbeatAwakeablePromise, StepPromise, type Durable, type Outcome } from './promises.ts';
import { seededRand } from './rand.ts';
import { backoffMs, mayRetry, stepRetryKey } from './retry.ts';

function decodeWith<T>(serde: Serde<T>) {
  return (c: { value?: string | undefined; failure?: Failure | undefined }): Outcome<T> => recordedOutcome(c, (t) => serde.deserialize(t));
}

/** Whether a value is a serde (Restate passes one where Dormant takes `{ serde }`). */
function isSerde<T>(value: unknown): value is Serde<T> {
  const v = value as Partial<Serde<T>> | null | undefined;
  return !!v && typeof v === 'object' && typeof v.serialize === 'function' && typeof v.deserialize === 'function';
}

/** How messages name a step: by its name, or an unnamed one by its journal position. */
function stepLabel(name: string | undefined, index: number): string {
  return name === undefined ? `at entry ${index}` : `'${name}'`;
}

/** How long a waiter without a timeout stays recorded: the journal's own lifetime (365 days), which no wait outlives. */
const EVENT_WAIT_MAX_MS = 365 * 86_400_000;

const PREFIXED = new Set(['log', 'info', 'warn', 'error', 'debug', 'trace']);

/**
 * The global console, silent while `journal` replays, with the invocation's
 * prefix on every line (a line that starts with a format string keeps it).
 */
function quietWhileReplaying(journal: Pick<Journal, 'replaying'>, base: Console, prefix: string | undefined): Console {
  return new Proxy(base, {
    get: (target, key, receiver) => {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (journal.replaying) return undefined;
        if (prefix !== undefined && typeof key === 'string' && PREFIXED.has(key))
          args = typeof args[0] === 'string' ? [`${prefix} ${args[0]}`, ...args.slice(1)] : [prefix, ...args];
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** What the context needs of the deployment besides its attempt; never the store. */
export type ContextDeps = Pick<AttemptDeps, 'clock' | 'signer' | 'services' | 'apiUrl' | 'maxInAttemptBackoffMs' | 'handlerConsole'>;

/**
 * Implements every context interface; which methods a handler may use is
 * decided by its kind (service, object, workflow) and whether it is shared.
 */
export class DurableContext implements WorkflowContext {
  readonly rand: Rand;
  readonly date = { now: () => this.#now(), toJSON: async () => new Date(await this.#now()).toJSON() };
  /** Prints only past the replayed part of the journal (see `Journal.replaying`). */
  readonly console: Console;
  #state: Promise<Map<string, string>> | undefined;
  readonly #journal: Journal;

  constructor(
    private readonly attempt: Attempt,
    private readonly meta: InvocationMeta,
    private readonly shared: boolean,
    /** The object key's lock sequence (0 when not an exclusive object call): orders state writes. */
    private readonly lockSeq: number,
    private readonly deps: ContextDeps,
  ) {
    this.rand = seededRand(meta.id);
    this.#journal = attempt.journal;
    // A structured console carries the invocation in its fields; the global one, in a prefix.
    this.console = deps.handlerConsole
      ? quietWhileReplaying(this.#journal, deps.handlerConsole(meta), undefined)
      : quietWhileReplaying(this.#journal, console, `[${meta.service}/${meta.handler}][${meta.id}]`);
  }

  get key(): string {
    if (this.meta.key === undefined)
      throw new TerminalError(
        `${this.meta.service}.${this.meta.handler}: a service handler has no key (keys belong to objects and workflows)`,
      );
    return this.meta.key;
  }

  request(): Request {
    const { id, service, handler, key, epoch, input, headers, idempotencyKey } = this.meta;
    return {
      id,
      attempt: epoch,
      target: { service, handler, key, toString: () => (key === undefined ? `${service}/${handler}` : `${service}/${key}/${handler}`) },
      headers: new Map(Object.entries(headers ?? {})),
      attemptHeaders: new Map(),
      body: new TextEncoder().encode(input),
      extraArgs: [],
      idempotencyKey,
      attemptCompletedSignal: this.attempt.completed,
    };
  }

  // ---- steps -----------------------------------------------------------------

  run<T>(name: string, fn: RunAction<T>, options?: RunOptions<T>): DurablePromise<T>;
  run<T>(fn: RunAction<T>, options?: RunOptions<T>): DurablePromise<T>;
  run<T>(first: string | RunAction<T>, second?: RunAction<T> | RunOptions<T>, third?: RunOptions<T>): DurablePromise<T> {
    // Restate's shapes: run(fn), run(fn, options), run(name, fn), run(name, fn, options).
    const named = typeof first === 'string';
    const name = named ? first : undefined;
    const fn = named ? second : first;
    const given = named ? third : second;
    if (typeof fn !== 'function')
      throw this.#misuse(
        'ctx.run',
        named
          ? `the step body must be a function: ctx.run(name, fn), got ${show(fn)}`
          : `expected ctx.run(fn), ctx.run(fn, options) or ctx.run(name, fn, options), got a first argument ${show(first)}`,
      );
    if (given !== undefined && (given === null || typeof given !== 'object'))
      throw this.#misuse('ctx.run', `options must be an object, got ${show(given)}`);
    const options = given;
    const policy = this.#retryPolicy(options ?? {});
    const serde = options?.serde ?? (json as Serde<T>);
    const decode = decodeWith(serde);
    // An unnamed step's entry has no name: replay checks its kind and position,
    // and no named entry of an older journal can stand in for it (a name is
    // always present there).
    const { index, recorded } = this.#journal.allocate('run', name);
    if (recorded) return new StepPromise(this.attempt, decode(recorded));
    const label = stepLabel(name, index);
    // If the attempt ends meanwhile (lost write, suspension elsewhere), `durable`
    // and `append` never settle, nor does the step promise: the handler must
    // not see a result that is not journaled.
    const outcome = this.attempt.waiting.inFlight(async (): Promise<Outcome<T>> => {
      // A step never starts before earlier entries are durable.
      await this.#journal.durable();
      const result = await this.#journal.trace.inStep(index, name, () => this.#execute(index, label, fn, policy));
      const entry: JournalEntry = { index, kind: 'run', name };
      if ('failure' in result) entry.failure = result.failure;
      else {
        try {
          entry.value = serde.serialize(result.value);
        } catch (error) {
          // The same value fails the same way on every retry: journal it as the step's terminal failure.
          entry.failure = toFailure(
            new TerminalError(
              `ctx.run ${label}${name === undefined ? '' : ` (entry ${index})`} of invocation ${this.meta.id}: its result could not be serialized: ${ensureError(error).message}`,
              { code: 400 },
            ),
          );
        }
      }
      return decode(await this.#journal.append(entry));
    });
    return new StepPromise(this.attempt, outcome);
  }

  /** `ctx.run`'s retry policy: Dormant's `retry`, overridden by Restate's flat options where given. */
  #retryPolicy(options: RunOptions<unknown>): RetryPolicy {
    const ms = (value: Duration | number | undefined, option: string) =>
      value === undefined ? undefined : durationMs(value, `ctx.run option ${option}`);
    const flat: RetryPolicy = {
      maxAttempts: options.maxRetryAttempts,
      maxDurationMs: ms(options.maxRetryDuration, 'maxRetryDuration'),
      initialIntervalMs: ms(options.initialRetryInterval, 'initialRetryInterval'),
      maxIntervalMs: ms(options.maxRetryInterval, 'maxRetryInterval'),
      factor: options.retryIntervalFactor,
    };
    const policy: RetryPolicy = { ...options.retry };
    for (const [k, v] of Object.entries(flat)) if (v !== undefined) policy[k as keyof RetryPolicy] = v;
    if (policy.maxAttempts !== undefined && !(Number.isInteger(policy.maxAttempts) && policy.maxAttempts >= 1))
      throw this.#misuse('ctx.run', `maxAttempts must be a whole number of at least 1, got ${show(policy.maxAttempts)}`);
    if (policy.factor !== undefined && !(Number.isFinite(policy.factor) && policy.factor >= 1))
      throw this.#misuse('ctx.run', `the retry interval factor must be a number of at least 1, got ${show(policy.factor)}`);
    return policy;
  }

  /**
   * A call made with arguments of the wrong shape: a terminal failure (400)
   * naming the call and the journal position it would have taken, so the
   * invocation fails once with a clear message instead of being retried.
   * Nothing is journaled, so a replay meets the same error at the same place.
   */
  #misuse(call: string, problem: string): TerminalError {
    return new TerminalError(
      `${call} at journal entry ${this.#journal.cursor} of ${this.meta.service}.${this.meta.handler} (invocation ${this.meta.id}): ${problem}`,
      { code: 400 },
    );
  }

  /**
   * Runs a step body with its retry policy. Short backoffs sleep in the
   * attempt; a long one suspends the invocation on a timer whose key records
   * the attempt count and start time (`C#t<index>.<attempt>.<startedAt>`),
   * so the count survives across Lambda invocations at no extra write.
   */
  async #execute<T>(index: number, label: string, fn: RunAction<T>, policy: RetryPolicy): Promise<{ value: T } | { failure: Failure }> {
    const clock = this.deps.clock;
    const resumed = this.attempt.completions.stepRetry(index);
    const startedAt = resumed?.startedAt ?? clock.now();
    for (let attempt = (resumed?.attempt ?? 0) + 1; ; attempt++) {
      try {
        return { value: await fn() };
      } catch (error) {
        if (isTerminal(error)) return { failure: toFailure(error) };
        const last = ensureError(error);
        if (!mayRetry(policy, attempt, startedAt, clock.now())) {
          return {
            failure: toFailure(new TerminalError(`step ${label} failed after ${attempt} attempt(s): ${last.message}`, { cause: last })),
          };
        }
        // Restate's RetryableError names its own delay; the attempt count and limits still hold.
        const delay =
          error instanceof RetryableError && error.retryAfter !== undefined
            ? durationMs(error.retryAfter, `RetryableError.retryAfter of step ${label}`)
            : backoffMs(policy, attempt);
        if (delay > (this.deps.maxInAttemptBackoffMs ?? 1_000)) {
          const key = stepRetryKey({ entry: index, attempt, startedAt });
          await this.attempt.waiting.suspendOnTimer(
            { key, at: clock.now() + delay },
            toFailure(last),
            `step ${label}${label.startsWith('at entry') ? '' : ` (entry ${index})`}`,
          );
          return new Promise<never>(() => undefined);
        }
        await clock.sleep(delay);
      }
    }
  }

  #now(): Promise<number> {
    const { index, recorded } = this.#journal.allocate('now');
    if (recorded) return Promise.resolve(Number(recorded.value));
    const now = this.deps.clock.now();
    void this.#journal.append({ index, kind: 'now', value: String(now) });
    return Promise.resolve(now);
  }

  // ---- awakeables and timers -------------------------------------------------

  awakeable<T = unknown>(options: Serde<T> | { serde?: Serde<T>; heartbeatTimeoutMs?: number } = {}): Awakeable<T> {
    // Restate passes the serde itself: ctx.awakeable(serde).
    const given = isSerde(options) ? { serde: options } : (options ?? {});
    if (typeof given !== 'object')
      throw this.#misuse('ctx.awakeable', `expected a serde or { serde, heartbeatTimeoutMs }, got ${show(options)}`);
    const { heartbeatTimeoutMs } = given as { heartbeatTimeoutMs?: number };
    if (
      heartbeatTimeoutMs !== undefined &&
      (typeof heartbeatTimeoutMs !== 'number' || !Number.isFinite(heartbeatTimeoutMs) || heartbeatTimeoutMs <= 0)
    ) {
      throw new TerminalError(
        `ctx.awakeable({ heartbeatTimeoutMs: ${heartbeatTimeoutMs} }): the timeout must be a positive number of milliseconds`,
        { code: 400 },
      );
    }
    const { index, recorded } = this.#journal.allocate('awakeable');
    const id = recorded?.id ?? this.deps.signer.awakeableId(this.meta.id, index);
    // A heartbeat timeout is journaled with the creation time it counts from.
    const heartbeat = recorded
      ? recorded.value === undefined
        ? undefined
        : { since: recorded.at!, timeoutMs: Number(recorded.value) }
      : heartbeatTimeoutMs === undefined
        ? undefined
        : { since: this.deps.clock.now(), timeoutMs: heartbeatTimeoutMs };
    if (!recorded)
      void this.#journal.append({
        index,
        kind: 'awakeable',
        id,
        ...(heartbeat ? { at: heartbeat.since, value: String(heartbeat.timeoutMs) } : {}),
      });
    this.attempt.waiting.noteAwakeable(completionKey(index), id);
    const decode = decodeWith((given as { serde?: Serde<T> }).serde ?? (json as Serde<T>));
    const promise = heartbeat
      ? new HeartbeatAwakeablePromise<T>(this.attempt, completionKey(index), decode, heartbeat.since, heartbeat.timeoutMs)
      : new CompletionPromise<T>(this.attempt, completionKey(index), decode, undefined, true);
    const api = this.deps.apiUrl;
    return api ? { id, promise, url: `${api.replace(/\/+$/, '')}/restate/awakeables/${id}/resolve` } : { id, promise };
  }

  webhook(options: WebhookOptions = {}): Webhook {
    // Checked before the index is taken: a throw leaves the journal alone.
    const checked = checkWebhookOptions(options);
    if ('problem' in checked) throw this.#misuse('ctx.webhook', checked.problem);
    const recordedOptions = checked.text;
    const { index, recorded } = this.#journal.allocate('webhook');
    const id = recorded?.id ?? this.deps.signer.webhookId(this.meta.id, index);
    // The options are journaled with the id: the callback route reads them
    // there (the verifier names its secret, never holds it).
    if (!recorded) void this.#journal.append({ index, kind: 'webhook', id, ...(recordedOptions ? { value: recordedOptions } : {}) });
    this.attempt.waiting.noteAwakeable(completionKey(index), id);
    const promise = new CompletionPromise<WebhookRequest>(
      this.attempt,
      completionKey(index),
      decodeWith(json as Serde<WebhookRequest>),
      undefined,
      true,
    );
    const api = this.deps.apiUrl;
    return api ? { id, promise, url: `${api.replace(/\/+$/, '')}/restate/webhooks/${id}` } : { id, promise };
  }

  /**
   * Waits for an event of endpoint `name` whose correlation paths equal
   * `match`. The wait records itself under the match's correlation key,
   * then reads the events stored there; the wake hands each new event to
   * the waiters registered there. Whichever of the two writes lands second
   * sees the other (both reads are strongly consistent), as for a workflow
   * promise's waiters (`#awaitPromise`):
   *
   *   wait:   put waiter ── read events: none ──────────────────────────── suspend on C#i
   *   event:                          put E#id ── record ── wake: waiters ▶ put C#i ▶ wake
   *
   *   wait:   put waiter ────────────── read events: E#id ▶ put C#i itself
   *   event:            put E#id ── record ── wake: waiters ▶ put C#i ✗ (first writer wins)
   *
   *   event:  put E#id ── (earlier, within its lookback) … wait: put waiter ── read events: E#id ▶ put C#i
   *
   * A crash before the entry re-runs all of it: the waiter is written once,
   * and `C#i` completes once.
   */
  waitForEvent<T = unknown>(name: string, options: WaitForEventOptions): DurablePromise<ReceivedEvent<T>> {
    // Checked before the index is taken: a throw leaves the journal alone.
    const checked = checkEventWait(name, options);
    if ('problem' in checked) throw this.#misuse('ctx.waitForEvent', checked.problem);
    const { match, partition, timeoutMs } = checked;
    const { index, recorded } = this.#journal.allocate('event-await', name);
    const own = completionKey(index);
    if (!recorded) {
      const now = this.deps.clock.now();
      // The waiter item outlives the wait (a timeout's margin, else the journal's lifetime).
      const until = now + (timeoutMs === undefined ? EVENT_WAIT_MAX_MS : timeoutMs + 60_000);
      void this.#journal.append(
        { index, kind: 'event-await', name, value: JSON.stringify(match) },
        {
          before: async (writes) => {
            await writes.addEventWaiter(partition, { invocationId: this.meta.id, key: own, match, until });
            const seen = this.deps.clock.now();
            const found = (await this.attempt.reads.findEvents(partition)).find((e) => e.until >= seen && matchesEvent(match, e.values));
            if (found)
              await writes.complete(this.meta.id, {
                key: own,
                value: found.value,
                failure: found.failure,
                at: seen,
                by: `event#${found.endpoint}#${found.id}`,
              });
          },
        },
      );
    }
    this.attempt.waiting.noteAwakeable(own, `event:${name}`);
    const promise = new CompletionPromise<ReceivedEvent<T>>(
      this.attempt,
      own,
      decodeWith(json as Serde<ReceivedEvent<T>>),
      undefined,
      true,
    );
    return timeoutMs === undefined ? promise : promise.orTimeout(timeoutMs);
  }

  resolveAwakeable<T>(id: string, value?: T, options: Serde<T> | { serde?: Serde<T> } = {}): void {
    // Restate passes the serde itself: ctx.resolveAwakeable(id, value, serde).
    const serde = (isSerde(options) ? options : options?.serde) ?? (json as Serde<T>);
    const text = this.#serialize('ctx.resolveAwakeable', serde, value as T);
    this.#completeAwakeable('resolve-awakeable', id, { value: text });
  }

  rejectAwakeable(id: string, reason: string | Error): void {
    if (typeof reason !== 'string' && !(reason instanceof Error))
      throw this.#misuse('ctx.rejectAwakeable', `the reason must be a string or an error, got ${show(reason)}`);
    // A TerminalError keeps its code; anything else becomes a TerminalError with the reason as its message.
    const failure = toFailure(
      reason instanceof TerminalError ? reason : new TerminalError(typeof reason === 'string' ? reason : reason.message),
    );
    this.#completeAwakeable('reject-awakeable', id, { failure });
  }

  /** Serializes a value a call journals or sends; a value the serde refuses is a misuse of the call. */
  #serialize<T>(call: string, serde: Serde<T>, value: T): string {
    try {
      return serde.serialize(value);
    } catch (error) {
      throw this.#misuse(call, `the value could not be serialized: ${ensureError(error).message}`);
    }
  }

  #completeAwakeable(kind: 'resolve-awakeable' | 'reject-awakeable', id: string, result: { value: string } | { failure: Failure }): void {
    const call = kind === 'resolve-awakeable' ? 'ctx.resolveAwakeable' : 'ctx.rejectAwakeable';
    if (typeof id !== 'string') throw this.#misuse(call, `the awakeable id must be a string, got ${show(id)}`);
    // The id is checked after its index is taken, as it always was: a journal
    // that went on past a refused id keeps its positions.
    const { index, recorded } = this.#journal.allocate(kind, id);
    if (recorded) return;
    const verified = this.deps.signer.verifyAwakeableId(id);
    if (!verified.ok && verified.problem === 'unknown_key') {
      // Minted under a secret this function has not read yet (a rotation reached another function first): retry after a refresh.
      void this.deps.signer.refresh();
      throw new Error(`${call}: awakeable id ${shortId(id)} names a signing key this function does not know yet; retrying`);
    }
    if (!verified.ok) throw new TerminalError(`${call}: awakeable id is ${verified.problem}: ${shortId(id)}`, { code: 400 });
    const { invocationId, index: target } = verified.target;
    void this.#journal.append(
      { index, kind, name: id },
      {
        // Completion first, entry second: a crash in between replays into a
        // lost (already written) completion, which is the same outcome.
        before: async (writes) => {
          await writes.complete(invocationId, { key: completionKey(target), at: this.deps.clock.now(), ...result });
        },
      },
    );
  }

  sleep(duration: Duration | number, _name?: string): DurablePromise<void> {
    const ms = durationMs(duration, `ctx.sleep at journal entry ${this.#journal.cursor} of invocation ${this.meta.id}`);
    const { index, recorded } = this.#journal.allocate('sleep');
    const at = recorded?.at ?? this.deps.clock.now() + ms;
    if (!recorded) void this.#journal.append({ index, kind: 'sleep', at });
    return new CompletionPromise<void>(this.attempt, completionKey(index), () => ({ ok: true, value: undefined }), at);
  }

  // ---- calls -----------------------------------------------------------------

  serviceClient<D>(target: ClientTarget<D>): Client<HandlersOf<D>> {
    return this.#client('ctx.serviceClient', 'service', target, undefined, 'call') as unknown as Client<HandlersOf<D>>;
  }

  objectClient<D>(target: ClientTarget<D>, key: string): Client<HandlersOf<D>> {
    return this.#client('ctx.objectClient', 'object', target, key, 'call') as unknown as Client<HandlersOf<D>>;
  }

  workflowClient<D>(target: ClientTarget<D>, key: string): Client<HandlersOf<D>> {
    return this.#client('ctx.workflowClient', 'workflow', target, key, 'call') as unknown as Client<HandlersOf<D>>;
  }

  serviceSendClient<D>(target: ClientTarget<D>, options?: SendOptions): SendClient<HandlersOf<D>> {
    return this.#client('ctx.serviceSendClient', 'service', target, undefined, 'send', options) as unknown as SendClient<HandlersOf<D>>;
  }

  objectSendClient<D>(target: ClientTarget<D>, key: string, options?: SendOptions): SendClient<HandlersOf<D>> {
    return this.#client('ctx.objectSendClient', 'object', target, key, 'send', options) as unknown as SendClient<HandlersOf<D>>;
  }

  workflowSendClient<D>(target: ClientTarget<D>, key: string, options?: SendOptions): SendClient<HandlersOf<D>> {
    return this.#client('ctx.workflowSendClient', 'workflow', target, key, 'send', options) as unknown as SendClient<HandlersOf<D>>;
  }

  genericCall<O = unknown>(call: GenericCall): InvocationPromise<O>;
  genericCall<I = Uint8Array, O = Uint8Array>(call: RestateGenericCall<I, O>): InvocationPromise<O>;
  genericCall(call: GenericCall | RestateGenericCall<unknown, unknown>): InvocationPromise<unknown> {
    return this.#generic('ctx.genericCall', call, 'call') as InvocationPromise<unknown>;
  }

  genericSend(call: GenericCall & SendOptions): InvocationHandle;
  genericSend<I = Uint8Array>(call: RestateGenericSend<I>): InvocationHandle;
  genericSend(call: (GenericCall & SendOptions) | RestateGenericSend<unknown>): InvocationHandle {
    return this.#generic('ctx.genericSend', call, 'send');
  }

  /**
   * A call by name: Dormant's `{ handler, input }` (JSON), or Restate's
   * `{ method, parameter }` whose parameter and result are bytes unless
   * serdes are given.
   */
  #generic(
    call: string,
    request: (GenericCall & SendOptions) | (RestateGenericSend<unknown> & { outputSerde?: Serde<unknown> }),
    mode: 'call' | 'send',
  ): InvocationHandle {
    if (!request || typeof request !== 'object' || typeof request.service !== 'string')
      throw this.#misuse(call, `expected { service, handler, key?, input? } or { service, method, parameter, key? }, got ${show(request)}`);
    const definition = this.#hosted(call, request.service);
    const restateShape = 'method' in request;
    const handler = restateShape ? request.method : request.handler;
    if (typeof handler !== 'string') throw this.#misuse(call, `the handler (method) must be a string, got ${show(handler)}`);
    const options: CallOptions & SendCallOptions = restateShape
      ? {
          input: request.inputSerde ?? bytes,
          output: request.outputSerde ?? bytes,
          headers: request.headers,
          idempotencyKey: request.idempotencyKey,
          delay: request.delay,
        }
      : { delay: request.delay ?? request.delayMs };
    const input = restateShape ? request.parameter : request.input;
    return this.#invoke(call, definition, handler, request.key, mode, input, options);
  }

  /** A service this function serves, found by name. */
  #hosted(call: string, service: string): Definition {
    const definition = this.deps.services.get(service);
    if (!definition)
      throw new TerminalError(
        `${call}: no service '${service}' is served by this function (it serves ${[...this.deps.services.keys()].sort().join(', ')}); ` +
          'to call one another function serves, make the client from its imported definition',
        { code: 404 },
      );
    return definition;
  }

  /** The definition a client is made from: the definition itself, or the one a `{ name }` stub names. */
  #target(call: string, kind: Definition['kind'], target: unknown): Definition {
    let definition: Definition;
    if (isDefinition(target)) definition = target;
    else if (target && typeof target === 'object' && typeof (target as { name?: unknown }).name === 'string')
      definition = this.#hosted(`${call}({ name: '${(target as { name: string }).name}' })`, (target as { name: string }).name);
    else throw this.#misuse(call, `expected a definition or a { name } stub of one, got ${show(target)}`);
    if (definition.kind !== kind) {
      const maker = { service: 'serviceClient', object: 'objectClient', workflow: 'workflowClient' }[definition.kind];
      throw this.#misuse(
        call,
        `'${definition.name}' is a ${definition.kind === 'object' ? 'virtual object' : definition.kind}: use ctx.${maker} (or its send client)`,
      );
    }
    return definition;
  }

  #client(
    call: string,
    kind: Definition['kind'],
    target: unknown,
    key: unknown,
    mode: 'call' | 'send',
    options: SendOptions = {},
  ): Record<string, (...args: unknown[]) => unknown> {
    const definition = this.#target(call, kind, target);
    if (kind !== 'service' && (typeof key !== 'string' || key === ''))
      throw this.#misuse(call, `calling ${kind} '${definition.name}' needs a key (a non-empty string), got ${show(key)}`);
    if (options === null || typeof options !== 'object') throw this.#misuse(call, `options must be an object, got ${show(options)}`);
    return new Proxy(
      {},
      {
        get: (_target, handler) => {
          if (typeof handler !== 'string') return undefined;
          // A thenable check (`await client`) must not look like a missing handler.
          if (handler === 'then' && !definition.handlers.then) return undefined;
          return (...args: unknown[]) => {
            const parsed = clientArguments(args);
            if ('problem' in parsed) throw this.#misuse(`${definition.name}.${handler}`, parsed.problem);
            const perCall = { ...parsed.options, delay: parsed.options.delay ?? options.delay ?? options.delayMs };
            return this.#invoke(
              `${definition.name}.${handler}`,
              definition,
              handler,
              key as string | undefined,
              mode,
              parsed.input,
              perCall,
            );
          };
        },
      },
    );
  }

  /** A send's delay in milliseconds, if it has one. */
  #delayMs(call: string, delay: unknown): number | undefined {
    return delay === undefined
      ? undefined
      : durationMs(delay, `${call} send delay at journal entry ${this.#journal.cursor} of invocation ${this.meta.id}`);
  }

  /**
   * Starts a callee. Its id is derived from (caller, entry), so a replay or a
   * retried attempt finds the same callee instead of starting another; a
   * workflow's `run` has its key's id, and a call with an idempotency key
   * the id the ingress gives that key. The callee's result comes back as
   * completion `C#<entry>` (the wake rule delivers it when the callee's
   * `meta` turns finished).
   */
  #invoke(
    call: string,
    definition: Definition,
    handler: string,
    key: string | undefined,
    mode: 'call' | 'send',
    input: unknown,
    options: CallOptions & SendCallOptions,
  ): InvocationPromise<unknown> | InvocationHandle {
    const spec = definition.handlers[handler];
    if (!spec) throw new TerminalError(`${call}: ${definition.kind} '${definition.name}' has no handler '${handler}'`, { code: 404 });
    const headers = this.#withTraceparent(this.#headers(call, options.headers));
    const idempotencyKey = options.idempotencyKey;
    if (idempotencyKey !== undefined && (typeof idempotencyKey !== 'string' || idempotencyKey === ''))
      throw this.#misuse(call, `the idempotency key must be a non-empty string, got ${show(idempotencyKey)}`);
    const delayMs = mode === 'send' ? this.#delayMs(call, options.delay) : undefined;
    const text = this.#serialize(call, options.input ?? spec.input, input);
    const name = `${definition.name}.${handler}`;
    const { index, recorded } = this.#journal.allocate(mode, name);
    const resultKey = completionKey(index);
    let calleeId: string;
    if (recorded) {
      calleeId = recorded.value ?? '';
      if (mode === 'call' && recorded.value) this.attempt.waiting.noteCallee(resultKey, recorded.value);
    } else {
      calleeId =
        definition.kind === 'workflow' && handler === 'run'
          ? workflowInvocationId(definition.name, key!)
          : idempotencyKey !== undefined
            ? derivedInvocationId('idempotency', definition.name, handler, key ?? '', idempotencyKey)
            : derivedInvocationId('call', this.meta.id, index);
      const caller = { invocationId: this.meta.id, key: resultKey };
      if (mode === 'call') this.attempt.waiting.noteCallee(resultKey, calleeId);
      void this.#journal.append(
        { index, kind: mode, name, value: calleeId },
        {
          // Callee first, entry second. A crash in between replays the call as
          // new, with the same callee id (derived from caller and entry):
          //
          //   attempt 1:  create callee ✓ ── crash
          //   attempt 2:  create callee ✗ (it exists, listing this caller) → append J#i ✓
          before: async (writes) => {
            const now = this.deps.clock.now();
            if (idempotencyKey !== undefined && (await this.#expiredKey(calleeId))) {
              // As at the ingress: a new invocation under the key would replay the expired one's journal.
              const failure = toFailure(
                new TerminalError(
                  `${call}: idempotency key '${idempotencyKey}' was used by invocation ${calleeId}, whose result has expired while its journal is still kept; use a new key`,
                  { code: 409 },
                ),
              );
              if (mode === 'call') await writes.complete(this.meta.id, { key: resultKey, failure, at: now });
              return;
            }
            const meta = newInvocationMeta({
              id: calleeId,
              service: definition.name,
              handler,
              kind: definition.kind,
              shared: spec.shared,
              key,
              input: text,
              now,
              delayMs,
              idempotencyKey,
              headers,
              callers: mode === 'call' ? [caller] : undefined,
            });
            const created = await writes.createInvocation(meta);
            if (
              !created.created &&
              mode === 'call' &&
              !(created.existing.callers ?? []).some((c) => c.invocationId === caller.invocationId && c.key === caller.key)
            ) {
              // A workflow run, or an invocation of this idempotency key, that already exists: attach, or take its result now.
              if (!(await writes.addCaller(calleeId, caller))) {
                const finished = await this.attempt.reads.getInvocation(calleeId);
                if (finished) await writes.complete(this.meta.id, resultCompletion(finished, resultKey, now));
              }
            }
          },
        },
      );
    }
    const invocationId = Promise.resolve(calleeId);
    if (mode === 'send') return { invocationId };
    return Object.assign(new CompletionPromise(this.attempt, resultKey, decodeWith(options.output ?? spec.output)), { invocationId });
  }

  /** Whether an idempotency key's invocation has expired while its journal lives on (one keys-only read, one more if so). */
  async #expiredKey(id: string): Promise<boolean> {
    return (await this.attempt.reads.hasJournal(id)) && !(await this.attempt.reads.getInvocation(id));
  }

  /** A callee joins the caller's trace (W3C `traceparent`), unless the call names a parent of its own. */
  #withTraceparent(headers: Record<string, string> | undefined): Record<string, string> | undefined {
    const traceparent = this.#journal.trace.traceparent;
    if (traceparent === undefined || headers?.traceparent !== undefined) return headers;
    return { ...headers, traceparent };
  }

  /** Headers a call passes on, checked: string names and values; names lowercased. */
  #headers(call: string, headers: unknown): Record<string, string> | undefined {
    if (headers === undefined) return undefined;
    if (headers === null || typeof headers !== 'object')
      throw this.#misuse(call, `headers must be an object of strings, got ${show(headers)}`);
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value !== 'string') throw this.#misuse(call, `header '${name}' must be a string, got ${show(value)}`);
      out[name.toLowerCase()] = value;
    }
    return out;
  }

  // ---- other invocations -----------------------------------------------------

  cancel(invocationId: InvocationId): void {
    this.#otherInvocation('ctx.cancel', invocationId);
    const { index, recorded } = this.#journal.allocate('cancel-invocation', invocationId);
    if (recorded) return;
    void this.#journal.append(
      { index, kind: 'cancel-invocation', name: invocationId },
      {
        // The request first, the entry second; a repeat finds it in place.
        // Only into an unfinished invocation: a cancellation of an id nobody
        // started would lie in wait for whoever gets that id later.
        before: async (writes) => {
          const target = await this.attempt.reads.getInvocation(invocationId);
          if (target && target.status !== 'completed' && target.status !== 'failed')
            await writes.complete(invocationId, { key: CANCEL, at: this.deps.clock.now() });
        },
      },
    );
  }

  attach<T = unknown>(invocationId: InvocationId, serde: Serde<T> = json as Serde<T>): DurablePromise<T> {
    this.#otherInvocation('ctx.attach', invocationId);
    const { index, recorded } = this.#journal.allocate('attach', invocationId);
    const own = completionKey(index);
    this.attempt.waiting.noteCallee(own, invocationId);
    if (!recorded)
      void this.#journal.append(
        { index, kind: 'attach', name: invocationId },
        {
          // Listed as a caller first, then a look: a target that finished
          // before it could list this one hands its result over here; one
          // that finishes after has it delivered by the wake (its callers).
          before: async (writes) => {
            if (await writes.addCaller(invocationId, { invocationId: this.meta.id, key: own })) return;
            const target = await this.attempt.reads.getInvocation(invocationId);
            const now = this.deps.clock.now();
            if (target) await writes.complete(this.meta.id, resultCompletion(target, own, now));
            else {
              const failure = toFailure(
                new TerminalError(`ctx.attach: no invocation ${invocationId} (never started, or its result has expired)`, { code: 404 }),
              );
              await writes.complete(this.meta.id, { key: own, failure, at: now });
            }
          },
        },
      );
    return new CompletionPromise<T>(this.attempt, own, decodeWith(serde));
  }

  invocation(invocationId: InvocationId): InvocationReference {
    return {
      cancel: () => this.cancel(invocationId),
      attach: <T>(serde?: Serde<T>) => this.attach<T>(invocationId, serde),
      signal: (name: string) => this.signal(name),
    };
  }

  scope(scopeKey: string): never {
    throw this.#misuse(
      `ctx.scope('${String(scopeKey)}')`,
      "Restate's scoped calls (concurrency limits per scope) have no Dormant equivalent; make clients on ctx itself, and limit concurrency with a virtual object key",
    );
  }

  signal(name: string): never {
    throw this.#misuse(
      `ctx.signal('${String(name)}')`,
      "Restate's named signals have no Dormant equivalent; use an awakeable (ctx.awakeable(), completed by id) or, in a workflow, a durable promise (ctx.promise(name))",
    );
  }

  /** An invocation id given to `ctx.cancel` or `ctx.attach`: well formed, and not this invocation's own. */
  #otherInvocation(call: string, invocationId: unknown): void {
    if (typeof invocationId !== 'string' || !isInvocationId(invocationId))
      throw this.#misuse(call, `expected an invocation id (inv_…), got ${show(invocationId)}`);
    if (invocationId === this.meta.id) throw this.#misuse(call, 'an invocation cannot do this to itself');
  }

  // ---- combinators -----------------------------------------------------------

  all<const P extends readonly DurablePromise<unknown>[]>(promises: P): DurablePromise<{ -readonly [K in keyof P]: Awaited<P[K]> }> {
    return new Combinator(this.attempt, 'all', promises as unknown as Durable<unknown>[]);
  }

  race<const P extends readonly DurablePromise<unknown>[]>(promises: P): DurablePromise<Awaited<P[number]>> {
    return new Combinator(this.attempt, 'race', promises as unknown as Durable<unknown>[]);
  }

  any<const P extends readonly DurablePromise<unknown>[]>(promises: P): DurablePromise<Awaited<P[number]>> {
    return new Combinator(this.attempt, 'any', promises as unknown as Durable<unknown>[]);
  }

  allSettled<const P extends readonly DurablePromise<unknown>[]>(
    promises: P,
  ): DurablePromise<{ -readonly [K in keyof P]: PromiseSettledResult<Awaited<P[K]>> }> {
    return new Combinator(this.attempt, 'allSettled', promises as unknown as Durable<unknown>[]);
  }

  // ---- state -----------------------------------------------------------------

  #scope(): string {
    if (this.meta.kind === 'service' || this.meta.key === undefined) {
      throw new TerminalError(`${this.meta.service}.${this.meta.handler}: state belongs to objects and workflows, not services`, {
        code: 400,
      });
    }
    return stateScope(this.meta.service, this.meta.key);
  }

  #writable(op: string): string {
    const scope = this.#scope();
    if (this.shared)
      throw new TerminalError(
        `${this.meta.service}.${this.meta.handler}: ctx.${op} is not allowed in a shared handler (state is read-only there)`,
        { code: 400 },
      );
    return scope;
  }

  #loadState(): Promise<Map<string, string>> {
    const scope = this.#scope();
    this.#state ??= this.attempt.reads.readState(scope);
    return this.#state;
  }

  /**
   * Orders state writes by (lock grant, entry, attempt): a zombie of an
   * earlier call on the key, or a zombie attempt writing an entry a newer
   * attempt wrote too, cannot overwrite newer values. The entry comes before
   * the attempt: a newer attempt that re-runs an entry a zombie already
   * journaled must not roll back what the zombie's later entries wrote,
   * since replay never writes those again:
   *
   *   zombie (epoch 1):  set x=a (entry 0) ✓ J#0 ✓, set x=b (entry 1) ✓ J#1 ✓
   *   newer  (epoch 2):                        set x=a (entry 0) → J#0 lost
   *   (lock, epoch, entry) lets 0:2:0 beat 0:1:1 and leaves x=a under a
   *   journal that says x=b; (lock, entry, epoch) refuses it.
   *
   * (Found by the simulator, seed 233.)
   */
  #fence(index: number): string {
    const pad = (n: number) => String(n).padStart(12, '0');
    return `${pad(this.lockSeq)}:${pad(index)}:${pad(this.meta.epoch)}`;
  }

  /** A missing value reads as `null`, as in Restate. */
  async get<T>(name: string, serde: Serde<T> = json as Serde<T>): Promise<T | null> {
    this.#scope();
    this.#stateName('ctx.get', name);
    const { index, recorded } = this.#journal.allocate('get', name);
    if (recorded) return recorded.value === undefined ? null : serde.deserialize(recorded.value);
    await this.#journal.durable(); // earlier set/clear calls apply first
    const value = (await this.#loadState()).get(name);
    await this.#journal.append({ index, kind: 'get', name, value });
    return value === undefined ? null : serde.deserialize(value);
  }

  /** A state name must be a string (typed state keys are, at run time). */
  #stateName(call: string, name: unknown): void {
    if (typeof name !== 'string') throw this.#misuse(call, `the state name must be a string, got ${show(name)}`);
  }

  async stateKeys(): Promise<string[]> {
    this.#scope();
    const { index, recorded } = this.#journal.allocate('state-keys');
    if (recorded) return JSON.parse(recorded.value ?? '[]') as string[];
    await this.#journal.durable();
    const keys = [...(await this.#loadState()).keys()].sort();
    await this.#journal.append({ index, kind: 'state-keys', value: JSON.stringify(keys) });
    return keys;
  }

  set<T>(name: string, value: T, serde: Serde<T> = json as Serde<T>): void {
    const scope = this.#writable('set');
    this.#stateName('ctx.set', name);
    const text = this.#serialize(`ctx.set('${name}')`, serde, value);
    this.#write(scope, 'set', name, [[name, text]]);
  }

  clear(name: string): void {
    const scope = this.#writable('clear');
    this.#stateName('ctx.clear', name);
    this.#write(scope, 'clear', name, [[name, undefined]]);
  }

  clearAll(): void {
    const scope = this.#writable('clearAll');
    this.#write(scope, 'clear-all', undefined, 'all');
  }

  #write(
    scope: string,
    kind: 'set' | 'clear' | 'clear-all',
    name: string | undefined,
    changes: [string, string | undefined][] | 'all',
  ): void {
    const { index, recorded } = this.#journal.allocate(kind, name);
    if (recorded) return;
    const state = this.#loadState();
    void this.#journal.append(
      { index, kind, name },
      {
        // State first, entry second: a crash in between re-runs the write with
        // the same value and fence.
        before: async (writes) => {
          const current = await state;
          const changed = changes === 'all' ? [...current.keys()].map((k): [string, undefined] => [k, undefined]) : changes;
          for (const [k, v] of changed) {
            await writes.writeState(scope, k, v, this.#fence(index));
            if (v === undefined) current.delete(k);
            else current.set(k, v);
          }
        },
      },
    );
  }

  // ---- workflow promises -----------------------------------------------------

  promise<T = unknown>(name: string, serde: Serde<T> = json as Serde<T>): WorkflowPromise<T> {
    if (this.meta.kind !== 'workflow' || this.meta.key === undefined) {
      throw new TerminalError(`${this.meta.service}.${this.meta.handler}: durable promises belong to workflows`, { code: 400 });
    }
    if (typeof name !== 'string') throw this.#misuse('ctx.promise', `the promise name must be a string, got ${show(name)}`);
    const owner = workflowInvocationId(this.meta.service, this.meta.key);
    const key = promiseKey(name);
    const inRun = owner === this.meta.id;
    const decode = decodeWith(serde);
    const complete = async (
      kind: 'promise-resolve' | 'promise-reject',
      result: { value: string } | { failure: Failure },
    ): Promise<void> => {
      const { index, recorded } = this.#journal.allocate(kind, name);
      const entry: JournalEntry = recorded ?? { index, kind, name };
      if (!recorded) {
        await this.#journal.append(entry, {
          // Completion first, entry second. A crash in between replays into
          // a lost write, which must still read as won when the standing
          // completion is this entry's own (found by the simulator, seed 148):
          //
          //   approve: Put P#p ✓ ── crash ── retry: Put P#p ✗ (its own) → was 409
          before: async (writes) => {
            const by = `${this.meta.id}#${index}`;
            const { won, standing } = await writes.complete(owner, { key, at: this.deps.clock.now(), by, ...result });
            if (!won && standing.by !== by) {
              entry.failure = toFailure(
                new TerminalError(`durable promise '${name}' of workflow ${this.meta.service}/${this.meta.key} was already completed`, {
                  code: 409,
                }),
              );
            }
          },
        });
      }
      if (entry.failure) throw fromFailure(entry.failure);
    };
    return new NamedPromise<T>({
      // `run` waits on the promise itself (it is in its own partition);
      // a shared handler waits on a copy delivered to its own partition.
      get: () => (inRun ? new CompletionPromise<T>(this.attempt, key, decode) : this.#awaitPromise(owner, name, decode)),
      peek: async () => {
        const { index, recorded } = this.#journal.allocate('promise-peek', name);
        let entry = recorded;
        if (!entry) {
          const found = inRun ? this.attempt.completions.get(key) : await this.attempt.reads.getCompletion(owner, key);
          entry = {
            index,
            kind: 'promise-peek',
            name,
            value: found?.value ?? (found && !found.failure ? '' : undefined),
            failure: found?.failure,
          };
          await this.#journal.append(entry);
        }
        if (entry.failure) throw fromFailure(entry.failure);
        return entry.value === undefined ? undefined : serde.deserialize(entry.value);
      },
      resolve: (value?: T) => complete('promise-resolve', { value: this.#serialize(`ctx.promise('${name}').resolve`, serde, value as T) }),
      reject: (reason: string | Error) =>
        complete('promise-reject', {
          failure: toFailure(
            reason instanceof TerminalError ? reason : new TerminalError(typeof reason === 'string' ? reason : reason.message),
          ),
        }),
    });
  }

  /**
   * A shared workflow handler waits on the run's durable promise: it records
   * itself as a waiter beside the promise, then looks at the promise. The
   * promise's outcome reaches completion `C#<entry>` of this invocation,
   * which it awaits like any other: written here if the promise was already
   * complete, else by the wake rule when the promise's item lands (it hands
   * the outcome to every waiter). Whichever of the two lands second sees the
   * other (both reads are strongly consistent):
   *
   *   shared:    put waiter ── read P#name: absent ─────────────────────────── suspend on C#i
   *   resolver:                               put P#name ── record ── wake: waiters ▶ put C#i ▶ wake shared
   *
   *   shared:    put waiter ─────────────── read P#name: there ▶ put C#i itself
   *   resolver:             put P#name ── record ── wake: waiters ▶ put C#i ✗ (the same outcome, first writer wins)
   *
   * A crash before the entry re-runs all of it: the waiter is written once,
   * and `C#i` completes once.
   */
  #awaitPromise<T>(owner: string, name: string, decode: (c: Completion) => Outcome<T>): DurablePromise<T> {
    const { index, recorded } = this.#journal.allocate('promise-await', name);
    const own = completionKey(index);
    if (!recorded)
      void this.#journal.append(
        { index, kind: 'promise-await', name },
        {
          before: async (writes) => {
            await writes.addPromiseWaiter(owner, name, { invocationId: this.meta.id, key: own });
            const standing = await this.attempt.reads.getCompletion(owner, promiseKey(name));
            if (standing)
              await writes.complete(this.meta.id, {
                key: own,
                value: standing.value,
                failure: standing.failure,
                at: this.deps.clock.now(),
              });
          },
        },
      );
    return new CompletionPromise<T>(this.attempt, own, decode);
  }
}

/**
 * `ctx.promise(name)`: awaitable itself (as in Restate: `await ctx.promise(name)`
 * waits for it, once however often it is awaited), with `get`, `peek`,
 * `resolve` and `reject`.
 */
class NamedPromise<T> implements WorkflowPromise<T> {
  #awaited: DurablePromise<T> | undefined;
  constructor(private readonly ops: Pick<WorkflowPromise<T>, 'get' | 'peek' | 'resolve' | 'reject'>) {}

  get(): DurablePromise<T> {
    return this.ops.get();
  }
  peek(): Promise<T | undefined> {
    return this.ops.peek();
  }
  resolve(value?: T): Promise<void> {
    return this.ops.resolve(value);
  }
  reject(reason: string | Error): Promise<void> {
    return this.ops.reject(reason);
  }
  then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: any) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.#awaited ??= this.ops.get();
    return this.#awaited.then(onfulfilled, onrejected);
  }
  catch<R = never>(onrejected?: ((reason: any) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onrejected);
  }
  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onfinally);
  }
}
