/**
 * The DynamoDB stream event source mapping, locally: polls the table's
 * stream and calls a handler with Lambda's `DynamoDBStreamEvent`, the way
 * Lambda does for the wake function:
 *
 * - shards in order (a child only after its parent is drained), records of a
 *   shard in order, at most `batchSize` per call;
 * - the wake's event filters, as the CDK mapping has them;
 * - `batchItemFailures`: records before the first reported one are done, the
 *   rest is retried from it;
 * - a thrown error bisects the batch; after `retryAttempts` failed retries
 *   the batch goes to `onFailure` (an on-failure record naming its shard and
 *   sequence range) and the shard moves on;
 * - a checkpoint per shard, kept in a file when given, so a restarted plane
 *   resumes where it stopped instead of replaying the stream;
 * - expired iterators, trimmed data and shards that vanished (DynamoDB Local
 *   restarted) mean "describe the stream again".
 *
 * It never depends on TTL deletions (REMOVE records are delivered, and the
 * wake ignores them).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
  type Shard,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { LOCAL_REGION } from './dynamodb-local.ts';
import { WAKE_FILTER_PATTERNS } from '../runtime/wake-filter.ts';
import type { ChangeFeed } from '../store/changes.ts';
import { toItemChange } from '../store/dynamodb-stream.ts';
import type { ItemChange } from '../store/store.ts';
import { matchesFilter } from './event-filter.ts';

/**
 * Lambda's on-failure record for a stream batch it gave up on.
 *
 * @example
 * ```ts
 * record.DDBStreamBatchInfo.startSequenceNumber // '000000000000000000042'
 * ```
 */
export interface StreamFailureRecord {
  version: '1.0';
  timestamp: string;
  requestContext: { requestId: string; functionArn: string; condition: 'RetryAttemptsExhausted'; approximateInvokeCount: number };
  responseContext: { statusCode: 200; executedVersion: '$LATEST'; functionError: 'Unhandled' };
  DDBStreamBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
}

/**
 * Options of {@link startStreamPoller}.
 *
 * @example
 * ```ts
 * startStreamPoller({ dynamodb, streams, tableName: 'dormant', handler: wake, checkpointFile: '.dormant/stream-checkpoints.json' });
 * ```
 */
export interface StreamPollerOptions {
  dynamodb: DynamoDBClient;
  streams: DynamoDBStreamsClient;
  tableName: string;
  handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;
  /** ARN the failure records name as the function. */
  functionArn?: string;
  batchSize?: number;
  /** Pause between polls of a shard that had nothing new. Default 100 ms. */
  idleMs?: number;
  /** Retries of a failing batch before it goes to `onFailure`. Default 5 (as the CDK mapping). */
  retryAttempts?: number;
  /** Lambda event filter patterns; a record matching none is skipped. Default {@link WAKE_FILTER_PATTERNS}. */
  filters?: readonly Record<string, unknown>[];
  /** Where a batch goes after its retries (the recovery queue). Without it, the batch is dropped with a log line. */
  onFailure?: (record: StreamFailureRecord) => Promise<void>;
  /** Checkpoints per shard are kept in this file (a restart resumes from it). */
  checkpointFile?: string;
  log?: (level: 'info' | 'warn' | 'error', message: string, details?: unknown) => void;
}

/**
 * A running stream poller. It is also the table's {@link ChangeFeed}: every
 * record it reads, before the wake's filters and whatever the handler makes
 * of it, is reported as an item change, in shard order (at least once, as
 * the stream: a restarted plane re-reads from its checkpoint).
 *
 * @example
 * ```ts
 * const poller = startStreamPoller(options);
 * poller.onChange((change) => console.log(decodeChange(change).kind));
 * await poller.stop();
 * ```
 */
export interface StreamPoller extends ChangeFeed {
  /** Records delivered to the handler so far (after filtering). */
  delivered(): number;
  /** Stops polling; resolves once the current batch is done. */
  stop(): Promise<void>;
}

interface ShardState {
  shardId: string;
  parentShardId: string | undefined;
  iterator: string | undefined;
  checkpoint: string | undefined;
  /** Closed and read to its end. */
  drained: boolean;
}

const DESCRIBE_EVERY_MS = 5_000;

/**
 * Starts polling the table's stream.
 *
 * @example
 * ```ts
 * const poller = startStreamPoller({ dynamodb, streams, tableName, handler: createWakeHandler(deps) });
 * ```
 */
export function startStreamPoller(options: StreamPollerOptions): StreamPoller {
  const log = options.log ?? (() => undefined);
  const batchSize = options.batchSize ?? 100;
  const idleMs = options.idleMs ?? 100;
  const retryAttempts = options.retryAttempts ?? 5;
  const filters = options.filters ?? WAKE_FILTER_PATTERNS;
  const fnArn = options.functionArn ?? `arn:aws:lambda:${LOCAL_REGION}:000000000000:function:dormant-wake`;
  const abort = new AbortController();
  const shards = new Map<string, ShardState>();
  let streamArn: string | undefined;
  let describedAt = 0;
  let delivered = 0;
  let saved: Record<string, string> | undefined;
  const listeners = new Set<(change: ItemChange) => void>();

  const loadCheckpoints = async (): Promise<Record<string, string>> => {
    if (!options.checkpointFile) return {};
    try {
      const file = JSON.parse(await readFile(options.checkpointFile, 'utf8')) as { streamArn?: string; shards?: Record<string, string> };
      return file.streamArn === streamArn ? (file.shards ?? {}) : {};
    } catch {
      return {};
    }
  };
  const saveCheckpoints = async (): Promise<void> => {
    if (!options.checkpointFile) return;
    const data = Object.fromEntries([...shards.values()].filter((s) => s.checkpoint).map((s) => [s.shardId, s.checkpoint!]));
    await mkdir(dirname(options.checkpointFile), { recursive: true });
    const temporary = `${options.checkpointFile}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify({ streamArn, shards: data }, null, 2));
    await rename(temporary, options.checkpointFile);
  };

  const describe = async (): Promise<void> => {
    const table = await options.dynamodb.send(new DescribeTableCommand({ TableName: options.tableName }), { abortSignal: abort.signal });
    const arn = table.Table?.LatestStreamArn;
    if (!arn) throw new Error(`table ${options.tableName} has no stream; the wake needs one`);
    if (arn !== streamArn) {
      streamArn = arn;
      shards.clear();
      saved = await loadCheckpoints();
    }
    const found: Shard[] = [];
    let start: string | undefined;
    do {
      const page = await options.streams.send(new DescribeStreamCommand({ StreamArn: arn, ExclusiveStartShardId: start }), {
        abortSignal: abort.signal,
      });
      found.push(...(page.StreamDescription?.Shards ?? []));
      start = page.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    const ids = new Set(found.map((s) => s.ShardId!));
    for (const id of shards.keys()) if (!ids.has(id)) shards.delete(id);
    for (const shard of found) {
      if (shards.has(shard.ShardId!)) continue;
      shards.set(shard.ShardId!, {
        shardId: shard.ShardId!,
        parentShardId: shard.ParentShardId,
        iterator: undefined,
        checkpoint: saved?.[shard.ShardId!],
        drained: false,
      });
    }
    describedAt = Date.now();
  };

  const ready = (shard: ShardState): boolean => {
    if (shard.drained) return false;
    const parent = shard.parentShardId ? shards.get(shard.parentShardId) : undefined;
    return !parent || parent.drained;
  };

  /** Reads one page of a shard and delivers it; true if it had records. */
  const pollShard = async (shard: ShardState): Promise<boolean> => {
    if (!shard.iterator) {
      const { ShardIterator } = await options.streams.send(
        new GetShardIteratorCommand(
          shard.checkpoint
            ? { StreamArn: streamArn, ShardId: shard.shardId, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: shard.checkpoint }
            : { StreamArn: streamArn, ShardId: shard.shardId, ShardIteratorType: 'TRIM_HORIZON' },
        ),
        { abortSignal: abort.signal },
      );
      shard.iterator = ShardIterator;
      if (!shard.iterator) {
        shard.drained = true;
        return false;
      }
    }
    const page = await options.streams.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: batchSize }), {
      abortSignal: abort.signal,
    });
    const records = page.Records ?? [];
    report(records);
    if (records.length > 0) {
      await deliver(shard, records);
      await saveCheckpoints();
    }
    shard.iterator = page.NextShardIterator;
    if (!shard.iterator) shard.drained = true;
    return records.length > 0;
  };

  /** Tells the feed's listeners what was read; a listener that throws is logged, and the poller carries on. */
  const report = (records: StreamRecord[]): void => {
    if (listeners.size === 0) return;
    for (const record of records) {
      const change = toItemChange(record);
      if (!change) continue;
      for (const listener of listeners) {
        try {
          listener(change);
        } catch (error) {
          log('warn', 'stream: a change listener failed', error);
        }
      }
    }
  };

  const wanted = (record: DynamoDBRecord): boolean => filters.some((pattern) => matchesFilter(pattern, record));

  /** Delivers a page with Lambda's retry, bisect and partial-failure rules; moves the checkpoint. */
  const deliver = async (shard: ShardState, page: StreamRecord[]): Promise<void> => {
    const records = page.map((r) => toLambdaRecord(r, streamArn!)).filter(wanted);
    const lastOfPage = page.at(-1)!.dynamodb!.SequenceNumber!;
    // Work list of batches still to deliver, in shard order.
    const pending: { records: DynamoDBRecord[]; failures: number }[] = records.length > 0 ? [{ records, failures: 0 }] : [];
    while (pending.length > 0 && !abort.signal.aborted) {
      const batch = pending[0]!;
      let failedFrom: number | undefined;
      let problem: unknown;
      try {
        const result = await options.handler({ Records: batch.records });
        const reported = result?.batchItemFailures ?? [];
        if (reported.length > 0) {
          const ids = new Set(reported.map((f) => f.itemIdentifier));
          failedFrom = batch.records.findIndex((r) => ids.has(r.dynamodb?.SequenceNumber ?? ''));
          // An identifier that names no record of the batch fails the whole batch, as in Lambda.
          if (failedFrom < 0) failedFrom = 0;
          problem = `batch item failure at ${batch.records[failedFrom]!.dynamodb?.SequenceNumber}`;
        }
      } catch (error) {
        failedFrom = 0;
        problem = error;
      }
      if (failedFrom === undefined) {
        delivered += batch.records.length;
        shard.checkpoint = batch.records.at(-1)!.dynamodb!.SequenceNumber!;
        pending.shift();
        continue;
      }
      if (failedFrom > 0) {
        delivered += failedFrom;
        shard.checkpoint = batch.records[failedFrom - 1]!.dynamodb!.SequenceNumber!;
      }
      const rest = batch.records.slice(failedFrom);
      const thrown = failedFrom === 0 && problem !== undefined && typeof problem !== 'string';
      if (thrown && rest.length > 1) {
        // Bisect on a thrown error; as in Lambda, a split does not count as a
        // retry, so a poison record ends alone and its neighbours still pass.
        const half = Math.ceil(rest.length / 2);
        pending.splice(
          0,
          1,
          { records: rest.slice(0, half), failures: batch.failures },
          { records: rest.slice(half), failures: batch.failures },
        );
        log('warn', `stream: batch of ${rest.length} failed; bisecting`, problem);
        continue;
      }
      const failures = batch.failures + 1;
      if (failures > retryAttempts) {
        await giveUp(shard, rest, failures, problem);
        shard.checkpoint = rest.at(-1)!.dynamodb!.SequenceNumber!;
        pending.shift();
        continue;
      }
      log('warn', `stream: batch of ${rest.length} failed (attempt ${failures}); retrying`, problem);
      pending[0] = { records: rest, failures };
      await sleep(Math.min(5_000, 100 * 2 ** failures), undefined, { signal: abort.signal }).catch(() => undefined);
    }
    // Records the filter dropped count as processed.
    if (!abort.signal.aborted && pending.length === 0) shard.checkpoint = lastOfPage;
  };

  const giveUp = async (shard: ShardState, records: DynamoDBRecord[], attempts: number, problem: unknown): Promise<void> => {
    const first = records[0]!.dynamodb!;
    const last = records.at(-1)!.dynamodb!;
    const record: StreamFailureRecord = {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId: randomUUID(),
        functionArn: fnArn,
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: attempts,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      DDBStreamBatchInfo: {
        shardId: shard.shardId,
        startSequenceNumber: first.SequenceNumber!,
        endSequenceNumber: last.SequenceNumber!,
        approximateArrivalOfFirstRecord: new Date((first.ApproximateCreationDateTime ?? Date.now() / 1000) * 1000).toISOString(),
        approximateArrivalOfLastRecord: new Date((last.ApproximateCreationDateTime ?? Date.now() / 1000) * 1000).toISOString(),
        batchSize: records.length,
        streamArn: streamArn!,
      },
    };
    log(
      'error',
      `stream: gave up on ${records.length} record(s) after ${attempts} attempts; ${options.onFailure ? 'sent to the on-failure destination' : 'dropped'}`,
      problem,
    );
    await options.onFailure?.(record);
  };

  const loop = (async () => {
    while (!abort.signal.aborted) {
      let busy = false;
      try {
        if (!streamArn || Date.now() - describedAt > DESCRIBE_EVERY_MS) await describe();
        for (const shard of [...shards.values()]) {
          if (abort.signal.aborted) break;
          if (!ready(shard)) continue;
          try {
            if (await pollShard(shard)) busy = true;
          } catch (error) {
            if (abort.signal.aborted) break;
            const name = (error as { name?: string }).name ?? '';
            const message = (error as { message?: string }).message ?? '';
            if (name === 'ExpiredIteratorException') {
              shard.iterator = undefined;
            } else if (name === 'TrimmedDataAccessException') {
              log('warn', `stream: shard ${shard.shardId} was trimmed past its checkpoint; reading from its oldest record`);
              shard.iterator = undefined;
              shard.checkpoint = undefined;
              describedAt = 0;
            } else if (name === 'ResourceNotFoundException' || /Invalid ShardId/i.test(message)) {
              shards.delete(shard.shardId);
              describedAt = 0;
            } else {
              throw error;
            }
          }
        }
      } catch (error) {
        if (abort.signal.aborted) break;
        log('warn', 'stream: polling failed; describing the stream again', error);
        describedAt = 0;
        await sleep(1_000, undefined, { signal: abort.signal }).catch(() => undefined);
      }
      if (!busy) await sleep(idleMs, undefined, { signal: abort.signal }).catch(() => undefined);
    }
  })();

  return {
    delivered: () => delivered,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      abort.abort();
      await loop;
    },
  };
}

/** A Streams API record as Lambda's event source mapping delivers it. */
function toLambdaRecord(record: StreamRecord, streamArn: string): DynamoDBRecord {
  const data = record.dynamodb ?? {};
  const created = data.ApproximateCreationDateTime;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion ?? LOCAL_REGION,
    eventSourceARN: streamArn,
    dynamodb: JSON.parse(
      JSON.stringify(
        { ...data, ApproximateCreationDateTime: created ? Math.floor(new Date(created).getTime() / 1000) : undefined },
        // Binary attributes travel base64-encoded in Lambda events.
        (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value),
      ),
    ) as DynamoDBRecord['dynamodb'],
  };
}
