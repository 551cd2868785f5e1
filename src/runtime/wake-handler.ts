/**
 * The wake role: DynamoDB stream batches in, handler invocations and timer
 * messages out. The decisions are the wake rule's (`decideWake`, ./wake.ts);
 * this module feeds it records in shard order and reports the first record
 * that failed, so Lambda retries from there (bisecting, then sending what
 * still fails to the recovery queue).
 *
 * A poison record, one whose wake fails the same way on every try (a key or
 * item the table refuses: {@link isPoison}), is given up alone at once and
 * logged: the records after it still wake (DESIGN rule 11). Any other
 * failure may pass (throttling, a network error), so it keeps its place.
 */
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { Clock } from '../engine/clock.ts';
import { toItemChange } from '../store/dynamodb-stream.ts';
import type { ItemChange } from '../store/store.ts';
import { invokePayload, type Dispatch } from './dispatch.ts';
import { StoreError } from '../store/dynamodb.ts';
import { ItemRefusedError } from '../store/limits.ts';
import { forLog, logLine, type Log } from './log.ts';
import { decideWake, executeWake, type WakeEffects, type WakeReader } from './wake.ts';

/**
 * What the wake role needs.
 *
 * @example
 * ```ts
 * const deps: WakeHandlerDeps = { store, dispatch, clock: systemClock };
 * ```
 */
export interface WakeHandlerDeps {
  /** Reads for the decisions, writes for object-lock steps. */
  store: WakeReader & WakeEffects['store'];
  dispatch: Dispatch;
  clock: Clock;
  log?: Log;
}

/**
 * Decides and carries out what one changed item means: invoke a handler,
 * schedule a timer, take a lock step. Idempotent, so a retried record is
 * harmless.
 *
 * @example
 * ```ts
 * const change = toItemChange(record);
 * if (change) await wakeOn(change, deps);
 * ```
 */
export async function wakeOn(change: ItemChange, deps: WakeHandlerDeps): Promise<void> {
  const actions = await decideWake(change, deps.store);
  if (actions.length === 0) return;
  await executeWake(actions, {
    store: deps.store,
    now: deps.clock.now(),
    invoke: (a) => deps.dispatch.invoke(a.service, invokePayload(a)),
    schedule: (a) => deps.dispatch.schedule(a.invocationId, a.timer, a.wake),
  });
}

/**
 * Builds a wake handler over ready dependencies, or over a function that
 * builds them on first use.
 *
 * @example
 * ```ts
 * const wake = createWakeHandler({ store, dispatch, clock: systemClock });
 * const { batchItemFailures } = await wake({ Records: records });
 * ```
 */
export function createWakeHandler(
  deps: WakeHandlerDeps | (() => Promise<WakeHandlerDeps>),
): (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> {
  const ready = typeof deps === 'function' ? deps : async () => deps;
  return async (event) => {
    const d = await ready();
    for (const record of event.Records ?? []) {
      try {
        const change = toItemChange(record);
        if (change) await wakeOn(change, d);
      } catch (error) {
        if (isPoison(error)) {
          // Every retry would fail the same way, and hold up the shard behind it.
          logLine(d.log, 'error', `wake: gave up record ${sequenceNumber(record)} (${record.eventName} ${keysOf(record)}) alone`, error);
          continue;
        }
        // Records of a shard are ordered: report this one and stop, and
        // Lambda resumes the shard from it (records before it are done).
        logLine(d.log, 'error', `wake: record ${sequenceNumber(record)} (${record.eventName} ${keysOf(record)}) failed`, error);
        return { batchItemFailures: [{ itemIdentifier: sequenceNumber(record) }] };
      }
    }
    return { batchItemFailures: [] };
  };
}

/** A record's place in its shard, as Lambda's `batchItemFailures` names it. */
export function sequenceNumber(record: DynamoDBRecord): string {
  return record.dynamodb?.SequenceNumber ?? record.eventID ?? '';
}

/**
 * Whether waking on a record failed for good: the same record fails the
 * same way on every try, so retrying it only holds up the records behind
 * it. A key or item the table refuses (`ItemRefusedError`, DynamoDB's
 * `ValidationException`) is; throttling, timeouts, a missing function or
 * permission may pass, and are not.
 *
 * @example
 * ```ts
 * isPoison(new KeyTooLongError('partition key', 3009, 2048)) // true
 * isPoison(new StoreError('getInvocation', 'inv_…', 'dormant', throttled)) // false
 * ```
 */
export function isPoison(error: unknown): boolean {
  if (error instanceof ItemRefusedError) return true;
  const cause = error instanceof StoreError ? (error.cause as { name?: unknown } | undefined) : undefined;
  return cause?.name === 'ValidationException';
}

function keysOf(record: DynamoDBRecord): string {
  const keys = record.dynamodb?.Keys;
  return keys ? forLog(`${keys.pk?.S ?? '?'} ${keys.sk?.S ?? '?'}`, 120) : '?';
}
