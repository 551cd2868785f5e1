/**
 * Events from providers and from your own systems, and the waits they
 * complete: a named endpoint (`/webhooks/{name}`) verifies each delivery,
 * stores it as an event for a lookback window, and completes every
 * `ctx.waitForEvent(name, { match })` whose match it equals on the
 * endpoint's correlation paths, whichever of the two came first.
 */
import type { Duration } from './duration.ts';
import type { Verifier } from './verifiers.ts';

/**
 * An event as a waiting handler receives it: the endpoint it came through,
 * the provider's delivery id (else the body's SHA-256), when the ingress
 * received it (epoch ms), the headers (lowercased, without credentials and
 * cookies), the body parsed by its content type, and that type. A `pick` on
 * the endpoint keeps only the named parts of `body` and `headers`.
 *
 * @example
 * ```ts
 * const event = await ctx.waitForEvent<{ data: { object: { status: string } } }>('stripe', { match: { 'body.data.object.id': piId } });
 * event.body.data.object.status // 'succeeded'
 * ```
 */
export interface ReceivedEvent<T = unknown> {
  endpoint: string;
  id: string;
  receivedAt: number;
  headers: Record<string, string>;
  body: T;
  contentType: string;
}

/**
 * What `ctx.waitForEvent` waits for: `match` maps dotted paths of the event
 * (`'body.data.object.id'`, `'headers.x-github-event'`) to the values they
 * must equal (compared as text). Every path must be one of the endpoint's
 * `correlate` paths: events are indexed by those, so finding them is a
 * keyed read; the first path keys the wait, so put the most selective
 * first (an id before an event type). `timeout` fails the wait with a
 * `TimeoutError` (as `orTimeout`).
 *
 * @example
 * ```ts
 * const options: WaitForEventOptions = { match: { 'body.check_run.head_sha': sha }, timeout: { hours: 2 } };
 * ```
 */
export interface WaitForEventOptions {
  match: Record<string, string | number | boolean>;
  timeout?: Duration | number;
}

/**
 * A named provider endpoint, served at `/webhooks/{name}`: the verifier
 * that authorizes its deliveries (the signature is the only authorization
 * of this public route), the paths its events are indexed by (a
 * `ctx.waitForEvent` matches on these), what of a large body to keep
 * (`pick`, dotted paths of the event), and how long an event waits for a
 * handler that starts waiting later (`lookback`, default 24 hours, at most
 * 365 days).
 *
 * @example
 * ```ts
 * const endpoint: WebhookEndpoint = { verify: stripe({ secret: 'STRIPE_WEBHOOK_SECRET' }), correlate: ['body.data.object.id'] };
 * ```
 */
export interface WebhookEndpoint {
  verify: Verifier;
  correlate: string[];
  pick?: string[];
  lookback?: Duration | number;
}
