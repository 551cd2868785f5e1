/**
 * What the handler role tells operators about each attempt, in Lambda: one
 * structured log line (Powertools Logger) with the invocation id, the
 * epoch, how the attempt ended, the Lambda request id and whether it was a
 * cold start; and, for an invocation that failed for good, the
 * `FailedInvocations` metric (Powertools Metrics, CloudWatch embedded metric
 * format), which `DurableRuntime`'s alarm watches.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { format } from 'node:util';
import type { AttemptOutcome } from '../engine/attempt.ts';
import type { InvocationMeta } from '../store/store.ts';
import { forLog, type Log } from './log.ts';

/** The CloudWatch namespace of Dormant's metrics. */
export const METRICS_NAMESPACE = 'Dormant';
/** Invocations that ended `failed`, per table. */
export const FAILED_INVOCATIONS_METRIC = 'FailedInvocations';
/** The dimension naming the runtime (its table) a metric belongs to. */
export const TABLE_DIMENSION = 'Table';
/**
 * What telemetry writes log lines with: Powertools' `Logger` has this shape.
 * Declared here so the package's types do not pull in Powertools' (which
 * need `@types/aws-lambda` in the user's project).
 *
 * @example
 * ```ts
 * const logger: StructuredLogger = new Logger({ serviceName: 'dormant-handler' });
 * ```
 */
export interface StructuredLogger {
  debug?(message: string, ...extra: unknown[]): void;
  info(message: string, ...extra: unknown[]): void;
  warn(message: string, ...extra: unknown[]): void;
  error(message: string, ...extra: unknown[]): void;
}

/**
 * What telemetry emits metrics with: Powertools' `Metrics` has this shape.
 *
 * @example
 * ```ts
 * const metrics: MetricsSink = new Metrics({ namespace: 'Dormant', serviceName: 'dormant' });
 * ```
 */
export interface MetricsSink {
  addMetric(name: string, unit: 'Count', value: number): void;
  publishStoredMetrics(): void;
}

/** The `service` dimension Powertools Metrics adds to every metric. */
export const METRICS_SERVICE = 'dormant';

/**
 * The parts of Lambda's context telemetry reads.
 *
 * @example
 * ```ts
 * const context: TelemetryContext = { awsRequestId: 'c6af9ac6-…' };
 * ```
 */
export interface TelemetryContext {
  awsRequestId?: string;
}

/**
 * Where the handler role reports each attempt.
 *
 * @example
 * ```ts
 * telemetry.attemptEnded({ invocationId, epoch: 2 }, outcome, context);
 * ```
 */
export interface Telemetry {
  attemptEnded(request: { invocationId: string; epoch: number }, outcome: AttemptOutcome, context?: TelemetryContext): void;
  /** Where a handler's `ctx.console` writes (past replay); absent: the global console. */
  handlerConsole?(meta: InvocationMeta, context?: TelemetryContext): Console;
}

/**
 * Telemetry for a handler function of the runtime whose table is
 * `tableName`. `logger` and `metrics` default to Powertools' on stdout;
 * tests pass their own.
 *
 * @example
 * ```ts
 * const telemetry = lambdaTelemetry({ tableName: process.env.DORMANT_TABLE_NAME! });
 * ```
 */
export function lambdaTelemetry(options: {
  tableName: string;
  logger?: StructuredLogger;
  metrics?: MetricsSink;
  /** Where `ctx.console` writes. Default: `logger` when given, else a Powertools logger named by `POWERTOOLS_SERVICE_NAME`. */
  handlerLogger?: StructuredLogger;
}): Telemetry {
  const logger = options.logger ?? new Logger({ serviceName: 'dormant-handler' });
  // Handlers' own lines are the user's, under the service name Lambda gives (POWERTOOLS_SERVICE_NAME), apart from the runtime's.
  const handlerLogger = options.handlerLogger ?? (options.logger ? options.logger : new Logger());
  const metrics =
    options.metrics ??
    new Metrics({
      namespace: METRICS_NAMESPACE,
      serviceName: METRICS_SERVICE,
      defaultDimensions: { [TABLE_DIMENSION]: options.tableName },
    });
  let coldStart = true;
  return {
    attemptEnded(request, outcome, context) {
      const fields = {
        invocationId: request.invocationId,
        epoch: request.epoch,
        outcome: outcome.kind,
        coldStart,
        ...(context?.awsRequestId ? { requestId: context.awsRequestId } : {}),
        ...(outcome.kind === 'suspended' ? { awaiting: outcome.awaiting } : {}),
        ...(outcome.kind === 'failed' || outcome.kind === 'retrying' ? { failure: forLog(outcome.failure.message) } : {}),
        ...(outcome.kind === 'retrying' ? { retryAt: new Date(outcome.retryAt).toISOString() } : {}),
        ...(outcome.kind === 'skipped' || outcome.kind === 'lost' ? { reason: forLog(outcome.reason) } : {}),
      };
      coldStart = false;
      if (outcome.kind === 'failed') logger.error('attempt ended', fields);
      else if (outcome.kind === 'retrying') logger.warn('attempt ended', fields);
      else logger.info('attempt ended', fields);
      if (outcome.kind === 'failed') {
        metrics.addMetric(FAILED_INVOCATIONS_METRIC, MetricUnit.Count, 1);
        metrics.publishStoredMetrics();
      }
    },
    handlerConsole(meta, context) {
      return structuredConsole(handlerLogger, {
        invocationId: meta.id,
        service: meta.service,
        handler: meta.handler,
        ...(meta.key === undefined ? {} : { key: meta.key }),
        epoch: meta.epoch,
        ...(context?.awsRequestId ? { requestId: context.awsRequestId } : {}),
      });
    },
  };
}

/**
 * A `Console` whose printing methods write one structured line each through
 * `logger`, with `fields` on every line: `log`/`info` at info, `warn`,
 * `error`, and `debug`/`trace` at debug. The message is formatted as
 * `console.log` would; an `Error` argument is also kept whole, with its
 * stack, under `error`. Other methods (`table`, `time`, …) are the global
 * console's.
 *
 * @example
 * ```ts
 * const out = structuredConsole(new Logger({ serviceName: 'orders' }), { invocationId: 'inv_…' });
 * out.log('charged %s', orderId); // {"level":"INFO","message":"charged o-1","invocationId":"inv_…",…}
 * ```
 */
export function structuredConsole(logger: StructuredLogger, fields: Record<string, unknown>): Console {
  const write =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]) => {
      const error = args.find((a): a is Error => a instanceof Error);
      const extra = error ? { ...fields, error } : fields;
      const line = format(...args);
      if (level === 'debug') (logger.debug ?? logger.info).call(logger, line, extra);
      else logger[level](line, extra);
    };
  const methods: Partial<Record<keyof Console, unknown>> = {
    log: write('info'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    debug: write('debug'),
    trace: write('debug'),
  };
  return new Proxy(console, {
    get: (target, key, receiver) =>
      typeof key === 'string' && key in methods ? methods[key as keyof Console] : Reflect.get(target, key, receiver),
  });
}

/**
 * A {@link Log} that writes through a Powertools logger: one JSON line per
 * call, with the logger's keys (service, cold start, request id when the
 * context was added).
 *
 * @example
 * ```ts
 * const log = powertoolsLog(new Logger({ serviceName: 'dormant-wake' }));
 * log('error', 'wake: record failed', error);
 * ```
 */
export function powertoolsLog(logger: StructuredLogger): Log {
  return (level, message, details) => {
    if (details instanceof Error) logger[level](message, details);
    else if (details === undefined) logger[level](message);
    else logger[level](message, { details });
  };
}

/**
 * The log of one of the runtime's own functions in Lambda: Powertools JSON
 * lines under the service name `dormant-<role>`.
 *
 * @example
 * ```ts
 * createWakeHandler(once(async () => ({ store, dispatch, clock: systemClock, log: roleLog('wake') })));
 * ```
 */
export function roleLog(role: 'ingress' | 'wake' | 'timer'): Log {
  return powertoolsLog(new Logger({ serviceName: `dormant-${role}` }));
}
