/**
 * The SQS event source mapping, locally: long-polls a queue and calls a
 * handler with Lambda's `SQSEvent`, then deletes what succeeded. Messages the
 * handler reports in `batchItemFailures` (or all of them, if it throws) stay
 * on the queue and come back after the visibility timeout; the queue's
 * redrive policy moves a message that keeps failing to the dead-letter queue.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { LOCAL_REGION } from './dynamodb-local.ts';

/**
 * Options of {@link startSqsPoller}.
 *
 * @example
 * ```ts
 * startSqsPoller({ sqs, queueUrl, queueArn, handler: createTimerHandler(deps) });
 * ```
 */
export interface SqsPollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: (event: SQSEvent) => Promise<SQSBatchResponse | void>;
  /** Messages per call, at most 10. Default 10. */
  batchSize?: number;
  /** Long-poll wait per receive, in seconds. Default 1. */
  waitSeconds?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, details?: unknown) => void;
}

/**
 * A running SQS poller.
 *
 * @example
 * ```ts
 * const poller = startSqsPoller(options);
 * await poller.stop();
 * ```
 */
export interface SqsPoller {
  /** Messages handled successfully so far. */
  handled(): number;
  stop(): Promise<void>;
}

/**
 * Starts polling a queue.
 *
 * @example
 * ```ts
 * const timers = startSqsPoller({ sqs, queueUrl, queueArn, handler: timer });
 * ```
 */
export function startSqsPoller(options: SqsPollerOptions): SqsPoller {
  const log = options.log ?? (() => undefined);
  const abort = new AbortController();
  let handled = 0;

  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        const { Messages } = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: options.batchSize ?? 10,
            WaitTimeSeconds: options.waitSeconds ?? 1,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        const messages = Messages ?? [];
        if (messages.length === 0) continue;
        let failed = new Set<string>();
        try {
          const result = await options.handler({ Records: messages.map((m) => toLambdaRecord(m, options.queueArn)) });
          failed = new Set((result?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        } catch (error) {
          log(
            'error',
            `sqs: the handler failed on a batch of ${messages.length}; the messages come back after their visibility timeout`,
            error,
          );
          failed = new Set(messages.map((m) => m.MessageId!));
        }
        const done = messages.filter((m) => !failed.has(m.MessageId!));
        handled += done.length;
        if (done.length > 0) {
          await options.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
            }),
          );
        }
      } catch (error) {
        if (abort.signal.aborted) break;
        log('warn', `sqs: polling ${options.queueUrl} failed; retrying`, error);
        await sleep(1_000, undefined, { signal: abort.signal }).catch(() => undefined);
      }
    }
  })();

  return {
    handled: () => handled,
    async stop() {
      abort.abort();
      await loop;
    },
  };
}

function toLambdaRecord(message: Message, queueArn: string): SQSRecord {
  const a = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: LOCAL_REGION,
  };
}
