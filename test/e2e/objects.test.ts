/**
 * The sign-off object over HTTP: an exclusive handler waiting on an
 * awakeable holds its key, and later calls to the same key queue behind it
 * in arrival order, while other keys and shared handlers go on.
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

  it('runs exclusive calls on one key one at a time, in arrival order, while other keys go on', async () => {
    // Prepare: ada holds doc-1 while she waits to be asked
    const ada = await send(plane, '/signoff/doc-1/sign', { signer: 'ada' });
    const adaAwakeable = await untilAwakeable(plane, ada);

    // Act: grace then linus on the same key, barbara on another
    const grace = await send(plane, '/signoff/doc-1/sign', { signer: 'grace' });
    const linus = await send(plane, '/signoff/doc-1/sign', { signer: 'linus' });
    const barbara = await send(plane, '/signoff/doc-2/sign', { signer: 'barbara' });

    // Assess: grace and linus queue behind ada, in order, without running; barbara is not held up
    await untilQueued(grace, ada, 1);
    await untilQueued(linus, ada, 2);
    await untilAwakeable(plane, barbara);
    await expectDormant(plane, ada);
    await expectDormant(plane, grace, 0);
    await expectDormant(plane, linus, 0);
    await expectDormant(plane, barbara, 0);
    expect((await call(plane, 'POST', '/signoff/doc-1/signatures')).json).toEqual([]);

    // Act: ada signs; grace gets the key, linus moves up but still waits
    await sign(adaAwakeable);
    expect((await untilOutput(plane, ada)).json).toEqual({ document: 'doc-1', signer: 'ada', approved: true });
    const graceAwakeable = await untilAwakeable(plane, grace);
    await untilQueued(linus, grace, 1);
    expect((await call(plane, 'POST', '/signoff/doc-1/signatures')).json).toEqual(['ada']);

    // Act: grace signs; then linus
    await sign(graceAwakeable);
    expect((await untilOutput(plane, grace)).json).toEqual({ document: 'doc-1', signer: 'grace', approved: true });
    await sign(await untilAwakeable(plane, linus));

    // Assess: each saw the state the one before left
    expect((await untilOutput(plane, linus)).json).toEqual({ document: 'doc-1', signer: 'linus', approved: true });
    expect((await call(plane, 'POST', '/signoff/doc-1/signatures')).json).toEqual(['ada', 'grace', 'linus']);
    expect((await call(plane, 'POST', '/signoff/doc-2/signatures')).json).toEqual([]);
  });

  it('needs a key', async () => {
    const answer = await call(plane, 'POST', '/signoff/sign/send', '{"signer":"x"}');

    expect(answer.status).toBe(400);
    expect(answer.json.code).toBe('missing_key');
  });

  /** Waits until `id` is queued on its key at `position` behind `holder`, never having run. */
  async function untilQueued(id: string, holder: string, position: number): Promise<void> {
    const view = await eventually(async () => {
      const v = (await call(plane, 'GET', `/restate/invocation/${id}`)).json;
      return v?.awaiting?.[0]?.lockHeldBy === holder && v.awaiting[0].queuePosition === position ? v : undefined;
    }, `${id} to queue at ${position} behind ${holder}`);
    expect(view).toMatchObject({
      status: 'pending', // queued, never started: not 'suspended'
      attempts: 0,
      awaiting: [{ key: 'C#lock', lockHeldBy: holder, queuePosition: position }],
    });
  }

  async function sign(awakeableId: string): Promise<void> {
    expect((await call(plane, 'POST', `/restate/awakeables/${awakeableId}/resolve`, '{"approved":true}')).status).toBe(202);
  }
});
