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
    const { MessageId } = await sqs.send(
      new SendMessageCommand({ QueueUrl, MessageBody: '{"timer":"t-1"}', DelaySeconds: 1 }),
    );

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
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 1 }),
    );
    const [message] = Messages ?? [];
    if (message !== undefined) return message;
  }
  throw new Error(`no message on ${queueUrl} within ${timeoutMs} ms`);
}
