/**
 * The handler Lambda: what a user's own Lambda file exports. Each invoke
 * (from the wake or the timer, payload `{ invocationId, epoch }`) runs one
 * attempt; a suspended invocation returns a small marker at once, so no
 * compute is billed while it waits.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AnyDefinition } from '../api/definitions.ts';
import type { RetryPolicy } from '../api/context.ts';
import { runAttempt, type AttemptDeps, type AttemptOutcome, type AttemptRequest } from '../engine/attempt.ts';
import { systemClock, type Clock } from '../engine/clock.ts';
import type { IdSigner } from '../engine/ids.ts';
import { DynamoDbStore } from '../store/dynamodb.ts';
import type { Store } from '../store/store.ts';
import { loadConfig, once, signerFor } from './config.ts';
import { registry } from './registry.ts';
import { lambdaTelemetry, type Telemetry } from './telemetry.ts';
import { otelTracing, type OtelTracingOptions } from './tracing.ts';

/**
 * Dependencies given instead of those built from the environment (the local
 * plane, tests).
 *
 * @example
 * ```ts
 * const runtime: HandlerRuntime = { store, signer: new IdSigner(key), apiUrl: 'http://localhost:8080' };
 * ```
 */
export interface HandlerRuntime {
  store: Store;
  signer: IdSigner;
  clock?: Clock;
  apiUrl?: string | undefined;
  retentionMs?: number;
  /** Where each attempt is reported; in Lambda, a structured log line and the failed-invocations metric. */
  telemetry?: Telemetry;
}

/**
 * Options of {@link lambdaHandler}.
 *
 * @example
 * ```ts
 * lambdaHandler({ services: [review, reviewFlow] })
 * ```
 */
export interface LambdaHandlerOptions {
  /** The services, objects and workflows this function runs. */
  services: readonly AnyDefinition[];
  /** Ready dependencies; by default built at cold start from `DORMANT_*` variables. */
  runtime?: HandlerRuntime | (() => Promise<HandlerRuntime>);
  /** Backoff between attempts after a retryable handler failure. */
  invocationRetry?: RetryPolicy;
  /** Lease when the Lambda context gives no deadline. Default 15 minutes. */
  defaultLeaseMs?: number;
  /**
   * OpenTelemetry spans of each attempt, to the provider registered with
   * `@opentelemetry/api` unless another is given (see `otelTracing`);
   * `false` turns them off. With no provider registered, none are made.
   */
  tracing?: OtelTracingOptions | false;
}

/**
 * What the handler Lambda returns. A suspension is a small marker naming
 * what the invocation awaits; other endings carry the attempt's outcome.
 *
 * @example
 * ```ts
 * { status: 'suspended', invocationId: 'inv_…', awaiting: ['C#00000001'] }
 * ```
 */
export type HandlerResult =
  | { status: 'suspended'; invocationId: string; awaiting: string[] }
  | { status: 'invalid'; reason: string }
  | ({ status: Exclude<AttemptOutcome['kind'], 'suspended'> } & Exclude<AttemptOutcome, { kind: 'suspended' }>);

/** The parts of Lambda's context object the handler reads. */
export interface LambdaContextLike {
  getRemainingTimeInMillis(): number;
  /** Lambda's id of this request: the correlation id of the attempt's log line. */
  awsRequestId?: string;
  /** The version running (`$LATEST`, or a published version's number, also when invoked through an alias). */
  functionVersion?: string;
}

/**
 * The version an attempt pins its invocation to: a published version, never
 * `$LATEST` (whose code changes under it). Lambda's context names it; the
 * `AWS_LAMBDA_FUNCTION_VERSION` variable is the fallback.
 *
 * @example
 * ```ts
 * pinnableVersion('7')       // '7'
 * pinnableVersion('$LATEST') // undefined
 * ```
 */
export function pinnableVersion(version: string | undefined): string | undefined {
  return version && version !== '$LATEST' ? version : undefined;
}

/**
 * The lease outlasts Lambda's deadline a little (clock skew between
 * functions): another attempt may take over only once this one cannot be
 * running any more, so a step body never runs in two attempts at once.
 */
const LEASE_MARGIN_MS = 2_000;

/**
 * Makes the Lambda handler for a set of services.
 *
 * Each attempt runs on the function version Lambda invoked; the first
 * attempt of an invocation pins it to that version, and the wake and timer
 * invoke every later attempt on it (rule 12), so a deploy never replays a
 * journal against code it was not written by.
 *
 * The lease of an attempt is the function's remaining time at the start, so
 * another attempt may take over an invocation only once this one cannot be
 * running any more. Errors of the runtime itself (the table unreachable, say)
 * are thrown, so Lambda retries the invoke and finally hands it to the
 * on-failure destination, which the timer Lambda re-checks.
 *
 * @example
 * ```ts
 * // src/handlers.ts, deployed with DurableFunction({ entry: 'src/handlers.ts', services: ['review'] })
 * import { lambdaHandler } from 'dormant-lambda';
 * import { review } from './review.ts';
 * export const handler = lambdaHandler({ services: [review] });
 * ```
 */
export function lambdaHandler(options: LambdaHandlerOptions): (event: unknown, context?: LambdaContextLike) => Promise<HandlerResult> {
  const services = registry(options.services);
  const runtime =
    typeof options.runtime === 'function'
      ? options.runtime
      : options.runtime
        ? async () => options.runtime as HandlerRuntime
        : once(async (): Promise<HandlerRuntime> => {
            const config = loadConfig('handler');
            return {
              store: new DynamoDbStore({ client: new DynamoDBClient({}), tableName: config.tableName }),
              signer: await signerFor(config.signing),
              apiUrl: config.apiUrl,
              retentionMs: config.retentionMs,
              telemetry: lambdaTelemetry({ tableName: config.tableName }),
            };
          });

  const tracing = options.tracing === false ? undefined : otelTracing(options.tracing);

  return async (event, context) => {
    const request = parsePayload(event);
    if ('reason' in request) return { status: 'invalid', reason: request.reason };
    const leaseMs = context ? context.getRemainingTimeInMillis() + LEASE_MARGIN_MS : (options.defaultLeaseMs ?? 15 * 60_000);
    const r = await runtime();
    const deps: AttemptDeps = {
      store: r.store,
      signer: r.signer,
      clock: r.clock ?? systemClock,
      services,
      leaseMs,
      // The engine hands a long invocation on to a fresh attempt before Lambda's deadline.
      ...(context ? { remainingMs: () => context.getRemainingTimeInMillis() } : {}),
      apiUrl: r.apiUrl,
      version: pinnableVersion(context?.functionVersion ?? process.env.AWS_LAMBDA_FUNCTION_VERSION),
      ...(r.retentionMs === undefined ? {} : { retentionMs: r.retentionMs }),
      ...(options.invocationRetry ? { invocationRetry: options.invocationRetry } : {}),
      ...(tracing ? { tracing } : {}),
      ...(r.telemetry?.handlerConsole ? { handlerConsole: (meta) => r.telemetry!.handlerConsole!(meta, context) } : {}),
    };
    let outcome: AttemptOutcome;
    try {
      outcome = await runAttempt(deps, request);
    } finally {
      // Before Lambda may freeze the process: a span left in a batch would be lost.
      await tracing?.flush();
    }
    r.telemetry?.attemptEnded(request, outcome, context);
    if (outcome.kind === 'suspended') return { status: 'suspended', invocationId: outcome.invocationId, awaiting: outcome.awaiting };
    return { status: outcome.kind, ...outcome };
  };
}

function parsePayload(event: unknown): AttemptRequest | { reason: string } {
  // A bad payload never gets better: answer instead of throwing, so Lambda does not retry it.
  const e = event as { invocationId?: unknown; epoch?: unknown; invokeId?: unknown } | null;
  if (!e || typeof e !== 'object' || typeof e.invocationId !== 'string' || !Number.isInteger(e.epoch)) {
    return { reason: 'expected a payload { invocationId, epoch } (the wake and timer functions send it)' };
  }
  // Payloads of earlier releases have no invoke id: they wait out any live lease, as before.
  const invokeId = typeof e.invokeId === 'string' && e.invokeId.length > 0 && e.invokeId.length <= 64 ? e.invokeId : undefined;
  return { invocationId: e.invocationId, epoch: e.epoch as number, ...(invokeId === undefined ? {} : { invokeId }) };
}
