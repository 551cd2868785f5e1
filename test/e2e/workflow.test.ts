/**
 * The review workflow over HTTP: `run` waits on the durable promise
 * `review`, the shared handler `submitReview` resolves it, `status` reads
 * the workflow's state; `run` executes once per key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewFlow } from '../../examples/review-flow.ts';
import type { LocalPlane } from '../../src/local/plane.ts';
import { call, eventually, expectDormant, send, startTestPlane, untilOutput, untilStatus } from './support.ts';

describe('the review workflow over HTTP', () => {
  let plane: LocalPlane;

  beforeAll(async () => {
    plane = await startTestPlane([reviewFlow]);
  });

  afterAll(async () => {
    await plane?.stop();
  });

  it('waits on its promise until the shared handler resolves it, once per key', async () => {
    // Prepare
    const runId = await send(plane, '/reviewFlow/doc-7/run', { title: 'Q3 report' });
    await untilStatus(plane, runId, 'suspended');
    await expectDormant(plane, runId);
    const waiting = await call(plane, 'POST', '/reviewFlow/doc-7/status');
    expect(waiting.json).toBe('waiting for review');
    const again = await call(plane, 'POST', '/reviewFlow/doc-7/run/send', '{"title":"Q3 report"}');
    expect(again.json).toEqual({ invocationId: runId, status: 'PreviouslyAccepted' });
    expect((await call(plane, 'POST', '/reviewFlow/doc-7/run/send?ifExists=attach', '{"title":"Q3 report"}')).json).toEqual({
      invocationId: runId,
      status: 'PreviouslyAccepted',
    });
    // Told to fail, a second submit is refused and changes nothing.
    const before = (await call(plane, 'GET', `/restate/invocation/${runId}`)).json;
    const refused = await call(plane, 'POST', '/reviewFlow/doc-7/run/send?ifExists=fail', '{"title":"Other"}');
    expect(refused.status).toBe(409);
    expect(refused.json).toEqual({
      code: 'workflow_already_submitted',
      message: expect.stringContaining(`workflow reviewFlow 'doc-7' was already submitted as invocation ${runId}, which is suspended`),
      invocationId: runId,
      status: 'suspended',
    });
    expect((await call(plane, 'POST', '/reviewFlow/doc-7/run?ifExists=fail', '{"title":"Other"}')).status).toBe(409);
    const badMode = await call(plane, 'POST', '/reviewFlow/doc-7/run/send?ifExists=replace', '{"title":"Other"}');
    expect([badMode.status, badMode.json.code]).toEqual([400, 'invalid_if_exists']);
    expect((await call(plane, 'GET', `/restate/invocation/${runId}`)).json).toEqual(before);

    // Act
    const submitted = await call(plane, 'POST', '/reviewFlow/doc-7/submitReview', '{"approved":true,"comment":"fine"}');

    // Assess
    expect(submitted.status).toBe(200);
    expect(submitted.json).toBe('thanks');
    const output = await untilOutput(plane, runId);
    expect(output.json).toEqual({ title: 'Q3 report', approved: true, comment: 'fine' });
    expect((await call(plane, 'POST', '/reviewFlow/doc-7/status')).json).toBe('approved');
    // A request-response call of run attaches to the finished run.
    expect((await call(plane, 'POST', '/reviewFlow/doc-7/run', '{"title":"Q3 report"}')).json).toEqual(output.json);
    // The promise completes once: a second review is refused with 409.
    const late = await call(plane, 'POST', '/reviewFlow/doc-7/submitReview', '{"approved":false}');
    expect(late.status).toBe(409);
    expect(late.json.code).toBe('TerminalError');
  });

  it('keeps the promise when the review arrives before run waits for it', async () => {
    const early = await call(plane, 'POST', '/reviewFlow/doc-8/submitReview', '{"approved":false,"comment":"early"}');
    expect(early.status).toBe(200);

    // A first submit told to fail if one exists is accepted as usual.
    const submitted = await call(plane, 'POST', '/reviewFlow/doc-8/run/send?ifExists=fail', '{"title":"Early"}');
    expect(submitted.status).toBe(202);
    const runId = submitted.json.invocationId as string;

    const output = await eventually(async () => {
      const a = await untilOutput(plane, runId);
      return a.status === 200 ? a : undefined;
    }, 'the run to finish');
    expect(output.json).toEqual({ title: 'Early', approved: false, comment: 'early' });
  });

  it('needs a key', async () => {
    const answer = await call(plane, 'POST', '/reviewFlow/run', '{"title":"x"}');

    expect(answer.status).toBe(400);
    expect(answer.json.code).toBe('missing_key');
  });
});
