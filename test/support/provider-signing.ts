/**
 * Deliveries signed the way each provider documents it, written from the
 * providers' published algorithms (not from Dormant's verifiers), for
 * tests that play the provider:
 *
 * - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`,
 *   `X-GitHub-Delivery: <uuid>`, `X-GitHub-Event: <event>`.
 * - Stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`;
 *   the event id is the body's `id`.
 * - Slack: `X-Slack-Request-Timestamp: <unix seconds>`,
 *   `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<ts>:<body>")>`.
 * - Standard Webhooks (Svix, Resend, Clerk): `webhook-id`, `webhook-timestamp`,
 *   `webhook-signature: v1,<base64 HMAC-SHA256(base64-decoded whsec_ key, "<id>.<ts>.<body>")>`.
 */
import { createHmac, randomUUID } from 'node:crypto';

/** A signed delivery: its body and headers. */
export interface SignedRequest {
  body: string;
  headers: Record<string, string>;
}

/** GitHub: HMAC-SHA256 of the raw body, hex, prefixed `sha256=`. */
export function githubDelivery(secret: string, event: string, payload: unknown, deliveryId: string = randomUUID()): SignedRequest {
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': deliveryId,
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    },
  };
}

/** Stripe: `t=` timestamp and `v1=` HMAC-SHA256 of `"<t>.<body>"`, hex. */
export function stripeDelivery(secret: string, payload: unknown, nowSeconds = Math.floor(Date.now() / 1000)): SignedRequest {
  const body = JSON.stringify(payload);
  const v1 = createHmac('sha256', secret).update(`${nowSeconds}.${body}`).digest('hex');
  return { body, headers: { 'content-type': 'application/json', 'stripe-signature': `t=${nowSeconds},v1=${v1}` } };
}

/** Slack: `v0=` HMAC-SHA256 of `"v0:<ts>:<body>"`, hex, with the timestamp header. */
export function slackDelivery(secret: string, payload: unknown, nowSeconds = Math.floor(Date.now() / 1000)): SignedRequest {
  const body = JSON.stringify(payload);
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${nowSeconds}:${body}`).digest('hex')}`;
  return {
    body,
    headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': String(nowSeconds), 'x-slack-signature': signature },
  };
}

/** Standard Webhooks: `v1,` then base64 HMAC-SHA256 under the base64 key after `whsec_`, of `"<id>.<ts>.<body>"`. */
export function standardWebhooksDelivery(
  secret: string,
  payload: unknown,
  id = `msg_${randomUUID()}`,
  nowSeconds = Math.floor(Date.now() / 1000),
): SignedRequest {
  const body = JSON.stringify(payload);
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${nowSeconds}.${body}`).digest('base64');
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(nowSeconds),
      'webhook-signature': `v1,${signature}`,
    },
  };
}
