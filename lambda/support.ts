/**
 * What the wake and timer entry points share: how a handler Lambda is
 * invoked, how a timer rides the queue, the queue's message formats, and a
 * log line. Clients are passed in; nothing is created at import time.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Clock } from '../src/engine/clock.ts';
import type { DormantConfig } from '../src/runtime/config.ts';
import { DynamoDbStore } from '../src/store/dynamodb.ts';
import type { Timer } from '../src/store/store.ts';

/**
 * Where log lines go. In Lambda, one JSON line per call on stdout or
 * stderr; the local plane prints them its own way.
 *
 * @example
 * ```ts
 * const log: Log = (level, message, details) => console.log(level, message, details);
 * ```
 */
export type Log = (level: 'info' | 'warn' | 'error', message: string, details?: unknown) => void;

/**
 * Writes a log line through `log`, or as JSON on the console.
 *
 * @example
 * ```ts
 * logLine(deps.log, 'warn', 'wake: record failed', error);
 * ```
 */
export function logLine(log: Log | undefined, level: 'info' | 'warn' | 'error', message: string, details?: unknown): void {
  if (log) {
    log(level, message, details);
    return;
  }
  const detail = details instanceof Error ? { error: details.name, reason: details.message } : details;
  const line = JSON.stringify({ level, message, ...(detail === undefined ? {} : { details: detail }) });
  if (level === 'error') console.error(line);
  else console.log(line);
}

/**
 * The DynamoDB store for a configuration, with a client that honours
 * `AWS_ENDPOINT_URL` (the SDK reads it itself).
 *
 * @example
 * ```ts
 * const store = dynamoDbStore(loadConfig('wake'));
 * ```
 */
export function dynamoDbStore(config: Pick<DormantConfig, 'tableName'>, client: DynamoDBClient = new DynamoDBClient({})): DynamoDbStore {
  return new DynamoDbStore({ client, tableName: config.tableName });
}

/**
 * What a handler Lambda is invoked with: ids only, never payloads.
 *
 * @example
 * ```ts
 * const p: InvokePayload = { invocationId: 'inv_…', epoch: 3 };
 * ```
 */
export interface InvokePayload {
  invocationId: string;
  epoch: number;
}

/**
 * Messages on the timer queue.
 *
 * - `timer`: write completion `key` of `invocationId` once `at` (epoch ms)
 *   has come; re-sent with the next hop while it has not (SQS delays are at
 *   most 15 minutes).
 * - `recover`: re-check an invocation and re-invoke it if runnable (a lost
 *   attempt whose lease had not run out yet when it was first checked).
 *
 * @example
 * ```ts
 * const m: TimerMessage = { type: 'timer', invocationId: 'inv_…', key: 'C#00000004', at: 1767225600000 };
 * ```
 */
export type TimerMessage = { type: 'timer'; invocationId: string; key: string; at: number } | { type: 'recover'; invocationId: string; at: number };

/** SQS's largest message delay, in seconds. */
export const MAX_DELAY_SECONDS = 900;

/**
 * The delay of the next hop towards `at`: whole seconds, rounded up, at most
 * 15 minutes.
 *
 * @example
 * ```ts
 * hopDelaySeconds(now + 3_600_000, now) // 900
 * hopDelaySeconds(now + 1_200, now)     // 2
 * ```
 */
export function hopDelaySeconds(at: number, now: number): number {
  return Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil((at - now) / 1000)));
}

/**
 * How the wake and timer reach the outside: invoke a handler Lambda
 * asynchronously, put a message on the timer queue.
 *
 * @example
 * ```ts
 * const dispatch = awsDispatch({ lambda, sqs, routes: config.routes, timerQueueUrl: config.timerQueueUrl!, clock: systemClock });
 * await dispatch.invoke('review', { invocationId, epoch: 2 });
 * ```
 */
export interface Dispatch {
  /** Asynchronous invoke (`InvocationType: 'Event'`) of the function serving `service`. */
  invoke(service: string, payload: InvokePayload): Promise<void>;
  /** Puts a timer message on the queue, delayed by the next hop towards its due time. */
  schedule(invocationId: string, timer: Timer): Promise<void>;
  /** Puts any timer-queue message on the queue, delayed towards its `at`. */
  send(message: TimerMessage): Promise<void>;
}

/**
 * A {@link Dispatch} over the Lambda and SQS clients.
 *
 * @example
 * ```ts
 * const dispatch = awsDispatch({ lambda: new LambdaClient({}), sqs: new SQSClient({}), routes, timerQueueUrl, clock: systemClock });
 * ```
 */
export function awsDispatch(deps: { lambda: LambdaClient; sqs: SQSClient; routes: Readonly<Record<string, string>>; timerQueueUrl: string; clock: Clock }): Dispatch {
  const send = async (message: TimerMessage): Promise<void> => {
    await deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: deps.timerQueueUrl,
        MessageBody: JSON.stringify(message),
        DelaySeconds: hopDelaySeconds(message.at, deps.clock.now()),
      }),
    );
  };
  return {
    async invoke(service, payload) {
      const functionName = deps.routes[service];
      if (!functionName) {
        throw new Error(`no function serves '${service}': DORMANT_ROUTES names ${Object.keys(deps.routes).sort().join(', ') || 'none'} (register it with runtime.addService)`);
      }
      const result = await deps.lambda.send(
        new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(payload)) }),
      );
      if (result.StatusCode !== 202) throw new Error(`asynchronous invoke of ${functionName} answered ${result.StatusCode}, not 202`);
    },
    schedule: (invocationId, timer) => send({ type: 'timer', invocationId, key: timer.key, at: timer.at }),
    send,
  };
}
