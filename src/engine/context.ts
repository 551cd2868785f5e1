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
  DurablePromise,
  GenericCall,
  Rand,
  Request,
  RunOptions,
  SendClient,
  SendOptions,
  WorkflowContext,
  WorkflowPromise,
} from '../api/context.ts';
import type { Definition, HandlersOf } from '../api/definitions.ts';
import { TerminalError, ensureError, fromFailure, isTerminal, toFailure, type Failure } from '../api/errors.ts';
import { json, type Serde } from '../api/serde.ts';
import type { InvocationMeta, JournalEntry } from '../store/store.ts';
import { completionKey, promiseKey, stateScope } from '../store/keys.ts';
import { newInvocationMeta, resultCompletion } from '../store/invocation.ts';
import type { Attempt, AttemptDeps } from './attempt.ts';
import { derivedInvocationId, shortId, workflowInvocationId } from './ids.ts';
import { recordedOutcome, type Journal } from './journal.ts';
import { Combinator, CompletionPromise, HeartbeatAwakeablePromise, StepPromise, type Durable, type Outcome } from './promises.ts';
import { seededRand } from './rand.ts';
import { backoffMs, mayRetry, stepRetryKey } from './retry.ts';

function decodeWith<T>(serde: Serde<T>) {
  return (c: { value?: string | undefined; failure?: Failure | undefined }): Outcome<T> => recordedOutcome(c, (t) => serde.deserialize(t));
}

/** What the context needs of the deployment besides its attempt; never the store. */
export type ContextDeps = Pick<AttemptDeps, 'clock' | 'signer' | 'services' | 'apiUrl' | 'maxInAttemptBackoffMs'>;

/**
 * Implements every context interface; which methods a handler may use is
 * decided by its kind (service, object, workflow) and whether it is shared.
 */
export class DurableContext implements WorkflowContext {
  readonly rand: Rand;
  readonly date = { now: () => this.#now() };
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
  }

  get key(): string {
    if (this.meta.key === undefined)
      throw new TerminalError(
        `${this.meta.service}.${this.meta.handler}: a service handler has no key (keys belong to objects and workflows)`,
      );
    return this.meta.key;
  }

  request(): Request {
    return { id: this.meta.id, attempt: this.meta.epoch };
  }

  // ---- steps -----------------------------------------------------------------

  run<T>(name: string, fn: () => T | Promise<T>, options: RunOptions<T> = {}): DurablePromise<T> {
    const serde = options.serde ?? (json as Serde<T>);
    const decode = decodeWith(serde);
    const { index, recorded } = this.#journal.allocate('run', name);
    if (recorded) return new StepPromise(this.attempt, decode(recorded));
    // If the attempt ends meanwhile (lost write, suspension elsewhere), `durable`
    // and `append` never settle, nor does the step promise: the handler must
    // not see a result that is not journaled.
    const outcome = this.attempt.waiting.inFlight(async (): Promise<Outcome<T>> => {
      // A step never starts before earlier entries are durable.
      await this.#journal.durable();
      const result = await this.#execute(index, name, fn, options);
      const entry: JournalEntry =
        'failure' in result
          ? { index, kind: 'run', name, failure: result.failure }
          : { index, kind: 'run', name, value: serde.serialize(result.value) };
      return decode(await this.#journal.append(entry));
    });
    return new StepPromise(this.attempt, outcome);
  }

  /**
   * Runs a step body with its retry policy. Short backoffs sleep in the
   * attempt; a long one suspends the invocation on a timer whose key records
   * the attempt count and start time (`C#t<index>.<attempt>.<startedAt>`),
   * so the count survives across Lambda invocations at no extra write.
   */
  async #execute<T>(
    index: number,
    name: string,
    fn: () => T | Promise<T>,
    options: RunOptions<T>,
  ): Promise<{ value: T } | { failure: Failure }> {
    const policy = options.retry ?? {};
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
            failure: toFailure(new TerminalError(`step '${name}' failed after ${attempt} attempt(s): ${last.message}`, { cause: last })),
          };
        }
        const delay = backoffMs(policy, attempt);
        if (delay > (this.deps.maxInAttemptBackoffMs ?? 1_000)) {
          const key = stepRetryKey({ entry: index, attempt, startedAt });
          await this.attempt.waiting.suspendOnTimer({ key, at: clock.now() + delay }, toFailure(last), `step '${name}' (entry ${index})`);
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

  awakeable<T = unknown>(options: { serde?: Serde<T>; heartbeatTimeoutMs?: number } = {}): Awakeable<T> {
    const { heartbeatTimeoutMs } = options;
    if (heartbeatTimeoutMs !== undefined && (!Number.isFinite(heartbeatTimeoutMs) || heartbeatTimeoutMs <= 0)) {
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
    const decode = decodeWith(options.serde ?? (json as Serde<T>));
    const promise = heartbeat
      ? new HeartbeatAwakeablePromise<T>(this.attempt, completionKey(index), decode, heartbeat.since, heartbeat.timeoutMs)
      : new CompletionPromise<T>(this.attempt, completionKey(index), decode, undefined, true);
    const api = this.deps.apiUrl;
    return api ? { id, promise, url: `${api.replace(/\/+$/, '')}/restate/awakeables/${id}/resolve` } : { id, promise };
  }

  resolveAwakeable<T>(id: string, value?: T, options: { serde?: Serde<T> } = {}): void {
    const text = (options.serde ?? (json as Serde<T>)).serialize(value as T);
    this.#completeAwakeable('resolve-awakeable', id, { value: text });
  }

  rejectAwakeable(id: string, reason: string): void {
    this.#completeAwakeable('reject-awakeable', id, { failure: toFailure(new TerminalError(reason)) });
  }

  #completeAwakeable(kind: 'resolve-awakeable' | 'reject-awakeable', id: string, result: { value: string } | { failure: Failure }): void {
    const { index, recorded } = this.#journal.allocate(kind, id);
    if (recorded) return;
    const verified = this.deps.signer.verifyAwakeableId(id);
    const method = kind === 'resolve-awakeable' ? 'resolveAwakeable' : 'rejectAwakeable';
    if (!verified.ok && verified.problem === 'unknown_key') {
      // Minted under a secret this function has not read yet (a rotation reached another function first): retry after a refresh.
      void this.deps.signer.refresh();
      throw new Error(`ctx.${method}: awakeable id ${shortId(id)} names a signing key this function does not know yet; retrying`);
    }
    if (!verified.ok) throw new TerminalError(`ctx.${method}: awakeable id is ${verified.problem}: ${shortId(id)}`, { code: 400 });
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

  sleep(ms: number): DurablePromise<void> {
    if (!Number.isFinite(ms) || ms < 0)
      throw new TerminalError(`ctx.sleep(${ms}): the duration must be a non-negative number of milliseconds`, { code: 400 });
    const { index, recorded } = this.#journal.allocate('sleep');
    const at = recorded?.at ?? this.deps.clock.now() + ms;
    if (!recorded) void this.#journal.append({ index, kind: 'sleep', at });
    return new CompletionPromise<void>(this.attempt, completionKey(index), () => ({ ok: true, value: undefined }), at);
  }

  // ---- calls -----------------------------------------------------------------

  serviceClient<D extends Definition<'service', any>>(definition: D): Client<HandlersOf<D>> {
    return this.#client(definition, undefined, 'call') as Client<HandlersOf<D>>;
  }

  objectClient<D extends Definition<'object', any>>(definition: D, key: string): Client<HandlersOf<D>> {
    return this.#client(definition, key, 'call') as Client<HandlersOf<D>>;
  }

  workflowClient<D extends Definition<'workflow', any>>(definition: D, key: string): Client<HandlersOf<D>> {
    return this.#client(definition, key, 'call') as Client<HandlersOf<D>>;
  }

  serviceSendClient<D extends Definition<'service', any>>(definition: D, options?: SendOptions): SendClient<HandlersOf<D>> {
    return this.#client(definition, undefined, 'send', options) as SendClient<HandlersOf<D>>;
  }

  objectSendClient<D extends Definition<'object', any>>(definition: D, key: string, options?: SendOptions): SendClient<HandlersOf<D>> {
    return this.#client(definition, key, 'send', options) as SendClient<HandlersOf<D>>;
  }

  workflowSendClient<D extends Definition<'workflow', any>>(definition: D, key: string, options?: SendOptions): SendClient<HandlersOf<D>> {
    return this.#client(definition, key, 'send', options) as SendClient<HandlersOf<D>>;
  }

  genericCall<O = unknown>(call: GenericCall): DurablePromise<O> {
    const definition = this.#hosted(call.service);
    return this.#client(definition, call.key, 'call')[call.handler]!(call.input) as DurablePromise<O>;
  }

  genericSend(call: GenericCall & SendOptions): void {
    const definition = this.#hosted(call.service);
    this.#client(definition, call.key, 'send', call)[call.handler]!(call.input);
  }

  #hosted(service: string): Definition {
    const definition = this.deps.services.get(service);
    if (!definition)
      throw new TerminalError(
        `genericCall: no service '${service}' in this deployment; call it through a typed client made from its definition`,
        { code: 404 },
      );
    return definition;
  }

  #client(
    definition: Definition,
    key: string | undefined,
    mode: 'call' | 'send',
    options: SendOptions = {},
  ): Record<string, (input?: unknown) => unknown> {
    if (definition.kind !== 'service' && (key === undefined || key === ''))
      throw new TerminalError(`calling ${definition.kind} '${definition.name}' needs a key`, { code: 400 });
    return new Proxy(
      {},
      {
        get: (_target, handler) => {
          if (typeof handler !== 'string') return undefined;
          const spec = definition.handlers[handler];
          if (!spec) throw new TerminalError(`${definition.kind} '${definition.name}' has no handler '${handler}'`, { code: 404 });
          return (input?: unknown) => this.#call(definition, handler, key, input, mode, options.delayMs);
        },
      },
    );
  }

  /**
   * Starts a callee. Its id is derived from (caller, entry), so a replay or a
   * retried attempt finds the same callee instead of starting another. The
   * callee's result comes back as completion `C#<entry>` (the wake rule
   * delivers it when the callee's `meta` turns finished).
   */
  #call(
    definition: Definition,
    handler: string,
    key: string | undefined,
    input: unknown,
    mode: 'call' | 'send',
    delayMs?: number,
  ): DurablePromise<unknown> | undefined {
    const spec = definition.handlers[handler]!;
    const name = `${definition.name}.${handler}`;
    const { index, recorded } = this.#journal.allocate(mode, name);
    const resultKey = completionKey(index);
    if (recorded) {
      if (mode === 'call' && recorded.value) this.attempt.waiting.noteCallee(resultKey, recorded.value);
    } else {
      const text = spec.input.serialize(input);
      const calleeId =
        definition.kind === 'workflow' && handler === 'run'
          ? workflowInvocationId(definition.name, key!)
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
              callers: mode === 'call' ? [caller] : undefined,
            });
            const created = await writes.createInvocation(meta);
            if (
              !created.created &&
              mode === 'call' &&
              !(created.existing.callers ?? []).some((c) => c.invocationId === caller.invocationId && c.key === caller.key)
            ) {
              // A workflow run that already exists: attach, or take its result now.
              if (!(await writes.addCaller(calleeId, caller))) {
                const finished = await this.attempt.reads.getInvocation(calleeId);
                if (finished) await writes.complete(this.meta.id, resultCompletion(finished, resultKey, now));
              }
            }
          },
        },
      );
    }
    if (mode === 'send') return undefined;
    return new CompletionPromise(this.attempt, resultKey, decodeWith(spec.output));
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

  async get<T>(name: string, serde: Serde<T> = json as Serde<T>): Promise<T | undefined> {
    this.#scope();
    const { index, recorded } = this.#journal.allocate('get', name);
    if (recorded) return recorded.value === undefined ? undefined : serde.deserialize(recorded.value);
    await this.#journal.durable(); // earlier set/clear calls apply first
    const value = (await this.#loadState()).get(name);
    await this.#journal.append({ index, kind: 'get', name, value });
    return value === undefined ? undefined : serde.deserialize(value);
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
    const text = serde.serialize(value);
    this.#write(scope, 'set', name, [[name, text]]);
  }

  clear(name: string): void {
    const scope = this.#writable('clear');
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
    const owner = workflowInvocationId(this.meta.service, this.meta.key);
    const key = promiseKey(name);
    const inRun = owner === this.meta.id;
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
    return {
      get: () => {
        if (!inRun)
          throw new TerminalError(
            `durable promise '${name}': get() is available in the workflow's run handler; shared handlers use peek()`,
            { code: 400 },
          );
        return new CompletionPromise<T>(this.attempt, key, decodeWith(serde));
      },
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
      resolve: (value?: T) => complete('promise-resolve', { value: serde.serialize(value as T) }),
      reject: (reason: string) => complete('promise-reject', { failure: toFailure(new TerminalError(reason)) }),
    };
  }
}
