/**
 * The timer role: SQS batches from the timer, long-timer and recovery queues.
 *
 * - A **timer** due in more than 15 minutes rides the long-timer queue, and
 *   while it is not due it is parked there: hidden again for up to 11¾ hours
 *   (SQS allows 12 from the receive) and reported failed, so the same
 *   message comes back later. It is sent afresh every 4 days (SQS drops
 *   messages at 14, in the dead-letter queue too), or with 15-minute delays
 *   while too many are in flight. A 30-day sleep costs about 69 receives of
 *   8 messages. Short timers and recovery messages use the timer queue,
 *   which never parks, so a crowded long-timer queue cannot hold them up.
 *   A due timer writes its completion, and the stream wakes the invocation.
 * - A failed **asynchronous invoke** of a handler (Lambda's on-failure
 *   destination record, `requestPayload` = `{ invocationId, epoch }`) or a
 *   **recover** message re-reads `meta` and re-invokes what is runnable:
 *   pending, suspended with an awaited completion present, or running past
 *   its lease. This is the path that brings back crashed attempts
 *   (DESIGN.md, "Lost attempts"); without it the model finds lost wake-ups.
 * - A stream batch the wake gave up on (the event source mapping's
 *   on-failure record, `DDBStreamBatchInfo`) is read back from the stream and
 *   its records are woken again.
 *
 * Anything else is reported as failed, so it ends in the dead-letter queue.
 */
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { systemClock } from '../engine/clock.ts';
import { isInvocationId } from '../engine/ids.ts';
import { toItemChange } from '../store/dynamodb-stream.ts';
import type { Store } from '../store/store.ts';
import { invokePayload, nextHop, type TimerMessage, type WakeTarget } from './dispatch.ts';
import { wakeDirectly } from './direct-wake.ts';
import { forLog, logLine } from './log.ts';
import { isPoison, wakeOn, type WakeHandlerDeps } from './wake-handler.ts';

/**
 * What the timer role needs: the wake's dependencies (it re-wakes stream
 * batches) with the whole store, and a Streams client for reading those
 * batches back.
 *
 * @example
 * ```ts
 * const deps: TimerHandlerDeps = { store, dispatch, clock: systemClock, streams: new DynamoDBStreamsClient({}) };
 * ```
 */
export interface TimerHandlerDeps extends WakeHandlerDeps {
  store: Store;
  streams?: DynamoDBStreamsClient;
}

/**
 * The stream batch an event source mapping gave up on, as its on-failure
 * record names it.
 *
 * @example
 * ```ts
 * const b: StreamBatchInfo = { shardId: 'shardId-…', startSequenceNumber: '100', endSequenceNumber: '180', streamArn: 'arn:aws:dynamodb:…/stream/…' };
 * ```
 */
export interface StreamBatchInfo {
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  streamArn: string;
}

type Work =
  | { kind: 'timer'; invocationId: string; key: string; at: number; wake?: WakeTarget | undefined }
  | { kind: 'recover'; invocationId: string; at: number }
  | { kind: 'stream-batch'; batch: StreamBatchInfo };

/**
 * Reads a queue message: a timer, a recovery request (ours, or Lambda's
 * on-failure record of an asynchronous invoke), or a stream batch to re-wake.
 * Returns why it is none of these otherwise.
 *
 * @example
 * ```ts
 * parseMessage('{"type":"timer","invocationId":"inv_…","key":"C#00000004","at":1767225600000}')
 * ```
 */
export function parseMessage(body: string): Work | { kind: 'unknown'; reason: string } {
  let m: Record<string, any>;
  try {
    m = JSON.parse(body) as Record<string, any>;
  } catch {
    return { kind: 'unknown', reason: 'the body is not JSON' };
  }
  if (m === null || typeof m !== 'object') return { kind: 'unknown', reason: 'the body is not a JSON object' };
  if (m.type === 'timer') {
    if (!isInvocationId(String(m.invocationId)) || typeof m.key !== 'string' || !m.key.startsWith('C#') || !Number.isFinite(m.at)) {
      return { kind: 'unknown', reason: 'a timer message needs invocationId, key (C#…) and at (epoch ms)' };
    }
    // Messages of the previous release carry no wake target: their timer is woken by the stream alone.
    const wake =
      typeof m.service === 'string' && Number.isSafeInteger(m.epoch)
        ? { service: m.service, epoch: m.epoch as number, ...(typeof m.version === 'string' ? { version: m.version } : {}) }
        : undefined;
    return { kind: 'timer', invocationId: m.invocationId, key: m.key, at: m.at, wake };
  }
  if (m.type === 'recover') {
    if (!isInvocationId(String(m.invocationId))) return { kind: 'unknown', reason: 'a recover message needs an invocationId' };
    return { kind: 'recover', invocationId: m.invocationId, at: Number.isFinite(m.at) ? m.at : 0 };
  }
  if (m.requestContext && 'requestPayload' in m) {
    // Lambda's on-failure destination record of an asynchronous invoke.
    const payload = typeof m.requestPayload === 'string' ? safeJson(m.requestPayload) : m.requestPayload;
    const invocationId = String(payload?.invocationId);
    if (!isInvocationId(invocationId)) return { kind: 'unknown', reason: 'an on-failure record whose requestPayload names no invocation' };
    return { kind: 'recover', invocationId, at: 0 };
  }
  const batch = m.DDBStreamBatchInfo as Partial<StreamBatchInfo> | undefined;
  if (batch && typeof batch === 'object') {
    if (!batch.shardId || !batch.startSequenceNumber || !batch.endSequenceNumber || !batch.streamArn) {
      return { kind: 'unknown', reason: 'a DDBStreamBatchInfo record without shard, sequence range or stream' };
    }
    return { kind: 'stream-batch', batch: batch as StreamBatchInfo };
  }
  return { kind: 'unknown', reason: 'not a timer, recover, on-failure or stream-batch message' };
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Re-reads an invocation and brings it back if it is runnable: invokes it
 * when pending, when suspended with an awaited completion present, or when
 * running past its lease; re-schedules its timers when suspended on them
 * (duplicates are harmless: a completion is written once); checks again at
 * lease expiry when an attempt still owns it.
 *
 * @example
 * ```ts
 * await recover(deps, 'inv_…'); // 'invoked' | 'rescheduled' | 'later' | 'nothing'
 * ```
 */
export async function recover(deps: TimerHandlerDeps, invocationId: string): Promise<'invoked' | 'rescheduled' | 'later' | 'nothing'> {
  const meta = await deps.store.getInvocation(invocationId);
  if (!meta) return 'nothing';
  const invoke = async () => {
    await deps.dispatch.invoke(meta.service, invokePayload({ invocationId: meta.id, epoch: meta.epoch, version: meta.version }));
    return 'invoked' as const;
  };
  switch (meta.status) {
    case 'completed':
    case 'failed':
      return 'nothing';
    case 'pending':
      return invoke();
    case 'suspended': {
      const awaiting = meta.awaiting ?? [];
      if (awaiting.length > 0 && (await deps.store.existingCompletions(meta.id, awaiting)).length > 0) return invoke();
      for (const timer of meta.timers ?? [])
        await deps.dispatch.schedule(meta.id, timer, { service: meta.service, epoch: meta.epoch, version: meta.version });
      return meta.timers?.length ? 'rescheduled' : 'nothing';
    }
    case 'running': {
      const lease = meta.lease ?? 0;
      if (lease < deps.clock.now()) return invoke();
      // An attempt may still be alive: look again once its lease is over.
      await deps.dispatch.send({ type: 'recover', invocationId, at: lease + 1_000 });
      return 'later';
    }
  }
}

/**
 * Reads a stream batch back and wakes each of its records again, each on its
 * own: a record that fails does not keep the ones after it from waking
 * (DESIGN rule 11). A poison record (`isPoison`) is given up alone and
 * logged; if any other record failed, the whole message fails after the
 * rest were woken, so SQS tries the batch again (waking twice is harmless).
 *
 * @example
 * ```ts
 * await rewakeStreamBatch(deps, { shardId, startSequenceNumber, endSequenceNumber, streamArn });
 * ```
 */
export async function rewakeStreamBatch(deps: TimerHandlerDeps, batch: StreamBatchInfo): Promise<number> {
  if (!deps.streams) throw new Error('stream batch recovery needs a DynamoDB Streams client');
  const end = BigInt(batch.endSequenceNumber);
  let iterator = (
    await deps.streams.send(
      new GetShardIteratorCommand({
        StreamArn: batch.streamArn,
        ShardId: batch.shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        SequenceNumber: batch.startSequenceNumber,
      }),
    )
  ).ShardIterator;
  let woken = 0;
  const failed: { sequenceNumber: string; error: unknown }[] = [];
  const wake = async (record: StreamRecord): Promise<void> => {
    const change = toItemChange(record);
    if (!change) return;
    const sequence = record.dynamodb?.SequenceNumber ?? '?';
    try {
      await wakeOn(change, deps);
      woken++;
    } catch (error) {
      if (isPoison(error)) {
        logLine(deps.log, 'error', `timer: gave up stream record ${sequence} (${forLog(`${change.pk} ${change.sk}`, 120)}) alone`, error);
      } else {
        failed.push({ sequenceNumber: sequence, error });
      }
    }
  };
  // An open shard can answer empty pages before the records we know exist.
  pages: for (let empty = 0; iterator && empty < 5;) {
    const page = await deps.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 100 }));
    const records = page.Records ?? [];
    if (records.length === 0) empty++;
    for (const record of records) {
      if (BigInt(record.dynamodb?.SequenceNumber ?? '0') > end) break pages;
      await wake(record);
    }
    iterator = page.NextShardIterator;
  }
  if (failed.length > 0) {
    throw new Error(
      `${failed.length} record(s) of the batch failed (first: ${failed[0]!.sequenceNumber}: ${String((failed[0]!.error as Error)?.message ?? failed[0]!.error)}); the others were woken`,
      { cause: failed[0]!.error },
    );
  }
  return woken;
}

/** A message put back to come round again later: a failure to SQS, not an error. */
const PARKED = 'parked';

async function work(deps: TimerHandlerDeps, record: SQSRecord): Promise<void | typeof PARKED> {
  const message = parseMessage(record.body);
  const now = deps.clock.now();
  switch (message.kind) {
    case 'timer':
    case 'recover': {
      if (message.at > now) return later(deps, record, message);
      if (message.kind === 'recover') {
        await recover(deps, message.invocationId);
        return;
      }
      // First writer wins; a timer that lost to an earlier hop's duplicate is fine.
      const written = await deps.store.complete(message.invocationId, { key: message.key, at: now });
      // The winner wakes the handler at once; the completion's stream record is the backstop.
      if (written.won) await wakeDirectly(deps.dispatch, message.invocationId, message.wake, deps.log);
      return;
    }
    case 'stream-batch':
      await rewakeStreamBatch(deps, message.batch);
      return;
    case 'unknown':
      throw new Error(`unreadable message: ${message.reason}`);
  }
}

/**
 * A message that is not due: park it (the same message comes back after up
 * to 11¾ hours) or, when it is too old to park or parking is not possible,
 * send it again with the next delay.
 */
async function later(
  deps: TimerHandlerDeps,
  record: SQSRecord,
  message: Extract<Work, { kind: 'timer' | 'recover' }>,
): Promise<void | typeof PARKED> {
  // Message age is SQS's own time, so the system clock, not the (maybe test) clock.
  const ageMs = Math.max(0, systemClock.now() - Number(record.attributes?.SentTimestamp ?? systemClock.now()));
  const receives = Number(record.attributes?.ApproximateReceiveCount ?? 1);
  const hop = nextHop({ at: message.at, now: deps.clock.now(), ageMs, receives, maxSeconds: deps.dispatch.maxHopSeconds });
  if (hop.kind === 'park' && deps.dispatch.park && record.receiptHandle && (await deps.dispatch.park(record, hop.seconds))) {
    logLine(
      deps.log,
      'info',
      `timer: ${message.kind} of ${message.invocationId} is due ${new Date(message.at).toISOString()}; parked for ${hop.seconds} s`,
    );
    return PARKED;
  }
  const again: TimerMessage =
    message.kind === 'timer'
      ? { type: 'timer', invocationId: message.invocationId, key: message.key, at: message.at, ...message.wake }
      : { type: 'recover', invocationId: message.invocationId, at: message.at };
  await deps.dispatch.send(again);
}

/**
 * Builds a timer handler over ready dependencies, or over a function that
 * builds them on first use. Messages are independent: each failure is
 * reported alone and retried by SQS (then dead-lettered).
 *
 * @example
 * ```ts
 * const timer = createTimerHandler({ store, dispatch, clock: systemClock });
 * const { batchItemFailures } = await timer({ Records: records });
 * ```
 */
export function createTimerHandler(
  deps: TimerHandlerDeps | (() => Promise<TimerHandlerDeps>),
): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const ready = typeof deps === 'function' ? deps : async () => deps;
  return async (event) => {
    const d = await ready();
    const failed = await Promise.all(
      (event.Records ?? []).map(async (record) => {
        try {
          return (await work(d, record)) === PARKED ? { itemIdentifier: record.messageId } : undefined;
        } catch (error) {
          logLine(d.log, 'error', `timer: message ${record.messageId} failed`, error);
          return { itemIdentifier: record.messageId };
        }
      }),
    );
    return { batchItemFailures: failed.filter((f) => f !== undefined) };
  };
}
