/**
 * Invocations as the store holds them, built from plain values: the `meta`
 * of a new invocation (the ingress and the engine's calls both create one)
 * and a finished invocation's result as its caller's completion (the wake
 * rule delivers it; a caller that finds its callee already finished reads it
 * itself). Pure functions over store types, below the engine and the roles.
 */
import { LOCK_GRANTED, START, stateScope } from './keys.ts';
import { MAX_IDEMPOTENCY_KEY_BYTES, MAX_OBJECT_KEY_BYTES, checkKeyBytes } from './limits.ts';
import type { Completion, InvocationMeta } from './store.ts';

/**
 * The `meta` item of a new invocation. An exclusive object call is born
 * suspended on its key's lock; a delayed one on its start timer (the wake
 * rule schedules it: the insert is the outbox).
 *
 * An object or workflow key over {@link MAX_OBJECT_KEY_BYTES} or an
 * Idempotency-Key over {@link MAX_IDEMPOTENCY_KEY_BYTES} is refused here
 * (`KeyTooLongError`, code 400), before anything is written: its state
 * partition or lock could never be written, and a `meta` naming it would
 * fail every wake-up.
 *
 * @example
 * ```ts
 * newInvocationMeta({ id, service: 'greeter', handler: 'greet', kind: 'service', shared: false, input: '"Ada"', now: Date.now() }).status // 'pending'
 * ```
 */
export function newInvocationMeta(o: {
  id: string;
  service: string;
  handler: string;
  kind: InvocationMeta['kind'];
  shared: boolean;
  key?: string | undefined;
  input: string;
  now: number;
  delayMs?: number | undefined;
  idempotencyKey?: string | undefined;
  /** Headers the handler reads from `ctx.request().headers` (left out when none). */
  headers?: Record<string, string> | undefined;
  callers?: { invocationId: string; key: string }[] | undefined;
}): InvocationMeta {
  if (o.key !== undefined) checkKeyBytes(`${o.kind} key`, o.key, MAX_OBJECT_KEY_BYTES);
  if (o.idempotencyKey !== undefined) checkKeyBytes('Idempotency-Key', o.idempotencyKey, MAX_IDEMPOTENCY_KEY_BYTES);
  const lockScope = o.kind === 'object' && !o.shared ? stateScope(o.service, o.key!) : undefined;
  const delayed = o.delayMs !== undefined && o.delayMs > 0;
  const waitFor = delayed ? START : lockScope ? LOCK_GRANTED : undefined;
  return {
    id: o.id,
    service: o.service,
    handler: o.handler,
    kind: o.kind,
    key: o.key,
    status: waitFor ? 'suspended' : 'pending',
    epoch: 0,
    awaiting: waitFor ? [waitFor] : undefined,
    timers: delayed ? [{ key: START, at: o.now + o.delayMs! }] : undefined,
    lockScope,
    callers: o.callers,
    input: o.input,
    idempotencyKey: o.idempotencyKey,
    headers: o.headers && Object.keys(o.headers).length > 0 ? o.headers : undefined,
    createdAt: o.now,
    updatedAt: o.now,
  };
}

/**
 * A finished invocation's result as a completion for a caller.
 *
 * @example
 * ```ts
 * resultCompletion(meta, 'C#00000003', Date.now()) // { key: 'C#00000003', value: '"hi"', at: … }
 * ```
 */
export function resultCompletion(meta: InvocationMeta, key: string, at: number): Completion {
  return meta.status === 'failed'
    ? { key, failure: meta.failure ?? { name: 'TerminalError', message: 'failed', code: 500 }, at }
    : { key, value: meta.output ?? '', at };
}
