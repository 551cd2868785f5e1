/**
 * The wake Lambda: DynamoDB stream batches in, handler invocations and timer
 * messages out. The role is `createWakeHandler` (src/runtime/wake-handler.ts,
 * deciding by the wake rule in src/runtime/wake.ts); this file builds its
 * dependencies from the environment once per cold start
 * (`DORMANT_TABLE_NAME`, `DORMANT_ROUTES`, `DORMANT_TIMER_QUEUE_URL`).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { systemClock } from '../src/engine/clock.ts';
import { loadConfig, once, sqsClientOptions } from '../src/runtime/config.ts';
import { awsDispatch } from '../src/runtime/dispatch.ts';
import { createWakeHandler } from '../src/runtime/wake-handler.ts';
import { roleLog } from '../src/runtime/telemetry.ts';
import { withBatchLog } from '../src/runtime/role-logs.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDbStore } from '../src/store/dynamodb.ts';

/**
 * The Lambda entry point.
 *
 * @example
 * ```ts
 * // cdk: wake.addEventSource(new DynamoEventSource(table, { reportBatchItemFailures: true, bisectBatchOnError: true }))
 * ```
 */
export const handler = withBatchLog(
  createWakeHandler(
    once(async () => {
      const config = loadConfig('wake');
      const clients = { lambda: new LambdaClient({}), sqs: new SQSClient(sqsClientOptions()) };
      // The config names routes and the timer queues as awsDispatch does.
      const dispatch = awsDispatch({ ...clients, ...config, clock: systemClock });
      const store = new DynamoDbStore({ client: new DynamoDBClient({}), tableName: config.tableName });
      return { store, dispatch, clock: systemClock, log: roleLog('wake') };
    }),
  ),
  new Logger({ serviceName: 'dormant-wake' }),
);
