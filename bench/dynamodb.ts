/**
 * DynamoDB Local for the benchmark: one process on a free port, a fresh
 * table per measurement, every request's capacity (as the store reports it
 * and as DynamoDB Local returned it), and a reader of the table's real
 * stream through the DynamoDB Streams API.
 */
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient, PutItemCommand, type ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { startDynamoDbLocal, type DynamoDbLocal } from '../src/local/dynamodb-local.ts';
import { passesWakeFilter } from '../src/local/event-filter.ts';
import { DynamoDbStore, ensureTable, type CapacityUnits, type StoreOperation } from '../src/store/dynamodb.ts';
import { toItemChange } from '../src/store/dynamodb-stream.ts';
import type { ItemChange } from '../src/store/store.ts';
import { percentile } from './report.ts';

/**
 * One store request: the units DynamoDB (Local) reported through the
 * store's `onCapacity`, and what AWS would bill for it on demand.
 */
export interface Charge {
  operation: StoreOperation;
  units: CapacityUnits;
  billed: CapacityUnits;
}

/**
 * Capacity reports of the store, in order.
 *
 * @example
 * ```ts
 * ledger.take();
 * await resolveAwakeable(ingress, id, '"ok"');
 * CapacityLedger.total(ledger.take()) // { read: 1, write: 1 }
 * ```
 */
export class CapacityLedger {
  readonly entries: Charge[] = [];

  constructor(
    /** The on-demand bill of the request just answered (from {@link RawCapacity}); the reported units when absent. */
    private readonly billedOfLast: () => CapacityUnits | undefined = () => undefined,
  ) {}

  readonly record = (operation: StoreOperation, units: CapacityUnits): void => {
    const billed = this.billedOfLast() ?? units;
    // A lost condition is not reported by DynamoDB; the store charges it by the item it lost to.
    this.entries.push({
      operation,
      units,
      billed: { read: Math.max(billed.read, units.read), write: Math.max(billed.write, units.write) },
    });
  };

  /** Forgets what was recorded; returns what it held. */
  take(): Charge[] {
    return this.entries.splice(0);
  }

  static total(entries: { units: CapacityUnits }[]): CapacityUnits {
    return entries.reduce((s, e) => ({ read: s.read + e.units.read, write: s.write + e.units.write }), { read: 0, write: 0 });
  }
}

/**
 * What DynamoDB Local itself answered, per command: how many requests, how
 * many carried a `ConsumedCapacity`, and the units it reported.
 */
export class RawCapacity {
  readonly byCommand = new Map<string, { requests: number; reported: number; units: number; billed: number; failed: number }>();
  /** The on-demand bill of each table's requests not yet claimed by its ledger, oldest first. */
  readonly #unclaimed = new Map<string, CapacityUnits[]>();

  note(command: string, input: Record<string, unknown>, consumed: ConsumedCapacity | ConsumedCapacity[] | undefined, failed = false): void {
    const row = this.byCommand.get(command) ?? { requests: 0, reported: 0, units: 0, billed: 0, failed: 0 };
    row.requests++;
    if (failed) row.failed++;
    const list = consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed];
    if (list.length > 0) row.reported++;
    let units = 0;
    for (const c of list) units += c.CapacityUnits ?? (c.ReadCapacityUnits ?? 0) + (c.WriteCapacityUnits ?? 0);
    row.units += units;
    const billed = billedUnits(command, input, units);
    row.billed += billed.read + billed.write;
    this.byCommand.set(command, row);
    const table = tableOf(input);
    if (table && (billed.read > 0 || billed.write > 0)) {
      const queue = this.#unclaimed.get(table) ?? [];
      queue.push(billed);
      this.#unclaimed.set(table, queue);
    }
  }

  /** The bill of the oldest request on `table` not claimed yet (requests on one table are sequential in the round trips). */
  claim(table: string): CapacityUnits | undefined {
    return this.#unclaimed.get(table)?.shift();
  }
}

const READ_COMMANDS = new Set(['GetItemCommand', 'QueryCommand', 'BatchGetItemCommand', 'ScanCommand']);
const WRITE_COMMANDS = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand']);

/**
 * What AWS bills a request on demand, from what DynamoDB (Local) reported:
 * every request at least one unit of its kind, and a BatchGetItem at least
 * one read unit per key (each key is read as a GetItem, found or not).
 * DynamoDB Local reports 0 for a Query or BatchGetItem that found nothing.
 */
function billedUnits(command: string, input: Record<string, unknown>, reported: number): CapacityUnits {
  if (WRITE_COMMANDS.has(command)) return { read: 0, write: Math.max(1, reported) };
  if (!READ_COMMANDS.has(command)) return { read: 0, write: 0 };
  if (command === 'BatchGetItemCommand') {
    const requested = Object.values((input.RequestItems ?? {}) as Record<string, { Keys?: unknown[] }>).reduce(
      (n, r) => n + (r.Keys?.length ?? 0),
      0,
    );
    return { read: Math.max(requested, reported), write: 0 };
  }
  return { read: Math.max(1, reported), write: 0 };
}

function tableOf(input: Record<string, unknown>): string | undefined {
  if (typeof input.TableName === 'string') return input.TableName;
  const items = input.RequestItems as Record<string, unknown> | undefined;
  return items ? Object.keys(items)[0] : undefined;
}

/**
 * A running DynamoDB Local with its clients.
 *
 * @example
 * ```ts
 * const db = await startBenchDynamoDb();
 * const table = await db.table('units');
 * await db.stop();
 * ```
 */
export interface BenchDynamoDb {
  local: DynamoDbLocal;
  /** Counts every request's capacity; stores on it report to their table's ledger. */
  client: DynamoDBClient;
  /** A client nobody counts, for the benchmark's own look-ups. */
  uncounted: DynamoDBClient;
  streams: DynamoDBStreamsClient;
  raw: RawCapacity;
  table(prefix: string): Promise<BenchTable>;
  stop(): Promise<void>;
}

/**
 * A fresh table with its stream, a store on it reporting to a ledger, and
 * clean-up.
 */
export interface BenchTable {
  tableName: string;
  store: DynamoDbStore;
  ledger: CapacityLedger;
  stream: StreamReader;
  drop(): Promise<void>;
}

/**
 * Starts DynamoDB Local in memory on a free port (it needs Java 17).
 *
 * @example
 * ```ts
 * const db = await startBenchDynamoDb();
 * ```
 */
export async function startBenchDynamoDb(): Promise<BenchDynamoDb> {
  const local = await startDynamoDbLocal({ inMemory: true });
  const client = new DynamoDBClient(local.clientConfig);
  const uncounted = new DynamoDBClient(local.clientConfig);
  const streams = new DynamoDBStreamsClient(local.clientConfig);
  const raw = new RawCapacity();
  // Sees every answer as the SDK deserialized it, so the table can say what
  // DynamoDB Local reported and what the store derived.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        const out = await next(args);
        raw.note(
          context.commandName ?? '?',
          args.input as Record<string, unknown>,
          (out.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] }).ConsumedCapacity,
        );
        return out;
      } catch (error) {
        raw.note(context.commandName ?? '?', args.input as Record<string, unknown>, undefined, true);
        throw error;
      }
    },
    { step: 'initialize', name: 'benchCapacity' },
  );
  return {
    local,
    client,
    uncounted,
    streams,
    raw,
    table: async (prefix) => {
      const tableName = `${prefix}-${randomUUID().slice(0, 8)}`;
      const { streamArn } = await ensureTable(client, tableName);
      if (!streamArn) throw new Error(`table ${tableName} has no stream`);
      const ledger = new CapacityLedger(() => raw.claim(tableName));
      return {
        tableName,
        store: new DynamoDbStore({ client, tableName, onCapacity: ledger.record }),
        ledger,
        stream: new StreamReader(streams, streamArn),
        drop: async () => {
          await client.send(new DeleteTableCommand({ TableName: tableName }));
        },
      };
    },
    stop: async () => {
      client.destroy();
      uncounted.destroy();
      streams.destroy();
      await local.stop();
    },
  };
}

/**
 * A record read from the stream: the change it describes, and whether the
 * wake's event filter lets it through to the wake Lambda.
 */
export interface ReadRecord {
  change: ItemChange;
  toWake: boolean;
}

/**
 * Reads a table's stream from its start, shard by shard, in order.
 *
 * @example
 * ```ts
 * const records = await reader.until((all) => all.some((r) => r.change.sk === 'C#00000000'));
 * ```
 */
export class StreamReader {
  readonly #iterators = new Map<string, string | undefined>();
  readonly records: ReadRecord[] = [];

  constructor(
    private readonly streams: DynamoDBStreamsClient,
    private readonly streamArn: string,
  ) {}

  async poll(): Promise<void> {
    const { StreamDescription } = await this.streams.send(new DescribeStreamCommand({ StreamArn: this.streamArn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      const id = shard.ShardId!;
      if (this.#iterators.has(id)) continue;
      const parent = shard.ParentShardId;
      if (parent && this.#iterators.get(parent) !== undefined) continue; // the parent first, so a key's records stay in order
      const { ShardIterator } = await this.streams.send(
        new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: id, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      this.#iterators.set(id, ShardIterator);
    }
    for (const [id, iterator] of this.#iterators) {
      if (iterator === undefined) continue;
      const { Records, NextShardIterator } = await this.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      for (const record of Records ?? []) this.#add(record);
      this.#iterators.set(id, NextShardIterator);
    }
  }

  #add(record: StreamRecord): void {
    const change = toItemChange(record);
    if (!change) return;
    this.records.push({ change, toWake: passesWakeFilter(change) });
  }

  /** Polls until `done` holds for the records of partition `pk` (default 10 s). */
  async until(pk: string, done: (records: ReadRecord[]) => boolean, timeoutMs = 10_000): Promise<ReadRecord[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.poll();
      const mine = this.records.filter((r) => r.change.pk === pk);
      if (done(mine)) return mine;
      if (Date.now() > deadline)
        throw new Error(`the stream did not deliver the expected records of ${pk} within ${timeoutMs} ms (${mine.length} read)`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/**
 * How many strongly consistent GetItem requests per second DynamoDB Local
 * answers on this machine with `concurrency` in flight: the ceiling under
 * the local plane's throughput.
 *
 * @example
 * ```ts
 * const rate = await probeRequestRate(db, 10, 2); // requests per second
 * ```
 */
export async function probeRequestRate(db: BenchDynamoDb, concurrency: number, seconds: number): Promise<number> {
  const table = await db.table('probe');
  try {
    const store = new DynamoDbStore({ client: db.uncounted, tableName: table.tableName });
    const id = 'inv_AAAAAAAAAAAAAAAAAAAAAA';
    await store.createInvocation({
      id,
      service: 'probe',
      handler: 'probe',
      kind: 'service',
      status: 'pending',
      epoch: 0,
      input: '',
      createdAt: Date.now(),
      updatedAt: Date.now(),
    });
    const t0 = performance.now();
    let answered = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() - t0 < seconds * 1000) {
          await store.getInvocation(id);
          answered++;
        }
      }),
    );
    return answered / ((performance.now() - t0) / 1000);
  } finally {
    await table.drop().catch(() => undefined);
  }
}

/**
 * The warm latency of one PutItem on DynamoDB Local, one at a time (after
 * a warm-up), in milliseconds: the unit the plane's resume latency is held
 * against.
 *
 * @example
 * ```ts
 * const { p50 } = await probePutLatency(db, 200);
 * ```
 */
export async function probePutLatency(db: BenchDynamoDb, puts: number): Promise<{ p50: number; p99: number }> {
  const table = await db.table('put-probe');
  try {
    const times: number[] = [];
    for (let i = -20; i < puts; i++) {
      const t0 = performance.now();
      await db.uncounted.send(
        new PutItemCommand({
          TableName: table.tableName,
          Item: { pk: { S: 'inv_probe' }, sk: { S: `J#${String(i + 20).padStart(8, '0')}` }, v: { S: 'x'.repeat(100) } },
        }),
      );
      if (i >= 0) times.push(performance.now() - t0);
    }
    return { p50: percentile(times, 50), p99: percentile(times, 99) };
  } finally {
    await table.drop().catch(() => undefined);
  }
}
