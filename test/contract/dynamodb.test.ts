/**
 * The store contract on DynamoDB Local, its change feed read from the table's
 * real stream; then what only the DynamoDB store has: capacity reports,
 * TTLs, the table's shape, errors that name the operation, and stream
 * records from Lambda's event shape.
 */
import {
  CreateTableCommand,
  DeleteItemCommand,
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
import {
  COMPLETION_TTL_SECONDS,
  DEFAULT_JOURNAL_TTL_SECONDS,
  DynamoDbStore,
  StoreError,
  ensureTable,
  tableDefinition,
} from '../../src/store/dynamodb.ts';
import { JOURNAL_TAIL_MARGIN_SECONDS } from '../../src/store/store.ts';
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
    remove: async (pk, sk) =>
      void (await table.client.send(new DeleteItemCommand({ TableName: table.tableName, Key: marshall({ pk, sk }) }))),
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

  it('expires the first journal entry journalTtlSeconds after it is written, the others 3 days later, completions after 365 days', async () => {
    const store = table.storeWith({ journalTtlSeconds: 3600 });
    const id = newInvocationId();
    const before = Math.floor(Date.now() / 1000);

    await store.append(id, { index: 0, kind: 'now', value: '1' });
    const later = (Math.floor(Date.now() / 1000) + 60) * 1000; // in real time: DynamoDB Local may delete what expired
    await store.append(id, { index: 1, kind: 'now', value: '2', writtenAt: later });
    await store.complete(id, { key: completionKey(1), at: later });

    const entry = await rawItem(invocationPk(id), journalSk(0));
    expect(entry.ttl).toBeGreaterThanOrEqual(before + 3600);
    expect(entry.ttl).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 3600);
    expect((await rawItem(invocationPk(id), journalSk(1))).ttl).toBe(later / 1000 + 3600 + JOURNAL_TAIL_MARGIN_SECONDS);
    expect((await rawItem(invocationPk(id), completionKey(1))).ttl).toBe(later / 1000 + COMPLETION_TTL_SECONDS);
    expect(DEFAULT_JOURNAL_TTL_SECONDS).toBe(30 * 86_400);
    expect(COMPLETION_TTL_SECONDS).toBe(365 * 86_400);
  });

  it('renews a journal: the first entry back with the expiry asked for, the other items raised 3 days past it, never lowered', async () => {
    // Written now (DynamoDB Local may delete what expired in real time), renewed as if 10 days later.
    const store = table.storeWith({ journalTtlSeconds: 3600 });
    const id = newInvocationId();
    const written = Math.floor(Date.now() / 1000) * 1000;
    const head = { index: 0, kind: 'now' as const, value: '1', writtenAt: written };
    await store.append(id, head);
    await store.append(id, { index: 1, kind: 'now', value: '2', writtenAt: written });
    await store.complete(id, { key: completionKey(2), at: written });
    const removeHead = () =>
      table.client.send(new DeleteItemCommand({ TableName: table.tableName, Key: marshall({ pk: invocationPk(id), sk: journalSk(0) }) }));
    await removeHead();
    const now = written + 10 * 86_400_000;

    expect(await store.renewJournal(id, { head, now })).toBe(2);

    expect((await rawItem(invocationPk(id), journalSk(0))).ttl).toBe(now / 1000 + 3600);
    expect((await rawItem(invocationPk(id), journalSk(1))).ttl).toBe(now / 1000 + 3600 + JOURNAL_TAIL_MARGIN_SECONDS);
    // The completion's own expiry (365 days) is later already: not lowered.
    expect((await rawItem(invocationPk(id), completionKey(2))).ttl).toBe(written / 1000 + COMPLETION_TTL_SECONDS);
    // A finished invocation's journal is kept as long as its meta: `until` given.
    await removeHead();
    expect(await store.renewJournal(id, { head, now, until: now / 1000 + 60 })).toBe(1);
    expect((await rawItem(invocationPk(id), journalSk(0))).ttl).toBe(now / 1000 + 60);
  });

  it('tells a removal by DynamoDB’s TTL (the service principal) from any other', () => {
    const record = (userIdentity?: unknown) =>
      ({
        eventName: 'REMOVE',
        dynamodb: { Keys: { pk: { S: 'I#inv_x' }, sk: { S: 'J#00000000' } }, OldImage: { pk: { S: 'I#inv_x' }, sk: { S: 'J#00000000' } } },
        ...(userIdentity ? { userIdentity } : {}),
      }) as unknown as DynamoDBRecord;

    expect(toItemChange(record({ type: 'Service', principalId: 'dynamodb.amazonaws.com' }))?.byTtl).toBe(true);
    expect(toItemChange(record())?.byTtl).toBeUndefined();
    expect(toItemChange(record({ type: 'Service', principalId: 'lambda.amazonaws.com' }))?.byTtl).toBeUndefined();
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
