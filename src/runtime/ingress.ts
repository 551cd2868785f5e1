/**
 * The ingress role: API Gateway (REST, proxy integration) events in, HTTP
 * answers out. Routing is `./http.ts`; what each route does is
 * `./invocations.ts`. This module waits for outputs (bounded polling for
 * request-response calls and attach), reads the request (delay, cancel
 * mode, AWS's callback bodies) and dispatches each route to its answer.
 *
 * The ingress writes to the table and nothing else: a started invocation or
 * a resolved awakeable is woken by the table's stream (DESIGN.md, "Why a
 * stream").
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { workflowInvocationId } from '../engine/ids.ts';
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  CALLBACK_API_VERSION,
  NOT_READY,
  awsErrorAnswer,
  errorAnswer,
  isCallbackRoute,
  jsonAnswer,
  outputAnswer,
  route,
  routeKind,
  type HttpAnswer,
  type Route,
} from './http.ts';
import {
  IngressError,
  cancelInvocation,
  killInvocation,
  getOutput,
  getStatus,
  heartbeatAwakeable,
  parseDelay,
  purgeInvocation,
  upgradeInvocation,
  rejectAwakeable,
  resolveAwakeable,
  startInvocation,
  type IngressDeps,
} from './invocations.ts';
import { getJournal } from './journal-view.ts';
import { listInvocations, parseListQuery } from './list.ts';
import { restartInvocation } from './restart.ts';
import { forLog, logLine, type Log } from './log.ts';
import { deliverWebhook, type SecretSource } from './webhooks.ts';
import { uiAnswer } from './ui.ts';
import { foreignness } from './same-machine.ts';
import { deliverToEndpoint, publishEvent, type EndpointConfig } from './endpoints.ts';
import { ItemRefusedError, KeyTooLongError, LockQueueFullError } from '../store/limits.ts';

/**
 * What the ingress needs besides the core's dependencies.
 *
 * @example
 * ```ts
 * const deps: IngressHandlerDeps = { store, signer, clock: systemClock, catalog, waitMs: 10_000 };
 * ```
 */
export interface IngressHandlerDeps extends IngressDeps {
  /**
   * How long `POST /{service}/{handler}` waits for the output before
   * answering 202, and `…/attach` before answering 503 (Restate's client
   * retries that, when its retries are on).
   */
  waitMs: number;
  log?: Log;
  /** Who may call what (DESIGN rule 9). Default: every route, callers trusted (the open local plane). */
  access?: IngressAccess;
  /** Where the secrets webhook verifiers name are read. Default: this process's environment. */
  secrets?: SecretSource;
  /** Named provider endpoints (`/webhooks/{name}`, `/restate/events/{name}`), checked by `checkEndpoints`. */
  endpoints?: Readonly<Record<string, EndpointConfig>> | undefined;
}

/**
 * Who may call which routes of this ingress.
 *
 * - `serves`: the routes this function answers. A deployed stack runs two
 *   functions, one for the public callback routes and one for the invocation
 *   routes, so a flood of one kind cannot starve the other; each answers 404
 *   for the other kind. Default `'all'`.
 * - `apiKey`: invocation routes require `x-api-key: <key>` or
 *   `Authorization: Bearer <key>`, else 401 (the local plane's
 *   `--api-key`). Callback routes never do: the capability in the URL is
 *   their authorization.
 * - `callersAuthenticated`: whether invocation callers were authorized
 *   before the request got here (API Gateway's IAM, API key or authorizer).
 *   Only then, or past `apiKey`, does a status show capability ids and other
 *   invocations' ids, and a 404 list the services. Default `true` (the open
 *   local plane, its developer's own); a deployed `ingressAuth: 'none'` is
 *   `false`.
 * - `loopbackOnly`: the open local plane. Its invocation routes answer only
 *   requests addressed to a loopback host (or `hosts`), so a web page whose
 *   name was rebound to 127.0.0.1 cannot read them (DNS rebinding), and a
 *   state-changing one only from the plane's own origin, so a page
 *   elsewhere cannot drive them from the developer's browser (CSRF).
 *
 * @example
 * ```ts
 * const access: IngressAccess = { serves: 'callbacks' };
 * const local: IngressAccess = { apiKey: process.env.DORMANT_API_KEY };
 * ```
 */
export interface IngressAccess {
  serves?: 'all' | 'callbacks' | 'invocations';
  apiKey?: string | undefined;
  callersAuthenticated?: boolean;
  loopbackOnly?: { hosts?: readonly string[] } | undefined;
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
    const kind = routeKind(event.path);
    const serves = d.access?.serves ?? 'all';
    // AWS's SDK parses its own error shape; everything else gets ours.
    const refuse =
      kind === 'callback' && event.path.replace(/^\/+/, '').startsWith(`${CALLBACK_API_VERSION}/`) ? awsErrorAnswer : errorAnswer;
    if ((serves === 'callbacks' && kind !== 'callback') || (serves === 'invocations' && kind !== 'invocation')) {
      return refuse(
        new IngressError(
          404,
          'not_found',
          `nothing here: this function serves ${serves === 'callbacks' ? 'callback' : 'invocation'} routes only`,
        ),
      );
    }
    const foreign = kind === 'invocation' && d.access?.loopbackOnly ? foreignRequest(d.access.loopbackOnly, event) : undefined;
    if (foreign) return errorAnswer(foreign);
    const authorized = kind === 'callback' || authorize(d.access, event);
    if (authorized instanceof IngressError) return errorAnswer(authorized);
    // Past the API key, or behind API Gateway's authorization (or on the open local plane).
    const owner = kind === 'invocation' && (d.access?.apiKey !== undefined || (d.access?.callersAuthenticated ?? true));
    const target = route(event.httpMethod, event.path, d.catalog, event.queryStringParameters, { names: owner });
    if (target instanceof IngressError) return refuse(target);
    if (kind === 'callback' && !isCallbackRoute(target)) return refuse(new IngressError(404, 'not_found', 'nothing here'));
    try {
      return await answer(d, event, target, owner);
    } catch (error) {
      if (error instanceof IngressError) return refuse(error);
      // A key or payload the table cannot hold, met below the checks above: refused, never a 500.
      if (error instanceof ItemRefusedError) return refuse(new IngressError(error.code, refusedCode(error), error.message));
      logLine(d.log, 'error', `ingress: ${event.httpMethod} ${forLog(event.path)} failed`, error);
      return jsonAnswer(500, { code: 'internal_error', message: 'the request could not be carried out; it is safe to retry' });
    }
  };
}

/**
 * The local plane's API key on an invocation route: `x-api-key: <key>` or
 * `Authorization: Bearer <key>`, compared in constant time; else 401.
 */
function authorize(access: IngressAccess | undefined, event: APIGatewayProxyEvent): true | IngressError {
  if (access?.apiKey === undefined) return true;
  const bearer = /^Bearer\s+(.+)$/i.exec(header(event, 'authorization') ?? '')?.[1]?.trim();
  const given = header(event, 'x-api-key') ?? bearer;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  if (given !== undefined && timingSafeEqual(digest(given), digest(access.apiKey))) return true;
  return new IngressError(
    401,
    'unauthorized',
    given === undefined
      ? 'this route acts for the deployment owner: send the API key as x-api-key: <key> or Authorization: Bearer <key> (callback routes need none)'
      : 'the API key does not match',
    undefined,
    { 'www-authenticate': 'Bearer realm="dormant"' },
  );
}

/**
 * Why the open local plane refuses a request from outside the developer's
 * own machine and pages: a `Host` that is not loopback (a rebound DNS
 * name), or a state-changing request from another origin.
 */
function foreignRequest(allowed: { hosts?: readonly string[] }, event: APIGatewayProxyEvent): IngressError | undefined {
  const host = header(event, 'host');
  const origin = header(event, 'origin');
  const why = foreignness({ method: event.httpMethod, host, origin, secFetchSite: header(event, 'sec-fetch-site') }, allowed.hosts);
  if (why === 'foreign_host')
    return new IngressError(
      403,
      why,
      `this open local plane answers requests to localhost only, not '${forLog(host!)}'; to reach it from elsewhere, start it with --api-key`,
    );
  if (why === 'cross_origin')
    return new IngressError(
      403,
      why,
      `a page at ${forLog(origin ?? 'another site')} may not change anything on this open local plane; use its own page (/ui/), the CLI, or start it with --api-key`,
    );
  return undefined;
}

async function answer(deps: IngressHandlerDeps, event: APIGatewayProxyEvent, target: Route, owner: boolean): Promise<HttpAnswer> {
  const body = bodyOf(event);
  switch (target.kind) {
    case 'start': {
      const delay = event.queryStringParameters?.delay;
      if (delay !== undefined && !target.send) {
        throw new IngressError(400, 'delay_needs_send', `?delay= only applies to one-way sends: POST ${event.path}/send?delay=${delay}`);
      }
      const started = await startInvocation(deps, {
        service: target.service,
        handler: target.handler,
        key: target.key,
        body,
        idempotencyKey: header(event, 'idempotency-key'),
        headers: handlerHeaders(event),
        delayMs: delay === undefined ? undefined : parseDelay(delay),
        ifExists: target.ifExists,
      });
      if (target.send) {
        return jsonAnswer(202, { invocationId: started.invocationId, status: started.created ? 'Accepted' : 'PreviouslyAccepted' });
      }
      return awaitOutput(deps, started.invocationId);
    }
    case 'status':
      return jsonAnswer(200, await getStatus(deps, target.invocationId, { reveal: owner }));
    case 'list':
      if (!owner) {
        // Every invocation id of the deployment: for its owner only (DESIGN rules 9, 10).
        throw new IngressError(
          403,
          'list_needs_authorization',
          'listing invocations shows every invocation of this deployment: deploy with ingressAuth (IAM, the default) or run the plane with --api-key',
        );
      }
      return jsonAnswer(200, await listInvocations(deps, parseListQuery(event.queryStringParameters), { reveal: owner }));
    case 'journal':
      return jsonAnswer(200, await getJournal(deps, target.invocationId, { reveal: owner }));
    case 'cancel': {
      const mode = target.mode === 'query' ? (event.queryStringParameters?.mode ?? 'cancel') : target.mode;
      if (mode !== 'cancel' && mode !== 'kill') throw new IngressError(400, 'invalid_mode', `mode must be cancel or kill, got '${mode}'`);
      if (mode === 'kill') await killInvocation(deps, target.invocationId);
      else await cancelInvocation(deps, target.invocationId);
      return jsonAnswer(202, { invocationId: target.invocationId, status: mode === 'kill' ? 'Killed' : 'Cancelling' });
    }
    case 'purge': {
      const { purged } = await purgeInvocation(deps, target.invocationId);
      return jsonAnswer(200, { invocationId: target.invocationId, status: 'Purged', purged });
    }
    case 'restart': {
      const { newInvocationId, created } = await restartInvocation(deps, target.invocationId);
      // Restate's admin answer (`new_invocation_id`), with our fields beside it.
      return jsonAnswer(200, {
        new_invocation_id: newInvocationId,
        invocationId: target.invocationId,
        status: created ? 'Accepted' : 'PreviouslyAccepted',
      });
    }
    case 'upgrade':
      return jsonAnswer(200, { invocationId: target.invocationId, ...(await upgradeInvocation(deps, target.invocationId)) });
    case 'output': {
      const result = await getOutput(deps, target.invocationId);
      if (!result.ready) {
        return jsonAnswer(NOT_READY, {
          code: 'not_ready',
          message: `invocation ${target.invocationId} is ${result.status}; its output is not ready yet`,
          status: result.status,
        });
      }
      return outputAnswer(result, target.invocationId);
    }
    case 'workflow-output': {
      const invocationId = workflowInvocationId(target.workflow, target.key);
      const result = await getOutput(deps, invocationId, `workflow ${target.workflow} '${target.key}' was never submitted`);
      if (!result.ready) {
        return jsonAnswer(NOT_READY, {
          code: 'not_ready',
          message: `workflow ${target.workflow} '${target.key}' is ${result.status}; its output is not ready yet`,
          status: result.status,
        });
      }
      return outputAnswer(result, invocationId);
    }
    case 'attach':
      return attach(deps, target.invocationId);
    case 'workflow-attach':
      return attach(
        deps,
        workflowInvocationId(target.workflow, target.key),
        `workflow ${target.workflow} '${target.key}' was never submitted`,
      );
    case 'callback':
      if (target.operation === 'succeed') await resolveAwakeable(deps, target.awakeableId, asJson(body));
      else if (target.operation === 'fail') await rejectAwakeable(deps, target.awakeableId, failureReason(body));
      else await heartbeatAwakeable(deps, target.awakeableId);
      // The SDK expects 200 with an empty body for all three.
      return { statusCode: 200, headers: {}, body: '' };
    case 'resolve':
      await resolveAwakeable(deps, target.awakeableId, body);
      return { statusCode: 202, headers: {}, body: '' };
    case 'reject':
      await rejectAwakeable(deps, target.awakeableId, body);
      return { statusCode: 202, headers: {}, body: '' };
    case 'ui':
      // Relative, so it stays under an API Gateway stage (/prod/ui → /prod/ui/).
      return target.redirect ? { statusCode: 308, headers: { location: 'ui/' }, body: '' } : uiAnswer(target.asset);
    case 'webhook':
      return deliverWebhook(deps, target.webhookId, {
        method: event.httpMethod,
        headers: event.headers ?? {},
        query: event.queryStringParameters ?? {},
        body: rawBodyOf(event),
        url: requestUrl(event),
      });
    case 'endpoint':
      return deliverToEndpoint(deps, target.name, {
        method: event.httpMethod,
        headers: event.headers ?? {},
        query: event.queryStringParameters ?? {},
        body: rawBodyOf(event),
        url: requestUrl(event),
      });
    case 'publish':
      return publishEvent(deps, target.name, body, header(event, 'idempotency-key'));
  }
}

/**
 * `…/attach`: the result once it is there (waiting up to `waitMs`), else 503
 * with `retry-after`, which Restate's client retries when its retries are on
 * (an API Gateway integration cannot hold a request past 29 s anyway).
 */
async function attach(deps: IngressHandlerDeps, invocationId: string, unknown?: string): Promise<HttpAnswer> {
  const waited = await awaitOutput(deps, invocationId, unknown);
  if (waited.statusCode !== 202) return waited;
  return jsonAnswer(
    503,
    { code: 'not_ready', message: `invocation ${invocationId} has not finished within ${deps.waitMs} ms; attach again`, invocationId },
    { 'retry-after': '1', 'x-restate-error-source': 'ingress' },
  );
}

/** AWS sends the callback's result as raw bytes: JSON stays as it is, other text becomes a JSON string. */
function asJson(body: string): string {
  if (body === '') return body;
  try {
    JSON.parse(body);
    return body;
  } catch {
    return JSON.stringify(body);
  }
}

/** The reason of a rejection from AWS's `ErrorObject` (`ErrorType: ErrorMessage`). */
function failureReason(body: string): string {
  let error: { ErrorMessage?: unknown; ErrorType?: unknown } = {};
  try {
    error = body === '' ? {} : (JSON.parse(body) as typeof error);
  } catch {
    throw new IngressError(
      400,
      'invalid_json',
      'the failure body is not a JSON ErrorObject ({ ErrorMessage, ErrorType, ErrorData, StackTrace })',
    );
  }
  const message = typeof error.ErrorMessage === 'string' ? error.ErrorMessage : '';
  const type = typeof error.ErrorType === 'string' ? error.ErrorType : '';
  return type && message ? `${type}: ${message}` : message || type || 'failed';
}

/**
 * Waits a bounded time for a started invocation's output (one consistent
 * read per poll, backing off), then answers 202 with where to look.
 */
async function awaitOutput(deps: IngressHandlerDeps, invocationId: string, unknown?: string): Promise<HttpAnswer> {
  const deadline = deps.clock.now() + deps.waitMs;
  let pause = POLL_FIRST_MS;
  for (;;) {
    const result = await getOutput(deps, invocationId, unknown);
    if (result.ready) return outputAnswer(result, invocationId);
    const left = deadline - deps.clock.now();
    if (left <= 0) {
      return jsonAnswer(202, { invocationId, status: result.status }, { location: `/restate/invocation/${invocationId}/output` });
    }
    await deps.clock.sleep(Math.min(pause, left));
    pause = Math.min(pause * 2, POLL_MAX_MS);
  }
}

function refusedCode(error: ItemRefusedError): string {
  if (error instanceof KeyTooLongError) return 'key_too_long';
  return error instanceof LockQueueFullError ? 'lock_queue_full' : 'payload_too_large';
}

function rawBodyOf(event: APIGatewayProxyEvent): Buffer {
  if (event.body === null || event.body === undefined) return Buffer.alloc(0);
  return Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
}

/**
 * The full URL a request was sent to, as its sender saw it (Twilio signs
 * it): the host it called (API Gateway's domain, else the Host header), the
 * path with the stage (`requestContext.path`), the query string.
 */
function requestUrl(event: APIGatewayProxyEvent): string | undefined {
  const host = event.requestContext?.domainName ?? header(event, 'host');
  if (host === undefined) return undefined;
  const local = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(host);
  const proto = header(event, 'x-forwarded-proto') ?? (local ? 'http' : 'https');
  const path = event.requestContext?.path ?? event.path;
  const pairs = Object.entries(event.multiValueQueryStringParameters ?? {}).flatMap(([k, vs]) => (vs ?? []).map((v) => [k, v]));
  const query = pairs.length ? '?' + pairs.map(([k, v]) => `${encodeURIComponent(k!)}=${encodeURIComponent(v!)}`).join('&') : '';
  return `${proto}://${host}${path}${query}`;
}

function bodyOf(event: APIGatewayProxyEvent): string {
  if (event.body === null || event.body === undefined) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/**
 * Headers that `ctx.request().headers` shows the handler: the request's,
 * lowercased, without credentials (they would be stored in the table),
 * cookies, and what the transport, the client library and API Gateway add
 * (kept out of `meta`, whose size every update pays for).
 */
function handlerHeaders(event: APIGatewayProxyEvent): Record<string, string> | undefined {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    const name = key.toLowerCase();
    if (value === undefined || NOT_FOR_HANDLERS.has(name) || /^(x-amz|x-amzn|x-forwarded|cloudfront)-/.test(name)) continue;
    kept[name] = value;
  }
  return Object.keys(kept).length > 0 ? kept : undefined;
}

const NOT_FOR_HANDLERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-api-key',
  'host',
  'connection',
  'content-length',
  'content-type',
  'accept',
  'accept-encoding',
  'user-agent',
  'via',
  'x-real-ip',
  'idempotency-key',
]);

function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name && value !== undefined && value !== '') return value;
  }
  for (const [key, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (key.toLowerCase() === name && values?.[0]) return values[0];
  }
  return undefined;
}
