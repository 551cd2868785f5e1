/**
 * The pieces of the local plane that stand in for managed AWS parts, each
 * against its contract: Lambda's Invoke API (async retries, on-failure
 * destination, function errors, what is in flight), the stream event source
 * mapping (order, partial failures, bisect, bounded retries, event filters)
 * on DynamoDB Local, the timer's read-back of a stream batch the wake gave up
 * on, and the message when Java is missing.
 */
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import type { InvocationMeta } from 'dormant-lambda/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dispatch, InvokePayload } from '../../src/runtime/dispatch.ts';
import { rewakeStreamBatch } from '../../src/runtime/timer.ts';
import { DynamoDbLocalError, localClientConfig } from '../../src/local/dynamodb-local.ts';
import { startLocalLambda, type AsyncFailureRecord, type LocalLambda } from '../../src/local/lambda-service.ts';
import { startLocalPlane } from '../../src/local/plane.ts';
import { startStreamPoller, type StreamFailureRecord } from '../../src/local/stream-poller.ts';
import { decodeChange, type StoreChange } from '../../src/store/changes.ts';
import { DynamoDbStore, ensureTable, unfinishedInvocationIds } from '../../src/store/dynamodb.ts';
import { newInvocationMeta } from '../../src/store/invocation.ts';
import { stateScope } from '../../src/store/keys.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import type { Store } from '../../src/store/store.ts';
import { dynamoDbConfig, uniqueTableName } from '../support/dynamodb-local.ts';
import { eventually } from './support.ts';

describe('the local Lambda Invoke API', () => {
  let lambda: LocalLambda;
  let client: LambdaClient;
  const failures: AsyncFailureRecord[] = [];
  const calls: string[] = [];
  let release: () => void = () => undefined;

  beforeAll(async () => {
    lambda = await startLocalLambda({
      retryDelaysMs: [10, 10],
      onFailure: async (record) => {
        failures.push(record);
      },
      functions: {
        echo: { timeoutMs: 5_000, handler: async (event: { n: number }) => ({ doubled: event.n * 2 }) },
        broken: {
          timeoutMs: 5_000,
          handler: async (event: { invocationId: string }) => {
            calls.push(event.invocationId);
            throw new TypeError('the table is unreachable');
          },
        },
        slow: {
          timeoutMs: 5_000,
          handler: (event: { invocationId: string }) => new Promise((resolve) => (release = () => resolve(event.invocationId))),
        },
      },
    });
    client = new LambdaClient(localClientConfig(lambda.endpoint));
  });

  afterAll(async () => {
    client?.destroy();
    release();
    await lambda?.stop();
  });

  it('answers a request-response invoke with the result, or the function error', async () => {
    const ok = await client.send(new InvokeCommand({ FunctionName: 'echo', Payload: Buffer.from('{"n":21}') }));
    const error = await client.send(
      new InvokeCommand({
        FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:broken',
        Payload: Buffer.from('{"invocationId":"x"}'),
      }),
    );

    expect(ok.StatusCode).toBe(200);
    expect(JSON.parse(Buffer.from(ok.Payload!).toString())).toEqual({ doubled: 42 });
    expect(error.FunctionError).toBe('Unhandled');
    expect(JSON.parse(Buffer.from(error.Payload!).toString())).toMatchObject({
      errorType: 'TypeError',
      errorMessage: 'the table is unreachable',
    });
    await expect(client.send(new InvokeCommand({ FunctionName: 'nobody' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('retries a failed asynchronous invoke twice, then hands it to the on-failure destination', async () => {
    const answer = await client.send(
      new InvokeCommand({ FunctionName: 'broken', InvocationType: 'Event', Payload: Buffer.from('{"invocationId":"inv_lost","epoch":3}') }),
    );

    expect(answer.StatusCode).toBe(202);
    const record = await eventually(
      async () => failures.find((f) => (f.requestPayload as InvokePayload).invocationId === 'inv_lost'),
      'the on-failure record',
    );
    expect(calls.filter((c) => c === 'inv_lost')).toHaveLength(3);
    expect(record).toMatchObject({
      requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: { invocationId: 'inv_lost', epoch: 3 },
      responsePayload: { errorType: 'TypeError' },
    });
  });

  it('tells which invocations have an execution in flight', async () => {
    await client.send(
      new InvokeCommand({ FunctionName: 'slow', InvocationType: 'Event', Payload: Buffer.from('{"invocationId":"inv_busy","epoch":0}') }),
    );

    expect(lambda.inflight()).toEqual(['inv_busy']);
    release();
    await eventually(async () => (lambda.inflight().length === 0 ? true : undefined), 'the execution to end');
  });
});

describe('the local stream event source mapping', () => {
  const dynamodb = new DynamoDBClient(dynamoDbConfig());
  const streams = new DynamoDBStreamsClient(dynamoDbConfig());

  afterAll(() => {
    dynamodb.destroy();
    streams.destroy();
  });

  const put = (tableName: string, sk: string, extra: Record<string, { S: string }> = {}) =>
    dynamodb.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'I#inv_x' }, sk: { S: sk }, ...extra } }));

  it('delivers matching records in order, retries from a reported failure, and gives a poison record up after its retries', async () => {
    // Prepare
    const tableName = uniqueTableName('poller');
    await ensureTable(dynamodb, tableName);
    const seen: string[] = [];
    const given: StreamFailureRecord[] = [];
    let c3Failures = 0;
    const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
      for (const record of event.Records) {
        const sk = record.dynamodb!.Keys!.sk!.S!;
        if (sk === 'C#3' && c3Failures++ < 2) return { batchItemFailures: [{ itemIdentifier: record.dynamodb!.SequenceNumber! }] };
        if (sk === 'C#5') throw new Error('poison');
        seen.push(sk);
      }
      return { batchItemFailures: [] };
    };
    const poller = startStreamPoller({
      dynamodb,
      streams,
      tableName,
      handler,
      retryAttempts: 2,
      idleMs: 50,
      onFailure: async (r) => void given.push(r),
    });

    // Act
    try {
      for (const sk of ['C#1', 'J#00000001', 'C#2', 'C#3', 'C#4', 'C#5', 'C#6']) await put(tableName, sk);
      await put(tableName, 'meta', { status: { S: 'running' } });
      await put(tableName, 'C#7');
      await eventually(async () => (seen.includes('C#7') ? true : undefined), 'the last record', 20_000);
    } finally {
      await poller.stop();
    }

    // Assess: journal entries and running metas filtered out, C#3 retried until it passed, C#5 given up
    expect(seen.filter((sk, i) => seen.indexOf(sk) === i)).toEqual(['C#1', 'C#2', 'C#3', 'C#4', 'C#6', 'C#7']);
    expect(given).toHaveLength(1);
    expect(given[0]!.DDBStreamBatchInfo).toMatchObject({
      batchSize: 1,
      startSequenceNumber: given[0]!.DDBStreamBatchInfo.endSequenceNumber,
    });
  });

  it('lets the timer read a given-up batch back from the stream and wake it again', async () => {
    // Prepare: a pending invocation whose stream record the wake gave up on
    const tableName = uniqueTableName('rewake');
    await ensureTable(dynamodb, tableName);
    const store = new DynamoDbStore({ client: dynamodb, tableName });
    const meta: InvocationMeta = {
      id: 'inv_CCCCCCCCCCCCCCCCCCCCCC',
      service: 'review',
      handler: 'request',
      kind: 'service',
      status: 'pending',
      epoch: 0,
      input: '',
      createdAt: 1,
      updatedAt: 1,
    };
    await store.createInvocation(meta);
    const given: StreamFailureRecord[] = [];
    const poller = startStreamPoller({
      dynamodb,
      streams,
      tableName,
      retryAttempts: 0,
      idleMs: 50,
      handler: async () => Promise.reject(new Error('down')),
      onFailure: async (r) => void given.push(r),
    });
    try {
      await eventually(async () => given[0], 'the batch to be given up', 20_000);
    } finally {
      await poller.stop();
    }
    const invokes: InvokePayload[] = [];
    const dispatch: Dispatch = {
      invoke: async (_s, p) => void invokes.push(p),
      schedule: async () => undefined,
      send: async () => undefined,
    };

    // Act
    const woken = await rewakeStreamBatch(
      { store, dispatch, clock: { now: () => 2, sleep: async () => undefined }, streams },
      given[0]!.DDBStreamBatchInfo,
    );

    // Assess
    expect(woken).toBe(1);
    expect(invokes).toEqual([{ invocationId: meta.id, epoch: 0, invokeId: expect.any(String) }]);
  });

  it('re-wakes the records of a given-up batch one by one: a poison record between two innocents is given up alone (rule 11)', async () => {
    // Prepare: innocent A, an object call whose lock partition the table refuses, innocent B, all given up together
    const tableName = uniqueTableName('rewake-poison');
    await ensureTable(dynamodb, tableName);
    const store = new DynamoDbStore({ client: dynamodb, tableName });
    const pending = (id: string) =>
      newInvocationMeta({ id, service: 'review', handler: 'request', kind: 'service', shared: false, input: '', now: 1 });
    const longKey = 'k'.repeat(3_000);
    const [a, poison, b] = ['inv_AAAAAAAAAAAAAAAAAAAAAA', 'inv_PPPPPPPPPPPPPPPPPPPPPP', 'inv_BBBBBBBBBBBBBBBBBBBBBB'];
    await store.createInvocation(pending(a));
    await store.createInvocation({
      ...pending(poison),
      service: 'ledger',
      kind: 'object',
      key: longKey,
      status: 'suspended',
      awaiting: ['C#lock'],
      lockScope: stateScope('ledger', longKey),
    });
    await store.createInvocation(pending(b));
    const given: StreamFailureRecord[] = [];
    const poller = startStreamPoller({
      dynamodb,
      streams,
      tableName,
      retryAttempts: 0,
      idleMs: 50,
      handler: async () => Promise.reject(new Error('down')),
      onFailure: async (r) => void given.push(r),
    });
    try {
      await eventually(
        async () => (given.reduce((n, r) => n + r.DDBStreamBatchInfo.batchSize, 0) >= 3 ? true : undefined),
        'the batch to be given up',
        20_000,
      );
    } finally {
      await poller.stop();
    }
    const invokes: string[] = [];
    const lines: string[] = [];
    let failNextInvokeOf: string | undefined = b;
    const dispatch: Dispatch = {
      invoke: async (_s, p) => {
        if (p.invocationId === failNextInvokeOf) {
          failNextInvokeOf = undefined;
          throw new Error('Lambda throttled');
        }
        invokes.push(p.invocationId);
      },
      schedule: async () => undefined,
      send: async () => undefined,
    };
    const deps = {
      store,
      dispatch,
      clock: { now: () => 2, sleep: async () => undefined },
      streams,
      log: (_l: string, m: string) => void lines.push(m),
    };

    // Act: the first try meets a throttled invoke of B as well; SQS tries the message again
    // (The poller may have given the three up in more than one batch: each is a message of its own.)
    const first: PromiseSettledResult<number>[] = [];
    for (const r of given) first.push(...(await Promise.allSettled([rewakeStreamBatch(deps, r.DDBStreamBatchInfo)])));
    const second: number[] = [];
    for (const r of given) second.push(await rewakeStreamBatch(deps, r.DDBStreamBatchInfo));

    // Assess: A woken at once, B on the retry, the poison given up (on each try), never blocking the others
    expect(first.some((r) => r.status === 'rejected' && /1 record\(s\) of the batch failed/.test(String(r.reason)))).toBe(true);
    expect([...invokes].sort()).toEqual([a, a, b]);
    expect(invokes.slice(-1)).toEqual([b]);
    expect(second.reduce((n, w) => n + w, 0)).toBe(2);
    expect(lines.filter((m) => m.includes('gave up stream record'))).toHaveLength(2);
    expect(lines.join('\n')).not.toContain(longKey);
  });
});

describe('the table as a change feed', () => {
  const dynamodb = new DynamoDBClient(dynamoDbConfig());
  const streams = new DynamoDBStreamsClient(dynamoDbConfig());

  afterAll(() => {
    dynamodb.destroy();
    streams.destroy();
  });

  const meta = (id: string, service = 'review') =>
    newInvocationMeta({ id, service, handler: 'request', kind: 'service', shared: false, input: '1', now: 1 });
  const A = 'inv_AAAAAAAAAAAAAAAAAAAAAA';
  const B = 'inv_BBBBBBBBBBBBBBBBBBBBBB';

  /** One run of store operations of every kind whose changes the wake decodes. */
  async function operations(store: Store): Promise<void> {
    await store.createInvocation(meta(A));
    await store.acquire(A, { seenEpoch: 0, now: 2, leaseMs: 1_000 });
    await store.append(A, { index: 0, kind: 'awakeable', id: 'awk_x' });
    await store.suspend(A, { epoch: 1, now: 3, awaiting: ['C#00000000'], timers: [] });
    await store.complete(A, { key: 'C#00000000', value: '"ok"', at: 4 });
    await store.enqueueLock(stateScope('ledger', 'k'), A, '1');
    await store.enqueueLock(stateScope('ledger', 'k'), B, '2');
    await store.releaseLock(stateScope('ledger', 'k'), A);
  }

  it("decodes the records of DynamoDB Local's stream, as the poller reports them, to the changes the in-memory store reports", async () => {
    // Prepare
    const tableName = uniqueTableName('feed');
    await ensureTable(dynamodb, tableName);
    const memory = new MemoryStore();
    const fromMemory: StoreChange[] = [];
    memory.onChange((c) => fromMemory.push(decodeChange(c)));
    const fromStream: StoreChange[] = [];
    const poller = startStreamPoller({ dynamodb, streams, tableName, idleMs: 50, handler: async () => ({ batchItemFailures: [] }) });
    poller.onChange((c) => fromStream.push(decodeChange(c)));

    // Act
    try {
      await operations(memory);
      await operations(new DynamoDbStore({ client: dynamodb, tableName }));
      await eventually(async () => (fromStream.length >= fromMemory.length ? true : undefined), 'every record', 20_000);
    } finally {
      await poller.stop();
    }

    // Assess: the same kinds in the same order, with the same decoded values
    // (but the expiry the DynamoDB store stamps on journal items; memory keeps them)
    const withoutTtl = (c: StoreChange): StoreChange =>
      c.kind === 'entry'
        ? { ...c, entry: { ...c.entry, ttl: undefined } as typeof c.entry }
        : c.kind === 'completion'
          ? { ...c, completion: { ...c.completion, ttl: undefined } }
          : c;
    expect(fromMemory.map((c) => c.kind)).toEqual(['meta', 'meta', 'entry', 'meta', 'completion', 'lock', 'lock', 'lock']);
    expect(fromStream.map(withoutTtl)).toEqual(fromMemory);
  });

  it('lists the unfinished invocations for the restart sweep, and nothing else', async () => {
    // Prepare: pending, running, suspended, completed and failed invocations, and items that are not meta
    const tableName = uniqueTableName('sweep');
    await ensureTable(dynamodb, tableName);
    const store = new DynamoDbStore({ client: dynamodb, tableName });
    const ids = [
      'inv_PPPPPPPPPPPPPPPPPPPPPP',
      'inv_RRRRRRRRRRRRRRRRRRRRRR',
      'inv_SSSSSSSSSSSSSSSSSSSSSS',
      'inv_CCCCCCCCCCCCCCCCCCCCCC',
      'inv_FFFFFFFFFFFFFFFFFFFFFF',
    ];
    const [pending, running, suspended, completed, failed] = ids as [string, string, string, string, string];
    for (const id of ids) await store.createInvocation(meta(id));
    for (const id of [running, suspended, completed, failed]) await store.acquire(id, { seenEpoch: 0, now: 2, leaseMs: 1_000 });
    await store.suspend(suspended, { epoch: 1, now: 3, awaiting: ['C#00000000'], timers: [] });
    await store.finish(completed, { epoch: 1, now: 3, output: '1', ttl: 9 });
    await store.finish(failed, { epoch: 1, now: 3, failure: { name: 'TerminalError', message: 'no', code: 500 }, ttl: 9 });
    await store.complete(pending, { key: 'C#00000000', at: 3 });
    await store.enqueueLock(stateScope('ledger', 'k'), pending, '1');

    // Act
    const found: string[] = [];
    for await (const id of unfinishedInvocationIds(dynamodb, tableName)) found.push(id);

    // Assess
    expect(found.sort()).toEqual([pending, running, suspended].sort());
  });
});

describe('starting the plane without Java', () => {
  it('fails with a message that says what to install', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startLocalPlane({ services: [], port: 0, inMemory: true })).rejects.toThrow(DynamoDbLocalError);
      await expect(startLocalPlane({ services: [], port: 0, inMemory: true })).rejects.toThrow(/needs Java 17\+.*not on the PATH/);
    } finally {
      process.env.PATH = path;
    }
  });
});
