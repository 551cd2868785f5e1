/**
 * The callback route of `ctx.webhook()`: `/restate/webhooks/{id}` takes a
 * provider's request as it comes (any method, any content type), checks the
 * capability in the URL, then the provider's signature when the webhook
 * asked for one, and completes the webhook with a `WebhookRequest`. Rule 2's
 * definite answers hold: the request that won and its redeliveries (same
 * delivery id, else same body digest) get the webhook's answer, a different
 * request 409 while the invocation runs, and 410 once it finished.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { bodyDigest, formParams, verifyDelivery, type SignedDelivery } from '../api/verifiers.ts';
import type { WebhookRequest } from '../api/webhook.ts';
import { toFailure, TerminalError } from '../api/errors.ts';
import { pickPaths, readWebhookOptions, type RecordedWebhookOptions } from '../engine/webhook-options.ts';
import { completionKey } from '../store/keys.ts';
import { MAX_PAYLOAD_BYTES, payloadBytes } from '../store/limits.ts';
import type { Completion } from '../store/store.ts';
import { IngressError, type IngressDeps } from './invocations.ts';
import type { HttpAnswer } from './http.ts';

/**
 * Looks up a named secret's value (an environment variable, or on AWS a
 * Secrets Manager secret); `undefined` when there is none.
 *
 * @example
 * ```ts
 * const secrets: SecretSource = async (name) => process.env[name];
 * ```
 */
export type SecretSource = (name: string) => Promise<string | undefined>;

/**
 * Secrets from an environment: the variable named by the verifier.
 *
 * @example
 * ```ts
 * const secrets = environmentSecrets(process.env);
 * await secrets('TWILIO_AUTH_TOKEN') // '…'
 * ```
 */
export function environmentSecrets(env: Readonly<Record<string, string | undefined>>): SecretSource {
  return async (name) => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
}

/** How long a secret read from Secrets Manager is kept before it is read again (a rotation reaches warm functions). */
const SECRET_CACHE_MS = 5 * 60_000;

/**
 * Secrets as a deployed callback function reads them: an environment
 * variable of the name first, else the Secrets Manager secret that
 * `DORMANT_WEBHOOK_SECRETS` (JSON: name → ARN, set by the construct, which
 * grants exactly those) maps the name to, kept for five minutes.
 *
 * @example
 * ```ts
 * const secrets = deployedSecrets(process.env, () => new SecretsManagerClient({}));
 * await secrets('STRIPE_WEBHOOK_SECRET')
 * ```
 */
export function deployedSecrets(
  env: Readonly<Record<string, string | undefined>>,
  client: () => Pick<SecretsManagerClient, 'send'>,
): SecretSource {
  const fromEnv = environmentSecrets(env);
  let arns: Record<string, string> = {};
  try {
    arns = JSON.parse(env.DORMANT_WEBHOOK_SECRETS ?? '{}') as Record<string, string>;
  } catch {
    throw new Error('DORMANT_WEBHOOK_SECRETS is not JSON: expected {"SECRET_NAME":"arn:aws:secretsmanager:…"}');
  }
  const cache = new Map<string, { value: string | undefined; at: number }>();
  let sm: Pick<SecretsManagerClient, 'send'> | undefined;
  return async (name) => {
    const local = await fromEnv(name);
    if (local !== undefined) return local;
    const arn = Object.hasOwn(arns, name) ? arns[name] : undefined;
    if (arn === undefined) return undefined;
    const kept = cache.get(name);
    if (kept && Date.now() - kept.at < SECRET_CACHE_MS) return kept.value;
    sm ??= client();
    const read = await sm.send(new GetSecretValueCommand({ SecretId: arn }));
    cache.set(name, { value: read.SecretString, at: Date.now() });
    return read.SecretString;
  };
}

/**
 * A provider's request as it reached the ingress: method, headers, query,
 * the body's raw bytes, and the full URL it was sent to (what Twilio signs).
 *
 * @example
 * ```ts
 * const r: IncomingRequest = { method: 'POST', headers: { 'content-type': 'application/json' }, query: {}, body: Buffer.from('{}'), url: 'https://…/restate/webhooks/whk_…' };
 * ```
 */
export interface IncomingRequest {
  method: string;
  headers: Readonly<Record<string, string | undefined>>;
  query: Readonly<Record<string, string | undefined>>;
  body: Uint8Array;
  url?: string | undefined;
}

/**
 * What a webhook delivery needs: the ingress's dependencies and where named secrets come from.
 *
 * @example
 * ```ts
 * const deps: WebhookDeps = { ...ingressDeps, secrets: environmentSecrets(process.env) };
 * ```
 */
export interface WebhookDeps extends IngressDeps {
  secrets?: SecretSource | undefined;
}

/**
 * Delivers a provider's request to a webhook and answers it.
 *
 * @example
 * ```ts
 * const answer = await deliverWebhook(deps, 'whk_…', { method: 'POST', headers, query: {}, body });
 * answer.statusCode // 200, or the webhook's `respond.status`
 * ```
 */
export async function deliverWebhook(deps: WebhookDeps, webhookId: string, request: IncomingRequest): Promise<HttpAnswer> {
  // The capability first, without I/O: a forged id costs no table access.
  const verified = await deps.signer.verifyWebhook(webhookId);
  if (!verified.ok) {
    throw verified.problem === 'forged'
      ? new IngressError(
          403,
          'forged_webhook_id',
          'the webhook id has a valid shape but does not authenticate: it was not issued by this deployment, or it was altered',
        )
      : new IngressError(
          400,
          'malformed_webhook_id',
          "not a webhook id: ids look like 'whk_' followed by base64url characters, as ctx.webhook() returns them",
        );
  }
  const { invocationId, index } = verified.target;
  const key = completionKey(index);
  const meta = await deps.store.getInvocation(invocationId);
  if (!meta) {
    throw new IngressError(
      404,
      'unknown_webhook',
      'nothing awaits this webhook: its invocation does not exist (it finished and its record expired, or it was purged)',
    );
  }
  // The id is minted only after its entry is queued, and handed out only by
  // a later step, so the entry is there unless the id escaped early.
  const entry = await deps.store.getEntry(invocationId, index);
  if (!entry || entry.kind !== 'webhook') {
    throw new IngressError(503, 'webhook_not_ready', 'this webhook is not recorded yet; retry shortly', undefined, { 'retry-after': '1' });
  }
  const options = readWebhookOptions(entry.value);
  if (!options)
    throw new IngressError(500, 'unreadable_webhook', 'this webhook was recorded by a newer release; deploy it to receive this request');

  // The signature, over the raw bytes, before anything is written (401, nothing stored).
  let deliveryId: string | undefined;
  if (options.verify) {
    const secret = await (deps.secrets ?? environmentSecrets(process.env))(options.verify.secret);
    if (secret === undefined) {
      throw new IngressError(
        500,
        'missing_secret',
        `the webhook's verifier names the secret ${options.verify.secret}, which this ingress cannot read; set it`,
      );
    }
    const verdict = verifyDelivery(options.verify, secret, toSigned(request), deps.clock.now());
    if (!verdict.ok) throw new IngressError(401, 'bad_signature', `the request's signature does not verify: ${verdict.problem}`);
    deliveryId = verdict.deliveryId;
  }
  // A redelivery is known by the provider's delivery id, else by the body's digest.
  const by = `webhook#${deliveryId ?? bodyDigest(request.body)}`;
  const accepted = (): HttpAnswer => answerOf(options);

  if (meta.status === 'completed' || meta.status === 'failed') {
    // Its redelivery still gets its answer; anything else is late for good.
    const earlier = await deps.store.getCompletion(invocationId, key);
    if (earlier?.by === by) return accepted();
    throw new IngressError(
      410,
      'invocation_finished',
      `the invocation that awaited this webhook has finished${earlier ? ` (another request completed it at ${new Date(earlier.at).toISOString()})` : ''}; nothing awaits it any more`,
    );
  }

  const completion: Completion = { key, at: deps.clock.now(), by, ...outcomeOf(request, options) };
  const written = await deps.store.complete(invocationId, completion);
  if (written.won) return accepted();
  //   delivery 1 ── Put C#i ✓ ─────────────────────────────────▶ 2xx
  //   redelivery ─────── Put C#i ✗ (ALL_OLD: same by) ─────────▶ 2xx again
  //   another request ─────── Put C#i ✗ (ALL_OLD: other by) ───▶ 409
  if (written.existing.by === by) return accepted();
  throw alreadyDelivered(written.existing);
}

function toSigned(request: IncomingRequest): SignedDelivery {
  return { body: request.body, headers: request.headers, url: request.url };
}

function answerOf(options: RecordedWebhookOptions): HttpAnswer {
  const r = options.respond ?? {};
  const body = r.body ?? '';
  return { statusCode: r.status ?? 200, headers: body === '' ? {} : { 'content-type': r.contentType ?? 'text/plain' }, body };
}

function alreadyDelivered(existing: Completion): IngressError {
  const completedAt = new Date(existing.at).toISOString();
  return new IngressError(
    409,
    'already_completed',
    `the webhook was already completed at ${completedAt} by another request; the first one stands`,
    { outcome: existing.failure ? 'rejected' : 'resolved', completedAt },
  );
}

/** The completion a request makes: the `WebhookRequest` (picked), or a 413 failure when it cannot be journaled. */
function outcomeOf(request: IncomingRequest, options: RecordedWebhookOptions): Pick<Completion, 'value' | 'failure'> {
  const full = webhookRequestOf(request);
  const kept = options.pick ? pickPaths(full, options.pick) : full;
  const text = JSON.stringify(kept);
  const bytes = payloadBytes(text);
  if (bytes > MAX_PAYLOAD_BYTES) {
    // Acknowledged, not refused: a provider would retry a 413 for days. The
    // handler sees why it got no request.
    return {
      failure: toFailure(
        new TerminalError(
          `the webhook request was ${bytes} bytes once recorded, over the ${MAX_PAYLOAD_BYTES}-byte limit; keep only what you need with ctx.webhook({ pick: ['body.…'] })`,
          { code: 413 },
        ),
      ),
    };
  }
  return { value: text };
}

/** Headers the handler sees: lowercased, without credentials or cookies (they would be stored). */
const NOT_RECORDED = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);

/**
 * A request as the handler receives it: the body parsed by its content type.
 *
 * @example
 * ```ts
 * webhookRequestOf({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, query: {}, body: Buffer.from('a=1') }).body // { a: '1' }
 * ```
 */
export function webhookRequestOf(request: IncomingRequest): WebhookRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    const lower = name.toLowerCase();
    if (value !== undefined && !NOT_RECORDED.has(lower)) headers[lower] = value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.query)) if (value !== undefined) query[name] = value;
  const contentType = headers['content-type'] ?? '';
  return { method: request.method.toUpperCase(), headers, query, body: parseBody(request.body, contentType), contentType };
}

function parseBody(raw: Uint8Array, contentType: string): unknown {
  const buffer = Buffer.from(raw);
  if (buffer.length === 0) return null;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  const text = (): string | undefined => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buffer);
    } catch {
      return undefined;
    }
  };
  if (type === 'application/json' || type.endsWith('+json')) {
    const t = text();
    if (t !== undefined) {
      try {
        return JSON.parse(t) as unknown;
      } catch {
        return t; // a provider's malformed JSON is still its request: kept as text
      }
    }
  }
  if (type === 'application/x-www-form-urlencoded') {
    const fields: Record<string, string | string[]> = {};
    for (const [name, values] of formParams(buffer)) fields[name] = values.length === 1 ? values[0]! : values;
    return fields;
  }
  if (type.startsWith('text/') || type === 'application/xml') {
    const t = text();
    if (t !== undefined) return t;
  }
  return buffer.toString('base64');
}
