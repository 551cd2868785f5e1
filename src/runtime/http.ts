/**
 * The ingress's HTTP surface, apart from any I/O: which route a method and
 * path name (a pure function of the catalog), and how answers are spelled.
 * Every refusal is an `IngressError`, so each bad request gets a precise
 * status and a `{ code, message }` body.
 *
 * | route                                             | method | what                                  |
 * |---------------------------------------------------|--------|---------------------------------------|
 * | `/{service}/{handler}`                            | POST   | call; wait a bounded time for output  |
 * | `/{service}/{handler}/send`                       | POST   | start; 202 with the invocation id     |
 * | `/{object-or-workflow}/{key}/{handler}[/send]`    | POST   | the same, by key                      |
 * | `/{workflow}/{key}/run[/send]?ifExists=fail`      | POST   | submit; 409 if this key was submitted |
 * | `/restate/invocations?service=&status=&…`         | GET    | list, newest first, paged             |
 * | `/restate/invocation/{id}`                        | GET    | status                                |
 * | `/restate/invocation/{id}/output`                 | GET    | output, failure, or 470 not ready     |
 * | `/restate/invocation/{id}/attach`                 | GET    | wait a bounded time for the result    |
 * | `/restate/invocation/{id}`                        | DELETE | cancel (`?mode=kill`: kill)           |
 * | `/restate/invocation/{id}/cancel` / `/kill`       | PATCH  | cancel / kill                         |
 * | `/restate/invocation/{id}/purge`                  | PATCH  | delete a finished invocation's data   |
 * | `/restate/invocation/{id}/upgrade`                | PATCH  | move a suspended one to the alias     |
 * | `/restate/invocation/{id}/restart-as-new`         | PATCH  | start a failed one again, new id      |
 * | `/restate/workflow/{name}/{key}/output\|attach`    | GET    | the same for a workflow's run         |
 * | `/restate/awakeables/{id}/resolve` (`/restate/a/…`) | POST | resolve with a JSON body              |
 * | `/restate/awakeables/{id}/reject` (`/restate/a/…`)  | POST | reject with a text reason             |
 * | `/restate/webhooks/{id}`                          | any    | a provider's request to `ctx.webhook()` |
 * | `/webhooks/{name}`                                | POST   | a provider's delivery to a named endpoint (public: signed) |
 * | `/restate/events/{name}`                          | POST   | publish an event to a named endpoint's waits |
 * | `/2025-12-01/durable-execution-callbacks/{id}/succeed\|fail\|heartbeat` | POST | AWS's durable callback API |
 * | `/ui/` (`app.js`, `app.css`)                      | GET    | the web page (see `ui.ts`)            |
 *
 * A workflow's `run` executes once per key: a second submit returns the
 * existing invocation (`PreviouslyAccepted`, or its result), which is
 * `?ifExists=attach`, the default; `?ifExists=fail` answers 409
 * `workflow_already_submitted` instead.
 *
 * The Restate routes speak what `@restatedev/restate-sdk-clients` sends and
 * expects; the `/2025-12-01/…` routes what `@aws-sdk/client-lambda`'s
 * `SendDurableExecutionCallback{Success,Failure,Heartbeat}Command` send, and
 * their refusals are spelled as that SDK parses errors (`awsErrorAnswer`).
 */
import type { Failure } from '../api/errors.ts';
import type { Catalog } from './registry.ts';
import { IngressError, ifExistsProblem } from './invocations.ts';
import type { UiAsset } from './ui.ts';

/**
 * A request the ingress understood.
 *
 * @example
 * ```ts
 * const r: Route = { kind: 'start', service: 'review', handler: 'request', send: true };
 * ```
 */
export type Route =
  | { kind: 'start'; service: string; handler: string; key?: string | undefined; send: boolean; ifExists?: IfExists | undefined }
  | { kind: 'list' }
  | { kind: 'status'; invocationId: string }
  | { kind: 'output'; invocationId: string }
  | { kind: 'journal'; invocationId: string }
  | { kind: 'attach'; invocationId: string }
  | { kind: 'cancel'; invocationId: string; mode: 'cancel' | 'kill' | 'query' }
  | { kind: 'purge'; invocationId: string }
  | { kind: 'upgrade'; invocationId: string }
  | { kind: 'restart'; invocationId: string }
  | { kind: 'workflow-output'; workflow: string; key: string }
  | { kind: 'workflow-attach'; workflow: string; key: string }
  | { kind: 'callback'; operation: 'succeed' | 'fail' | 'heartbeat'; awakeableId: string }
  | { kind: 'resolve'; awakeableId: string }
  | { kind: 'reject'; awakeableId: string }
  | { kind: 'webhook'; webhookId: string }
  | { kind: 'ui'; asset: UiAsset; redirect?: true }
  | { kind: 'endpoint'; name: string }
  | { kind: 'publish'; name: string };

/**
 * What a second submit of a workflow's `run` for the same key does: return
 * the existing invocation (`attach`, the default) or be refused with 409
 * (`fail`).
 *
 * @example
 * ```ts
 * const ifExists: IfExists = 'fail'; // POST /reviewFlow/doc-7/run/send?ifExists=fail
 * ```
 */
export type IfExists = 'attach' | 'fail';

/** The version segment of AWS Lambda's durable callback API paths. */
export const CALLBACK_API_VERSION = '2025-12-01';

/** HTTP status Restate answers while an invocation's output is not ready. */
export const NOT_READY = 470;

/**
 * The two kinds of route (DESIGN rule 9). `callback` routes complete or
 * heartbeat one awakeable and are public: the capability in the URL is the
 * authorization. `invocation` routes act for the deployment's owner (start,
 * status, output, attach, cancel, kill, purge, workflow output, shared
 * handlers, and any path nobody serves) and need authorization.
 *
 * @example
 * ```ts
 * const kind: RouteKind = routeKind('/restate/awakeables/awk_…/resolve'); // 'callback'
 * ```
 */
export type RouteKind = 'callback' | 'invocation';

/** Path prefixes of the callback routes; every other path is an invocation route. */
export const CALLBACK_PREFIXES: readonly string[] = [
  '/restate/awakeables/',
  '/restate/a/',
  '/restate/webhooks/',
  `/${CALLBACK_API_VERSION}/`,
  '/webhooks/',
];

/**
 * Which kind of route a path is, from its prefix alone (before routing, so
 * an unknown path under a callback prefix is still public and gets its 404,
 * and an unknown path elsewhere needs authorization before it gets one).
 *
 * @example
 * ```ts
 * routeKind('/2025-12-01/durable-execution-callbacks/awk_…/succeed') // 'callback'
 * routeKind('/restate/invocation/inv_…')                            // 'invocation'
 * ```
 */
export function routeKind(path: string): RouteKind {
  // The router's own reading of the path, so the two can never disagree
  // ('/restate%2Fawakeables/…' is one segment to both).
  const segments = splitPath(path);
  if (segments instanceof IngressError) return 'invocation';
  const [first, second] = segments;
  if (first === 'restate' && (second === 'awakeables' || second === 'a' || second === 'webhooks')) return 'callback';
  // A provider endpoint: its signature is the authorization.
  return first === CALLBACK_API_VERSION || first === 'webhooks' ? 'callback' : 'invocation';
}

/**
 * Whether a route completes or heartbeats an awakeable (what a callback
 * route may lead to).
 *
 * @example
 * ```ts
 * isCallbackRoute({ kind: 'resolve', awakeableId: 'awk_…' }) // true
 * ```
 */
export function isCallbackRoute(route: Route): boolean {
  return (
    route.kind === 'resolve' ||
    route.kind === 'reject' ||
    route.kind === 'callback' ||
    route.kind === 'webhook' ||
    route.kind === 'endpoint'
  );
}

/**
 * Finds the route of a request, or the error that answers it: 404 for paths
 * and services nobody serves, 405 (with the allowed method) for known paths
 * called with another method, 400 for undecodable paths and for an
 * `ifExists` that is not `fail` or `attach` or not on a workflow's `run`.
 * Handlers and keys are checked again when the invocation starts.
 *
 * @example
 * ```ts
 * route('POST', '/review/request/send', catalog) // { kind: 'start', service: 'review', handler: 'request', send: true }
 * route('GET', '/review/request', catalog)        // IngressError 405
 * route('POST', '/reviewFlow/doc-7/run/send', catalog, { ifExists: 'fail' }) // { kind: 'start', …, ifExists: 'fail' }
 * ```
 */
export function route(
  method: string,
  path: string,
  catalog: Catalog,
  query?: Readonly<Record<string, string | undefined>> | null,
  /** `names: false`: 404s do not list the deployment's services and handlers (an unauthenticated caller). */
  options: { names?: boolean } = {},
): Route | IngressError {
  const list = (names: string[]): string => (options.names === false ? '' : ` (this deployment has: ${names.sort().join(', ') || 'none'})`);
  const segments = splitPath(path);
  if (segments instanceof IngressError) return segments;
  const verb = method.toUpperCase();
  const expect = (allowed: 'GET' | 'POST' | 'PATCH', found: Route): Route | IngressError =>
    verb === allowed
      ? found
      : new IngressError(405, 'method_not_allowed', `${verb} is not allowed on ${path}; use ${allowed}`, { allow: allowed });

  // The web page: GET only, so a service named 'ui' keeps its (POST) routes.
  if (segments[0] === 'ui' && verb === 'GET' && segments.length <= 2) {
    const asset = segments[1] ?? '';
    if (asset !== '' && asset !== 'app.js' && asset !== 'app.css') return notFound(path);
    return asset === '' && !path.endsWith('/') ? { kind: 'ui', asset, redirect: true } : { kind: 'ui', asset };
  }
  if (segments[0] === 'restate') {
    const [, area, id, action, ...rest] = segments;
    if (area === 'invocations' && id === undefined) return expect('GET', { kind: 'list' });
    if (area === 'invocation' && id && rest.length === 0) {
      // DELETE cancels (the mode comes from the query string, read by the handler).
      if (action === undefined && verb === 'DELETE') return { kind: 'cancel', invocationId: id, mode: 'query' };
      if (action === undefined) return expect('GET', { kind: 'status', invocationId: id });
      if (action === 'cancel' || action === 'kill') return expect('PATCH', { kind: 'cancel', invocationId: id, mode: action });
      if (action === 'purge') return expect('PATCH', { kind: 'purge', invocationId: id });
      if (action === 'upgrade') return expect('PATCH', { kind: 'upgrade', invocationId: id });
      if (action === 'restart-as-new') return expect('PATCH', { kind: 'restart', invocationId: id });
      if (action === 'output') return expect('GET', { kind: 'output', invocationId: id });
      if (action === 'journal') return expect('GET', { kind: 'journal', invocationId: id });
      if (action === 'attach') return expect('GET', { kind: 'attach', invocationId: id });
    }
    if (area === 'workflow' && id && action !== undefined && rest.length === 1) {
      const [op] = rest;
      if (op !== 'output' && op !== 'attach') return notFound(path);
      if (catalog[id]?.kind !== 'workflow') {
        return new IngressError(
          404,
          'unknown_workflow',
          `no workflow named '${id}'${list(
            Object.entries(catalog)
              .filter(([, e]) => e.kind === 'workflow')
              .map(([name]) => name),
          )}`,
        );
      }
      return expect('GET', { kind: op === 'output' ? 'workflow-output' : 'workflow-attach', workflow: id, key: action });
    }
    if ((area === 'awakeables' || area === 'a') && id && rest.length === 0) {
      if (action === 'resolve') return expect('POST', { kind: 'resolve', awakeableId: id });
      if (action === 'reject') return expect('POST', { kind: 'reject', awakeableId: id });
    }
    // Any method: a provider calls back the way it was set up to (Twilio may GET).
    if (area === 'webhooks' && id && action === undefined) return { kind: 'webhook', webhookId: id };
    if (area === 'events' && id && action === undefined) return expect('POST', { kind: 'publish', name: id });
    return notFound(path);
  }

  if (segments[0] === 'webhooks') {
    const [, name, ...rest] = segments;
    if (name && rest.length === 0) return expect('POST', { kind: 'endpoint', name });
    return notFound(path);
  }

  if (segments[0] === CALLBACK_API_VERSION) {
    const [, area, id, operation, ...rest] = segments;
    if (
      area === 'durable-execution-callbacks' &&
      id &&
      rest.length === 0 &&
      (operation === 'succeed' || operation === 'fail' || operation === 'heartbeat')
    ) {
      return expect('POST', { kind: 'callback', operation, awakeableId: id });
    }
    return notFound(path);
  }

  const [service, second, third, fourth, ...rest] = segments;
  if (service === undefined || second === undefined || rest.length > 0) return notFound(path);
  const entry = catalog[service];
  if (!entry) {
    return new IngressError(404, 'unknown_service', `no service named '${service}'${list(Object.keys(catalog))}`);
  }
  const start = (handler: string, key: string | undefined, send: boolean): Route | IngressError => {
    if (!entry.handlers[handler]) {
      return new IngressError(
        404,
        'unknown_handler',
        `${entry.kind} '${service}' has no handler '${handler}'${options.names === false ? '' : ` (it has: ${Object.keys(entry.handlers).sort().join(', ')})`}`,
      );
    }
    const ifExists = query?.ifExists;
    if (verb !== 'POST' || ifExists === undefined) return expect('POST', { kind: 'start', service, handler, key, send });
    return (
      ifExistsProblem(ifExists, { kind: entry.kind, service, handler }) ?? {
        kind: 'start',
        service,
        handler,
        key,
        send,
        ifExists: ifExists as IfExists,
      }
    );
  };

  if (entry.kind === 'service') {
    // /{service}/{handler}[/send]; a key here is refused when the call starts.
    if (third === undefined) return start(second, undefined, false);
    if (fourth === undefined && third === 'send') return start(second, undefined, true);
    if (fourth === undefined) return start(third, second, false);
    if (fourth === 'send') return start(third, second, true);
    return notFound(path);
  }
  // /{object-or-workflow}/{key}/{handler}[/send]
  if (third === undefined) return start(second, undefined, false);
  if (fourth === undefined) {
    // '/ledger/add/send' is a call of 'add' that forgot its key, unless 'send' is a handler.
    if (third === 'send' && !entry.handlers.send && entry.handlers[second]) return start(second, undefined, true);
    return start(third, second, false);
  }
  if (fourth === 'send') return start(third, second, true);
  return notFound(path);
}

function splitPath(path: string): string[] | IngressError {
  const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return [];
  const segments: string[] = [];
  for (const raw of trimmed.split('/')) {
    try {
      segments.push(decodeURIComponent(raw));
    } catch {
      return new IngressError(400, 'malformed_path', `the path segment '${raw}' is not valid percent-encoding`);
    }
  }
  return segments;
}

function notFound(path: string): IngressError {
  return new IngressError(
    404,
    'not_found',
    `nothing here: ${path} (routes: POST /{service}/{handler}[/send], POST /{object-or-workflow}/{key}/{handler}[/send], GET /restate/invocation/{id}[/output|/attach], PATCH /restate/invocation/{id}/cancel|kill|purge|upgrade, GET /restate/workflow/{name}/{key}/output|attach, POST /restate/awakeables/{id}/resolve|reject, ANY /restate/webhooks/{id}, POST /webhooks/{name}, POST /restate/events/{name}, POST /2025-12-01/durable-execution-callbacks/{id}/succeed|fail|heartbeat)`,
  );
}

/**
 * An HTTP answer, shaped like an API Gateway proxy result.
 *
 * @example
 * ```ts
 * const r: HttpAnswer = { statusCode: 202, headers: { 'content-type': 'application/json' }, body: '{"invocationId":"inv_…"}' };
 * ```
 */
export interface HttpAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * A JSON answer.
 *
 * @example
 * ```ts
 * jsonAnswer(202, { invocationId, status: 'Accepted' })
 * ```
 */
export function jsonAnswer(statusCode: number, value: unknown, headers: Record<string, string> = {}): HttpAnswer {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(value) };
}

/**
 * The answer to a refused request: its status and `{ code, message, ...details }`.
 *
 * @example
 * ```ts
 * errorAnswer(new IngressError(404, 'unknown_service', 'no service named x')) // 404 {"code":"unknown_service",…}
 * ```
 */
export function errorAnswer(error: IngressError): HttpAnswer {
  const { allow, ...details } = error.details ?? {};
  return jsonAnswer(
    error.status,
    { code: error.code, message: error.message, ...details },
    { ...(typeof allow === 'string' ? { allow } : {}), ...error.headers },
  );
}

/**
 * The answer carrying a finished invocation's result: 200 with the
 * serialized output, or the failure's code (a 4xx or 5xx, else 500) with
 * `{ code: <error name>, message }`.
 *
 * @example
 * ```ts
 * outputAnswer({ output: '"approved"' })                                   // 200 "approved"
 * outputAnswer({ failure: { name: 'TerminalError', message: 'no', code: 500 } }) // 500 {"code":"TerminalError","message":"no"}
 * ```
 */
export function outputAnswer(result: { output: string } | { failure: Failure }, invocationId?: string): HttpAnswer {
  if ('failure' in result) {
    const { code, name, message } = result.failure;
    const status = Number.isInteger(code) && code >= 400 && code <= 599 ? code : 500;
    // The handler's own failure: Restate's client does not retry it, whatever the status.
    return jsonAnswer(
      status,
      { code: name, message, ...(invocationId ? { invocationId } : {}) },
      { 'x-restate-error-source': 'invocation' },
    );
  }
  const headers: Record<string, string> = result.output === '' ? {} : { 'content-type': 'application/json' };
  if (invocationId) headers['x-dormant-invocation-id'] = invocationId;
  return { statusCode: 200, headers, body: result.output };
}

/**
 * A refusal of the durable callback API, spelled as `@aws-sdk/client-lambda`
 * parses errors (restJson1: the `x-amzn-errortype` header names the shape,
 * the JSON body carries `Type` and the message), so the SDK throws its typed
 * exception: a callback that is already closed (409) or whose invocation
 * finished (410) is a `CallbackTimeoutException` ("expired or already
 * closed"), a malformed or forged id an `InvalidParameterValueException`, an
 * unknown invocation a `ResourceNotFoundException`, an oversized payload a
 * `RequestTooLargeException`, anything else a `ServiceException`.
 *
 * @example
 * ```ts
 * awsErrorAnswer(new IngressError(409, 'already_completed', 'the awakeable was already resolved at …'))
 * // 400, x-amzn-errortype: CallbackTimeoutException
 * ```
 */
export function awsErrorAnswer(error: IngressError): HttpAnswer {
  const [status, type] = awsErrorShape(error);
  const body = {
    Type: 'User',
    message: error.message,
    Message: error.message,
    code: error.code,
    ...(error.details?.outcome ? { outcome: error.details.outcome, completedAt: error.details.completedAt } : {}),
  };
  return jsonAnswer(status, body, { 'x-amzn-errortype': type });
}

function awsErrorShape(error: IngressError): [number, string] {
  if (error.status === 409 || error.status === 410) return [400, 'CallbackTimeoutException'];
  if (error.status === 404) return [404, 'ResourceNotFoundException'];
  if (error.status === 413) return [413, 'RequestTooLargeException'];
  if (error.status === 405) return [405, 'InvalidRequestContentException'];
  if (error.status >= 400 && error.status < 500) return [400, 'InvalidParameterValueException'];
  return [500, 'ServiceException'];
}
