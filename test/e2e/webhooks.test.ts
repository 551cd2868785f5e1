/**
 * `ctx.webhook()` over HTTP on the local plane: a provider's request as it
 * comes (JSON, a signed Twilio form, any method), its redelivery, a
 * different request (409) and a late one (410), and every refusal leaving
 * the table as it was.
 */
import { createHmac } from 'node:crypto';
import { TerminalError, github, service, twilio, type Context, type WebhookRequest } from 'dormant-lambda';
import { IdSigner, newInvocationId } from 'dormant-lambda/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPlane } from '../../src/local/plane.ts';
import { phoneCall } from '../../examples/phone-call.ts';
import {
  E2E_SIGNING_KEY,
  call,
  eventually,
  expectDormant,
  quietSnapshot,
  send,
  startTestPlane,
  tableSnapshot,
  untilAwakeable,
  untilOutput,
} from './support.ts';

const TWILIO_TOKEN = 'twilio-auth-token-for-e2e';
const GITHUB_SECRET = 'github-secret-for-e2e';

const hooks = service({
  name: 'hooks',
  handlers: {
    /** Any request, returned whole. */
    plain: async (ctx: Context): Promise<WebhookRequest> => ctx.webhook().promise,
    /** A Twilio status callback: signed, answered with TwiML. */
    call: async (ctx: Context) => {
      const hook = ctx.webhook({
        verify: twilio({ authToken: 'E2E_TWILIO_TOKEN' }),
        respond: { status: 200, contentType: 'text/xml', body: '<Response/>' },
      });
      const { body } = await hook.promise;
      return body;
    },
    /** GitHub-signed, keeping only two fields of a large body. */
    push: async (ctx: Context) => {
      const { body } = await ctx.webhook({ verify: github({ secret: 'E2E_GITHUB_SECRET' }), pick: ['body.ref', 'body.head_commit.id'] })
        .promise;
      return body;
    },
    /** Anything over the journal's limit, without pick. */
    big: async (ctx: Context) => {
      try {
        await ctx.webhook().promise;
        return 'fit';
      } catch (error) {
        return error instanceof TerminalError ? `refused ${error.code}` : 'other';
      }
    },
    /** Waits on a webhook, then on an awakeable: unfinished after the webhook completes. */
    twoStep: async (ctx: Context) => {
      const first = await ctx.webhook().promise;
      await ctx.awakeable<string>().promise;
      return first.body;
    },
    /** Makes a webhook it never awaits, and finishes. */
    abandon: async (ctx: Context) => {
      const hook = ctx.webhook();
      return hook.id;
    },
  },
});

describe('ctx.webhook() over HTTP', () => {
  let plane: LocalPlane;

  beforeAll(async () => {
    plane = await startTestPlane([hooks], { secrets: { E2E_TWILIO_TOKEN: TWILIO_TOKEN, E2E_GITHUB_SECRET: GITHUB_SECRET } });
  });

  afterAll(async () => {
    await plane?.stop();
  });

  /** Starts a handler and waits for the webhook it is suspended on, listed in its status. */
  async function waiting(handler: string): Promise<{ invocationId: string; webhookId: string }> {
    const invocationId = await send(plane, `/hooks/${handler}`, null);
    const webhookId = await untilAwakeable(plane, invocationId);
    expect(webhookId).toMatch(/^whk_/);
    return { invocationId, webhookId };
  }

  it('completes with a JSON request, method and query; a redelivery answers 200 again; status listed it while waiting', async () => {
    const { invocationId, webhookId } = await waiting('plain');
    await expectDormant(plane, invocationId);
    const first = await call(plane, 'POST', `/restate/webhooks/${webhookId}?attempt=1`, '{"state":"done","n":3}', {
      'x-provider': 'ci',
      'x-api-key': 'not-kept',
    });
    expect(first.status).toBe(200);
    const output = (await untilOutput(plane, invocationId)).json as WebhookRequest;
    expect(output).toMatchObject({
      method: 'POST',
      query: { attempt: '1' },
      body: { state: 'done', n: 3 },
      contentType: 'application/json',
    });
    expect(output.headers['x-provider']).toBe('ci');
    expect(output.headers['x-api-key']).toBeUndefined();
    // Same body (its digest): a provider's retry of the request that won.
    expect((await call(plane, 'POST', `/restate/webhooks/${webhookId}?attempt=1`, '{"state":"done","n":3}')).status).toBe(200);
    // Another request, after the invocation finished: late for good.
    const late = await call(plane, 'POST', `/restate/webhooks/${webhookId}`, '{"state":"failed"}');
    expect(late.status).toBe(410);
    expect(late.json.code).toBe('invocation_finished');
    expect(late.text).not.toContain('done');
  });

  it('a different request while the invocation still runs gets 409, without the winner’s body', async () => {
    const { invocationId, webhookId } = await waiting('twoStep');
    expect((await call(plane, 'PUT', `/restate/webhooks/${webhookId}`, 'alpha', { 'content-type': 'text/plain' })).status).toBe(200);
    // Completed, while the invocation goes on to wait for its awakeable.
    await untilAwakeable(plane, invocationId).then(async () => {
      const other = await call(plane, 'PUT', `/restate/webhooks/${webhookId}`, 'beta', { 'content-type': 'text/plain' });
      expect(other.status).toBe(409);
      expect(other.json.code).toBe('already_completed');
      expect(other.text).not.toContain('alpha');
    });
    expect((await call(plane, 'PUT', `/restate/webhooks/${webhookId}`, 'alpha', { 'content-type': 'text/plain' })).status).toBe(200);
    expect((await call(plane, 'GET', `/restate/invocation/${invocationId}`)).json.status).not.toBe('completed');
  });

  it('a Twilio-signed form post completes with its fields and gets the TwiML answer; a bad signature gets 401 and stores nothing', async () => {
    const { invocationId, webhookId } = await waiting('call');
    const path = `/restate/webhooks/${webhookId}`;
    const url = plane.url + path;
    const fields = { CallSid: 'CA123', CallStatus: 'completed', To: '+15551234567', From: '+15557654321' };
    const form = new URLSearchParams(fields).toString();
    // Twilio's algorithm: the full URL, then each POST parameter sorted by name, name and value concatenated; HMAC-SHA1, base64.
    const data =
      url +
      Object.keys(fields)
        .sort()
        .map((k) => k + fields[k as keyof typeof fields])
        .join('');
    const signature = createHmac('sha1', TWILIO_TOKEN).update(data).digest('base64');
    const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };

    await quietSnapshot(plane);
    const before = await tableSnapshot(plane);
    const forged = await call(plane, 'POST', path, form, {
      ...formHeaders,
      'x-twilio-signature': createHmac('sha1', 'wrong').update(data).digest('base64'),
    });
    expect(forged.status).toBe(401);
    expect(forged.json.code).toBe('bad_signature');
    expect((await call(plane, 'POST', path, form, formHeaders)).status).toBe(401);
    const tampered = form.replace('completed', 'busy');
    expect((await call(plane, 'POST', path, tampered, { ...formHeaders, 'x-twilio-signature': signature })).status).toBe(401);
    expect(await tableSnapshot(plane)).toEqual(before);

    const good = await call(plane, 'POST', path, form, { ...formHeaders, 'x-twilio-signature': signature });
    expect(good.status).toBe(200);
    expect(good.headers.get('content-type')).toBe('text/xml');
    expect(good.text).toBe('<Response/>');
    expect((await untilOutput(plane, invocationId)).json).toEqual(fields);
    // Twilio retries: the same signed request gets the same answer.
    const again = await call(plane, 'POST', path, form, { ...formHeaders, 'x-twilio-signature': signature });
    expect([again.status, again.text]).toEqual([200, '<Response/>']);
  });

  it('pick keeps the named parts of a large GitHub-signed body; without pick a body over the limit is acknowledged and fails the wait with 413', async () => {
    const { invocationId, webhookId } = await waiting('push');
    const push = JSON.stringify({ ref: 'refs/heads/main', head_commit: { id: 'abc123', message: 'x'.repeat(200_000) }, commits: [] });
    const sig = 'sha256=' + createHmac('sha256', GITHUB_SECRET).update(push).digest('hex');
    const answer = await call(plane, 'POST', `/restate/webhooks/${webhookId}`, push, {
      'x-hub-signature-256': sig,
      'x-github-delivery': 'd-1',
    });
    expect(answer.status).toBe(200);
    expect((await untilOutput(plane, invocationId)).json).toEqual({ ref: 'refs/heads/main', head_commit: { id: 'abc123' } });

    const big = await waiting('big');
    expect((await call(plane, 'POST', `/restate/webhooks/${big.webhookId}`, JSON.stringify({ blob: 'y'.repeat(200_000) }))).status).toBe(
      200,
    );
    expect((await untilOutput(plane, big.invocationId)).json).toBe('refused 413');
  });

  it('a request for a webhook its invocation never awaited, after it finished, gets 410', async () => {
    const invocationId = await send(plane, '/hooks/abandon', null);
    const webhookId = (await untilOutput(plane, invocationId)).json as string;
    const late = await call(plane, 'POST', `/restate/webhooks/${webhookId}`, '{}');
    expect(late.status).toBe(410);
  });

  it('refuses forged, malformed and foreign ids, and awakeable ids, changing nothing (rules 7, 8)', async () => {
    const { webhookId } = await waiting('plain');
    await quietSnapshot(plane);
    const before = await tableSnapshot(plane);
    const foreign = new IdSigner('another-deployment-signing-key').webhookId(newInvocationId(), 0);
    expect((await call(plane, 'POST', `/restate/webhooks/${foreign}`, '{}')).status).toBe(403);
    expect((await call(plane, 'POST', `/restate/webhooks/whk_nonsense`, '{}')).status).toBe(400);
    // An awakeable id is not a webhook id, and a webhook id completes no awakeable (that route skips verify).
    const awakeable = new IdSigner(E2E_SIGNING_KEY).awakeableId(newInvocationId(), 0);
    expect((await call(plane, 'POST', `/restate/webhooks/${awakeable}`, '{}')).json.code).toBe('malformed_webhook_id');
    expect((await call(plane, 'POST', `/restate/awakeables/${webhookId}/resolve`, '{}')).json.code).toBe('malformed_awakeable_id');
    expect((await call(plane, 'POST', `/restate/webhooks/${webhookId}/extra`, '{}')).status).toBe(404);
    // Unknown invocation, valid capability: 404.
    const unknown = new IdSigner(E2E_SIGNING_KEY).webhookId(newInvocationId(), 0);
    expect((await call(plane, 'POST', `/restate/webhooks/${unknown}`, '{}')).status).toBe(404);
    expect(await tableSnapshot(plane)).toEqual(before);
  });

  it('is a public callback route: no API key needed when the plane is closed by one', async () => {
    const closed = await startTestPlane([hooks], { apiKey: 'owner-key' });
    try {
      const owner = { 'x-api-key': 'owner-key' };
      const started = await call(closed, 'POST', '/hooks/plain/send', 'null', owner);
      const invocationId = started.json.invocationId as string;
      let webhookId: string | undefined;
      for (let i = 0; i < 100 && !webhookId; i++) {
        const s = await call(closed, 'GET', `/restate/invocation/${invocationId}`, undefined, owner);
        webhookId = s.json?.status === 'suspended' ? s.json.awaiting[0]?.awakeableId : undefined;
        if (!webhookId) await new Promise((r) => setTimeout(r, 50));
      }
      expect((await call(closed, 'POST', `/restate/webhooks/${webhookId}`, '{"ok":true}')).status).toBe(200);
    } finally {
      await closed.stop();
    }
  });
});

describe('examples/phone-call.ts as its doc comment prints it', () => {
  it('places a call, prints the signed callback, and finishes with the status that callback carries', async () => {
    process.env.TWILIO_AUTH_TOKEN = 'dev-token';
    const printed: string[] = [];
    const log = console.log;
    console.log = (line: unknown) => void printed.push(String(line));
    const plane = await startTestPlane([phoneCall]);
    try {
      const invocationId = await send(plane, '/phoneCall/place', { to: '+15551234567' });
      const line = await eventually(async () => printed.find((l) => l.includes('x-twilio-signature')), 'the printed callback');
      const [, url, signature, form] = /curl -X POST '([^']+)' -H 'x-twilio-signature: ([^']+)' -d '([^']+)'/.exec(line)!;
      expect(url).toBe(`${plane.url}/restate/webhooks/${/whk_[A-Za-z0-9_-]+/.exec(url!)![0]}`);
      // What curl -d sends: a form.
      const answer = await fetch(url!, {
        method: 'POST',
        headers: { 'x-twilio-signature': signature!, 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      });
      expect([answer.status, await answer.text()]).toEqual([200, '<Response/>']);
      expect((await untilOutput(plane, invocationId)).json).toMatchObject({ to: '+15551234567', status: 'completed' });
    } finally {
      console.log = log;
      delete process.env.TWILIO_AUTH_TOKEN;
      await plane.stop();
    }
  });
});
