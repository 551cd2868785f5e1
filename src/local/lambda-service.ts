/**
 * Lambda's Invoke API on a local port, so the wake and timer entry points
 * use the real `@aws-sdk/client-lambda` against it, and their handler
 * functions run in this process with Lambda's semantics:
 *
 * - `RequestResponse` runs the function and answers with its result (or
 *   `X-Amz-Function-Error` and the error);
 * - `Event` answers 202 at once, runs the function, retries a failure twice
 *   (after short pauses, where Lambda waits minutes), then sends Lambda's
 *   on-failure destination record to `onFailure`;
 * - a function that outlives its timeout counts as failed ("Task timed
 *   out"), while its promise runs on as a zombie, as a frozen Lambda would
 *   come back — the lease and epoch fences are what stop it.
 *
 * `inflight()` names the invocations whose handler is executing right now.
 *
 * Functions have versions as in Lambda: each function starts as version 1
 * with the alias `live` pointing at it; `publish` adds a version and moves
 * `live` to it (a deploy). An invoke names `function` ($LATEST, the newest
 * code), `function:live` or `function:N`; the handler's context says which
 * version runs (`functionVersion`), as Lambda's does. Every version stays
 * loaded, so invocations pinned to an earlier one finish on its code.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import { LIVE_ALIAS } from '../runtime/versions.ts';
import { LOCAL_REGION } from './dynamodb-local.ts';

/** A function as Lambda calls it. */
export type LocalFunctionHandler = (event: any, context: Context) => Promise<unknown>;

/**
 * A function the local Lambda serves.
 *
 * @example
 * ```ts
 * const fn: LocalFunction = { handler: lambdaHandler({ services, runtime }), timeoutMs: 60_000 };
 * ```
 */
export interface LocalFunction {
  handler: LocalFunctionHandler;
  /** Like the function's timeout setting; also what `getRemainingTimeInMillis` counts down from. */
  timeoutMs: number;
}

/**
 * Lambda's on-failure destination record for an asynchronous invoke.
 *
 * @example
 * ```ts
 * record.requestPayload // { invocationId: 'inv_…', epoch: 2 }
 * ```
 */
export interface AsyncFailureRecord {
  version: '1.0';
  timestamp: string;
  requestContext: { requestId: string; functionArn: string; condition: 'RetriesExhausted'; approximateInvokeCount: number };
  requestPayload: unknown;
  responseContext: { statusCode: 200; executedVersion: string; functionError: 'Unhandled' };
  responsePayload: { errorType: string; errorMessage: string };
}

/**
 * Options of {@link startLocalLambda}.
 *
 * @example
 * ```ts
 * await startLocalLambda({ functions: { handlers: fn }, onFailure: (r) => sendToRecoveryQueue(r) });
 * ```
 */
export interface LocalLambdaOptions {
  functions: Record<string, LocalFunction>;
  /** The on-failure destination of asynchronous invokes. */
  onFailure?: (record: AsyncFailureRecord) => Promise<void>;
  /** Pauses before the retries of a failed asynchronous invoke (Lambda: 1 and 2 minutes). Default 500 and 1 000 ms. */
  retryDelaysMs?: readonly number[];
  /** A delay before each asynchronous execution starts (the plane's latency profile). Default none. */
  asyncStartDelayMs?: () => number;
  /** Told about function errors and lost invokes. */
  log?: (level: 'info' | 'warn' | 'error', message: string, details?: unknown) => void;
}

/**
 * A running local Lambda service.
 *
 * @example
 * ```ts
 * const lambda = await startLocalLambda({ functions });
 * new LambdaClient({ ...localClientConfig(lambda.endpoint) });
 * ```
 */
export interface LocalLambda {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** Invocation ids (from `{ invocationId }` payloads) whose handler is executing now. */
  inflight(): string[];
  /** Executions running now, and asynchronous invokes waiting for a retry. */
  busy(): number;
  /**
   * Publishes a new version of `name` (a deploy of changed code) and points
   * the `live` alias at it; returns the version. Earlier versions stay
   * invocable by their number.
   */
  publish(name: string, fn: LocalFunction): string;
  /** The version the `live` alias of `name` points at. */
  liveVersion(name: string): string;
  /** Stops accepting invokes, drops pending retries, and waits (up to `graceMs`) for running executions. */
  stop(graceMs?: number): Promise<void>;
}

export { LIVE_ALIAS };

const ACCOUNT = '000000000000';
const MAX_SYNC_PAYLOAD = 6 * 1024 * 1024;
const MAX_ASYNC_PAYLOAD = 1024 * 1024;

/** Lambda's unqualified function ARN, as the local service spells it. @example functionArn('handlers') */
export function functionArn(name: string): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${ACCOUNT}:function:${name}`;
}

/**
 * Starts the local Lambda service on a free port.
 *
 * @example
 * ```ts
 * const lambda = await startLocalLambda({ functions: { handlers: { handler, timeoutMs: 60_000 } } });
 * await lambda.stop();
 * ```
 */
export async function startLocalLambda(options: LocalLambdaOptions): Promise<LocalLambda> {
  const retryDelays = options.retryDelaysMs ?? [500, 1_000];
  // Versions of each function, oldest first: version N is versions[N - 1]; `live` is the newest.
  const versions = new Map<string, LocalFunction[]>(Object.entries(options.functions).map(([name, fn]) => [name, [fn]]));
  const resolveTarget = (name: string, qualifier: string | undefined): Target | undefined => {
    const all = versions.get(name);
    if (!all) return undefined;
    if (qualifier === undefined || qualifier === '$LATEST') return { fn: all[all.length - 1]!, version: '$LATEST', qualifier: '$LATEST' };
    if (qualifier === LIVE_ALIAS) return { fn: all[all.length - 1]!, version: String(all.length), qualifier };
    const n = /^[1-9][0-9]*$/.test(qualifier) ? Number(qualifier) : 0;
    return n >= 1 && n <= all.length ? { fn: all[n - 1]!, version: qualifier, qualifier } : undefined;
  };
  const log = options.log ?? (() => undefined);
  const running = new Map<string, number>();
  const executions = new Set<Promise<unknown>>();
  const retryTimers = new Set<NodeJS.Timeout>();
  let stopping = false;

  const track = (invocationId: string | undefined, delta: number) => {
    if (!invocationId) return;
    const n = (running.get(invocationId) ?? 0) + delta;
    if (n > 0) running.set(invocationId, n);
    else running.delete(invocationId);
  };

  /** Runs one execution; resolves with its result, rejects with its error or a timeout. */
  const execute = (name: string, target: Target, event: unknown): Promise<unknown> => {
    const fn = target.fn;
    const invocationId = (event as { invocationId?: unknown } | null)?.invocationId;
    const id = typeof invocationId === 'string' ? invocationId : undefined;
    const deadline = Date.now() + fn.timeoutMs;
    const context = lambdaContext(name, deadline, target);
    track(id, +1);
    const execution = (async () => fn.handler(event, context))();
    const settled = execution.finally(() => {
      track(id, -1);
      executions.delete(settled);
    });
    executions.add(settled);
    settled.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Task timed out after ${(fn.timeoutMs / 1000).toFixed(2)} seconds`)), fn.timeoutMs);
    });
    return Promise.race([execution, timeout]).finally(() => clearTimeout(timer));
  };

  const startDelay = options.asyncStartDelayMs;
  const invokeAsync = (name: string, fn: Target, event: unknown, attempt = 1): void => {
    if (stopping) return;
    const delay = startDelay?.() ?? 0;
    const started =
      delay > 0
        ? new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              retryTimers.delete(timer);
              resolve();
            }, delay);
            retryTimers.add(timer);
          }).then(() => (stopping ? Promise.reject(new Error('stopping')) : execute(name, fn, event)))
        : execute(name, fn, event);
    started.then(
      () => undefined,
      (error: unknown) => {
        const e = error instanceof Error ? error : new Error(String(error));
        if (stopping) return;
        const delay = retryDelays[attempt - 1];
        if (delay !== undefined) {
          log('warn', `lambda ${name}: attempt ${attempt} failed (${e.message}); retrying in ${delay} ms`);
          const timer = setTimeout(() => {
            retryTimers.delete(timer);
            invokeAsync(name, fn, event, attempt + 1);
          }, delay);
          retryTimers.add(timer);
          return;
        }
        log(
          'error',
          `lambda ${name}: asynchronous invoke failed ${attempt} times (${e.message}); sending it to the on-failure destination`,
        );
        const record: AsyncFailureRecord = {
          version: '1.0',
          timestamp: new Date().toISOString(),
          requestContext: {
            requestId: randomUUID(),
            functionArn: `${functionArn(name)}:${fn.qualifier}`,
            condition: 'RetriesExhausted',
            approximateInvokeCount: attempt,
          },
          requestPayload: event,
          responseContext: { statusCode: 200, executedVersion: fn.version, functionError: 'Unhandled' },
          responsePayload: { errorType: e.name, errorMessage: e.message },
        };
        options
          .onFailure?.(record)
          .catch((failure: unknown) => log('error', `lambda ${name}: the on-failure destination failed; invoke lost`, failure));
      },
    );
  };

  const server = createServer((req, res) => {
    void serve(req, res).catch((error: unknown) => {
      log('error', 'lambda: request failed', error);
      if (!res.headersSent) awsError(res, 500, 'ServiceException', String(error));
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(url.pathname);
    if (req.method !== 'POST' || !match)
      return awsError(res, 404, 'UnknownOperationException', `the local Lambda serves Invoke only, not ${req.method} ${url.pathname}`);
    const { name, qualifier: named } = parseFunction(decodeURIComponent(match[1]!));
    const qualifier = url.searchParams.get('Qualifier') ?? named;
    const fn = resolveTarget(name, qualifier);
    if (!fn)
      return awsError(res, 404, 'ResourceNotFoundException', `Function not found: ${functionArn(name)}${qualifier ? `:${qualifier}` : ''}`);
    if (stopping) return awsError(res, 503, 'ServiceException', 'the local Lambda is shutting down');
    const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    const body = await readBody(req);
    const limit = type === 'Event' ? MAX_ASYNC_PAYLOAD : MAX_SYNC_PAYLOAD;
    if (body.length > limit)
      return awsError(res, 413, 'RequestTooLargeException', `Request must be smaller than ${limit} bytes for the InvokeFunction operation`);
    let event: unknown;
    try {
      event = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      return awsError(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
    }
    if (type === 'DryRun') {
      res.writeHead(204).end();
      return;
    }
    if (type === 'Event') {
      res.writeHead(202, { 'x-amzn-requestid': randomUUID() }).end();
      invokeAsync(name, fn, event);
      return;
    }
    try {
      const result = await execute(name, fn, event);
      res.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': fn.version, 'x-amzn-requestid': randomUUID() });
      res.end(result === undefined ? 'null' : JSON.stringify(result));
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      res.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': fn.version, 'x-amz-function-error': 'Unhandled' });
      res.end(JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: (e.stack ?? '').split('\n') }));
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    inflight: () => [...running.keys()],
    publish(name, fn) {
      const all = versions.get(name);
      if (!all) throw new Error(`no function ${name} to publish a version of (the local Lambda serves ${[...versions.keys()].join(', ')})`);
      all.push(fn);
      return String(all.length);
    },
    liveVersion(name) {
      const all = versions.get(name);
      if (!all) throw new Error(`no function ${name}`);
      return String(all.length);
    },
    busy: () => executions.size + retryTimers.size,
    async stop(graceMs = 10_000) {
      if (stopping) return;
      stopping = true;
      for (const timer of retryTimers) clearTimeout(timer);
      retryTimers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...executions]), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    },
  };
}

/** What an invoke runs: a version's code, the version Lambda reports, and the qualifier it was invoked by. */
interface Target {
  fn: LocalFunction;
  version: string;
  qualifier: string;
}

/** A function name and qualifier from a name, a partial ARN or a full ARN. */
function parseFunction(nameOrArn: string): { name: string; qualifier?: string } {
  const arn = /^(?:arn:[^:]+:lambda:[^:]*:[^:]*:function:)?([^:]+)(?::([^:]+))?$/.exec(nameOrArn);
  if (!arn) return { name: nameOrArn };
  return arn[2] === undefined ? { name: arn[1]! } : { name: arn[1]!, qualifier: arn[2] };
}

function lambdaContext(name: string, deadline: number, target: Target): Context {
  const awsRequestId = randomUUID();
  const unsupported = () => {
    throw new Error('the local Lambda supports async handlers only');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: target.version,
    invokedFunctionArn: target.qualifier === '$LATEST' ? functionArn(name) : `${functionArn(name)}:${target.qualifier}`,
    memoryLimitInMB: '512',
    awsRequestId,
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: `local/${awsRequestId}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function awsError(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type });
  res.end(JSON.stringify({ Type: 'User', message }));
}
