/**
 * Provider endpoints (`/webhooks/{name}`) and `ctx.waitForEvent` over HTTP
 * on the local plane, for each verifier, each delivery signed as its
 * provider documents it: an event before the wait and after it, a
 * duplicate delivery, a non-matching event, two waiters matched by one
 * event, a bad signature and a stale timestamp (401, the table unchanged);
 * Slack's url_verification; a body over the limit; events published by
 * the owner's own systems (`POST /restate/events/{name}`).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { github, hmac, service, slack, standardWebhooks, stripe, TerminalError, type Context } from 'dormant-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPlane } from '../../src/local/plane.ts';
import { call, eventually, quietSnapshot, send, startTestPlane, tableSnapshot, untilOutput, untilStatus } from './support.ts';
import {
  githubDelivery,
  slackDelivery,
  standardWebhooksDelivery,
  stripeDelivery,
  type SignedRequest,
} from '../support/provider-signing.ts';

const SECRETS = {
  E2E_STRIPE_SECRET: 'whsec_stripe-e2e-secret',
  E2E_GITHUB_SECRET: 'github-e2e-secret',
  E2E_SLACK_SECRET: 'slack-e2e-signing-secret',
  E2E_SVIX_SECRET: `whsec_${Buffer.from('svix-e2e-key-0123456789').toString('base64')}`,
  E2E_HMAC_SECRET: 'shop-e2e-secret',
};

const webhooks = {
  stripe: { verify: stripe({ secret: 'E2E_STRIPE_SECRET' }), correlate: ['body.data.object.id'] },
  github: {
    verify: github({ secret: 'E2E_GITHUB_SECRET' }),
    correlate: ['body.check_run.head_sha'],
    pick: ['headers.x-github-event', 'body.action', 'body.check_run.head_sha', 'body.check_run.conclusion'],
  },
  slack: { verify: slack({ secret: 'E2E_SLACK_SECRET' }), correlate: ['body.event.channel'] },
  svix: { verify: standardWebhooks({ secret: 'E2E_SVIX_SECRET' }), correlate: ['body.data.id'] },
  shop: {
    verify: hmac({ secret: 'E2E_HMAC_SECRET', header: 'X-Shop-Hmac-Sha256', algorithm: 'sha256', encoding: 'base64' }),
    correlate: ['body.order', 'body.status'],
  },
};

/** Each handler waits for one event on its endpoint, matched on a key it is given, and returns what it got. */
const waits = service({
  name: 'waits',
  handlers: {
    wait: async (ctx: Context, input: { endpoint: string; path: string; key: string }) => {
      try {
        const event = await ctx.waitForEvent(input.endpoint, { match: { [input.path]: input.key }, timeout: { minutes: 5 } });
        return { id: event.id, endpoint: event.endpoint, body: event.body, headers: event.headers };
      } catch (error) {
        return { failed: error instanceof TerminalError ? error.code : String(error) };
      }
    },
    paid: async (ctx: Context, order: string) => {
      const event = await ctx.waitForEvent<{ order: string; status: string }>('shop', {
        match: { 'body.order': order, 'body.status': 'paid' },
      });
      return event.body.status;
    },
  },
});

/** One provider: how to sign a delivery whose correlation value is `key`, and how to sign it badly or late. */
interface Provider {
  endpoint: keyof typeof webhooks;
  path: string;
  sign: (key: string, n: number) => SignedRequest;
  forge: (key: string) => SignedRequest;
  stale?: (key: string) => SignedRequest;
}

const ago = () => Math.floor(Date.now() / 1000) - 3_600;
const PROVIDERS: Provider[] = [
  {
    endpoint: 'stripe',
    path: 'body.data.object.id',
    sign: (pi, n) => stripeDelivery(SECRETS.E2E_STRIPE_SECRET, stripeEvent(pi, n)),
    forge: (pi) => stripeDelivery('not-the-secret', stripeEvent(pi, 0)),
    stale: (pi) => stripeDelivery(SECRETS.E2E_STRIPE_SECRET, stripeEvent(pi, 0), ago()),
  },
  {
    endpoint: 'github',
    path: 'body.check_run.head_sha',
    sign: (sha, n) => githubDelivery(SECRETS.E2E_GITHUB_SECRET, 'check_run', checkRun(sha, n), `delivery-${sha}-${n}`),
    forge: (sha) => githubDelivery('not-the-secret', 'check_run', checkRun(sha, 0)),
  },
  {
    endpoint: 'slack',
    path: 'body.event.channel',
    sign: (channel, n) => slackDelivery(SECRETS.E2E_SLACK_SECRET, slackEvent(channel, n)),
    forge: (channel) => slackDelivery('not-the-secret', slackEvent(channel, 0)),
    stale: (channel) => slackDelivery(SECRETS.E2E_SLACK_SECRET, slackEvent(channel, 0), ago()),
  },
  {
    endpoint: 'svix',
    path: 'body.data.id',
    sign: (user, n) => standardWebhooksDelivery(SECRETS.E2E_SVIX_SECRET, userEvent(user, n), `msg_${user}_${n}`),
    forge: (user) => standardWebhooksDelivery(`whsec_${Buffer.from('another-key').toString('base64')}`, userEvent(user, 0)),
    stale: (user) => standardWebhooksDelivery(SECRETS.E2E_SVIX_SECRET, userEvent(user, 0), `msg_${user}_stale`, ago()),
  },
  {
    endpoint: 'shop',
    path: 'body.order',
    sign: (order, n) => shopDelivery(SECRETS.E2E_HMAC_SECRET, { order, status: 'paid', n }),
    forge: (order) => shopDelivery('not-the-secret', { order, status: 'paid', n: 0 }),
  },
];

function stripeEvent(pi: string, n: number) {
  return {
    id: `evt_${pi}_${n}`,
    type: 'payment_intent.succeeded',
    data: { object: { id: pi, object: 'payment_intent', status: 'succeeded' } },
  };
}
function checkRun(sha: string, n: number) {
  return {
    action: 'completed',
    check_run: { id: n, head_sha: sha, status: 'completed', conclusion: 'success', output: { text: 'x'.repeat(50) } },
  };
}
function slackEvent(channel: string, n: number) {
  return { type: 'event_callback', event_id: `Ev${channel}${n}`, event: { type: 'message', channel, text: `hello ${n}` } };
}
function userEvent(user: string, n: number) {
  return { type: 'user.created', data: { id: user, n } };
}
function shopDelivery(secret: string, payload: unknown): SignedRequest {
  const body = JSON.stringify(payload);
  return {
    body,
    headers: { 'content-type': 'application/json', 'x-shop-hmac-sha256': createHmac('sha256', secret).update(body).digest('base64') },
  };
}

describe('provider endpoints and ctx.waitForEvent over HTTP', () => {
  let plane: LocalPlane;

  beforeAll(async () => {
    plane = await startTestPlane([waits], { webhooks, secrets: SECRETS });
  });

  afterAll(async () => {
    await plane?.stop();
  });

  const deliver = (endpoint: string, r: SignedRequest) => call(plane, 'POST', `/webhooks/${endpoint}`, r.body, r.headers);
  const startWait = (p: Provider, key: string) => send(plane, '/waits/wait', { endpoint: p.endpoint, path: p.path, key });

  describe.each(PROVIDERS)('$endpoint', (p) => {
    it('a bad signature, or a stale timestamp: 401, and nothing is stored', async () => {
      const key = `k-${randomUUID()}`;
      await quietSnapshot(plane);
      const before = await tableSnapshot(plane);
      const forged = await deliver(p.endpoint, p.forge(key));
      expect(forged.status).toBe(401);
      expect(forged.json.code).toBe('bad_signature');
      if (p.stale) {
        const stale = await deliver(p.endpoint, p.stale(key));
        expect(stale.status).toBe(401);
        expect(stale.json.message).toMatch(/timestamp|too old|tolerance/i);
      }
      const unsigned = await call(plane, 'POST', `/webhooks/${p.endpoint}`, p.sign(key, 0).body);
      expect(unsigned.status).toBe(401);
      expect(await tableSnapshot(plane)).toEqual(before);
    });

    it('an event before the wait completes it at once; a duplicate delivery is acknowledged and stores nothing new', async () => {
      const key = `k-${randomUUID()}`;
      const delivery = p.sign(key, 1);
      const first = await deliver(p.endpoint, delivery);
      expect(first.status).toBe(200);
      expect(first.json).toMatchObject({ duplicate: false });
      const again = await deliver(p.endpoint, delivery);
      expect(again.status).toBe(200);
      expect(again.json).toMatchObject({ id: first.json.id, duplicate: true });

      const id = await startWait(p, key);
      const output = (await untilOutput(plane, id)).json;
      expect(output).toMatchObject({ id: first.json.id, endpoint: p.endpoint });
    });

    it('an event after the wait wakes both waiters it matches, and not the one it does not', async () => {
      const key = `k-${randomUUID()}`;
      const a = await startWait(p, key);
      const b = await startWait(p, key);
      const other = await startWait(p, `other-${key}`);
      for (const id of [a, b, other]) {
        const status = await untilStatus(plane, id, 'suspended');
        expect(status.awaiting).toContainEqual(expect.objectContaining({ event: p.endpoint }));
      }
      const delivered = await deliver(p.endpoint, p.sign(key, 2));
      expect(delivered.status).toBe(200);
      for (const id of [a, b]) expect((await untilOutput(plane, id)).json).toMatchObject({ id: delivered.json.id });
      expect((await call(plane, 'GET', `/restate/invocation/${other}`)).json.status).toBe('suspended');
      await call(plane, 'PATCH', `/restate/invocation/${other}/kill`);
    });
  });

  it('github: keeps only the picked parts of a check run', async () => {
    const sha = randomUUID().replace(/-/g, '');
    const id = await startWait(PROVIDERS[1]!, sha);
    await untilStatus(plane, id, 'suspended');
    expect((await deliver('github', githubDelivery(SECRETS.E2E_GITHUB_SECRET, 'check_run', checkRun(sha, 7)))).status).toBe(200);
    const output = (await untilOutput(plane, id)).json;
    expect(output.body).toEqual({ action: 'completed', check_run: { head_sha: sha, conclusion: 'success' } });
    expect(output.headers).toEqual({ 'x-github-event': 'check_run' });
  });

  it('slack: answers a signed url_verification challenge without storing anything; an unsigned one gets 401', async () => {
    await quietSnapshot(plane);
    const before = await tableSnapshot(plane);
    const challenge = { type: 'url_verification', token: 'legacy', challenge: 'c-3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' };
    const answered = await deliver('slack', slackDelivery(SECRETS.E2E_SLACK_SECRET, challenge));
    expect(answered.status).toBe(200);
    expect(answered.text).toBe(challenge.challenge);
    expect((await call(plane, 'POST', '/webhooks/slack', JSON.stringify(challenge))).status).toBe(401);
    expect(await tableSnapshot(plane)).toEqual(before);
  });

  it('a delivery over 128 KiB without pick is acknowledged and recorded as too large: the wait fails with 413 naming its size', async () => {
    const user = `u-${randomUUID()}`;
    const id = await startWait(PROVIDERS[3]!, user);
    await untilStatus(plane, id, 'suspended');
    const big = standardWebhooksDelivery(SECRETS.E2E_SVIX_SECRET, { type: 'user.updated', data: { id: user, blob: 'x'.repeat(140_000) } });
    expect((await deliver('svix', big)).status).toBe(200);
    expect((await untilOutput(plane, id)).json).toEqual({ failed: 413 });
    const journal = (await call(plane, 'GET', `/restate/invocation/${id}/journal`)).json;
    expect(journal.entries[0]).toMatchObject({ kind: 'event-await', name: 'svix', completion: { how: 'rejected' } });
    expect(journal.entries[0].completion.failure.message).toMatch(/bytes once recorded, over the 131072-byte limit/);
  });

  it('an unknown endpoint is 404, a GET 405, and neither stores anything', async () => {
    await quietSnapshot(plane);
    const before = await tableSnapshot(plane);
    expect((await call(plane, 'POST', '/webhooks/nobody', '{}')).status).toBe(404);
    expect((await call(plane, 'GET', '/webhooks/stripe')).status).toBe(405);
    expect(await tableSnapshot(plane)).toEqual(before);
  });

  it('POST /restate/events/{name}: the owner’s own event completes a wait matched on two paths; bad input is refused and stores nothing', async () => {
    const order = `o-${randomUUID()}`;
    const id = await send(plane, '/waits/paid', order);
    await untilStatus(plane, id, 'suspended');
    await quietSnapshot(plane);
    const before = await tableSnapshot(plane);
    expect((await call(plane, 'POST', '/restate/events/shop', '{not json')).status).toBe(400);
    expect((await call(plane, 'POST', '/restate/events/shop', '[1,2]')).status).toBe(400);
    expect((await call(plane, 'POST', '/restate/events/shop', '{"unrelated":true}')).json.code).toBe('uncorrelated_event');
    expect((await call(plane, 'POST', '/restate/events/nobody', '{"order":"x"}')).status).toBe(404);
    expect((await call(plane, 'POST', '/restate/events/shop', JSON.stringify({ order, blob: 'x'.repeat(140_000) }))).status).toBe(413);
    expect(await tableSnapshot(plane)).toEqual(before);

    const pending = await call(plane, 'POST', '/restate/events/shop', JSON.stringify({ order, status: 'pending' }), {
      'idempotency-key': `${order}-1`,
    });
    expect(pending.status).toBe(202);
    const paid = await call(plane, 'POST', '/restate/events/shop', JSON.stringify({ order, status: 'paid' }), {
      'idempotency-key': `${order}-2`,
    });
    expect(paid.json).toMatchObject({ id: `${order}-2`, stored: 2, duplicate: false });
    expect((await untilOutput(plane, id)).json).toBe('paid');
  });
});

describe('examples/ci-check.ts as its doc comment prints it (dormant dev on the module)', () => {
  it('asks for a deploy, prints the signed check-run delivery, and deploys once GitHub’s event arrives', async () => {
    process.env.GITHUB_WEBHOOK_SECRET = 'dev-secret';
    const printed: string[] = [];
    const log = console.log;
    console.log = (line: unknown) => void printed.push(String(line));
    // As `dormant dev examples/ci-check.ts` does: services and endpoints from the module.
    const plane = await startTestPlane([], { services: undefined, entry: 'examples/ci-check.ts' });
    try {
      const sha = '6dcb09b5b57875f334f61aebed695e2e4193db5e';
      const invocationId = await send(plane, '/deployGate/request', { sha });
      const line = await eventually(async () => printed.find((l) => l.includes('x-hub-signature-256')), 'the printed delivery');
      const [, url, rest] = /curl -X POST '([^']+)' (.*)$/.exec(line)!;
      expect(url).toBe('http://localhost:8080/webhooks/github');
      const headers = Object.fromEntries([...rest!.matchAll(/-H '([^:]+): ([^']*)'/g)].map(([, name, value]) => [name!, value!]));
      const body = /-d '(.*)'$/.exec(rest!)![1]!;
      const status = await untilStatus(plane, invocationId, 'suspended');
      expect(status.awaiting).toContainEqual(expect.objectContaining({ event: 'github' }));
      const answer = await fetch(url!.replace('http://localhost:8080', plane.url), { method: 'POST', headers, body });
      expect(answer.status).toBe(200);
      expect((await untilOutput(plane, invocationId)).json).toEqual({ sha, conclusion: 'success', deploy: 'deployed' });
    } finally {
      console.log = log;
      delete process.env.GITHUB_WEBHOOK_SECRET;
      await plane.stop();
    }
  });
});
