/**
 * Named provider endpoints (`/webhooks/{name}`) and published events
 * (`POST /restate/events/{name}`). A delivery is verified over its raw
 * bytes before anything is written (401, nothing stored), acknowledged
 * 200, and stored as an event under each of the endpoint's correlation
 * keys for the endpoint's lookback window, deduplicated by the provider's
 * delivery id (else the body's digest). The table's stream then hands it
 * to every waiting `ctx.waitForEvent` it matches (`./wake.ts`); a wait
 * registered later finds it itself (`src/engine/context.ts`).
 *
 * A provider endpoint acknowledges every verified delivery: it is stored,
 * or (no correlation path has a value, so no wait can match it) logged.
 * A body over the journal's limit without `pick` is stored as too large:
 * the waits it matches fail with a 413 naming its size, and a provider is
 * never answered 413 (it would retry for days, then disable the endpoint).
 */
import { durationMs } from '../api/duration.ts';
import { TerminalError, toFailure, type Failure } from '../api/errors.ts';
import type { ReceivedEvent, WebhookEndpoint } from '../api/events.ts';
import { bodyDigest, isVerifier, verifyDelivery, type Verifier } from '../api/verifiers.ts';
import { ENDPOINT_NAME, isEventPath } from '../engine/event-wait.ts';
import { pickPaths } from '../engine/webhook-options.ts';
import { eventPartition } from '../store/events.ts';
import { MAX_PAYLOAD_BYTES, payloadBytes } from '../store/limits.ts';
import type { HttpAnswer } from './http.ts';
import { IngressError } from './invocations.ts';
import { logLine } from './log.ts';
import { environmentSecrets, webhookRequestOf, type IncomingRequest, type WebhookDeps } from './webhooks.ts';

/** How long an event waits for a `ctx.waitForEvent` that starts after it, unless the endpoint says otherwise. */
export const DEFAULT_LOOKBACK_MS = 24 * 3_600_000;

/** The longest lookback: the journal's own lifetime. */
export const MAX_LOOKBACK_MS = 365 * 86_400_000;

/**
 * An endpoint as the ingress serves it: checked, with its lookback in
 * milliseconds. JSON-safe (the construct passes it to the deployed
 * ingress in `DORMANT_WEBHOOK_ENDPOINTS`).
 *
 * @example
 * ```ts
 * const e: EndpointConfig = { verify: stripe({ secret: 'STRIPE_WEBHOOK_SECRET' }), correlate: ['body.data.object.id'], lookbackMs: 86_400_000 };
 * ```
 */
export interface EndpointConfig {
  verify: Verifier;
  correlate: string[];
  pick?: string[] | undefined;
  lookbackMs: number;
}

/**
 * Checks declared endpoints, as given to `DurableRuntime`, the local plane
 * or read back from `DORMANT_WEBHOOK_ENDPOINTS` (then `lookbackMs` stands
 * for `lookback`). Throws an error naming the endpoint and the fix.
 *
 * @example
 * ```ts
 * const endpoints = checkEndpoints({ stripe: { verify: stripe({ secret: 'STRIPE_WEBHOOK_SECRET' }), correlate: ['body.data.object.id'] } });
 * endpoints.stripe.lookbackMs // 86400000
 * ```
 */
export function checkEndpoints(declared: unknown): Record<string, EndpointConfig> {
  if (declared === undefined) return {};
  if (typeof declared !== 'object' || declared === null || Array.isArray(declared)) {
    throw new Error('webhooks must map endpoint names to { verify, correlate, pick?, lookback? }');
  }
  const out: Record<string, EndpointConfig> = {};
  for (const [name, given] of Object.entries(declared)) {
    const problem = (why: string) => new Error(`webhooks.${name}: ${why}`);
    if (!ENDPOINT_NAME.test(name)) throw problem('an endpoint name is 1 to 64 letters, digits, - or _ (it is the path /webhooks/{name})');
    if (typeof given !== 'object' || given === null) throw problem('expected { verify, correlate, pick?, lookback? }');
    const e = given as WebhookEndpoint & { lookbackMs?: number };
    if (!isVerifier(e.verify))
      throw problem('verify must be a verifier: github(), stripe(), slack(), standardWebhooks(), twilio() or hmac()');
    if (!Array.isArray(e.correlate) || e.correlate.length === 0 || !e.correlate.every(isEventPath)) {
      throw problem(
        "correlate must list the event paths waits match on, each starting with 'body.' or 'headers.' (['body.data.object.id'])",
      );
    }
    if (e.pick !== undefined && (!Array.isArray(e.pick) || !e.pick.every(isEventPath))) {
      throw problem("pick must list event paths to keep, each starting with 'body.' or 'headers.'");
    }
    const lookbackMs =
      e.lookbackMs ?? (e.lookback === undefined ? DEFAULT_LOOKBACK_MS : durationMs(e.lookback, `webhooks.${name}.lookback`));
    if (typeof lookbackMs !== 'number' || !(lookbackMs >= 0) || lookbackMs > MAX_LOOKBACK_MS) {
      throw problem('lookback must be between 0 and 365 days');
    }
    out[name] = { verify: e.verify, correlate: [...e.correlate], ...(e.pick ? { pick: [...e.pick] } : {}), lookbackMs };
  }
  return out;
}

/**
 * The endpoints a deployed ingress serves, from `DORMANT_WEBHOOK_ENDPOINTS`
 * (JSON, written by the construct); none when it is unset.
 *
 * @example
 * ```ts
 * const endpoints = endpointsFromEnvironment(process.env);
 * ```
 */
export function endpointsFromEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, EndpointConfig> {
  const text = env.DORMANT_WEBHOOK_ENDPOINTS;
  if (text === undefined || text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    throw new Error('DORMANT_WEBHOOK_ENDPOINTS is not JSON: expected {"name":{"verify":{…},"correlate":["body.…"],"lookbackMs":86400000}}');
  }
  return checkEndpoints(parsed);
}

/**
 * What the endpoint routes need: the ingress's dependencies, the secrets,
 * and the declared endpoints.
 *
 * @example
 * ```ts
 * const deps: EndpointDeps = { ...ingressDeps, endpoints: checkEndpoints({ github: { verify: github({ secret: 'GH_SECRET' }), correlate: ['body.check_run.head_sha'] } }) };
 * ```
 */
export interface EndpointDeps extends WebhookDeps {
  endpoints?: Readonly<Record<string, EndpointConfig>> | undefined;
}

/**
 * What storing an event did: how many correlation keys it was stored
 * under, and whether it was a redelivery (nothing new written).
 *
 * @example
 * ```ts
 * const r: StoredOutcome = { id: 'evt_1', stored: 1, duplicate: false };
 * ```
 */
export interface StoredOutcome {
  id: string;
  stored: number;
  duplicate: boolean;
}

/**
 * A provider's delivery to `/webhooks/{name}`.
 *
 * @example
 * ```ts
 * const answer = await deliverToEndpoint(deps, 'stripe', { method: 'POST', headers, query: {}, body });
 * answer.statusCode // 200; 401 for a bad signature (nothing stored)
 * ```
 */
export async function deliverToEndpoint(deps: EndpointDeps, name: string, request: IncomingRequest): Promise<HttpAnswer> {
  // Public route: an unknown name says nothing about the ones that exist.
  const endpoint = deps.endpoints && Object.hasOwn(deps.endpoints, name) ? deps.endpoints[name] : undefined;
  if (!endpoint) throw new IngressError(404, 'unknown_endpoint', `no webhook endpoint named '${name}'`);
  const secret = await (deps.secrets ?? environmentSecrets(process.env))(endpoint.verify.secret);
  if (secret === undefined) {
    throw new IngressError(
      500,
      'missing_secret',
      `endpoint '${name}' names the secret ${endpoint.verify.secret}, which this ingress cannot read; set it`,
    );
  }
  const verdict = verifyDelivery(
    endpoint.verify,
    secret,
    { body: request.body, headers: request.headers, url: request.url },
    deps.clock.now(),
  );
  if (!verdict.ok) throw new IngressError(401, 'bad_signature', `the delivery's signature does not verify: ${verdict.problem}`);
  const { headers, body, contentType } = webhookRequestOf(request);
  // Slack checks a new Events API URL with a signed challenge to echo: nothing to store.
  if (endpoint.verify.provider === 'slack' && isSlackChallenge(body)) {
    return { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: body.challenge };
  }
  const id = verdict.deliveryId ?? bodyDigest(request.body);
  const outcome = await storeEvent(deps, name, endpoint, { id, headers, body, contentType });
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(outcome) };
}

/**
 * An event published by the deployment's own systems to
 * `POST /restate/events/{name}` (an invocation route: owner-authorized).
 * The JSON body is the event's `body`; `Idempotency-Key`, when given, is
 * its id (a retry is the same event), else the body's digest. An event
 * that no wait could match (no correlation path has a value) is refused.
 *
 * @example
 * ```ts
 * const answer = await publishEvent(deps, 'orders', '{"orderId":"o-1","status":"shipped"}', 'ship-o-1');
 * answer.statusCode // 202
 * ```
 */
export async function publishEvent(
  deps: EndpointDeps,
  name: string,
  text: string,
  idempotencyKey: string | undefined,
): Promise<HttpAnswer> {
  const endpoint = deps.endpoints && Object.hasOwn(deps.endpoints, name) ? deps.endpoints[name] : undefined;
  if (!endpoint) {
    const names = Object.keys(deps.endpoints ?? {}).sort();
    throw new IngressError(404, 'unknown_endpoint', `no endpoint named '${name}' (declared: ${names.join(', ') || 'none'})`);
  }
  const bytes = payloadBytes(text);
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new IngressError(413, 'payload_too_large', `the event is ${bytes} bytes, over the ${MAX_PAYLOAD_BYTES}-byte limit`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    throw new IngressError(400, 'invalid_json', 'the event must be a JSON object: it becomes the body waits match on');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new IngressError(400, 'invalid_event', 'the event must be a JSON object: it becomes the body waits match on');
  }
  if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > 256)) {
    throw new IngressError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1 to 256 characters');
  }
  const event = { id: idempotencyKey ?? bodyDigest(Buffer.from(text, 'utf8')), headers: {}, body, contentType: 'application/json' };
  if (Object.keys(correlationValues(endpoint, event)).length === 0) {
    throw new IngressError(
      422,
      'uncorrelated_event',
      `no wait could match this event: none of endpoint '${name}''s correlation paths (${endpoint.correlate.join(', ')}) has a string, number or boolean value in it`,
    );
  }
  return {
    statusCode: 202,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(await storeEvent(deps, name, endpoint, event)),
  };
}

/**
 * Stores one event under each correlation key it has a value for. A
 * redelivery writes nothing (its delivery id is there); a crash between
 * the writes is mended by the provider's retry, which writes the rest.
 */
async function storeEvent(
  deps: EndpointDeps,
  name: string,
  endpoint: EndpointConfig,
  event: Pick<ReceivedEvent, 'id' | 'headers' | 'body' | 'contentType'>,
): Promise<StoredOutcome> {
  const at = deps.clock.now();
  const received: ReceivedEvent = {
    endpoint: name,
    id: event.id,
    receivedAt: at,
    headers: event.headers,
    body: event.body,
    contentType: event.contentType,
  };
  const values = correlationValues(endpoint, received);
  const paths = Object.keys(values);
  if (paths.length === 0) {
    // Acknowledged: no wait could ever match it (a ping, another kind of event).
    logLine(
      deps.log,
      'info',
      `endpoint ${name}: event ${event.id} has no value at ${endpoint.correlate.join(', ')}; acknowledged, not stored`,
    );
    return { id: event.id, stored: 0, duplicate: false };
  }
  const kept = endpoint.pick ? keep(received, endpoint.pick) : received;
  const text = JSON.stringify(kept);
  const bytes = payloadBytes(text);
  let outcome: { value: string } | { failure: Failure } = { value: text };
  if (bytes > MAX_PAYLOAD_BYTES) {
    logLine(
      deps.log,
      'warn',
      `endpoint ${name}: event ${event.id} is ${bytes} bytes, over ${MAX_PAYLOAD_BYTES}; stored as too large (declare pick)`,
    );
    outcome = {
      failure: toFailure(
        new TerminalError(
          `event ${event.id} of endpoint '${name}' was ${bytes} bytes once recorded, over the ${MAX_PAYLOAD_BYTES}-byte limit; keep only what you need with the endpoint's pick: ['body.…']`,
          { code: 413 },
        ),
      ),
    };
  }
  let fresh = 0;
  for (const path of paths) {
    const written = await deps.store.putEvent({
      partition: eventPartition(name, path, values[path]!),
      endpoint: name,
      id: event.id,
      at,
      until: at + endpoint.lookbackMs,
      values,
      ...outcome,
    });
    if (written) fresh++;
  }
  return { id: event.id, stored: paths.length, duplicate: fresh === 0 };
}

/** The event's value at each correlation path that has a string, number or boolean there, as text. */
function correlationValues(endpoint: EndpointConfig, event: Pick<ReceivedEvent, 'headers' | 'body'>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const path of endpoint.correlate) {
    let at: unknown = event;
    for (const part of path.split('.')) at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[part] : undefined;
    if (typeof at === 'string' || typeof at === 'number' || typeof at === 'boolean') {
      const text = String(at);
      if (text.length <= 1_024) values[path] = text;
    }
  }
  return values;
}

/** The event with only the picked parts of its headers and body. */
function keep(event: ReceivedEvent, pick: readonly string[]): ReceivedEvent {
  const picked = pickPaths(event, pick) as { headers?: Record<string, string>; body?: unknown };
  return { ...event, headers: picked.headers ?? {}, body: picked.body ?? null };
}

function isSlackChallenge(body: unknown): body is { type: 'url_verification'; challenge: string } {
  const b = body as { type?: unknown; challenge?: unknown } | null;
  return typeof b === 'object' && b !== null && b.type === 'url_verification' && typeof b.challenge === 'string';
}
