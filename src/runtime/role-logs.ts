/**
 * One structured line per ingress request and per wake batch, for the
 * runtime's own Lambda functions (the `lambda/` entries). Apart from
 * `telemetry.ts` because these speak Lambda's event types, which the
 * package's public types must not need.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { invocationIdOf } from '../store/keys.ts';
import { forLog } from './log.ts';
import type { StructuredLogger, TelemetryContext } from './telemetry.ts';

/**
 * The ingress with one structured line per request: method, path (awakeable
 * ids shortened), status, milliseconds, the invocation id it names or
 * started, API Gateway's request id (the correlation id a client sees in
 * `x-amzn-requestid`) and whether it was a cold start.
 *
 * @example
 * ```ts
 * export const handler = withRequestLog(createIngressHandler(deps), new Logger({ serviceName: 'dormant-ingress' }));
 * ```
 */
export function withRequestLog(
  handle: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>,
  logger: StructuredLogger,
  now: () => number = Date.now,
): (event: APIGatewayProxyEvent, context?: TelemetryContext) => Promise<APIGatewayProxyResult> {
  let coldStart = true;
  return async (event, context) => {
    const started = now();
    const first = coldStart;
    coldStart = false;
    const result = await handle(event);
    const named =
      /\binv_[A-Za-z0-9_-]+/.exec(event.path ?? '')?.[0] ?? /"invocationId":"(inv_[A-Za-z0-9_-]+)"/.exec(result.body ?? '')?.[1];
    const fields = {
      method: event.httpMethod,
      path: forLog(event.path ?? ''),
      status: result.statusCode,
      ms: now() - started,
      ...(named ? { invocationId: named } : {}),
      ...(event.requestContext?.requestId ? { correlationId: event.requestContext.requestId } : {}),
      ...(context?.awsRequestId ? { requestId: context.awsRequestId } : {}),
      coldStart: first,
    };
    if (result.statusCode >= 500) logger.error('request', fields);
    else logger.info('request', fields);
    return result;
  };
}

/**
 * The wake with one structured line per stream batch: how many records, the
 * invocations they were about (the first 20), how many were handed back for
 * a retry, Lambda's request id and whether it was a cold start.
 *
 * @example
 * ```ts
 * export const handler = withBatchLog(createWakeHandler(deps), new Logger({ serviceName: 'dormant-wake' }));
 * ```
 */
export function withBatchLog(
  handle: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>,
  logger: StructuredLogger,
): (event: DynamoDBStreamEvent, context?: TelemetryContext) => Promise<DynamoDBBatchResponse> {
  let coldStart = true;
  return async (event, context) => {
    const first = coldStart;
    coldStart = false;
    const result = await handle(event);
    const ids = new Set<string>();
    for (const record of event.Records ?? []) {
      const pk = record.dynamodb?.Keys?.pk?.S;
      const id = pk === undefined ? undefined : invocationIdOf(pk);
      if (id) ids.add(id);
    }
    const fields = {
      records: event.Records?.length ?? 0,
      invocationIds: [...ids].slice(0, 20),
      retried: result.batchItemFailures?.length ?? 0,
      ...(context?.awsRequestId ? { requestId: context.awsRequestId } : {}),
      coldStart: first,
    };
    if (fields.retried > 0) logger.warn('batch', fields);
    else logger.info('batch', fields);
    return result;
  };
}
