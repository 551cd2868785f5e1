/**
 * The sign-off object over HTTP: an exclusive handler waiting on an
 * awakeable holds its key, and a second call to the same key queues behind
 * it, while other keys and shared handlers go on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signoff } from '../../examples/signoff.ts';
import type { LocalPlane } from '../../src/local/plane.ts';
import { call, eventually, expectDormant, send, startTestPlane, untilAwakeable, untilOutput } from './support.ts';

describe('a virtual object over HTTP', () => {
  let plane: LocalPlane;

  beforeAll(async () => {
    plane = await startTestPlane([signoff]);
  });

  afterAll(async () => {
    await plane?.stop();
  });

  it('queues a second exclusive call on a key until the first finishes', async () => {
    // Prepare: ada holds doc-1 while she waits to be asked
    const ada = await send(plane, '/signoff/doc-1/sign', { signer: 'ada' });
    const adaAwakeable = await untilAwakeable(plane, ada);

    // Act: grace on the same key, linus on another
    const grace = await send(plane, '/signoff/doc-1/sign', { signer: 'grace' });
    const linus = await send(plane, '/signoff/doc-2/sign', { signer: 'linus' });

    // Assess: grace queues behind ada without running; linus is not held up
    const graceQueued = await eventually(async () => {
      const view = (await call(plane, 'GET', `/restate/invocation/${grace}`)).json;
      return view?.awaiting?.[0]?.queuePosition === 1 ? view : undefined;
    }, 'grace to queue');
    expect(graceQueued).toMatchObject({ status: 'suspended', attempts: 0, awaiting: [{ key: 'C#lock', lockHeldBy: ada, queuePosition: 1 }] });
    await untilAwakeable(plane, linus);
    await expectDormant(plane, ada);
    await expectDormant(plane, grace, 0);
    await expectDormant(plane, linus, 0);
    expect((await call(plane, 'POST', '/signoff/doc-1/signatures')).json).toEqual([]);

    // Act: ada signs; grace gets the key
    expect((await call(plane, 'POST', `/restate/awakeables/${adaAwakeable}/resolve`, '{"approved":true}')).status).toBe(202);
    expect((await untilOutput(plane, ada)).json).toEqual({ document: 'doc-1', signer: 'ada', approved: true });
    const graceAwakeable = await untilAwakeable(plane, grace);
    expect((await call(plane, 'POST', `/restate/awakeables/${graceAwakeable}/resolve`, '{"approved":true}')).status).toBe(202);

    // Assess
    expect((await untilOutput(plane, grace)).json).toEqual({ document: 'doc-1', signer: 'grace', approved: true });
    expect((await call(plane, 'POST', '/signoff/doc-1/signatures')).json).toEqual(['ada', 'grace']);
  });

  it('needs a key', async () => {
    const answer = await call(plane, 'POST', '/signoff/sign/send', '{"signer":"x"}');

    expect(answer.status).toBe(400);
    expect(answer.json.code).toBe('missing_key');
  });
});
