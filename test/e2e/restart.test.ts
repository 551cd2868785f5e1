/**
 * A restart of the local plane while an invocation is suspended loses
 * nothing: the data is on disk (DynamoDB Local's file, the signing key, the
 * stream checkpoints), and the awakeable id handed out before the restart
 * still completes the invocation after it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { review } from '../../examples/review.ts';
import { startLocalPlane, type LocalPlane } from '../../src/local/plane.ts';
import { call, expectDormant, send, untilAwakeable, untilOutput } from './support.ts';

describe('restarting the local plane', () => {
  let dataDir: string | undefined;
  let plane: LocalPlane | undefined;

  afterAll(async () => {
    await plane?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('completes an invocation suspended before the restart once it is resolved after it', { timeout: 240_000 }, async () => {
    // Prepare: a plane with its own DynamoDB Local on disk, and a suspended review
    dataDir = await mkdtemp(join(tmpdir(), 'dormant-restart-'));
    plane = await startLocalPlane({ services: [review], port: 0, dataDir });
    const invocationId = await send(plane, '/review/request', { title: 'across a restart' });
    const awakeableId = await untilAwakeable(plane, invocationId);
    await expectDormant(plane, invocationId, 0);

    // Act: stop everything, start again on the same data, resolve
    await plane.stop();
    plane = await startLocalPlane({ services: [review], port: 0, dataDir });
    const status = await call(plane, 'GET', `/restate/invocation/${invocationId}`);
    const resolved = await call(plane, 'POST', `/restate/awakeables/${awakeableId}/resolve`, '{"approved":true,"comment":"still here"}');

    // Assess
    expect(status.json).toMatchObject({ status: 'suspended', awaiting: [expect.objectContaining({ awakeableId })] });
    expect(resolved.status).toBe(202);
    expect((await untilOutput(plane, invocationId)).json).toEqual({ title: 'across a restart', approved: true, comment: 'still here' });
  });
});
