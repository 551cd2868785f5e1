/**
 * The wake, timer and handler role cores (src/runtime/wake-handler.ts,
 * src/runtime/timer.ts, lambdaHandler) on the in-memory store with a recording dispatch: the parts
 * of their contract the HTTP tests cannot reach on purpose (lost attempts,
 * leases, poison messages, a failing record in a stream batch, bad payloads).
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, SQSRecord } from 'aws-lambda';
import { lambdaHandler, service, type Context } from 'dormant-lambda';
import { IdSigner, MemoryStore, newInvocationId, type InvocationMeta, type Timer } from 'dormant-lambda/internal';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  hopDelaySeconds,
  MAX_PARK_SECONDS,
  MAX_PARKS,
  nextHop,
  TIMER_MESSAGE_MAX_AGE_MS,
  type Dispatch,
  type InvokePayload,
  type TimerMessage,
} from '../../src/runtime/dispatch.ts';
import { createTimerHandler, parseMessage } from '../../src/runtime/timer.ts';
import { createWakeHandler } from '../../src/runtime/wake-handler.ts';
import { metaToItem } from '../../src/store/items.ts';

const NOW = Date.UTC(2026, 0, 1);
const clock = { now: () => NOW, sleep: async () => undefined };
const silent = () => undefined;
const ID = 'inv_AAAAAAAAAAAAAAAAAAAAAA';

class RecordingDispatch implements Dispatch {
  invokes: { service: string; payload: InvokePayload }[] = [];
  scheduled: { invocationId: string; timer: Timer }[] = [];
  sent: TimerMessage[] = [];
  failInvokes = false;
  async invoke(service: string, payload: InvokePayload): Promise<void> {
    if (this.failInvokes) throw new Error('Lambda throttled');
    // Every invoke carries a fresh id (Lambda's retries keep it): recorded without it, checked here.
    const { invokeId, ...rest } = payload;
    if (typeof invokeId !== 'string' || invokeId.length === 0) throw new Error('an invoke without its invokeId');
    this.invokes.push({ service, payload: rest });
  }
  async schedule(invocationId: string, timer: Timer): Promise<void> {
    this.scheduled.push({ invocationId, timer });
  }
  async send(message: TimerMessage): Promise<void> {
    this.sent.push(message);
  }
}

function meta(overrides: Partial<InvocationMeta> = {}): InvocationMeta {
  return {
    id: ID,
    service: 'review',
    handler: 'request',
    kind: 'service',
    status: 'pending',
    epoch: 0,
    input: '',
    createdAt: NOW,
    updatedAt: NOW,
    ...overrides,
  };
}

function sqsRecord(body: unknown, messageId = 'm-1'): SQSRecord {
  return {
    messageId,
    receiptHandle: 'r',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 's', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:timers',
    awsRegion: 'us-east-1',
  };
}

/** Lambda's on-failure destination record of an asynchronous invoke. */
function onFailure(payload: unknown): unknown {
  return {
    version: '1.0',
    timestamp: new Date(NOW).toISOString(),
    requestContext: {
      requestId: 'x',
      functionArn: 'arn:aws:lambda:us-east-1:0:function:h:$LATEST',
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
    },
    requestPayload: payload,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: 'Error', errorMessage: 'boom' },
  };
}

describe('the timer entry point', () => {
  let store: MemoryStore;
  let dispatch: RecordingDispatch;
  let timer: ReturnType<typeof createTimerHandler>;

  beforeEach(() => {
    store = new MemoryStore();
    dispatch = new RecordingDispatch();
    timer = createTimerHandler({ store, dispatch, clock, log: silent });
  });

  it('gives up a poison message alone (rule 11): the due timers before and after it are written', async () => {
    // Act
    const result = await timer({
      Records: [
        sqsRecord({ type: 'timer', invocationId: ID, key: 'C#00000001', at: NOW }, 'm-1'),
        sqsRecord('{"type":"timer","invocationId":', 'm-poison'),
        sqsRecord({ type: 'timer', invocationId: ID, key: 'C#00000003', at: NOW }, 'm-3'),
      ],
    });

    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm-poison' }]);
    expect(await store.getCompletion(ID, 'C#00000001')).toMatchObject({ at: NOW });
    expect(await store.getCompletion(ID, 'C#00000003')).toMatchObject({ at: NOW });
  });

  it('sends a timer that is not due on with the next hop, and writes nothing', async () => {
    const at = NOW + 3_600_000;

    const result = await timer({ Records: [sqsRecord({ type: 'timer', invocationId: ID, key: 'C#00000002', at })] });

    expect(result.batchItemFailures).toEqual([]);
    expect(dispatch.sent).toEqual([{ type: 'timer', invocationId: ID, key: 'C#00000002', at }]);
    expect(await store.getCompletion(ID, 'C#00000002')).toBeUndefined();
    expect(hopDelaySeconds(at, NOW)).toBe(900);
    expect(hopDelaySeconds(NOW + 1_200, NOW)).toBe(2);
  });

  it('parks a timer that is not due: the same message comes back later, nothing is sent or written', async () => {
    const parks: { receiptHandle: string; seconds: number }[] = [];
    const parking: Dispatch = Object.assign(dispatch, {
      park: async (m: { receiptHandle: string; eventSourceARN: string }, seconds: number) =>
        m.eventSourceARN.endsWith(':timers') && parks.push({ receiptHandle: m.receiptHandle, seconds }) > 0,
    });
    timer = createTimerHandler({ store, dispatch: parking, clock, log: silent });
    const fresh = (body: unknown, attributes: Partial<SQSRecord['attributes']> = {}, arn?: string): SQSRecord => {
      const r = sqsRecord(body);
      return {
        ...r,
        eventSourceARN: arn ?? r.eventSourceARN,
        attributes: { ...r.attributes, SentTimestamp: String(Date.now()), ...attributes },
      };
    };
    const month = { type: 'timer', invocationId: ID, key: 'C#00000002', at: NOW + 30 * 86_400_000 };

    // A 30-day timer parks for SQS's longest visibility timeout, reported as a failure so SQS keeps it.
    expect((await timer({ Records: [fresh(month)] })).batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
    expect(parks).toEqual([{ receiptHandle: 'r', seconds: MAX_PARK_SECONDS }]);
    // A near one parks for what is left.
    await timer({ Records: [fresh({ ...month, at: NOW + 90_500 })] });
    expect(parks.at(-1)).toEqual({ receiptHandle: 'r', seconds: 91 });
    expect(dispatch.sent).toEqual([]);

    // Too old to park (SQS would drop it), parked too often, or from another queue: sent afresh.
    const old = String(Date.now() - TIMER_MESSAGE_MAX_AGE_MS + 3_600_000);
    for (const record of [
      fresh(month, { SentTimestamp: old }),
      fresh(month, { ApproximateReceiveCount: String(MAX_PARKS + 1) }),
      fresh(month, {}, 'arn:aws:sqs:us-east-1:0:recovery'),
    ]) {
      expect((await timer({ Records: [record] })).batchItemFailures).toEqual([]);
    }
    expect(parks).toHaveLength(2);
    expect(dispatch.sent).toEqual([month, month, month]);
    expect(await store.getCompletion(ID, 'C#00000002')).toBeUndefined();
  });

  it('chooses hops: park up to 12 hours while the message is young, else a delay of up to 15 minutes', () => {
    expect(nextHop({ at: NOW + 30 * 86_400_000, now: NOW, ageMs: 0 })).toEqual({ kind: 'park', seconds: MAX_PARK_SECONDS });
    expect(MAX_PARK_SECONDS).toBeLessThan(43_200); // SQS refuses a change past 12 h from the receive
    expect(nextHop({ at: NOW + 1, now: NOW, ageMs: 0 })).toEqual({ kind: 'park', seconds: 1 });
    expect(nextHop({ at: NOW + 30 * 86_400_000, now: NOW, ageMs: TIMER_MESSAGE_MAX_AGE_MS - MAX_PARK_SECONDS * 1000 + 1 })).toEqual({
      kind: 'resend',
      delaySeconds: 900,
    });
    expect(nextHop({ at: NOW + 30 * 86_400_000, now: NOW, ageMs: 0, receives: MAX_PARKS + 1 })).toEqual({
      kind: 'resend',
      delaySeconds: 900,
    });
    // A test clock caps both.
    expect(nextHop({ at: NOW + 30 * 86_400_000, now: NOW, ageMs: 0, maxSeconds: 1 })).toEqual({ kind: 'park', seconds: 1 });
    expect(hopDelaySeconds(NOW + 3_600_000, NOW, 1)).toBe(1);
    // A 30-day sleep (after its first 15-minute delay): parks of 11¾ hours, sent afresh every 4 days.
    let now = NOW + 900_000;
    let sentAt = NOW;
    let receives = 0;
    let total = 0;
    let sends = 1;
    const at = NOW + 30 * 86_400_000;
    while (now < at) {
      receives++;
      total++;
      const hop = nextHop({ at, now, ageMs: now - sentAt, receives });
      if (hop.kind === 'park') now += hop.seconds * 1000;
      else {
        sends++;
        sentAt = now;
        receives = 0;
        now += hop.delaySeconds * 1000;
      }
    }
    expect({ sends, receives: total, late: now - at }).toEqual({ sends: 8, receives: 69, late: 0 });
  });

  it('completes a due timer once; a duplicate is harmless', async () => {
    const message = { type: 'timer', invocationId: ID, key: 'C#00000002', at: NOW - 5 };

    await timer({ Records: [sqsRecord(message, 'a')] });
    const again = await timer({ Records: [sqsRecord(message, 'b')] });

    expect(again.batchItemFailures).toEqual([]);
    expect(await store.getCompletion(ID, 'C#00000002')).toEqual({ key: 'C#00000002', at: NOW });
  });

  it('re-invokes a pending invocation named by a failed asynchronous invoke', async () => {
    await store.createInvocation(meta());

    await timer({ Records: [sqsRecord(onFailure({ invocationId: ID, epoch: 0 }))] });

    expect(dispatch.invokes).toEqual([{ service: 'review', payload: { invocationId: ID, epoch: 0 } }]);
  });

  it('re-invokes a suspended invocation whose awaited completion is there, and re-schedules its timers otherwise', async () => {
    await store.createInvocation(meta());
    await store.acquire(ID, { seenEpoch: 0, now: NOW, leaseMs: 60_000 });
    const sleep = { key: 'C#00000003', at: NOW + 60_000 };
    await store.suspend(ID, { epoch: 1, now: NOW, awaiting: ['C#00000001', sleep.key], timers: [sleep] });

    await timer({ Records: [sqsRecord({ type: 'recover', invocationId: ID, at: 0 })] });
    expect(dispatch.invokes).toEqual([]);
    expect(dispatch.scheduled).toEqual([{ invocationId: ID, timer: sleep }]);

    await store.complete(ID, { key: 'C#00000001', value: '1', at: NOW });
    await timer({ Records: [sqsRecord({ type: 'recover', invocationId: ID, at: 0 })] });
    expect(dispatch.invokes).toEqual([{ service: 'review', payload: { invocationId: ID, epoch: 1 } }]);
  });

  it('waits for the lease of a running attempt to end before taking over', async () => {
    await store.createInvocation(meta());
    await store.acquire(ID, { seenEpoch: 0, now: NOW, leaseMs: 60_000 });

    await timer({ Records: [sqsRecord(onFailure({ invocationId: ID, epoch: 0 }))] });
    expect(dispatch.invokes).toEqual([]);
    expect(dispatch.sent).toEqual([{ type: 'recover', invocationId: ID, at: NOW + 61_000 }]);

    const later = createTimerHandler({ store, dispatch, clock: { ...clock, now: () => NOW + 61_000 } });
    await later({ Records: [sqsRecord(dispatch.sent[0])] });
    expect(dispatch.invokes).toEqual([{ service: 'review', payload: { invocationId: ID, epoch: 1 } }]);
  });

  it('leaves finished and unknown invocations alone', async () => {
    await store.createInvocation(meta({ status: 'completed', output: '1' }));

    await timer({
      Records: [
        sqsRecord({ type: 'recover', invocationId: ID, at: 0 }),
        sqsRecord({ type: 'recover', invocationId: 'inv_BBBBBBBBBBBBBBBBBBBBBB', at: 0 }, 'm-2'),
      ],
    });

    expect(dispatch.invokes).toEqual([]);
    expect(dispatch.sent).toEqual([]);
  });

  it('reports unreadable messages and failed work one by one, so the rest of the batch is done', async () => {
    await store.createInvocation(meta());
    dispatch.failInvokes = true;

    const result = await timer({
      Records: [
        sqsRecord('not json', 'bad-1'),
        sqsRecord({ type: 'timer', invocationId: 'nope' }, 'bad-2'),
        sqsRecord({ type: 'timer', invocationId: ID, key: 'C#00000001', at: NOW }, 'good'),
        sqsRecord(onFailure({ invocationId: ID, epoch: 0 }), 'throttled'),
      ],
    });

    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['bad-1', 'bad-2', 'throttled']);
    expect(await store.getCompletion(ID, 'C#00000001')).toBeDefined();
  });

  it('reads the three kinds of message', () => {
    expect(parseMessage(JSON.stringify({ type: 'timer', invocationId: ID, key: 'C#00000001', at: 5 }))).toEqual({
      kind: 'timer',
      invocationId: ID,
      key: 'C#00000001',
      at: 5,
    });
    expect(parseMessage(JSON.stringify(onFailure(JSON.stringify({ invocationId: ID, epoch: 2 }))))).toEqual({
      kind: 'recover',
      invocationId: ID,
      at: 0,
    });
    expect(
      parseMessage(
        JSON.stringify({ DDBStreamBatchInfo: { shardId: 's', startSequenceNumber: '1', endSequenceNumber: '2', streamArn: 'a' } }),
      ),
    ).toMatchObject({ kind: 'stream-batch' });
    expect(parseMessage(JSON.stringify(onFailure({ something: 'else' })))).toMatchObject({ kind: 'unknown' });
  });
});

describe('the wake entry point', () => {
  function metaRecord(sequenceNumber: string, m: InvocationMeta): DynamoDBRecord {
    const item = marshall(metaToItem(m), { removeUndefinedValues: true }) as any;
    return {
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      dynamodb: {
        Keys: { pk: item.pk, sk: item.sk },
        NewImage: item,
        SequenceNumber: sequenceNumber,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    };
  }

  it('invokes new invocations in order and reports the first record that fails, leaving later ones for the retry', async () => {
    const store = new MemoryStore();
    const dispatch = new RecordingDispatch();
    const wake = createWakeHandler({ store, dispatch, clock, log: silent });
    const ids = ['inv_AAAAAAAAAAAAAAAAAAAAA1', 'inv_AAAAAAAAAAAAAAAAAAAAA2', 'inv_AAAAAAAAAAAAAAAAAAAAA3'];
    const records = ids.map((id, i) => metaRecord(String(100 + i), meta({ id, service: i === 1 ? 'unrouted' : 'review' })));
    const invoke = dispatch.invoke.bind(dispatch);
    dispatch.invoke = async (service, payload) => {
      if (service === 'unrouted') throw new Error('no function serves unrouted');
      return invoke(service, payload);
    };

    const result = await wake({ Records: records });

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: '101' }]);
    expect(dispatch.invokes.map((i) => i.payload.invocationId)).toEqual([ids[0]]);
  });

  it('gives a poison record up alone (rule 11): the records after it still wake, and the batch succeeds', async () => {
    // Prepare: an object call whose lock partition the table refuses, between two innocents
    const store = new MemoryStore();
    const dispatch = new RecordingDispatch();
    const lines: string[] = [];
    const wake = createWakeHandler({ store, dispatch, clock, log: (level, message) => void lines.push(`${level} ${message}`) });
    const ids = ['inv_AAAAAAAAAAAAAAAAAAAAA1', 'inv_AAAAAAAAAAAAAAAAAAAAA2', 'inv_AAAAAAAAAAAAAAAAAAAAA3'];
    const longKey = 'k'.repeat(3_000);
    const poison = meta({
      id: ids[1]!,
      service: 'ledger',
      kind: 'object',
      key: longKey,
      status: 'suspended',
      awaiting: ['C#lock'],
      lockScope: `O#ledger#${longKey}`,
    });
    const records = [meta({ id: ids[0]! }), poison, meta({ id: ids[2]! })].map((m, i) => metaRecord(String(200 + i), m));

    // Act
    const result = await wake({ Records: records });

    // Assess
    expect(result.batchItemFailures).toEqual([]);
    expect(dispatch.invokes.map((i) => i.payload.invocationId)).toEqual([ids[0], ids[2]]);
    expect(lines).toEqual([expect.stringMatching(/^error wake: gave up record 201 \(INSERT I#inv_AAAAAAAAAAAAAAAAAAAAA2 meta\) alone$/)]);
  });

  it('ignores records that are not item changes of the table', async () => {
    const dispatch = new RecordingDispatch();
    const wake = createWakeHandler({ store: new MemoryStore(), dispatch, clock });

    const result = await wake({
      Records: [
        { eventName: 'REMOVE', dynamodb: { Keys: { pk: { S: `I#${ID}` }, sk: { S: 'meta' } }, SequenceNumber: '1' } },
        { dynamodb: {} },
      ],
    });

    expect(result.batchItemFailures).toEqual([]);
    expect(dispatch.invokes).toEqual([]);
  });
});

describe('lambdaHandler', () => {
  let store: MemoryStore;
  const waiting = service({
    name: 'waiting',
    handlers: {
      wait: async (ctx: Context) => ctx.awakeable<string>().promise,
      quick: async () => 'done',
      lease: async (ctx: Context) => ctx.run('read the lease', async () => (await store.getInvocation(ctx.request().id))?.lease),
    },
  });

  async function setup() {
    store = new MemoryStore();
    const signer = new IdSigner('entry-points-signing-key-0123456789');
    const handler = lambdaHandler({ services: [waiting], runtime: { store, signer } });
    const start = async (name: string) => {
      const id = newInvocationId();
      await store.createInvocation({
        id,
        service: 'waiting',
        handler: name,
        kind: 'service',
        status: 'pending',
        epoch: 0,
        input: '',
        createdAt: Date.now(),
        updatedAt: Date.now(),
      });
      return id;
    };
    return { store, handler, start };
  }

  it('returns a small suspension marker at once', async () => {
    const { handler, start } = await setup();
    const id = await start('wait');
    const before = Date.now();

    const result = await handler({ invocationId: id, epoch: 0 }, { getRemainingTimeInMillis: () => 60_000 });

    expect(result).toEqual({ status: 'suspended', invocationId: id, awaiting: expect.arrayContaining(['C#00000000']) });
    expect((await store.getInvocation(id))?.status).toBe('suspended');
    expect(Date.now() - before).toBeLessThan(5_000);
  });

  it('holds the invocation until a little past the Lambda deadline', async () => {
    const { handler, start } = await setup();
    const id = await start('lease');
    const before = Date.now();

    const result = await handler({ invocationId: id, epoch: 0 }, { getRemainingTimeInMillis: () => 60_000 });

    const lease = JSON.parse((result as { output: string }).output) as number;
    expect(lease).toBeGreaterThanOrEqual(before + 60_000);
    expect(lease).toBeLessThanOrEqual(Date.now() + 60_000 + 5_000);
  });

  it('runs to completion, skips a duplicate invoke, and answers a bad payload without throwing', async () => {
    const { handler, start } = await setup();
    const id = await start('quick');

    expect(await handler({ invocationId: id, epoch: 0 })).toMatchObject({ status: 'completed', invocationId: id, output: '"done"' });
    expect(await handler({ invocationId: id, epoch: 0 })).toMatchObject({ status: 'skipped', invocationId: id });
    expect(await handler({ hello: 'world' })).toMatchObject({ status: 'invalid' });
  });
});
