import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoDbLocalError,
  dynamoDbConfig,
  dynamoDbEndpoint,
  startDynamoDbLocal,
  uniqueTableName,
  type LocalClientConfig,
} from '../support/dynamodb-local.ts';

describe('run-wide DynamoDB Local (global setup)', () => {
  let client: DynamoDBClient;
  let streams: DynamoDBStreamsClient;
  const TableName = uniqueTableName('harness-stream');

  beforeAll(async () => {
    client = new DynamoDBClient(dynamoDbConfig());
    streams = new DynamoDBStreamsClient(dynamoDbConfig());
    await client.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
  });

  afterAll(async () => {
    await client?.send(new DeleteTableCommand({ TableName }));
    client?.destroy();
    streams?.destroy();
  });

  it('is provided to tests as a local http endpoint', () => {
    expect(dynamoDbEndpoint()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('delivers an insert and an update through the table stream with old and new images', async () => {
    // Prepare
    const key = { pk: { S: 'inv-1' }, sk: { S: 'meta' } };

    // Act
    await client.send(new PutItemCommand({ TableName, Item: { ...key, status: { S: 'pending' } } }));
    await client.send(
      new UpdateItemCommand({
        TableName,
        Key: key,
        UpdateExpression: 'SET #status = :suspended',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':suspended': { S: 'suspended' } },
      }),
    );

    // Assess
    const { Streams } = await streams.send(new ListStreamsCommand({ TableName }));
    expect(Streams).toHaveLength(1);
    const streamArn = Streams?.[0]?.StreamArn;
    expect(streamArn).toBeDefined();
    const { Table } = await client.send(new DescribeTableCommand({ TableName }));
    expect(Table?.LatestStreamArn).toBe(streamArn);
    expect(Table?.StreamSpecification?.StreamViewType).toBe('NEW_AND_OLD_IMAGES');

    const records = await readStream(streams, streamArn!, 2);
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY']);
    const [insert, modify] = records;
    expect(insert?.dynamodb?.Keys).toEqual(key);
    expect(insert?.dynamodb?.OldImage).toBeUndefined();
    expect(insert?.dynamodb?.NewImage).toEqual({ ...key, status: { S: 'pending' } });
    expect(modify?.dynamodb?.OldImage).toEqual({ ...key, status: { S: 'pending' } });
    expect(modify?.dynamodb?.NewImage).toEqual({ ...key, status: { S: 'suspended' } });
    expect(modify?.dynamodb?.StreamViewType).toBe('NEW_AND_OLD_IMAGES');
  });
});

describe('startDynamoDbLocal', () => {
  // Two JVM starts: several seconds each on a busy 2-core machine.
  it(
    'starts a private instance on a free port, stop() ends it, and a dbPath keeps tables across restarts',
    { timeout: 120_000 },
    async () => {
      // Prepare
      const dbPath = await mkdtemp(join(tmpdir(), 'dormant-ddb-'));
      const TableName = uniqueTableName('persisted');
      try {
        const first = await startDynamoDbLocal({ dbPath });
        const firstClient = new DynamoDBClient(first.clientConfig);
        try {
          expect(first.endpoint).toBe(`http://127.0.0.1:${first.port}`);
          expect(first.endpoint).not.toBe(dynamoDbEndpoint());
          await expect(firstClient.send(new ListTablesCommand({}))).resolves.toMatchObject({ TableNames: [] });
          await firstClient.send(
            new CreateTableCommand({
              TableName,
              BillingMode: 'PAY_PER_REQUEST',
              AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
              KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
            }),
          );
        } finally {
          firstClient.destroy();
          await first.stop();
        }
        await first.stop(); // idempotent
        await expectRefused(first.clientConfig);

        // Act
        const second = await startDynamoDbLocal({ dbPath, inMemory: false, port: first.port });
        const secondClient = new DynamoDBClient(second.clientConfig);
        try {
          // Assess
          const { TableNames } = await secondClient.send(new ListTablesCommand({}));
          expect(TableNames).toEqual([TableName]);
        } finally {
          secondClient.destroy();
          await second.stop();
        }
      } finally {
        await rm(dbPath, { recursive: true, force: true });
      }
    },
  );

  it('refuses contradictory storage options before starting anything', async () => {
    await expect(startDynamoDbLocal({ inMemory: true, dbPath: '/tmp/x' })).rejects.toThrow(TypeError);
    await expect(startDynamoDbLocal({ inMemory: false })).rejects.toThrow(/needs a dbPath/);
  });

  it('names Java as the cause when java is not on the PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const start = startDynamoDbLocal();
      await expect(start).rejects.toThrow(DynamoDbLocalError);
      await expect(start).rejects.toThrow(/needs Java 17\+.*openjdk-17-jre-headless.*not on the PATH/);
    } finally {
      process.env.PATH = path;
    }
  });
});

/** Asserts nothing listens at the config's endpoint any more (a fresh client, so no pooled socket). */
async function expectRefused(config: LocalClientConfig): Promise<void> {
  const client = new DynamoDBClient({ ...config, maxAttempts: 1 });
  try {
    await expect(client.send(new ListTablesCommand({}))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  } finally {
    client.destroy();
  }
}

/** Reads every shard of a stream from its start until `count` records arrived (or 10 s passed). */
async function readStream(streams: DynamoDBStreamsClient, streamArn: string, count: number): Promise<StreamRecord[]> {
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const shards = StreamDescription?.Shards ?? [];
  expect(shards.length).toBeGreaterThan(0);
  const iterators = await Promise.all(
    shards.map(async (shard) => {
      const { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      return ShardIterator;
    }),
  );
  const records: StreamRecord[] = [];
  const deadline = Date.now() + 10_000;
  let pending = iterators.filter((it): it is string => it !== undefined);
  while (records.length < count && pending.length > 0 && Date.now() < deadline) {
    const next: string[] = [];
    for (const iterator of pending) {
      const { Records, NextShardIterator } = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      records.push(...(Records ?? []));
      if (NextShardIterator !== undefined) next.push(NextShardIterator);
    }
    pending = next;
    if (records.length < count) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return records;
}
