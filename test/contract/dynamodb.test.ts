/**
 * The store contract on DynamoDB Local, its change feed read from the table's
 * real stream; then what only the DynamoDB store has: capacity reports,
 * TTLs, the table's shape, errors that name the operation, and stream
 * records from Lambda's event shape.
 */
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newInvocationId } from '../../src/engine/ids.ts';
import { DEFAULT_JOURNAL_TTL_SECONDS, DynamoDbStore, StoreError, ensureTable, tableDefinition } from '../../src/store/dynamodb.ts';
import { toItemChange } from '../../src/store/dynamodb-stream.ts';
import { completionKey, invocationPk, journalSk } from '../../src/store/keys.ts';
import { dynamoDbConfig, uniqueTableName } from '../support/dynamodb-local.ts';
import { openTable, type LocalTable } from './harness.ts';
import { pendingMeta, storeContract } from './store-contract.ts';

storeContract('DynamoDbStore', async () => {
  const table = await openTable('contract');
  return {
    store: table.store,
    changes: (pk, done) => table.feed.of(pk, done),
    propertyRuns: 15,
    close: () => table.close(),
  };
});

describe('DynamoDbStore', () => {
  let table: LocalTable;
  beforeAll(async () => {
    table = await openTable('dynamodb-store');
  });
  afterAll(async () => {
    await table?.close();
  });

  it('reports the units of every request: 1 write per small write, 1 read per small read, per operation', async () => {
    const { store, ledger } = table;
    const meta = pendingMeta();
    ledger.take();

    await store.createInvocation(meta);
    await store.acquire(meta.id, { seenEpoch: 0, now: 1, leaseMs: 1000 });
    await store.append(meta.id, { index: 0, kind: 'run', name: 'r', value: '"' + 'x'.repeat(100) + '"' });
    await store.load(meta.id);
    await store.complete(meta.id, { key: completionKey(1), value: '"v"', at: 1 });
    await store.existingCompletions(meta.id, [completionKey(1)]);
    await store.getInvocation(meta.id);

    expect(ledger.take()).toEqual([
      // 1 on the table + 1 on the list index, written once; no later update of meta touches the index.
      { operation: 'createInvocation', units: { read: 0, write: 2 } },
      { operation: 'acquire', units: { read: 0, write: 1 } },
      { operation: 'append', units: { read: 0, write: 1 } },
      { operation: 'load', units: { read: 1, write: 0 } },
      { operation: 'complete', units: { read: 0, write: 1 } },
      { operation: 'existingCompletions', units: { read: 1, write: 0 } },
      { operation: 'getInvocation', units: { read: 1, write: 0 } },
    ]);
  });

  it('reports a lost condition at the minimum DynamoDB charges for it', async () => {
    const { store, ledger } = table;
    const id = newInvocationId();
    await store.append(id, { index: 0, kind: 'run', name: 'r', value: '1' });
    ledger.take();

    await store.append(id, { index: 0, kind: 'run', name: 'r', value: '2' });

    expect(ledger.take()).toEqual([{ operation: 'append', units: { read: 0, write: 1 } }]);
  });

  it('a lost create or complete costs one request: the standing item comes back with the failure, no second read', async () => {
    const { store, ledger } = table;
    const meta = pendingMeta();
    await store.createInvocation(meta);
    await store.complete(meta.id, { key: completionKey(1), value: '"first"', at: 1 });
    ledger.take();

    const create = await store.createInvocation({ ...meta, input: '"again"' });
    const complete = await store.complete(meta.id, { key: completionKey(1), value: '"second"', at: 2 });

    expect(create).toMatchObject({ created: false, existing: { input: meta.input } });
    expect(complete).toMatchObject({ won: false, existing: { value: '"first"' } });
    expect(ledger.take().map((e) => e.operation)).toEqual(['createInvocation', 'complete']);
  });

  it('gives journal entries and completions an expiry of journalTtlSeconds after they are written', async () => {
    const store = table.storeWith({ journalTtlSeconds: 3600 });
    const id = newInvocationId();
    const before = Math.floor(Date.now() / 1000);

    await store.append(id, { index: 0, kind: 'now', value: '1' });
    await store.complete(id, { key: completionKey(1), at: Date.UTC(2026, 0, 1) });

    const entry = await rawItem(invocationPk(id), journalSk(0));
    expect(entry.ttl).toBeGreaterThanOrEqual(before + 3600);
    expect(entry.ttl).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 3600);
    expect((await rawItem(invocationPk(id), completionKey(1))).ttl).toBe(Date.UTC(2026, 0, 1) / 1000 + 3600);
    expect(DEFAULT_JOURNAL_TTL_SECONDS).toBe(365 * 86_400);
  });

  it('keeps the store-managed ttl out of loaded journal entries', async () => {
    const id = newInvocationId();
    await table.store.append(id, { index: 0, kind: 'now', value: '1' });

    expect((await table.store.load(id)).journal.get(0)).toEqual({ index: 0, kind: 'now', value: '1' });
  });

  it('fails other errors with a message naming the operation, the invocation and the table', async () => {
    const client = new DynamoDBClient(dynamoDbConfig());
    const store = new DynamoDbStore({ client, tableName: 'no-such-table' });
    const id = newInvocationId();
    try {
      const load = store.load(id);
      await expect(load).rejects.toThrow(StoreError);
      await expect(load).rejects.toThrow(new RegExp(`DynamoDB load of ${id} on table no-such-table failed: ResourceNotFoundException`));
      await expect(store.append(id, { index: 0, kind: 'now', value: '1' })).rejects.toMatchObject({
        name: 'StoreError',
        operation: 'append',
        target: id,
      });
    } finally {
      client.destroy();
    }
  });

  async function rawItem(pk: string, sk: string): Promise<Record<string, unknown>> {
    const { Item } = await table.client.send(
      new GetItemCommand({ TableName: table.tableName, Key: marshall({ pk, sk }), ConsistentRead: true }),
    );
    return unmarshall(Item!);
  }
});

describe('ensureTable', () => {
  const client = new DynamoDBClient(dynamoDbConfig());
  afterAll(() => client.destroy());

  it('creates the table with pk/sk, on-demand billing, a NEW_AND_OLD_IMAGES stream and TTL on ttl; twice is harmless', async () => {
    const TableName = uniqueTableName('ensure');
    try {
      const first = await ensureTable(client, TableName);
      const second = await ensureTable(client, TableName);

      expect(first.created).toBe(true);
      expect(second).toEqual({ created: false, streamArn: first.streamArn });
      const { Table } = await client.send(new DescribeTableCommand({ TableName }));
      expect(Table).toMatchObject({
        TableStatus: 'ACTIVE',
        KeySchema: tableDefinition(TableName).KeySchema,
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      });
      const { TimeToLiveDescription } = await client.send(new DescribeTimeToLiveCommand({ TableName }));
      expect(TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });
    } finally {
      await client.send(new DeleteTableCommand({ TableName }));
    }
  });

  it('refuses an existing table without the stream the wake role needs', async () => {
    const TableName = uniqueTableName('nostream');
    const { StreamSpecification: _stream, ...withoutStream } = tableDefinition(TableName);
    await client.send(new CreateTableCommand(withoutStream));
    try {
      await expect(ensureTable(client, TableName)).rejects.toThrow(/has no stream; wake-ups need a NEW_AND_OLD_IMAGES stream/);
    } finally {
      await client.send(new DeleteTableCommand({ TableName }));
    }
  });
});

describe('toItemChange', () => {
  const lambdaRecord = (overrides: Partial<DynamoDBRecord>): DynamoDBRecord => ({
    eventID: '1',
    eventName: 'MODIFY',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      Keys: { pk: { S: 'I#inv_x' }, sk: { S: 'meta' } },
      NewImage: {
        pk: { S: 'I#inv_x' },
        sk: { S: 'meta' },
        status: { S: 'suspended' },
        epoch: { N: '2' },
        awaiting: { L: [{ S: 'C#00000001' }] },
      },
      OldImage: { pk: { S: 'I#inv_x' }, sk: { S: 'meta' }, status: { S: 'running' }, epoch: { N: '2' } },
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    ...overrides,
  });

  it("turns a Lambda event record into the port's ItemChange with plain images", () => {
    expect(toItemChange(lambdaRecord({}))).toEqual({
      eventName: 'MODIFY',
      pk: 'I#inv_x',
      sk: 'meta',
      newItem: { pk: 'I#inv_x', sk: 'meta', status: 'suspended', epoch: 2, awaiting: ['C#00000001'] },
      oldItem: { pk: 'I#inv_x', sk: 'meta', status: 'running', epoch: 2 },
    });
  });

  it('takes a TTL removal (old image only) as a REMOVE', () => {
    const record = lambdaRecord({ eventName: 'REMOVE', userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } });
    delete record.dynamodb!.NewImage;

    const change = toItemChange(record);

    expect(change).toMatchObject({ eventName: 'REMOVE', pk: 'I#inv_x', sk: 'meta', oldItem: { status: 'running' } });
    expect(change).not.toHaveProperty('newItem');
  });

  it("reads DynamoDB Local's empty map ({} on its stream) as an empty map", () => {
    const record = lambdaRecord({ eventName: 'INSERT' });
    record.dynamodb!.NewImage = {
      pk: { S: 'O#c#k' },
      sk: { S: 'L#lock' },
      seq: { N: '1' },
      waiting: {} as never,
      nested: { L: [{} as never] },
    };

    expect(toItemChange(record)?.newItem).toEqual({ pk: 'O#c#k', sk: 'L#lock', seq: 1, waiting: {}, nested: [{}] });
  });

  it('returns undefined for unknown event names and records without keys', () => {
    expect(toItemChange({ ...lambdaRecord({}), eventName: 'UNKNOWN_TO_SDK_VERSION' as never })).toBeUndefined();
    expect(toItemChange(lambdaRecord({ dynamodb: { StreamViewType: 'KEYS_ONLY' } }))).toBeUndefined();
    expect(toItemChange(lambdaRecord({ dynamodb: undefined }))).toBeUndefined();
    expect(toItemChange(lambdaRecord({ dynamodb: { Keys: { pk: { S: 'x' } } } }))).toBeUndefined();
  });
});
