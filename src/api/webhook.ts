/**
 * `ctx.webhook()`: a per-request callback URL for providers that take one
 * (Twilio's `StatusCallback`, e-signature and payment providers, CI
 * systems). The URL accepts the provider's request as it comes and
 * completes the promise with it.
 */
import type { DurablePromise } from './context.ts';
import type { Verifier } from './verifiers.ts';

/**
 * A request a provider made to a webhook URL, as the handler receives it.
 * `body` is the parsed JSON for JSON types, the fields of a form
 * (`application/x-www-form-urlencoded`: one string per field, an array for a
 * repeated one), the text for `text/*`, and base64 for any other type
 * (`contentType` says which). `headers` are lowercased, without credentials
 * and cookies.
 *
 * @example
 * ```ts
 * const { promise } = ctx.webhook();
 * const req: WebhookRequest = await promise;
 * req.body // { CallSid: 'CA1…', CallStatus: 'completed' } for Twilio's form post
 * ```
 */
export interface WebhookRequest {
  method: string;
  headers: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  contentType: string;
}

/**
 * What the provider is answered when its request completes the webhook (and
 * on a redelivery of it): a 2xx status, a body and its type. Default: 200
 * with an empty body.
 *
 * @example
 * ```ts
 * const respond: WebhookResponse = { status: 200, contentType: 'text/xml', body: '<Response/>' };
 * ```
 */
export interface WebhookResponse {
  status?: number;
  body?: string;
  contentType?: string;
}

/**
 * Options of `ctx.webhook()`.
 *
 * - `verify`: a provider's signature, checked in addition to the capability
 *   in the URL (a request that fails it gets 401 and changes nothing).
 * - `respond`: the answer the provider gets.
 * - `pick`: dotted paths of the request to keep (`'body.CallStatus'`), for
 *   bodies that would exceed the 128 KiB journal limit; a request over the
 *   limit without `pick` is acknowledged and completes the webhook with a
 *   413 `TerminalError` naming its size.
 *
 * @example
 * ```ts
 * ctx.webhook({ verify: twilio({ authToken: 'TWILIO_AUTH_TOKEN' }), respond: { contentType: 'text/xml', body: '<Response/>' } })
 * ```
 */
export interface WebhookOptions {
  verify?: Verifier;
  respond?: WebhookResponse;
  pick?: string[];
}

/**
 * A webhook: its capability id, the URL to hand the provider (when the
 * runtime knows its API's base URL), and the promise the first accepted
 * request completes.
 *
 * @example
 * ```ts
 * const { url, promise } = ctx.webhook();
 * await ctx.run('call', () => twilioClient.calls.create({ to, from, url: twiml, statusCallback: url }));
 * const status = (await promise).body;
 * ```
 */
export interface Webhook {
  /** Capability id (`whk_…`): whoever holds it can deliver to this webhook, nothing else. */
  id: string;
  /** `{api}/restate/webhooks/{id}` */
  url?: string;
  promise: DurablePromise<WebhookRequest>;
}
