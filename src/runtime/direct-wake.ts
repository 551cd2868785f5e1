/**
 * The direct wake: a writer that has just won a completion an invocation
 * awaits (the ingress on a resolve, reject, cancel or start; the timer on a
 * due timer) invokes the handler itself, through the same `Dispatch.invoke`
 * the wake uses, instead of waiting for the table's stream to deliver the
 * record (hundreds of milliseconds on AWS).
 *
 * The stream stays the backstop (DESIGN.md, "Why the stream stays"): the
 * completion is already written, so a writer that dies before this invoke,
 * or an invoke that fails, loses nothing; the wake reads `meta` on the
 * completion's record and invokes whatever is still suspended. When both
 * fire, the second finds the epoch moved and costs one failed acquire.
 *
 *   resolver: read meta (suspended@3, awaiting C#2) ── put C#2 ✓ ── invoke @3 ──▶ handler acquires @3→4
 *   stream:                                              record C#2 ─────────────▶ wake reads meta: running → nothing
 */
import type { InvocationMeta } from '../store/store.ts';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { systemClock } from '../engine/clock.ts';
import { awsDispatch, invokePayload, type Dispatch, type WakeTarget } from './dispatch.ts';
import { logLine, type Log } from './log.ts';

/**
 * Whether `meta`, as read before the write, awaits completion `key` in a
 * suspension the writer may end: then the writer wakes it at that epoch.
 *
 * @example
 * ```ts
 * directWakeTarget(meta, 'C#00000002') // { service: 'review', epoch: 3 } or undefined
 * ```
 */
export function directWakeTarget(meta: InvocationMeta, key: string): WakeTarget | undefined {
  return meta.status === 'suspended' && (meta.awaiting ?? []).includes(key)
    ? { service: meta.service, epoch: meta.epoch, version: meta.version }
    : undefined;
}

/**
 * Invokes the handler of `invocationId` at `target.epoch`, asynchronously.
 * Never throws: a failed direct wake is logged and left to the stream.
 *
 * @example
 * ```ts
 * if (written.won) await wakeDirectly(deps.dispatch, id, directWakeTarget(meta, key), deps.log);
 * ```
 */
export async function wakeDirectly(
  dispatch: Pick<Dispatch, 'invoke'> | undefined,
  invocationId: string,
  target: WakeTarget | undefined,
  log?: Log,
): Promise<void> {
  if (!dispatch || !target) return;
  try {
    await dispatch.invoke(target.service, invokePayload({ invocationId, epoch: target.epoch, version: target.version }));
  } catch (error) {
    logLine(log, 'warn', `direct wake of ${invocationId}@${target.epoch} failed; the table's stream wakes it instead`, error);
  }
}

/**
 * The ingress's dispatch for the direct wake (invokes only, no queue), or
 * `undefined` where it is off (`DORMANT_DIRECT_WAKE`) or no routes are known:
 * then the stream wakes alone.
 *
 * @example
 * ```ts
 * const dispatch = directWakeDispatch(loadConfig('ingress'), () => new LambdaClient({}));
 * ```
 */
export function directWakeDispatch(
  config: { directWake: boolean; routes: Readonly<Record<string, string>> },
  lambda: () => LambdaClient,
): Dispatch | undefined {
  if (!config.directWake || Object.keys(config.routes).length === 0) return undefined;
  return awsDispatch({ lambda: lambda(), routes: config.routes, clock: systemClock });
}
