import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { awsDispatch } from '../../src/runtime/dispatch.ts';
import { systemClock } from '../../src/engine/clock.ts';
import { startSqsLocal, type SqsLocal } from '../support/sqs-local.ts';

describe('startSqsLocal', () => {
  let sqsLocal: SqsLocal;
  let sqs: SQSClient;

  beforeAll(async () => {
    sqsLocal = await startSqsLocal();
    sqs = new SQSClient(sqsLocal.clientConfig);
  });

  afterAll(async () => {
    sqs?.destroy();
    await sqsLocal?.stop();
  });

  it('listens on a free local port', () => {
    expect(sqsLocal.port).toBeGreaterThan(0);
    expect(sqsLocal.endpoint).toBe(`http://127.0.0.1:${sqsLocal.port}`);
  });

  it('holds back a delayed message until its delay has passed, then deletes it', async () => {
    // Prepare
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'timers' }));
    // fauxqs names queues like AWS does; requests still go to the client's endpoint.
    expect(QueueUrl).toBe(`http://sqs.us-east-1.localhost:${sqsLocal.port}/000000000000/timers`);

    // Act
    const sentAt = Date.now();
    const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"timer":"t-1"}', DelaySeconds: 1 }));

    // Assess: not receivable yet...
    const early = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 0 }));
    expect(early.Messages ?? []).toHaveLength(0);

    // ...but receivable once the delay is over.
    const message = await receiveOne(sqs, QueueUrl!, 5_000);
    const receivedAt = Date.now();
    expect(message.MessageId).toBe(MessageId);
    expect(message.Body).toBe('{"timer":"t-1"}');
    expect(receivedAt - sentAt).toBeGreaterThanOrEqual(900);

    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    expect(Attributes).toEqual({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
      ApproximateNumberOfMessagesDelayed: '0',
    });
  });

  it('parks a received timer message: hidden for the seconds asked, then handed back, unless too many are in flight', async () => {
    // Prepare
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'parking', Attributes: { VisibilityTimeout: '30' } }));
    const arn = 'arn:aws:sqs:us-east-1:000000000000:parking';
    const lambda = new LambdaClient({ region: 'us-east-1' });
    const dispatch = awsDispatch({
      lambda,
      sqs,
      routes: {},
      timerQueueUrl: 'http://unused/timers',
      longTimerQueueUrl: QueueUrl!,
      clock: systemClock,
    });
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'one' }));
    const first = await receiveOne(sqs, QueueUrl!, 5_000);

    // Act: park it for 1 s (its queue's own visibility timeout is 30 s)
    expect(await dispatch.park!({ receiptHandle: first.ReceiptHandle!, eventSourceARN: arn }, 1)).toBe(true);

    // Assess: the same message comes back after the park, not after 30 s
    const parkedAt = Date.now();
    const again = await receiveOne(sqs, QueueUrl!, 5_000);
    expect(again.MessageId).toBe(first.MessageId);
    expect(Date.now() - parkedAt).toBeGreaterThanOrEqual(900);

    // A message of another queue is not parked here; nor is one past the in-flight limit (one is in flight now).
    expect(
      await dispatch.park!({ receiptHandle: again.ReceiptHandle!, eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:other' }, 1),
    ).toBe(false);
    const crowded = awsDispatch({
      lambda,
      sqs,
      routes: {},
      timerQueueUrl: 'http://unused/timers',
      longTimerQueueUrl: QueueUrl!,
      clock: systemClock,
      maxInFlightToPark: 1,
    });
    expect(await crowded.park!({ receiptHandle: again.ReceiptHandle!, eventSourceARN: arn }, 1)).toBe(false);
    lambda.destroy();
  });

  it('sends timers due in more than 15 minutes to the long-timer queue, the rest (and recovery) to the timer queue', async () => {
    // Prepare
    const [{ QueueUrl: near }, { QueueUrl: far }] = await Promise.all([
      sqs.send(new CreateQueueCommand({ QueueName: 'near' })),
      sqs.send(new CreateQueueCommand({ QueueName: 'far' })),
    ]);
    const lambda = new LambdaClient({ region: 'us-east-1' });
    const dispatch = awsDispatch({ lambda, sqs, routes: {}, timerQueueUrl: near!, longTimerQueueUrl: far!, clock: systemClock });
    const now = Date.now();

    // Act
    await dispatch.schedule('inv_AAAAAAAAAAAAAAAAAAAAAA', { key: 'C#00000001', at: now + 86_400_000 });
    await dispatch.schedule('inv_AAAAAAAAAAAAAAAAAAAAAA', { key: 'C#00000002', at: now });
    await dispatch.send({ type: 'recover', invocationId: 'inv_AAAAAAAAAAAAAAAAAAAAAA', at: now + 86_400_000 });

    // Assess
    const count = async (url: string) => {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed'],
        }),
      );
      return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesDelayed ?? 0);
    };
    expect({ near: await count(near!), far: await count(far!) }).toEqual({ near: 2, far: 1 });
    lambda.destroy();
  });

  it('stop() closes the port, and each instance has its own queues', async () => {
    // Prepare
    const other = await startSqsLocal();
    const otherSqs = new SQSClient(other.clientConfig);
    try {
      await otherSqs.send(new CreateQueueCommand({ QueueName: 'only-here' }));
      const { QueueUrls } = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'only-here' }));
      expect(QueueUrls ?? []).toHaveLength(0);

      // Act
      await other.stop();
      await other.stop(); // idempotent

      // Assess (with a fresh client: a pooled keep-alive socket would see a reset instead)
      const afterStop = new SQSClient({ ...other.clientConfig, maxAttempts: 1 });
      try {
        await expect(afterStop.send(new ListQueuesCommand({}))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      } finally {
        afterStop.destroy();
      }
    } finally {
      otherSqs.destroy();
      await other.stop();
    }
  });
});

/** Long-polls until one message arrives, failing after `timeoutMs`. */
async function receiveOne(sqs: SQSClient, queueUrl: string, timeoutMs: number): Promise<Message> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 1 }));
    const [message] = Messages ?? [];
    if (message !== undefined) return message;
  }
  throw new Error(`no message on ${queueUrl} within ${timeoutMs} ms`);
}
