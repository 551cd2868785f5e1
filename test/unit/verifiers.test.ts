import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { github, hmac, slack, standardWebhooks, stripe, twilio } from 'dormant-lambda';
import { verifyDelivery } from 'dormant-lambda/internal';

// Each provider's signature is computed here from its published algorithm,
// apart from the code under test.
const now = Date.UTC(2026, 11, 7, 12, 0, 0);
const nowSeconds = Math.floor(now / 1000);
const body = Buffer.from('{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_9"}}}');

describe('github()', () => {
  const v = github({ secret: 'GITHUB_SECRET' });

  it("accepts GitHub's documented example (secret, payload and signature from its docs)", () => {
    const delivery = {
      body: Buffer.from('Hello, World!'),
      headers: {
        'X-Hub-Signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
        'X-GitHub-Delivery': 'd-1',
      },
    };
    expect(verifyDelivery(v, "It's a Secret to Everybody", delivery, now)).toEqual({ ok: true, deliveryId: 'd-1' });
  });

  it('refuses a changed body, a wrong secret, a missing header', () => {
    const sig = 'sha256=' + createHmac('sha256', 's3cret').update(body).digest('hex');
    expect(verifyDelivery(v, 's3cret', { body, headers: { 'x-hub-signature-256': sig } }, now).ok).toBe(true);
    expect(
      verifyDelivery(v, 's3cret', { body: Buffer.concat([body, Buffer.from(' ')]), headers: { 'x-hub-signature-256': sig } }, now),
    ).toEqual({
      ok: false,
      problem: 'X-Hub-Signature-256 does not match the body',
    });
    expect(verifyDelivery(v, 'other', { body, headers: { 'x-hub-signature-256': sig } }, now).ok).toBe(false);
    expect(verifyDelivery(v, 's3cret', { body, headers: {} }, now)).toEqual({ ok: false, problem: 'X-Hub-Signature-256 is missing' });
    expect(verifyDelivery(v, 's3cret', { body, headers: { 'x-hub-signature-256': sig.slice(0, -1) } }, now).ok).toBe(false);
  });
});

describe('stripe()', () => {
  const v = stripe({ secret: 'STRIPE_SECRET' });
  const secret = 'whsec_test_abc';
  const sign = (t: number, key = secret): string => createHmac('sha256', key).update(`${t}.${body.toString()}`).digest('hex');

  it('accepts t and v1, names the event id as the delivery id', () => {
    const header = `t=${nowSeconds},v1=${sign(nowSeconds)}`;
    expect(verifyDelivery(v, secret, { body, headers: { 'Stripe-Signature': header } }, now)).toEqual({ ok: true, deliveryId: 'evt_1' });
  });

  it('accepts any of several v1 signatures (a secret being rolled), ignores v0', () => {
    const header = `t=${nowSeconds},v1=${sign(nowSeconds, 'old')},v1=${sign(nowSeconds)},v0=${sign(nowSeconds, 'x')}`;
    expect(verifyDelivery(v, secret, { body, headers: { 'stripe-signature': header } }, now).ok).toBe(true);
    const none = `t=${nowSeconds},v1=${sign(nowSeconds, 'old')},v0=${sign(nowSeconds)}`;
    expect(verifyDelivery(v, secret, { body, headers: { 'stripe-signature': none } }, now)).toEqual({
      ok: false,
      problem: 'Stripe-Signature: no v1 signature matches the body',
    });
  });

  it('refuses a stale timestamp, even correctly signed, and honours toleranceSeconds', () => {
    const t = nowSeconds - 301;
    const header = `t=${t},v1=${sign(t)}`;
    const verdict = verifyDelivery(v, secret, { body, headers: { 'stripe-signature': header } }, now);
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.problem).toMatch(/outside the tolerance of 300 s/);
    expect(
      verifyDelivery(stripe({ secret: 'S', toleranceSeconds: 600 }), secret, { body, headers: { 'stripe-signature': header } }, now).ok,
    ).toBe(true);
  });

  it('refuses a header without t or v1', () => {
    expect(verifyDelivery(v, secret, { body, headers: { 'stripe-signature': `v1=${sign(nowSeconds)}` } }, now).ok).toBe(false);
    expect(verifyDelivery(v, secret, { body, headers: { 'stripe-signature': `t=${nowSeconds}` } }, now).ok).toBe(false);
  });
});

describe('slack()', () => {
  const v = slack({ secret: 'SLACK_SECRET' });
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';
  const sign = (ts: number): string => 'v0=' + createHmac('sha256', secret).update(`v0:${ts}:${body.toString()}`).digest('hex');

  it('accepts v0 over version, timestamp and body', () => {
    const headers = { 'X-Slack-Signature': sign(nowSeconds), 'X-Slack-Request-Timestamp': String(nowSeconds) };
    expect(verifyDelivery(v, secret, { body, headers }, now).ok).toBe(true);
  });

  it('refuses a stale timestamp and a timestamp changed after signing', () => {
    const old = nowSeconds - 60 * 6;
    expect(
      verifyDelivery(v, secret, { body, headers: { 'x-slack-signature': sign(old), 'x-slack-request-timestamp': String(old) } }, now).ok,
    ).toBe(false);
    const headers = { 'x-slack-signature': sign(nowSeconds - 1), 'x-slack-request-timestamp': String(nowSeconds) };
    expect(verifyDelivery(v, secret, { body, headers }, now)).toEqual({ ok: false, problem: 'X-Slack-Signature does not match the body' });
  });
});

describe('standardWebhooks()', () => {
  const v = standardWebhooks({ secret: 'SVIX_SECRET' });

  it('accepts the Standard Webhooks / Svix documented example', () => {
    const delivery = {
      body: Buffer.from('{"test": 2432232314}'),
      headers: {
        'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
        'webhook-timestamp': '1614265330',
        'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
      },
    };
    const verdict = verifyDelivery(v, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', delivery, 1614265330_000);
    expect(verdict).toEqual({ ok: true, deliveryId: 'msg_p5jXN8AQM9LWM0D4loKWxJek' });
  });

  const key = Buffer.from('a-32-byte-key-for-standard-hooks');
  const secret = 'whsec_' + key.toString('base64');
  const sign = (id: string, ts: number, k = key): string =>
    createHmac('sha256', k).update(`${id}.${ts}.${body.toString()}`).digest('base64');

  it('accepts any of several space-separated signatures, and svix- headers', () => {
    const sig = `v1,${sign('msg_1', nowSeconds, Buffer.from('other'))} v1a,xyz v1,${sign('msg_1', nowSeconds)}`;
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(nowSeconds), 'webhook-signature': sig };
    expect(verifyDelivery(v, secret, { body, headers }, now)).toEqual({ ok: true, deliveryId: 'msg_1' });
    const svix = { 'svix-id': 'msg_1', 'svix-timestamp': String(nowSeconds), 'svix-signature': sig };
    expect(verifyDelivery(v, secret, { body, headers: svix }, now).ok).toBe(true);
  });

  it('refuses a stale timestamp, a changed id, and a missing header', () => {
    const old = nowSeconds - 400;
    const stale = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(old), 'webhook-signature': `v1,${sign('msg_1', old)}` };
    expect(verifyDelivery(v, secret, { body, headers: stale }, now).ok).toBe(false);
    const moved = {
      'webhook-id': 'msg_2',
      'webhook-timestamp': String(nowSeconds),
      'webhook-signature': `v1,${sign('msg_1', nowSeconds)}`,
    };
    expect(verifyDelivery(v, secret, { body, headers: moved }, now).ok).toBe(false);
    expect(verifyDelivery(v, secret, { body, headers: { 'webhook-id': 'msg_1' } }, now).ok).toBe(false);
  });
});

describe('twilio()', () => {
  const v = twilio({ authToken: 'TWILIO_AUTH_TOKEN' });
  const token = '12345';
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  const form = Buffer.from('To=%2B18005551212&From=%2B14158675309&Digits=1234&CallSid=CA1234567890ABCDE&Caller=%2B14158675309');
  // Twilio's docs: the URL, then each POST parameter sorted by name, name and value appended with no delimiter.
  const data = url + 'CallSidCA1234567890ABCDE' + 'Caller+14158675309' + 'Digits1234' + 'From+14158675309' + 'To+18005551212';
  const signature = createHmac('sha1', token).update(data).digest('base64');
  const headers = {
    'X-Twilio-Signature': signature,
    'content-type': 'application/x-www-form-urlencoded',
    'I-Twilio-Idempotency-Token': 'idem-1',
  };

  it('accepts HMAC-SHA1 over the full URL and the sorted parameters', () => {
    expect(verifyDelivery(v, token, { body: form, headers, url }, now)).toEqual({ ok: true, deliveryId: 'idem-1' });
  });

  it('refuses another URL, a changed parameter, and no URL at all', () => {
    expect(verifyDelivery(v, token, { body: form, headers, url: url + '&x=1' }, now).ok).toBe(false);
    expect(verifyDelivery(v, token, { body: Buffer.from(form.toString().replace('1234', '1235')), headers, url }, now).ok).toBe(false);
    expect(verifyDelivery(v, token, { body: form, headers }, now)).toEqual({
      ok: false,
      problem: 'the request URL is unknown, and Twilio signs it',
    });
  });
});

describe('hmac()', () => {
  it('checks a prefixed hex or base64 digest in the named header', () => {
    const shopify = hmac({ secret: 'SHOPIFY_SECRET', header: 'X-Shopify-Hmac-Sha256', algorithm: 'sha256', encoding: 'base64' });
    const sig = createHmac('sha256', 'k').update(body).digest('base64');
    expect(verifyDelivery(shopify, 'k', { body, headers: { 'x-shopify-hmac-sha256': sig } }, now)).toEqual({ ok: true });
    expect(verifyDelivery(shopify, 'k2', { body, headers: { 'x-shopify-hmac-sha256': sig } }, now).ok).toBe(false);
    const prefixed = hmac({ secret: 'S', header: 'X-Sig', algorithm: 'sha512', encoding: 'hex', prefix: 'sha512=' });
    const hex = 'sha512=' + createHmac('sha512', 'k').update(body).digest('hex');
    expect(verifyDelivery(prefixed, 'k', { body, headers: { 'X-Sig': hex } }, now).ok).toBe(true);
    expect(verifyDelivery(prefixed, 'k', { body, headers: { 'X-Sig': hex.slice(7) } }, now).ok).toBe(false);
  });

  it('refuses bad options when declared, naming the option', () => {
    expect(() => hmac({ secret: 'S', header: 'bad header', algorithm: 'sha256', encoding: 'hex' })).toThrow(/'header'/);
    expect(() => hmac({ secret: 'S', header: 'X', algorithm: 'md5' as 'sha1', encoding: 'hex' })).toThrow(/'algorithm'/);
    expect(() => github({ secret: 'whsec value with spaces' })).toThrow(/name of the secret/);
    expect(() => stripe({ secret: 'S', toleranceSeconds: -1 })).toThrow(/toleranceSeconds/);
  });
});

describe('logs (rule 10)', () => {
  it('never print a whole webhook id: request lines show its first characters only', async () => {
    const { forLog } = await import('../../src/runtime/log.ts');
    const { IdSigner, newInvocationId } = await import('dormant-lambda/internal');
    const id = new IdSigner('a-signing-key-of-at-least-16-bytes').webhookId(newInvocationId(), 3);
    const line = forLog(`POST /restate/webhooks/${id}`);
    expect(line).not.toContain(id.slice(0, 20));
    expect(line).toMatch(/^POST \/restate\/webhooks\/whk_\S{6}…$/);
  });
});
