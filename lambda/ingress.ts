/**
 * The ingress Lambda: API Gateway (REST, proxy integration) events in, HTTP
 * answers out. Routing is `src/runtime/http.ts`; what each route does is
 * `src/runtime/invocations.ts`. This file only translates.
 *
 * The ingress writes to the table and nothing else: a started invocation or
 * a resolved awakeable is woken by the table's stream (DESIGN.md, "Why a
 * stream").
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { systemClock } from '../src/engine/clock.ts';
import { IdSigner } from '../src/engine/ids.ts';
import { loadConfig, once, signingKey } from '../src/runtime/config.ts';
import { NOT_READY, errorAnswer, jsonAnswer, outputAnswer, route, type HttpAnswer } from '../src/runtime/http.ts';
import {
  IngressError,
  getOutput,
  getStatus,
  rejectAwakeable,
  resolveAwakeable,
  startInvocation,
  type IngressDeps,
} from '../src/runtime/invocations.ts';
import { dynamoDbStore, logLine, type Log } from './support.ts';

/**
 * What the ingress needs besides the core's dependencies.
 *
 * @example
 * ```ts
 * const deps: IngressHandlerDeps = { store, signer, clock: systemClock, catalog, waitMs: 10_000 };
 * ```
 */
export interface IngressHandlerDeps extends IngressDeps {
  /** How long `POST /{service}/{handler}` waits for the output before answering 202. */
  waitMs: number;
  log?: Log;
}

/** First and largest pause between two reads of an awaited output. */
const POLL_FIRST_MS = 20;
const POLL_MAX_MS = 500;

/**
 * Builds an ingress handler over ready dependencies, or over a function that
 * builds them on first use.
 *
 * @example
 * ```ts
 * const ingress = createIngressHandler({ store, signer, clock: systemClock, catalog: catalogOf([review]), waitMs: 5_000 });
 * const answer = await ingress(event);
 * ```
 */
export function createIngressHandler(
  deps: IngressHandlerDeps | (() => Promise<IngressHandlerDeps>),
): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  const ready = typeof deps === 'function' ? deps : async () => deps;
  return async (event) => {
    let d: IngressHandlerDeps;
    try {
      d = await ready();
    } catch (error) {
      logLine(undefined, 'error', 'ingress: configuration failed', error);
      return jsonAnswer(500, { code: 'misconfigured', message: 'the ingress is not configured correctly; see its logs' });
    }
    try {
      return await answer(d, event);
    } catch (error) {
      if (error instanceof IngressError) return errorAnswer(error);
      logLine(d.log, 'error', `ingress: ${event.httpMethod} ${event.path} failed`, error);
      return jsonAnswer(500, { code: 'internal_error', message: 'the request could not be carried out; it is safe to retry' });
    }
  };
}

async function answer(deps: IngressHandlerDeps, event: APIGatewayProxyEvent): Promise<HttpAnswer> {
  const target = route(event.httpMethod, event.path, deps.catalog);
  if (target instanceof IngressError) return errorAnswer(target);
  const body = bodyOf(event);
  switch (target.kind) {
    case 'start': {
      const started = await startInvocation(deps, {
        service: target.service,
        handler: target.handler,
        key: target.key,
        body,
        idempotencyKey: header(event, 'idempotency-key'),
      });
      if (target.send) {
        return jsonAnswer(202, { invocationId: started.invocationId, status: started.created ? 'Accepted' : 'PreviouslyAccepted' });
      }
      return awaitOutput(deps, started.invocationId);
    }
    case 'status':
      return jsonAnswer(200, await getStatus(deps, target.invocationId));
    case 'output': {
      const result = await getOutput(deps, target.invocationId);
      if (!result.ready) {
        return jsonAnswer(NOT_READY, { code: 'not_ready', message: `invocation ${target.invocationId} is ${result.status}; its output is not ready yet`, status: result.status });
      }
      return outputAnswer(result, target.invocationId);
    }
    case 'resolve':
      await resolveAwakeable(deps, target.awakeableId, body);
      return { statusCode: 202, headers: {}, body: '' };
    case 'reject':
      await rejectAwakeable(deps, target.awakeableId, body);
      return { statusCode: 202, headers: {}, body: '' };
  }
}

/**
 * Waits a bounded time for a started invocation's output (one consistent
 * read per poll, backing off), then answers 202 with where to look.
 */
async function awaitOutput(deps: IngressHandlerDeps, invocationId: string): Promise<HttpAnswer> {
  const deadline = deps.clock.now() + deps.waitMs;
  let pause = POLL_FIRST_MS;
  for (;;) {
    const result = await getOutput(deps, invocationId);
    if (result.ready) return outputAnswer(result, invocationId);
    const left = deadline - deps.clock.now();
    if (left <= 0) {
      return jsonAnswer(202, { invocationId, status: result.status }, { location: `/restate/invocation/${invocationId}/output` });
    }
    await deps.clock.sleep(Math.min(pause, left));
    pause = Math.min(pause * 2, POLL_MAX_MS);
  }
}

function bodyOf(event: APIGatewayProxyEvent): string {
  if (event.body === null || event.body === undefined) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name && value !== undefined && value !== '') return value;
  }
  for (const [key, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (key.toLowerCase() === name && values?.[0]) return values[0];
  }
  return undefined;
}

/**
 * The Lambda entry point, configured from the environment at cold start
 * (`DORMANT_TABLE_NAME`, `DORMANT_SERVICES`, the signing key, and
 * optionally `DORMANT_INGRESS_WAIT_MS`).
 *
 * @example
 * ```ts
 * // cdk: new BundledFunction(this, 'Ingress', { entry: 'lambda/ingress.ts' })
 * ```
 */
export const handler = createIngressHandler(
  once(async () => {
    const config = loadConfig('ingress');
    const signer = new IdSigner(await signingKey(config.signing!));
    return { store: dynamoDbStore(config), signer, clock: systemClock, catalog: config.catalog!, waitMs: config.ingressWaitMs };
  }),
);
