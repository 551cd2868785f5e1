/**
 * Restate's own ingress client (`@restatedev/restate-sdk-clients`), unchanged,
 * against the local plane: calls, sends, delayed sends, idempotent results,
 * awakeables resolved and rejected, and a workflow submitted, signalled
 * through a shared handler and attached to.
 */
import * as restate from '@restatedev/restate-sdk-clients';
import { TerminalError, service, type Context } from 'dormant-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greeter } from '../../examples/greeter.ts';
import { reviewFlow } from '../../examples/review-flow.ts';
import { review, type ReviewResult } from '../../examples/review.ts';
import type { LocalPlane } from '../../src/local/plane.ts';
import { call, startTestPlane, untilAwakeable, untilOutput } from './support.ts';

const failing = service({
  name: 'failing',
  handlers: {
    refuse: async (_ctx: Context, reason: string) => {
      throw new TerminalError(`refused: ${reason}`, { code: 422 });
    },
  },
});

// The client is typed by Restate service definitions; their name is all it needs at run time.
type Fn = (...args: any[]) => Promise<any>;
const byName = <H extends Record<string, Fn>>(name: string) => ({ name }) as restate.ServiceDefinition<string, H>;
const greeterApi = byName<{ greet: Fn }>('greeter');
const failingApi = byName<{ refuse: Fn }>('failing');
const reviewApi = byName<{ request: Fn }>('review');
const workflowByName = (name: string) => ({ name }) as restate.WorkflowDefinition<string, { run: Fn; submitReview: Fn; status: Fn }>;

describe("Restate's ingress client", () => {
  let plane: LocalPlane;
  let ingress: restate.Ingress;

  beforeAll(async () => {
    plane = await startTestPlane([greeter, review, reviewFlow, failing]);
    ingress = restate.connect({ url: plane.url, retry: true });
  });

  afterAll(async () => {
    await plane?.stop();
  });

  it('calls a handler and gets its output', async () => {
    // Act
    const greeting = await ingress.serviceClient(greeterApi).greet('Ada');

    // Assess
    expect(greeting).toBe('Hello, Ada!');
  });

  it("throws the handler's terminal failure without retrying it", async () => {
    // Act
    const failure = await Promise.resolve(ingress.serviceClient(failingApi).refuse('no budget')).catch((e: unknown) => e);

    // Assess: the status of the failure, and the client did not retry (one invocation only)
    expect(failure).toBeInstanceOf(restate.HttpCallError);
    expect((failure as restate.HttpCallError).status).toBe(422);
    expect(JSON.parse((failure as restate.HttpCallError).responseText)).toMatchObject({
      code: 'TerminalError',
      message: 'refused: no budget',
    });
  });

  it('sends with an idempotency key, answers PreviouslyAccepted for the repeat, and attaches to the result after a resolve', async () => {
    // Prepare
    const sender = ingress.serviceSendClient(reviewApi);
    const opts = restate.rpc.sendOpts({ idempotencyKey: `q3-${Date.now()}` });

    // Act
    const first = await sender.request({ title: 'Q3' }, opts);
    const again = await sender.request({ title: 'Q3' }, opts);

    // Assess
    expect(first).toMatchObject({ status: 'Accepted', attachable: true });
    expect(again).toMatchObject({ status: 'PreviouslyAccepted', invocationId: first.invocationId });

    // Act: resolve its awakeable with the client, then attach
    const awakeableId = await untilAwakeable(plane, first.invocationId);
    await ingress.resolveAwakeable(awakeableId, { approved: true, comment: 'ship it' });
    const result = await ingress.result<ReviewResult>(first);

    // Assess
    expect(result).toEqual({ title: 'Q3', approved: true, comment: 'ship it' });
    await expect(ingress.result<ReviewResult>(again)).resolves.toEqual(result);
  });

  it('rejects an awakeable, and a second completion of it fails with 409', async () => {
    // Prepare
    const handle = await ingress
      .serviceSendClient(reviewApi)
      .request({ title: 'Q4' }, restate.rpc.sendOpts({ idempotencyKey: `q4-${Date.now()}` }));
    const awakeableId = await untilAwakeable(plane, handle.invocationId);

    // Act
    await ingress.rejectAwakeable(awakeableId, 'numbers do not add up');
    const late = await ingress.resolveAwakeable(awakeableId, { approved: true }).catch((e: unknown) => e);

    // Assess
    expect(await ingress.result<ReviewResult>(handle)).toEqual({ title: 'Q4', approved: false, rejected: 'numbers do not add up' });
    expect(late).toBeInstanceOf(restate.HttpCallError);
    expect((late as restate.HttpCallError).status).toBe(409);
    expect(JSON.parse((late as restate.HttpCallError).responseText)).toMatchObject({
      code: 'already_completed',
      outcome: 'rejected',
    });
  });

  it('delays a send (?delay=…ms) through the start timer', async () => {
    // Act
    const sentAt = Date.now();
    const handle = await ingress.serviceSendClient(greeterApi).greet('Grace', restate.rpc.sendOpts({ delay: 800 }));

    // Assess: waiting on its start timer first, the output only after the delay
    const view = (await call(plane, 'GET', `/restate/invocation/${handle.invocationId}`)).json;
    expect(view.status).toBe('scheduled');
    expect(view.scheduledAt).toBe(view.awaiting[0].timerAt);
    expect(view.awaiting).toEqual([expect.objectContaining({ key: 'C#start' })]);
    expect(Date.parse(view.awaiting[0].timerAt)).toBeGreaterThanOrEqual(sentAt + 800);
    const out = await untilOutput(plane, handle.invocationId);
    expect(out.json).toBe('Hello, Grace!');
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(800);
  });

  it('submits a workflow, reads its output as not ready, signals it through a shared handler, and attaches to it', async () => {
    // Prepare
    const key = `doc-${Date.now()}`;
    const flow = ingress.workflowClient(workflowByName('reviewFlow'), key);

    // Act
    const submitted = await flow.workflowSubmit({ title: 'Design doc' });
    const resubmitted = await flow.workflowSubmit({ title: 'Design doc' });
    const before = await flow.workflowOutput();

    // Assess
    expect(submitted.status).toBe('Accepted');
    expect(resubmitted).toMatchObject({ status: 'PreviouslyAccepted', invocationId: submitted.invocationId });
    expect(before.ready).toBe(false);

    // Act: signal it, then attach
    const thanks = await flow.submitReview({ approved: true, comment: 'lgtm' });
    const result = await flow.workflowAttach();
    const after = await flow.workflowOutput();

    // Assess
    expect(thanks).toBe('thanks');
    expect(result).toEqual({ title: 'Design doc', approved: true, comment: 'lgtm' });
    expect(after).toMatchObject({ ready: true, result });
    expect(await flow.status()).toBe('approved');
  });

  it('answers 404 for the output of a workflow never submitted', async () => {
    // Act
    const failure = await ingress
      .workflowClient(workflowByName('reviewFlow'), 'never-submitted')
      .workflowOutput()
      .catch((e: unknown) => e);

    // Assess
    expect(failure).toBeInstanceOf(restate.HttpCallError);
    expect((failure as restate.HttpCallError).status).toBe(404);
  });
});
