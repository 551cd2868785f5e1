/**
 * The timer Lambda: SQS batches from the timer, long-timer and recovery
 * queues (due timers, parked long timers, recovery of lost attempts, stream
 * batches the wake gave up on). The role is `createTimerHandler`
 * (src/runtime/timer.ts); this file builds its dependencies from the
 * environment once per cold start (`DORMANT_TABLE_NAME`, `DORMANT_ROUTES`,
 * `DORMANT_TIMER_QUEUE_URL`, optionally `DORMANT_LONG_TIMER_QUEUE_URL`).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { systemClock } from '../src/engine/clock.ts';
import { loadConfig, once, sqsClientOptions } from '../src/runtime/config.ts';
import { awsDispatch } from '../src/runtime/dispatch.ts';
import { createTimerHandler } from '../src/runtime/timer.ts';
import { roleLog } from '../src/runtime/telemetry.ts';
import { DynamoDbStore } from '../src/store/dynamodb.ts';

/**
 * The Lambda entry point.
 *
 * @example
 * ```ts
 * // cdk: timer.addEventSource(new SqsEventSource(timerQueue, { reportBatchItemFailures: true }))
 * ```
 */
export const handler = createTimerHandler(
  once(async () => {
    const config = loadConfig('timer');
    const clients = { lambda: new LambdaClient({}), sqs: new SQSClient(sqsClientOptions()) };
    // The config names routes and the timer queues as awsDispatch does.
    const dispatch = awsDispatch({ ...clients, ...config, clock: systemClock });
    const store = new DynamoDbStore({ client: new DynamoDBClient({}), tableName: config.tableName });
    const streams = new DynamoDBStreamsClient({});
    return { store, dispatch, clock: systemClock, streams, log: roleLog('timer') };
  }),
);
