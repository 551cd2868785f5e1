/**
 * `dormant dlq redrive` against the SQS emulator: every message of the
 * dead-letter queue moves to the timer queue with its body and attributes,
 * more than one batch, duplicates and all; a second run moves nothing; a
 * send that fails deletes nothing; bad arguments are named.
 */
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dlqCommand, redriveDeadLetters } from '../../src/local/dlq-command.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../support/dynamodb-local.ts';
import { startSqsLocal, type SqsLocal } from '../support/sqs-local.ts';

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

async function queue(name: string): Promise<string> {
  return (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-${Math.random().toString(36).slice(2, 8)}` }))).QueueUrl!;
}

async function drain(url: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 30,
      }),
    );
    if (Messages.length === 0) return all;
    all.push(...Messages);
  }
}

/** Dead letters as the timer Lambda leaves them: timers and recovery messages, one of them twice. */
function deadLetters(): { body: string; attributes?: Record<string, { DataType: string; StringValue: string }> }[] {
  const timers = Array.from({ length: 10 }, (_, i) => ({
    body: JSON.stringify({
      type: 'timer',
      invocationId: `inv_${String(i).padStart(22, 'A')}`,
      key: 'C#00000001',
      at: 1_765_000_000_000 + i,
    }),
  }));
  const recover = { body: JSON.stringify({ type: 'recover', invocationId: 'inv_BBBBBBBBBBBBBBBBBBBBBB', at: 1_765_000_000_000 }) };
  return [
    ...timers,
    recover,
    recover,
    { body: '{"type":"timer"}', attributes: { origin: { DataType: 'String', StringValue: 'long-timers' } } },
  ];
}

describe('dormant dlq redrive', () => {
  it('moves every dead letter to the timer queue as it was, in batches, duplicates included; a second run moves nothing', async () => {
    const [dlq, timers] = await Promise.all([queue('dead-letter'), queue('timers')]);
    const letters = deadLetters();
    for (const l of letters)
      await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: l.body, MessageAttributes: l.attributes }));
    const progress: number[] = [];

    const first = await redriveDeadLetters(sqs, { from: dlq, to: timers, onBatch: (p) => progress.push(p.moved) });
    const second = await redriveDeadLetters(sqs, { from: dlq, to: timers });

    expect(first).toEqual({ moved: 13, failed: 0 });
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(second).toEqual({ moved: 0, failed: 0 });
    const arrived = await drain(timers);
    expect(arrived.map((m) => m.Body).sort()).toEqual(letters.map((l) => l.body).sort());
    expect(arrived.find((m) => m.Body === '{"type":"timer"}')?.MessageAttributes?.origin?.StringValue).toBe('long-timers');
    expect(await drain(dlq)).toEqual([]);
  });

  it('deletes nothing when the send fails (no such queue): the command says so and exits 1', async () => {
    const dlq = await queue('dead-letter');
    await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: deadLetters()[0]!.body }));
    const printed: string[] = [];
    const out = { log: (l: string) => printed.push(l), error: (l: string) => printed.push(`error: ${l}`) };
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    });
    try {
      const missing = dlq.replace(/dead-letter-\w+$/, 'no-such-queue');
      expect(
        await dlqCommand(
          ['redrive', '--queue-url', dlq, '--to', missing, '--region', LOCAL_REGION, '--endpoint-url', sqsLocal.endpoint],
          {},
          out,
        ),
      ).toBe(1);
      expect(printed.join('\n')).toMatch(/^error: dormant dlq redrive: /m);
      expect(printed.join('\n')).toContain('The specified queue does not exist');
      // Still there, never deleted, and visible again at once: the corrected run moves it.
      printed.length = 0;
      const timers = await queue('timers');
      const code = await dlqCommand(
        ['redrive', '--queue-url', dlq, '--to', timers, '--region', LOCAL_REGION, '--endpoint-url', sqsLocal.endpoint],
        {},
        out,
      );
      expect([code, printed.at(-1)]).toEqual([0, `dormant dlq redrive: moved 1 messages to ${timers}`]);
      expect((await drain(timers)).map((m) => m.Body)).toEqual([deadLetters()[0]!.body]);
    } finally {
      process.env = saved;
    }
  });

  it('names what the command line got wrong', async () => {
    const printed: string[] = [];
    const out = { log: (l: string) => printed.push(l), error: (l: string) => printed.push(l) };
    expect(await dlqCommand([], {}, out)).toBe(2);
    expect(await dlqCommand(['redrive', '--to', 'x'], {}, out)).toBe(2);
    expect(await dlqCommand(['redrive', '--queue-url', 'x'], {}, out)).toBe(2);
    expect(await dlqCommand(['redrive', '--queue-url', 'x', '--to', 'x'], {}, out)).toBe(2);
    expect(await dlqCommand(['redirve', '--queue-url', 'x', '--to', 'y'], {}, out)).toBe(2);
    expect(printed.join('\n')).toContain('name a command: redrive');
    expect(printed.join('\n')).toContain('--queue-url (the stack output DeadLetterQueueUrl)');
    expect(printed.join('\n')).toContain('--to (the stack output TimerQueueUrl)');
    expect(printed.join('\n')).toContain('the same queue');
    expect(printed.join('\n')).toContain("no command 'redirve'");
  });
});
