/**
 * Issue 14's attacks, over HTTP, against a plane closed by an API key
 * (`dormant dev --api-key`): a stranger with nothing but the URL (and, at
 * most, one awakeable id a webhook provider holds) tries each, and is
 * refused without changing anything; the owner, with the key, still does
 * each of these things; callback routes work without the key, and an
 * awakeable id in the earlier release's format still resolves.
 *
 * The stranger's moves, as found on the open plane before this issue:
 * queue a call on a known object key, read `lockHeldBy` from its status,
 * read that invocation's status for its `awakeableId`, and approve someone
 * else's pending sign-off; decode an awakeable id to its invocation and read
 * or kill it; pre-resolve a workflow's promise through its shared handler;
 * squat workflow keys and Idempotency-Keys; cancel, kill, read outputs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greeter } from '../../examples/greeter.ts';
import { review } from '../../examples/review.ts';
import { reviewFlow } from '../../examples/review-flow.ts';
import { signoff } from '../../examples/signoff.ts';
import { derivedInvocationId, workflowInvocationId } from '../../src/engine/ids.ts';
import type { LocalPlane } from '../../src/local/plane.ts';
import {
  call,
  eventually,
  send,
  startTestPlane,
  quietSnapshot,
  tableSnapshot,
  untilAwakeable,
  untilOutput,
  untilStatus,
  withHeaders,
  type Answer,
} from './support.ts';

const KEY = 'the-owners-api-key-7f3a9c';

describe('a plane closed by an API key, attacked (rule 9, rule 10)', () => {
  let plane: LocalPlane;
  /** The owner: every request with the key. */
  let owner: LocalPlane;

  beforeAll(async () => {
    plane = await startTestPlane([greeter, review, reviewFlow, signoff], { apiKey: KEY });
    owner = withHeaders(plane, { 'x-api-key': KEY });
  });

  afterAll(async () => {
    await plane?.stop();
  });

  /** Runs the stranger's requests, each refused with 401 and a JSON {code, message}, and shows the table unchanged. */
  async function refusedWithoutChange(requests: (() => Promise<Answer>)[]): Promise<Answer[]> {
    const before = await quietSnapshot(plane);
    const answers: Answer[] = [];
    for (const request of requests) answers.push(await request());
    for (const answer of answers) {
      expect(answer.status, answer.text).toBe(401);
      expect(answer.json).toEqual({ code: 'unauthorized', message: expect.any(String) });
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="dormant"');
    }
    expect(await tableSnapshot(plane)).toEqual(before);
    return answers;
  }

  it("the status capability leak: a stranger cannot queue on a key, read lockHeldBy or the holder's awakeableId, and so cannot approve its sign-off", async () => {
    // Prepare: ada's sign-off holds contract-42 while it waits on its awakeable
    const ada = await send(owner, '/signoff/contract-42/sign', { signer: 'ada' });
    const adaAwakeable = await untilAwakeable(owner, ada);
    const queued = await send(owner, '/signoff/contract-42/sign', { signer: 'grace' });

    // Act + Assess: every step of the attack is refused
    await refusedWithoutChange([
      () => call(plane, 'POST', '/signoff/contract-42/sign/send', '{"signer":"mallory"}'),
      () => call(plane, 'GET', `/restate/invocation/${queued}`),
      () => call(plane, 'GET', `/restate/invocation/${ada}`),
      () => call(plane, 'POST', '/signoff/contract-42/signatures'),
    ]);

    // The owner sees what it needs: who holds the key, and the holder's awakeable.
    const queuedView = await eventually(async () => {
      const view = (await call(owner, 'GET', `/restate/invocation/${queued}`)).json;
      return view?.awaiting?.[0]?.lockHeldBy ? view : undefined;
    }, 'the queued call to name the holder');
    expect(queuedView.awaiting[0]).toMatchObject({ key: 'C#lock', lockHeldBy: ada, queuePosition: 1 });
    expect((await call(owner, 'GET', `/restate/invocation/${ada}`)).json.awaiting[0].awakeableId).toBe(adaAwakeable);
    // The signer, who holds the capability, approves without any key.
    expect((await call(plane, 'POST', `/restate/awakeables/${adaAwakeable}/resolve`, '{"approved":true}')).status).toBe(202);
    expect((await untilOutput(owner, ada)).json).toEqual({ document: 'contract-42', signer: 'ada', approved: true });
  });

  it('an awakeable id decodes to nothing: its holder can complete it, and cannot read, cancel or kill the invocation behind it', async () => {
    // Prepare: a review whose awakeable id a webhook provider holds
    const id = await send(owner, '/review/request', { title: 'Q3' });
    const awakeableId = await untilAwakeable(owner, id);

    // Assess: nothing of the invocation id is in the awakeable id
    const raw = Buffer.from(awakeableId.slice(4), 'base64url');
    const invocation = Buffer.from(id.slice(4), 'base64url');
    for (let at = 0; at + 4 <= 16; at++) expect(raw.includes(invocation.subarray(at, at + 4))).toBe(false);
    // Even knowing the invocation id, a stranger reads and ends nothing.
    await refusedWithoutChange([
      () => call(plane, 'GET', `/restate/invocation/${id}`),
      () => call(plane, 'GET', `/restate/invocation/${id}/output`),
      () => call(plane, 'GET', `/restate/invocation/${id}/attach`),
      () => call(plane, 'DELETE', `/restate/invocation/${id}`),
      () => call(plane, 'DELETE', `/restate/invocation/${id}?mode=kill`),
      () => call(plane, 'PATCH', `/restate/invocation/${id}/kill`),
      () => call(plane, 'PATCH', `/restate/invocation/${id}/cancel`),
      () => call(plane, 'PATCH', `/restate/invocation/${id}/purge`),
    ]);

    // Act: the holder completes it without a key; a different second completion learns only that it lost
    expect((await call(plane, 'POST', `/restate/awakeables/${awakeableId}/resolve`, '{"approved":true,"comment":"ok"}')).status).toBe(202);
    const late = await call(plane, 'POST', `/restate/awakeables/${awakeableId}/reject`, 'no', { 'content-type': 'text/plain' });

    // Assess
    expect(late.status).toBe(409);
    expect(late.json).toMatchObject({ code: 'already_completed', outcome: 'resolved' });
    expect(late.text).not.toContain('comment');
    expect(late.text).not.toContain(id);
    expect((await untilOutput(owner, id)).json).toEqual({ title: 'Q3', approved: true, comment: 'ok' });

    // The owner still cancels and kills.
    const [cancelled, killed] = [
      await send(owner, '/review/request', { title: 'c' }),
      await send(owner, '/review/request', { title: 'k' }),
    ];
    await untilAwakeable(owner, cancelled);
    await untilAwakeable(owner, killed);
    expect((await call(owner, 'DELETE', `/restate/invocation/${cancelled}`)).json).toMatchObject({ status: 'Cancelling' });
    expect((await call(owner, 'PATCH', `/restate/invocation/${killed}/kill`)).json).toMatchObject({ status: 'Killed' });
    // The review catches the CancelledError at its await and reports it.
    expect((await untilOutput(owner, cancelled)).json).toMatchObject({
      title: 'c',
      approved: false,
      rejected: expect.stringMatching(/cancel/),
    });
    expect((await untilOutput(owner, killed)).json).toMatchObject({ code: 'CancelledError', message: 'killed' });
  });

  it("a workflow's promise cannot be pre-resolved through its shared handler, nor its key squatted", async () => {
    // Act + Assess: before the owner submits doc-9, a stranger tries to take it over
    const answers = await refusedWithoutChange([
      () => call(plane, 'POST', '/reviewFlow/doc-9/submitReview', '{"approved":true}'),
      () => call(plane, 'POST', '/reviewFlow/doc-9/run/send', '{"title":"squatted"}'),
      () => call(plane, 'POST', '/reviewFlow/doc-9/run/send?ifExists=fail', '{"title":"squatted"}'),
      () => call(plane, 'GET', '/restate/workflow/reviewFlow/doc-9/output'),
      () => call(plane, 'GET', '/restate/workflow/reviewFlow/doc-9/attach'),
    ]);
    expect(answers).toHaveLength(5);

    // The owner's run is the first for the key, and its promise is resolved only when the owner says so.
    const run = await send(owner, '/reviewFlow/doc-9/run', { title: 'Design' });
    expect(run).toBe(workflowInvocationId('reviewFlow', 'doc-9'));
    await untilStatus(owner, run, 'suspended');
    expect((await call(owner, 'POST', '/reviewFlow/doc-9/status')).json).toBe('waiting for review');
    expect((await call(owner, 'POST', '/reviewFlow/doc-9/submitReview', '{"approved":false}')).status).toBe(200);
    expect((await untilOutput(owner, run)).json).toEqual({ title: 'Design', approved: false });
    expect((await call(owner, 'GET', '/restate/workflow/reviewFlow/doc-9/output')).json).toEqual({ title: 'Design', approved: false });
  });

  it('an Idempotency-Key cannot be squatted, and starts, sends and calls need the key', async () => {
    await refusedWithoutChange([
      () => call(plane, 'POST', '/greeter/greet/send', '"Mallory"', { 'idempotency-key': 'order-7' }),
      () => call(plane, 'POST', '/greeter/greet', '"Mallory"'),
      () => call(plane, 'POST', '/greeter/greet/send?delay=1000ms', '"Mallory"'),
    ]);

    const started = await call(owner, 'POST', '/greeter/greet/send', '"Ada"', { 'idempotency-key': 'order-7' });
    expect(started.json).toMatchObject({
      invocationId: derivedInvocationId('idempotency', 'greeter', 'greet', '', 'order-7'),
      status: 'Accepted',
    });
    expect((await untilOutput(owner, started.json.invocationId)).json).toBe('Hello, Ada!');
  });

  it('refuses a wrong key, takes Authorization: Bearer, and lists nothing to a stranger', async () => {
    const wrong = await call(plane, 'POST', '/greeter/greet', '"x"', { 'x-api-key': 'not-the-key' });
    const unknownPath = await call(plane, 'GET', '/nope/never');
    const bearer = await call(plane, 'POST', '/greeter/greet', '"Grace"', { authorization: `Bearer ${KEY}` });

    expect(wrong.status).toBe(401);
    expect(wrong.json).toEqual({ code: 'unauthorized', message: 'the API key does not match' });
    expect(unknownPath.status).toBe(401);
    expect(unknownPath.text).not.toMatch(/greeter|review|signoff/);
    expect(bearer.status).toBe(200);
    expect(bearer.json).toBe('Hello, Grace!');
    // The owner gets the precise 404, with what the deployment has.
    expect((await call(owner, 'GET', '/nope/never')).json).toMatchObject({
      code: 'unknown_service',
      message: expect.stringContaining('greeter'),
    });
  });

  it('callback routes need no key: reject, the AWS callback API, precise refusals (405, 403) to anyone', async () => {
    const id = await send(owner, '/review/request', { title: 'Q4' });
    const awakeableId = await untilAwakeable(owner, id);

    expect((await call(plane, 'GET', `/restate/awakeables/${awakeableId}/resolve`)).status).toBe(405);
    const altered = awakeableId.slice(0, 40) + (awakeableId[40] === 'A' ? 'B' : 'A') + awakeableId.slice(41);
    expect((await call(plane, 'POST', `/restate/a/${altered}/resolve`, '{}')).json).toMatchObject({ code: 'forged_awakeable_id' });
    expect((await call(plane, 'POST', `/2025-12-01/durable-execution-callbacks/${awakeableId}/heartbeat`, '')).status).toBe(200);
    expect((await call(plane, 'POST', `/restate/a/${awakeableId}/reject`, 'too long', { 'content-type': 'text/plain' })).status).toBe(202);
    expect((await untilOutput(owner, id)).json).toEqual({ title: 'Q4', approved: false, rejected: 'too long' });
  });

  it('an awakeable id minted by the earlier release (version 1) still resolves, without the key (rule 13)', async () => {
    // Prepare: an invocation whose id is derived (an Idempotency-Key), so an id minted for it before this release can be pinned
    const id = await send(owner, '/review/request', { title: 'old id' }, { 'idempotency-key': 'rule-13' });
    expect(id).toBe('inv_Qv-zfRa1UGcVGdyJpmEtFQ');
    await untilAwakeable(owner, id);
    // Minted by the release before this one, for entry 0 of that invocation, under the e2e signing key.
    const v1 = 'awk_AUL_s30WtVBnFRnciaZhLRUAAAAAT2cYCDUVk64NmD8UtkaZNnJKumpC0HlaelEVa0HjPJU';

    // Act
    const resolved = await call(plane, 'POST', `/restate/awakeables/${v1}/resolve`, '{"approved":true}');

    // Assess
    expect(resolved.status).toBe(202);
    expect((await untilOutput(owner, id)).json).toEqual({ title: 'old id', approved: true });
  });
});
