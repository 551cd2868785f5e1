/**
 * The wake rule: from one changed item (a DynamoDB stream record), decide
 * whether an invocation became runnable, with at most one read.
 *
 * Two writes race: the handler's suspension (`meta` turns suspended, naming
 * what it awaits) and a completion (`C#`/`P#` inserted). Whichever lands
 * second sees the first:
 *
 *   handler:  load ─── suspend(awaiting C#2) ─────────────▶ record A
 *   resolver:        complete(C#2) ──▶ record B
 *   record B: reads meta → still running → nothing
 *   record A: queries C#2 → exists → invoke            (no lost wake-up)
 *
 * and in the other order record B finds meta suspended awaiting C#2. Both
 * may fire; the epoch in the invoke makes the second a no-op.
 */
import type { InvocationMeta, ItemChange, Store, Timer } from '../store/store.ts';
import { META, invocationIdOf, isCompletionSk } from '../store/keys.ts';
import { itemToMeta } from '../store/items.ts';

/**
 * What the wake role does about a change.
 *
 * @example
 * ```ts
 * { type: 'invoke', invocationId: 'inv_…', epoch: 3, service: 'review' }
 * { type: 'schedule', invocationId: 'inv_…', timer: { key: 'C#00000004', at: 1767225600000 } }
 * ```
 */
export type WakeAction =
  | { type: 'invoke'; invocationId: string; epoch: number; service: string }
  | { type: 'schedule'; invocationId: string; timer: Timer };

/** The reads the wake rule may make (one per change at most). */
export type WakeReader = Pick<Store, 'getInvocation' | 'existingCompletions'>;

/**
 * Decides what a changed item means for its invocation.
 *
 * @example
 * ```ts
 * for (const action of await decideWake(change, store)) await act(action);
 * ```
 */
export async function decideWake(change: ItemChange, reader: WakeReader): Promise<WakeAction[]> {
  const invocationId = invocationIdOf(change.pk);
  if (!invocationId || change.eventName === 'REMOVE' || !change.newItem) return [];

  if (change.sk === META) {
    const meta = itemToMeta(change.newItem);
    const old = change.oldItem && itemToMeta(change.oldItem);
    const entered = !old || old.status !== meta.status || old.epoch !== meta.epoch;
    if (!entered) return [];
    if (meta.status === 'pending') return [invoke(meta)];
    if (meta.status === 'suspended') return onSuspended(meta, reader);
    return [];
  }

  if (isCompletionSk(change.sk) && change.eventName === 'INSERT') {
    const meta = await reader.getInvocation(invocationId);
    if (meta?.status === 'suspended' && meta.awaiting?.includes(change.sk)) return [invoke(meta)];
  }
  return [];
}

async function onSuspended(meta: InvocationMeta, reader: WakeReader): Promise<WakeAction[]> {
  const awaiting = meta.awaiting ?? [];
  if (awaiting.length === 0) return [];
  const present = await reader.existingCompletions(meta.id, awaiting);
  if (present.length > 0) return [invoke(meta)];
  // The suspension is the outbox for its timers: scheduling them here means a
  // handler that crashes right after suspending cannot lose one.
  return (meta.timers ?? []).map((timer) => ({ type: 'schedule' as const, invocationId: meta.id, timer }));
}

function invoke(meta: InvocationMeta): WakeAction {
  return { type: 'invoke', invocationId: meta.id, epoch: meta.epoch, service: meta.service };
}
