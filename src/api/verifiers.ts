/**
 * Webhook signature verifiers: pure functions over a request's raw bytes,
 * written from each provider's published algorithm, comparing in constant
 * time. A verifier names its secret (an environment variable or, deployed, a
 * Secrets Manager secret); the value is resolved where the request arrives
 * and never journaled, so what a verifier holds is plain data that can be
 * recorded and read back.
 *
 * @example
 * ```ts
 * import { stripe } from 'dormant-lambda';
 *
 * const verifier = stripe({ secret: 'STRIPE_WEBHOOK_SECRET' });
 * const result = verifyDelivery(verifier, process.env.STRIPE_WEBHOOK_SECRET!, delivery, Date.now());
 * if (!result.ok) console.log(result.problem); // "Stripe-Signature: no v1 signature matches"
 * ```
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** HMAC digest algorithms a generic `hmac` verifier may use. */
export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';

/**
 * What a verifier is: its provider, the name of its secret, and the
 * provider's options. Plain data: it is journaled with a `ctx.webhook` and
 * travels in configuration; the secret's value never does.
 *
 * @example
 * ```ts
 * const v: Verifier = github({ secret: 'GITHUB_WEBHOOK_SECRET' });
 * // { provider: 'github', secret: 'GITHUB_WEBHOOK_SECRET' }
 * ```
 */
export type Verifier =
  | { provider: 'github'; secret: string }
  | { provider: 'stripe'; secret: string; toleranceSeconds: number }
  | { provider: 'slack'; secret: string; toleranceSeconds: number }
  | { provider: 'standard-webhooks'; secret: string; toleranceSeconds: number }
  | { provider: 'twilio'; secret: string }
  | { provider: 'hmac'; secret: string; header: string; algorithm: HmacAlgorithm; encoding: 'hex' | 'base64'; prefix: string };

/**
 * One delivery as it arrived: the body's raw bytes, the headers (names in
 * any case), and the full URL the sender signed (Twilio signs it).
 *
 * @example
 * ```ts
 * const d: SignedDelivery = { body: Buffer.from(raw), headers: { 'x-hub-signature-256': 'sha256=…' }, url: 'https://api.example.com/webhooks/github' };
 * ```
 */
export interface SignedDelivery {
  body: Uint8Array;
  headers: Readonly<Record<string, string | undefined>>;
  url?: string | undefined;
}

/**
 * A verifier's verdict: accepted (with the provider's delivery id when it
 * sends one, to deduplicate redeliveries) or refused with the reason.
 *
 * @example
 * ```ts
 * const r: Verdict = { ok: false, problem: 'X-Hub-Signature-256 does not match the body' };
 * ```
 */
export type Verdict = { ok: true; deliveryId?: string | undefined } | { ok: false; problem: string };

/** Stripe's, Slack's and Standard Webhooks' default tolerance for a signed timestamp. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_./+=@-]{0,511}$/;

function secretName(secret: unknown, call: string, field = 'secret'): string {
  if (typeof secret !== 'string' || !SECRET_NAME.test(secret)) {
    throw new TypeError(
      `${call}: '${field}' must be the name of the secret (an environment variable or a Secrets Manager secret), such as 'WEBHOOK_SECRET', not ${typeof secret === 'string' ? 'a value of that shape' : typeof secret}; the value is looked up where requests arrive and never journaled`,
    );
  }
  return secret;
}

function tolerance(value: unknown, call: string): number {
  if (value === undefined) return DEFAULT_TOLERANCE_SECONDS;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${call}: toleranceSeconds must be a positive number of seconds, got ${String(value)}`);
  }
  return value;
}

/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`;
 * the delivery id is `X-GitHub-Delivery`.
 *
 * @example
 * ```ts
 * webhooks: { github: { verify: github({ secret: 'GITHUB_WEBHOOK_SECRET' }), correlate: ['body.check_run.head_sha'] } }
 * ```
 */
export function github(options: { secret: string }): Verifier {
  return { provider: 'github', secret: secretName(options?.secret, 'github()') };
}

/**
 * Stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`
 * (several `v1` while a secret rolls), refused outside `toleranceSeconds`
 * (300 by default); the delivery id is the event's `id`.
 *
 * @example
 * ```ts
 * stripe({ secret: 'STRIPE_WEBHOOK_SECRET' })
 * ```
 */
export function stripe(options: { secret: string; toleranceSeconds?: number }): Verifier {
  return {
    provider: 'stripe',
    secret: secretName(options?.secret, 'stripe()'),
    toleranceSeconds: tolerance(options.toleranceSeconds, 'stripe()'),
  };
}

/**
 * Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:timestamp:body">`
 * with `X-Slack-Request-Timestamp`, refused outside five minutes; the
 * delivery id is the body's `event_id` when it has one.
 *
 * @example
 * ```ts
 * slack({ secret: 'SLACK_SIGNING_SECRET' })
 * ```
 */
export function slack(options: { secret: string; toleranceSeconds?: number }): Verifier {
  return {
    provider: 'slack',
    secret: secretName(options?.secret, 'slack()'),
    toleranceSeconds: tolerance(options.toleranceSeconds, 'slack()'),
  };
}

/**
 * Standard Webhooks (Svix, Resend, Clerk, …): `webhook-id`,
 * `webhook-timestamp` and `webhook-signature` (`svix-` prefixed headers
 * too), a space-separated list of `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
 * under the base64 key after `whsec_`; the delivery id is `webhook-id`.
 *
 * @example
 * ```ts
 * standardWebhooks({ secret: 'RESEND_WEBHOOK_SECRET' }) // the secret's value: whsec_…
 * ```
 */
export function standardWebhooks(options: { secret: string; toleranceSeconds?: number }): Verifier {
  return {
    provider: 'standard-webhooks',
    secret: secretName(options?.secret, 'standardWebhooks()'),
    toleranceSeconds: tolerance(options.toleranceSeconds, 'standardWebhooks()'),
  };
}

/**
 * Twilio: `X-Twilio-Signature: <base64 HMAC-SHA1 of the full URL followed by
 * each POST parameter's name and value, sorted by name>` under the account's
 * auth token; the delivery id is `I-Twilio-Idempotency-Token`.
 *
 * @example
 * ```ts
 * const { url, promise } = ctx.webhook({ verify: twilio({ authToken: 'TWILIO_AUTH_TOKEN' }) });
 * ```
 */
export function twilio(options: { authToken: string }): Verifier {
  return { provider: 'twilio', secret: secretName(options?.authToken, 'twilio()', 'authToken') };
}

/**
 * Any sender that signs the raw body with an HMAC in one header, with an
 * optional prefix before the digest (`sha256=`).
 *
 * @example
 * ```ts
 * hmac({ secret: 'SHOPIFY_SECRET', header: 'X-Shopify-Hmac-Sha256', algorithm: 'sha256', encoding: 'base64' })
 * ```
 */
export function hmac(options: {
  secret: string;
  header: string;
  algorithm: HmacAlgorithm;
  encoding: 'hex' | 'base64';
  prefix?: string;
}): Verifier {
  const secret = secretName(options?.secret, 'hmac()');
  if (typeof options.header !== 'string' || !/^[A-Za-z0-9-]{1,128}$/.test(options.header)) {
    throw new TypeError(`hmac(): 'header' must be a header name such as 'X-Signature', got ${String(options.header)}`);
  }
  if (!['sha1', 'sha256', 'sha512'].includes(options.algorithm)) {
    throw new TypeError(`hmac(): 'algorithm' must be 'sha1', 'sha256' or 'sha512', got ${String(options.algorithm)}`);
  }
  if (options.encoding !== 'hex' && options.encoding !== 'base64') {
    throw new TypeError(`hmac(): 'encoding' must be 'hex' or 'base64', got ${String(options.encoding)}`);
  }
  if (options.prefix !== undefined && typeof options.prefix !== 'string') throw new TypeError(`hmac(): 'prefix' must be a string`);
  return {
    provider: 'hmac',
    secret,
    header: options.header.toLowerCase(),
    algorithm: options.algorithm,
    encoding: options.encoding,
    prefix: options.prefix ?? '',
  };
}

/**
 * Whether a value is a verifier made by one of the functions above (what a
 * journal or a configuration hands back is checked before use).
 *
 * @example
 * ```ts
 * isVerifier(github({ secret: 'S' })) // true
 * ```
 */
export function isVerifier(value: unknown): value is Verifier {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (typeof v.secret !== 'string' || !SECRET_NAME.test(v.secret)) return false;
  switch (v.provider) {
    case 'github':
    case 'twilio':
      return true;
    case 'stripe':
    case 'slack':
    case 'standard-webhooks':
      return typeof v.toleranceSeconds === 'number' && v.toleranceSeconds > 0;
    case 'hmac':
      return (
        typeof v.header === 'string' &&
        ['sha1', 'sha256', 'sha512'].includes(v.algorithm as string) &&
        (v.encoding === 'hex' || v.encoding === 'base64') &&
        typeof v.prefix === 'string'
      );
    default:
      return false;
  }
}

/**
 * Checks one delivery against a verifier, with the secret's value resolved
 * by the caller and `nowMs` the clock for timestamp tolerance.
 *
 * @example
 * ```ts
 * verifyDelivery(github({ secret: 'S' }), 'It’s a Secret to Everybody', { body, headers }, Date.now())
 * // { ok: true, deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958' }
 * ```
 */
export function verifyDelivery(verifier: Verifier, secret: string, delivery: SignedDelivery, nowMs: number): Verdict {
  const header = (name: string): string | undefined => headerValue(delivery.headers, name);
  const body = Buffer.from(delivery.body.buffer, delivery.body.byteOffset, delivery.body.byteLength);
  switch (verifier.provider) {
    case 'github': {
      const given = header('x-hub-signature-256');
      if (given === undefined) return refuse('X-Hub-Signature-256 is missing');
      const expected = 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
      if (!sameText(given, expected)) return refuse('X-Hub-Signature-256 does not match the body');
      return { ok: true, deliveryId: header('x-github-delivery') };
    }
    case 'stripe': {
      const given = header('stripe-signature');
      if (given === undefined) return refuse('Stripe-Signature is missing');
      const parts = given.split(',').map((p) => p.trim().split('='));
      const t = parts.find(([k]) => k === 't')?.[1];
      const v1 = parts.filter(([k, v]) => k === 'v1' && v !== undefined).map(([, v]) => v as string);
      if (t === undefined || !/^\d{1,12}$/.test(t)) return refuse('Stripe-Signature has no timestamp (t=)');
      if (v1.length === 0) return refuse('Stripe-Signature has no v1 signature');
      const stale = staleness(Number(t), nowMs, verifier.toleranceSeconds, 'Stripe-Signature');
      if (stale) return stale;
      const expected = createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
      if (!anyMatches(v1, expected)) return refuse('Stripe-Signature: no v1 signature matches the body');
      return { ok: true, deliveryId: bodyField(body, 'id') };
    }
    case 'slack': {
      const given = header('x-slack-signature');
      const ts = header('x-slack-request-timestamp');
      if (given === undefined || ts === undefined) return refuse('X-Slack-Signature or X-Slack-Request-Timestamp is missing');
      if (!/^\d{1,12}$/.test(ts)) return refuse('X-Slack-Request-Timestamp is not a number of seconds');
      const stale = staleness(Number(ts), nowMs, verifier.toleranceSeconds, 'X-Slack-Request-Timestamp');
      if (stale) return stale;
      const expected = 'v0=' + createHmac('sha256', secret).update(`v0:${ts}:`).update(body).digest('hex');
      if (!sameText(given, expected)) return refuse('X-Slack-Signature does not match the body');
      return { ok: true, deliveryId: bodyField(body, 'event_id') };
    }
    case 'standard-webhooks': {
      const id = header('webhook-id') ?? header('svix-id');
      const ts = header('webhook-timestamp') ?? header('svix-timestamp');
      const given = header('webhook-signature') ?? header('svix-signature');
      if (id === undefined || ts === undefined || given === undefined) {
        return refuse('webhook-id, webhook-timestamp or webhook-signature is missing');
      }
      if (!/^\d{1,12}$/.test(ts)) return refuse('webhook-timestamp is not a number of seconds');
      const stale = staleness(Number(ts), nowMs, verifier.toleranceSeconds, 'webhook-timestamp');
      if (stale) return stale;
      const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
      if (key.length === 0) return refuse(`the secret ${verifier.secret} is not a whsec_ base64 key`);
      const expected = createHmac('sha256', key).update(`${id}.${ts}.`).update(body).digest('base64');
      const v1 = given
        .split(' ')
        .map((s) => s.split(','))
        .filter(([version, sig]) => version === 'v1' && sig !== undefined)
        .map(([, sig]) => sig as string);
      if (!anyMatches(v1, expected)) return refuse('webhook-signature: no v1 signature matches the body');
      return { ok: true, deliveryId: id };
    }
    case 'twilio': {
      const given = header('x-twilio-signature');
      if (given === undefined) return refuse('X-Twilio-Signature is missing');
      if (delivery.url === undefined) return refuse('the request URL is unknown, and Twilio signs it');
      const contentType = header('content-type') ?? '';
      const params = contentType.toLowerCase().startsWith('application/x-www-form-urlencoded') ? formParams(body) : new Map();
      let data = delivery.url;
      for (const name of [...params.keys()].sort()) {
        for (const value of [...new Set(params.get(name))].sort()) data += name + value;
      }
      const expected = createHmac('sha1', secret).update(data, 'utf8').digest('base64');
      if (!sameText(given, expected)) return refuse('X-Twilio-Signature does not match the URL and parameters');
      return { ok: true, deliveryId: header('i-twilio-idempotency-token') };
    }
    case 'hmac': {
      const given = header(verifier.header);
      if (given === undefined) return refuse(`${verifier.header} is missing`);
      const expected = verifier.prefix + createHmac(verifier.algorithm, secret).update(body).digest(verifier.encoding);
      if (!sameText(given, expected)) return refuse(`${verifier.header} does not match the body`);
      return { ok: true };
    }
  }
}

/**
 * The digest that stands for a delivery when its provider sends no delivery
 * id: SHA-256 of the raw body, hex.
 *
 * @example
 * ```ts
 * bodyDigest(Buffer.from('{}')) // '44136fa3…'
 * ```
 */
export function bodyDigest(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

function refuse(problem: string): Verdict {
  return { ok: false, problem };
}

function headerValue(headers: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted && value !== undefined) return value;
  return undefined;
}

function staleness(seconds: number, nowMs: number, toleranceSeconds: number, header: string): Verdict | undefined {
  const skew = Math.abs(nowMs / 1000 - seconds);
  if (skew > toleranceSeconds) {
    return refuse(`${header}: the timestamp is ${Math.round(skew)} s from now, outside the tolerance of ${toleranceSeconds} s (a replay?)`);
  }
  return undefined;
}

// Constant time in the content: digests of both sides are compared, so
// neither the length nor a prefix of the expected value leaks.
function sameText(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

function anyMatches(candidates: readonly string[], expected: string): boolean {
  let found = false;
  for (const c of candidates) found = sameText(c, expected) || found; // no early exit
  return found;
}

function bodyField(body: Buffer, field: string): string | undefined {
  try {
    const value = (JSON.parse(body.toString('utf8')) as Record<string, unknown>)[field];
    return typeof value === 'string' && value.length > 0 && value.length <= 256 ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The parameters of an `application/x-www-form-urlencoded` body, each name
 * with its values in order.
 *
 * @example
 * ```ts
 * formParams(Buffer.from('CallSid=CA1&To=%2B1555')) // Map { 'CallSid' => ['CA1'], 'To' => ['+1555'] }
 * ```
 */
export function formParams(body: Uint8Array): Map<string, string[]> {
  const params = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(Buffer.from(body).toString('utf8'))) {
    const values = params.get(name);
    if (values) values.push(value);
    else params.set(name, [value]);
  }
  return params;
}
