/**
 * `dormant dlq redrive --queue-url <dead-letter queue> --to <timer queue>`:
 * moves what the timer Lambda gave up on (timers, recovery messages, failed
 * stream batches' records) back to the timer queue, once its cause is fixed.
 * The timer role reads every kind of message from that queue: a timer not
 * yet due goes back to the long-timer queue, the rest is handled at once.
 *
 * Each batch is sent, then deleted from the dead-letter queue: a redrive cut
 * short between the two leaves a message in both, and the timer role
 * handles the duplicate as it handles SQS's own (a completion is written
 * once, a recovery re-reads `meta`; DESIGN rule 4). Running it again moves
 * only what is left.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { parseArgs } from 'node:util';

/** How `dormant dlq` is used. */
export const DLQ_USAGE = `usage: dormant dlq redrive --queue-url DEAD_LETTER_QUEUE_URL --to TIMER_QUEUE_URL [--region REGION] [--endpoint-url URL]

  moves every message of the dead-letter queue (stack output DeadLetterQueueUrl)
  back to the timer queue (stack output TimerQueueUrl), with the AWS
  credentials of the environment; safe to run again (--endpoint-url: an
  emulator's, such as LocalStack's)`;

/** How long a received message stays hidden while it is moved, in seconds. */
const MOVE_VISIBILITY_SECONDS = 60;

/**
 * Moves every message from `from` to `to` (SQS queue URLs), a batch of up
 * to 10 at a time, bodies and message attributes as they were; stops when
 * a receive finds nothing. A message the send refuses stays on `from`
 * (visible again after a minute) and is counted in `failed`.
 *
 * @example
 * ```ts
 * const { moved } = await redriveDeadLetters(new SQSClient({}), { from: dlqUrl, to: timerQueueUrl });
 * ```
 */
export async function redriveDeadLetters(
  client: SQSClient,
  options: { from: string; to: string; onBatch?: (progress: { moved: number; failed: number }) => void },
): Promise<{ moved: number; failed: number }> {
  let moved = 0;
  let failed = 0;
  const refused = new Set<string>();
  for (;;) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: options.from,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: MOVE_VISIBILITY_SECONDS,
        MessageAttributeNames: ['All'],
      }),
    );
    // A message refused before comes back after its minute: this run has tried it.
    const batch = Messages.filter((m) => m.MessageId && !refused.has(m.MessageId));
    if (batch.length === 0) return { moved, failed };
    let sent;
    try {
      sent = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: options.to,
          Entries: batch.map((m, i) => ({ Id: String(i), MessageBody: m.Body ?? '', MessageAttributes: attributes(m) })),
        }),
      );
    } catch (error) {
      // Nothing moved: show the batch again at once, so a corrected run finds it.
      await client
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: options.from,
            Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
          }),
        )
        .catch(() => undefined);
      throw error;
    }
    const ok = new Set((sent.Successful ?? []).map((s) => Number(s.Id)));
    for (const [i, m] of batch.entries()) if (!ok.has(i)) refused.add(m.MessageId!);
    failed += batch.length - ok.size;
    const done = batch.filter((_, i) => ok.has(i));
    if (done.length > 0) {
      await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.from,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
    }
    moved += done.length;
    options.onBatch?.({ moved, failed });
  }
}

function attributes(message: Message): Record<string, MessageAttributeValue> | undefined {
  const all = message.MessageAttributes;
  return all && Object.keys(all).length > 0 ? all : undefined;
}

/**
 * Runs `dormant dlq …` with its arguments (after `dlq`); returns the exit code.
 *
 * @example
 * ```ts
 * await dlqCommand(['redrive', '--queue-url', dlqUrl, '--to', timerQueueUrl]);
 * ```
 */
export async function dlqCommand(
  argv: string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  out: Pick<Console, 'log' | 'error'> = console,
): Promise<number> {
  const usage = (problem: string) => {
    out.error(`dormant dlq: ${problem}\n\n${DLQ_USAGE}`);
    return 2;
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { 'queue-url': { type: 'string' }, to: { type: 'string' }, region: { type: 'string' }, 'endpoint-url': { type: 'string' } },
    });
  } catch (error) {
    return usage((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals[0] !== 'redrive' || positionals.length > 1) {
    return usage(positionals[0] === undefined ? 'name a command: redrive' : `no command '${positionals.join(' ')}'`);
  }
  const from = values['queue-url'];
  const to = values.to;
  if (!from) return usage('give the dead-letter queue: --queue-url (the stack output DeadLetterQueueUrl)');
  if (!to) return usage('give the queue to move its messages to: --to (the stack output TimerQueueUrl)');
  if (from === to) return usage('--queue-url and --to are the same queue');
  const region = values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const endpoint = values['endpoint-url'];
  const client = new SQSClient({ ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) });
  try {
    const { moved, failed } = await redriveDeadLetters(client, { from, to, onBatch: (p) => out.log(`  moved ${p.moved} so far`) });
    out.log(`dormant dlq redrive: moved ${moved} messages to ${to}${failed ? `; ${failed} refused, left on the dead-letter queue` : ''}`);
    return failed ? 1 : 0;
  } catch (error) {
    out.error(`dormant dlq redrive: ${(error as Error).message}`);
    return 1;
  } finally {
    client.destroy();
  }
}
