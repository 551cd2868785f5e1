/**
 * The human review over HTTP, on the local plane: the awakeable's whole life
 * (suspend, resolve, reject, read the output) and every refusal of the
 * callback endpoints, each leaving the stored state as it was.
 */
import { TerminalError, service, type Context } from 'dormant-lambda';
import { IdSigner, newInvocationId } from 'dormant-lambda/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greeter } from '../../examples/greeter.ts';
import { review } from '../../examples/review.ts';
import type { LocalPlane } from '../../src/local/plane.ts';
import { decodeChange } from '../../src/store/changes.ts';
import {
  E2E_SIGNING_KEY,
  call,
  eventually,
  expectDormant,
  send,
  startTestPlane,
  untilAwakeable,
  untilOutput,
  untilStatus,
} from './support.ts';

const failing = service({
  name: 'failing',
  handlers: {
    refuse: async (_ctx: Context, reason: string) => {
      throw new TerminalError(`refused: ${reason}`, { code: 422 });
    },
  },
});

/** Waits on two awakeables in turn, so it is still unfinished after the first resolves. */
const twoStep = service({
  name: 'twoStep',
  handlers: {
    run: async (ctx: Context) => {
      const first = ctx.awakeable<string>();
      const second = ctx.awakeable<string>();
      return [await first.promise, await second.promise];
    },
  },
});

const sleeper = service({
  name: 'sleeper',
  handlers: {
    nap: async (ctx: Context, ms: number) => {
      await ctx.sleep(ms);
      return 'rested';
    },
  },
});

describe('awakeables over HTTP', () => {
  let plane: LocalPlane;

  beforeAll(async () => {
    plane = await startTestPlane([greeter, review, failing, sleeper, twoStep]);
  });

  afterAll(async () => {
    await plane?.stop();
  });

  /** Starts a review and waits until it is suspended on its awakeable. */
  async function suspendedReview(title: string): Promise<{ invocationId: string; awakeableId: string }> {
    const invocationId = await send(plane, '/review/request', { title });
    const view = await untilStatus(plane, invocationId, 'suspended');
    return { invocationId, awakeableId: view.awaiting[0].awakeableId as string };
  }

  it('suspends with its awakeable id in the status, runs nothing while suspended, and completes after a resolve', async () => {
    // Prepare
    const invocationId = await send(plane, '/review/request', { title: 'Q3 report' });

    // Assess: suspended, the status names the awakeable, and no handler runs for it
    const view = await untilStatus(plane, invocationId, 'suspended');
    expect(view).toMatchObject({ id: invocationId, service: 'review', handler: 'request', attempts: 1 });
    expect(view.awaiting).toHaveLength(1);
    expect(view.awaiting[0].awakeableId).toMatch(/^awk_[A-Za-z0-9_-]{82}$/);
    await expectDormant(plane, invocationId);
    const notReady = await call(plane, 'GET', `/restate/invocation/${invocationId}/output`);
    expect(notReady.status).toBe(470);
    expect(notReady.json).toMatchObject({ code: 'not_ready', status: 'suspended' });

    // Act
    const resolved = await call(
      plane,
      'POST',
      `/restate/awakeables/${view.awaiting[0].awakeableId}/resolve`,
      '{"approved":true,"comment":"ship it"}',
    );

    // Assess
    expect(resolved.status).toBe(202);
    const output = await untilOutput(plane, invocationId);
    expect(output.status).toBe(200);
    expect(output.json).toEqual({ title: 'Q3 report', approved: true, comment: 'ship it' });
    expect((await call(plane, 'GET', `/restate/invocation/${invocationId}`)).json.status).toBe('completed');
  });

  it("reports the life of an invocation on the plane's change feed, decoded", async () => {
    // Prepare
    const statuses: string[] = [];
    const journaled: string[] = [];
    const stop = plane.changes.onChange((change) => {
      const c = decodeChange(change);
      if (c.kind === 'meta' && c.meta.service === 'greeter') statuses.push(`${c.meta.id} ${c.meta.status}`);
      if (c.kind === 'entry') journaled.push(`${c.invocationId} ${c.entry.kind} ${c.entry.name}`);
    });

    // Act
    const invocationId = await send(plane, '/greeter/greet', 'Feed');
    try {
      await eventually(async () => (statuses.includes(`${invocationId} completed`) ? true : undefined), 'the completion on the feed');
    } finally {
      stop();
    }

    // Assess
    expect(statuses.filter((s) => s.startsWith(invocationId))).toEqual([
      `${invocationId} pending`,
      `${invocationId} running`,
      `${invocationId} completed`,
    ]);
    expect(journaled.filter((e) => e.startsWith(invocationId))).toEqual([`${invocationId} run greeting`]);
  });

  it('accepts the short /restate/a/{id} form and a body API Gateway hands over base64-encoded', async () => {
    const { invocationId, awakeableId } = await suspendedReview('binary');

    // application/octet-stream is a binary type: the proxy event carries the body base64-encoded.
    const resolved = await call(plane, 'POST', `/restate/a/${awakeableId}/resolve`, Buffer.from('{"approved":true}'), {
      'content-type': 'application/octet-stream',
    });

    expect(resolved.status).toBe(202);
    expect((await untilOutput(plane, invocationId)).json).toEqual({ title: 'binary', approved: true });
  });

  it('hands a reject to the handler as a TerminalError with the reason', async () => {
    const { invocationId, awakeableId } = await suspendedReview('too long');

    const rejected = await call(plane, 'POST', `/restate/awakeables/${awakeableId}/reject`, 'please cut it to one page', {
      'content-type': 'text/plain',
    });

    expect(rejected.status).toBe(202);
    // The example catches the TerminalError and reports its message.
    expect((await untilOutput(plane, invocationId)).json).toEqual({
      title: 'too long',
      approved: false,
      rejected: 'please cut it to one page',
    });
  });

  it('answers a second, different resolve with 409 naming the outcome and when (never the value), a redelivery with 202, and two racing resolves with one 202 and one 409', async () => {
    // twoStep still waits on its second awakeable after the first resolves, so
    // late resolves of the first meet a running invocation: 409, not 410.
    const id = await send(plane, '/twoStep/run', null);
    const first = await untilAwakeable(plane, id);
    expect((await call(plane, 'POST', `/restate/awakeables/${first}/resolve`, '"yes"')).status).toBe(202);

    const again = await call(plane, 'POST', `/restate/awakeables/${first}/resolve`, '"no"');
    const rejectAfter = await call(plane, 'POST', `/restate/awakeables/${first}/reject`, 'no');

    expect(again.status).toBe(409);
    expect(again.json).toEqual({
      code: 'already_completed',
      message: expect.stringMatching(/^the awakeable was already resolved at \d{4}-.*; the first completion stands$/),
      outcome: 'resolved',
      completedAt: expect.any(String),
    });
    expect(rejectAfter.status).toBe(409);
    // The webhook delivered again, byte for byte: accepted, nothing changes.
    expect((await call(plane, 'POST', `/restate/awakeables/${first}/resolve`, '"yes"')).status).toBe(202);

    const second = await eventually(async () => {
      const found = await untilAwakeable(plane, id);
      return found === first ? undefined : found;
    }, 'the second awakeable');
    const answers = await Promise.all([
      call(plane, 'POST', `/restate/awakeables/${second}/resolve`, '"a"'),
      call(plane, 'POST', `/restate/awakeables/${second}/resolve`, '"b"'),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
    const winner = answers[0].status === 202 ? 'a' : 'b';
    expect(answers.find((a) => a.status === 409)!.json).toMatchObject({ outcome: 'resolved' });
    expect(answers.find((a) => a.status === 409)!.text).not.toContain(`"${winner}"`);
    expect((await untilOutput(plane, id)).json).toEqual(['yes', winner]);
  });

  it('refuses bad awakeable ids and bad bodies precisely, and leaves the invocation as it was', async () => {
    const { invocationId, awakeableId } = await suspendedReview('refusals');
    const resolve = (id: string, body: string | Buffer = '{"approved":true}') =>
      call(plane, 'POST', `/restate/awakeables/${id}/resolve`, body);
    // The last tag character altered: right shape, wrong signature.
    const last = awakeableId.at(-2) === 'A' ? 'B' : 'A';
    const tampered = awakeableId.slice(0, -2) + last + awakeableId.at(-1);
    const otherKey = new IdSigner('another-deployment-key-0123456789').awakeableId(invocationId, 0);
    const unknown = new IdSigner(E2E_SIGNING_KEY).awakeableId(newInvocationId(), 0);

    const answers = {
      tampered: await resolve(tampered),
      otherKey: await resolve(otherKey),
      malformed: await resolve('awk_not-an-id'),
      notAwakeable: await resolve('hello'),
      unknown: await resolve(unknown),
      invalidJson: await resolve(awakeableId, '{"approved": tru'),
      oversized: await resolve(awakeableId, JSON.stringify({ approved: true, comment: 'x'.repeat(130 * 1024) })),
      get: await call(plane, 'GET', `/restate/awakeables/${awakeableId}/resolve`),
    };

    expect(answers.tampered.status).toBe(403);
    expect(answers.tampered.json.code).toBe('forged_awakeable_id');
    expect(answers.otherKey.status).toBe(403);
    expect(answers.malformed.status).toBe(400);
    expect(answers.malformed.json.code).toBe('malformed_awakeable_id');
    expect(answers.notAwakeable.status).toBe(400);
    expect(answers.unknown.status).toBe(404);
    expect(answers.unknown.json.code).toBe('unknown_awakeable');
    expect(answers.invalidJson.status).toBe(400);
    expect(answers.invalidJson.json.code).toBe('invalid_json');
    expect(answers.oversized.status).toBe(413);
    expect(answers.oversized.json.code).toBe('payload_too_large');
    expect(answers.get.status).toBe(405);
    expect(answers.get.headers.get('allow')).toBe('POST');
    for (const answer of Object.values(answers)) {
      expect(answer.json).toEqual(expect.objectContaining({ code: expect.any(String), message: expect.any(String) }));
    }

    // State unchanged: still suspended on the same awakeable, and a good resolve still works.
    const view = await untilStatus(plane, invocationId, 'suspended');
    expect(view.awaiting[0].awakeableId).toBe(awakeableId);
    expect((await resolve(awakeableId)).status).toBe(202);
    expect((await untilOutput(plane, invocationId)).json).toEqual({ title: 'refusals', approved: true });
  });

  it('after the invocation finished: 409 for the awakeable that completed, 410 for one never completed', async () => {
    const { invocationId, awakeableId } = await suspendedReview('finished');
    await call(plane, 'POST', `/restate/awakeables/${awakeableId}/reject`, 'no', { 'content-type': 'text/plain' });
    await untilOutput(plane, invocationId);

    // The awakeable that was rejected: a late resolve lost to that reject (409).
    const late = await call(plane, 'POST', `/restate/awakeables/${awakeableId}/resolve`, '{"approved":true}');
    expect(late.status).toBe(409);
    expect(late.json).toMatchObject({ code: 'already_completed', outcome: 'rejected' });
    expect(late.text).not.toContain('"no"');

    // Another awakeable of the finished invocation, never completed: 410.
    const other = new IdSigner(E2E_SIGNING_KEY).awakeableId(invocationId, 7);
    const gone = await call(plane, 'POST', `/restate/awakeables/${other}/resolve`, '{"approved":true}');
    expect(gone.status).toBe(410);
    expect(gone.json).toMatchObject({ code: 'invocation_finished' });
    expect(gone.text).not.toContain(invocationId);
  });
});

describe('starting invocations over HTTP', () => {
  let plane: LocalPlane;

  beforeAll(async () => {
    plane = await startTestPlane([greeter, review, failing, sleeper]);
  });

  afterAll(async () => {
    await plane?.stop();
  });

  it('answers a request-response call with the output, and a failed one with its code', async () => {
    const greeted = await call(plane, 'POST', '/greeter/greet', '"Ada"');
    const refused = await call(plane, 'POST', '/failing/refuse', '"no budget"');

    expect(greeted.status).toBe(200);
    expect(greeted.json).toBe('Hello, Ada!');
    expect(refused.status).toBe(422);
    expect(refused.json).toMatchObject({ code: 'TerminalError', message: 'refused: no budget' });
    const id = refused.json.invocationId as string;
    expect((await call(plane, 'GET', `/restate/invocation/${id}/output`)).status).toBe(422);
    expect((await call(plane, 'GET', `/restate/invocation/${id}`)).json).toMatchObject({
      status: 'failed',
      failure: { message: 'refused: no budget', code: 422 },
    });
  });

  it('answers 202 with the invocation id when the output is not there in time', async () => {
    const started = Date.now();
    const answer = await call(plane, 'POST', '/review/request', '{"title":"slow"}');

    expect(answer.status).toBe(202);
    expect(answer.json).toEqual({ invocationId: expect.stringMatching(/^inv_/), status: 'suspended' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
  });

  it('starts once per Idempotency-Key and refuses the key with another body', async () => {
    const headers = { 'Idempotency-Key': 'order-17' };
    const first = await call(plane, 'POST', '/greeter/greet/send', '"Grace"', headers);
    const second = await call(plane, 'POST', '/greeter/greet/send', '"Grace"', { 'idempotency-key': 'order-17' });
    const other = await call(plane, 'POST', '/greeter/greet/send', '"Linus"', headers);

    expect(first.status).toBe(202);
    expect(first.json.status).toBe('Accepted');
    expect(second.json).toEqual({ invocationId: first.json.invocationId, status: 'PreviouslyAccepted' });
    expect(other.status).toBe(409);
    expect(other.json.code).toBe('idempotency_key_reused');
  });

  it('sleeps on a durable timer: suspended with nothing running, then done', async () => {
    const started = Date.now();
    const id = await send(plane, '/sleeper/nap', 1_500);

    const view = await untilStatus(plane, id, 'suspended');
    expect(view.awaiting[0].timerAt).toEqual(expect.any(String));
    await expectDormant(plane, id, 100);

    const output = await untilOutput(plane, id);
    expect(output.json).toBe('rested');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
  });

  it('refuses bad requests with a precise 4xx and a { code, message } body', async () => {
    const cases = [
      { method: 'POST', path: '/gretter/greet', body: '"x"', status: 404, code: 'unknown_service' },
      { method: 'POST', path: '/greeter/wave', body: '"x"', status: 404, code: 'unknown_handler' },
      { method: 'POST', path: '/greeter/alice/greet', body: '"x"', status: 400, code: 'unexpected_key' },
      { method: 'GET', path: '/greeter/greet', status: 405, code: 'method_not_allowed' },
      { method: 'POST', path: '/greeter/greet', body: '"unterminated', status: 400, code: 'invalid_json' },
      { method: 'POST', path: '/greeter/greet', body: JSON.stringify('x'.repeat(130 * 1024)), status: 413, code: 'payload_too_large' },
      { method: 'GET', path: '/restate/invocation/inv_nope', status: 400, code: 'malformed_invocation_id' },
      { method: 'GET', path: `/restate/invocation/${newInvocationId()}`, status: 404, code: 'unknown_invocation' },
      { method: 'POST', path: `/restate/invocation/${newInvocationId()}/output`, status: 405, code: 'method_not_allowed' },
      { method: 'GET', path: '/restate/nothing', status: 404, code: 'not_found' },
      { method: 'GET', path: '/', status: 404, code: 'not_found' },
      { method: 'POST', path: '/greeter/%E0%A4%A/greet', body: '"x"', status: 400, code: 'malformed_path' },
    ];
    for (const c of cases) {
      const answer = await call(plane, c.method, c.path, c.body);
      expect({ path: c.path, status: answer.status, code: answer.json?.code }).toEqual({ path: c.path, status: c.status, code: c.code });
      expect(answer.json.message).toEqual(expect.any(String));
    }
  });
});
