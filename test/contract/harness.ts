/**
 * Test plumbing shared by the contract, race and unit-count suites: a fresh
 * DynamoDB table on the run-wide DynamoDB Local, a reader of its real stream
 * (through the Streams client, as the local plane's poller reads it), and a
 * capacity ledger fed by the store's `onCapacity`.
 */
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import {
  DynamoDbStore,
  ensureTable,
  type CapacityUnits,
  type DynamoDbStoreOptions,
  type StoreOperation,
} from '../../src/store/dynamodb.ts';
import { toItemChange } from '../../src/store/dynamodb-stream.ts';
import type { ItemChange } from '../../src/store/store.ts';
import { dynamoDbConfig, uniqueTableName } from '../support/dynamodb-local.ts';

/**
 * Every item change of a table's stream, read from its start and kept in
 * arrival order.
 *
 * @example
 * ```ts
 * const feed = new StreamFeed(streams, streamArn);
 * const changes = await feed.until((all) => all.some((c) => c.sk === 'C#00000001'));
 * ```
 */
export class StreamFeed {
  readonly #streams: DynamoDBStreamsClient;
  readonly #arn: string;
  readonly #iterators = new Map<string, string | undefined>();
  readonly #changes: ItemChange[] = [];

  constructor(streams: DynamoDBStreamsClient, streamArn: string) {
    this.#streams = streams;
    this.#arn = streamArn;
  }

  /** Reads whatever the stream holds now that was not read yet. */
  async poll(): Promise<void> {
    const { StreamDescription } = await this.#streams.send(new DescribeStreamCommand({ StreamArn: this.#arn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      const id = shard.ShardId!;
      if (this.#iterators.has(id)) continue;
      // A child shard is read once its parent is exhausted, so one key's records stay in order.
      const parent = shard.ParentShardId;
      if (parent && this.#iterators.has(parent) && this.#iterators.get(parent) !== undefined) continue;
      const { ShardIterator } = await this.#streams.send(
        new GetShardIteratorCommand({ StreamArn: this.#arn, ShardId: id, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      this.#iterators.set(id, ShardIterator);
    }
    for (const [id, iterator] of this.#iterators) {
      if (iterator === undefined) continue;
      const { Records, NextShardIterator } = await this.#streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      for (const record of Records ?? []) {
        const change = toItemChange(record);
        if (change) this.#changes.push(change);
      }
      this.#iterators.set(id, NextShardIterator);
    }
  }

  /** Polls until `done(changes)` holds (default 10 s), then returns every change so far. */
  async until(done: (changes: ItemChange[]) => boolean, timeoutMs = 10_000): Promise<ItemChange[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.poll();
      if (done(this.#changes)) return [...this.#changes];
      if (Date.now() > deadline)
        throw new Error(`the stream did not deliver the expected records within ${timeoutMs} ms (${this.#changes.length} read)`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Changes of one partition, waiting until `done` holds for them. */
  async of(pk: string, done: (changes: ItemChange[]) => boolean = () => true, timeoutMs?: number): Promise<ItemChange[]> {
    const mine = (all: ItemChange[]) => all.filter((c) => c.pk === pk);
    return mine(await this.until((all) => done(mine(all)), timeoutMs));
  }
}

/**
 * Capacity reports, in order.
 *
 * @example
 * ```ts
 * const ledger = new CapacityLedger();
 * const store = new DynamoDbStore({ client, tableName, onCapacity: ledger.record });
 * ledger.total().write // 1
 * ```
 */
export class CapacityLedger {
  readonly entries: { operation: StoreOperation; units: CapacityUnits }[] = [];

  readonly record = (operation: StoreOperation, units: CapacityUnits): void => {
    this.entries.push({ operation, units });
  };

  /** Forgets what was recorded; returns what it held. */
  take(): { operation: StoreOperation; units: CapacityUnits }[] {
    return this.entries.splice(0);
  }

  total(entries = this.entries): CapacityUnits {
    return entries.reduce((sum, e) => ({ read: sum.read + e.units.read, write: sum.write + e.units.write }), { read: 0, write: 0 });
  }
}

/**
 * A fresh table with its stream, a store on it, and clean-up.
 *
 * @example
 * ```ts
 * const table = await openTable('contract');
 * await table.store.append(id, entry);
 * await table.close();
 * ```
 */
export interface LocalTable {
  client: DynamoDBClient;
  tableName: string;
  store: DynamoDbStore;
  feed: StreamFeed;
  ledger: CapacityLedger;
  /** Another store on the same table (for example with its own capacity listener). */
  storeWith(options: Partial<DynamoDbStoreOptions>): DynamoDbStore;
  close(): Promise<void>;
}

/** Creates a uniquely named table (through `ensureTable`) on the run-wide DynamoDB Local. */
export async function openTable(prefix: string, options: Partial<DynamoDbStoreOptions> = {}): Promise<LocalTable> {
  const client = new DynamoDBClient(dynamoDbConfig());
  const streams = new DynamoDBStreamsClient(dynamoDbConfig());
  const tableName = uniqueTableName(prefix);
  const { streamArn } = await ensureTable(client, tableName);
  if (!streamArn) throw new Error(`table ${tableName} has no stream`);
  const ledger = new CapacityLedger();
  const storeWith = (more: Partial<DynamoDbStoreOptions>) =>
    new DynamoDbStore({ client, tableName, onCapacity: ledger.record, ...options, ...more });
  return {
    client,
    tableName,
    store: storeWith({}),
    feed: new StreamFeed(streams, streamArn),
    ledger,
    storeWith,
    close: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
      client.destroy();
      streams.destroy();
    },
  };
}

/** An item image without the store-managed `ttl` of journal entries and completions. */
export function withoutTtl(item: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!item) return item;
  const { ttl: _ttl, ...rest } = item;
  return rest;
}
