/**
 * Awakeables with a heartbeat timeout, on the in-memory runtime with a test
 * clock: each heartbeat moves the deadline, a missed one fails the wait with
 * a TimeoutError and closes the awakeable.
 */
import { describe, expect, it } from 'vitest';
import { TimeoutError, service, type Context } from 'dormant-lambda';
import { IngressError, heartbeatAwakeable } from '../../src/runtime/invocations.ts';
import { MemoryRuntime } from 'dormant-lambda/testing';

const bodies: string[] = [];

const worker = service({
  name: 'worker',
  handlers: {
    job: async (ctx: Context) => {
      const job = ctx.awakeable<string>({ heartbeatTimeoutMs: 10_000 });
      await ctx.run('hand out', () => void bodies.push(job.id));
      try {
        return await job.promise;
      } catch (e) {
        if (e instanceof TimeoutError) return `timed out: ${e.message}`;
        throw e;
      }
    },
  },
});

async function started(): Promise<{ rt: MemoryRuntime; id: string; awakeableId: string }> {
  const rt = new MemoryRuntime([worker]);
  const id = await rt.start('worker', 'job');
  await rt.settle();
  const [awakeableId] = await rt.awaitedAwakeables(id);
  return { rt, id, awakeableId: awakeableId! };
}

describe('awakeable heartbeats', () => {
  it('stays open while heartbeats keep arriving within the timeout, and takes the resolve', async () => {
    // Prepare
    const { rt, id, awakeableId } = await started();

    // Act: heartbeats every 6 s for 30 s, past three of the original deadlines
    for (let t = 0; t < 5; t++) {
      await rt.advance(6_000);
      await heartbeatAwakeable(rt.ingress, awakeableId);
      await rt.settle();
    }
    await rt.advance(6_000);

    // Assess: still waiting on it
    expect((await rt.status(id)).status).toBe('suspended');
    expect(await rt.awaitedAwakeables(id)).toEqual([awakeableId]);

    // Act
    await rt.resolve(awakeableId, '"done"');
    await rt.settle();

    // Assess
    expect(await rt.output(id)).toBe('done');
  });

  it('fails the wait with a TimeoutError when a heartbeat is missed, and refuses a later resolve or heartbeat with 409', async () => {
    // Prepare
    const { rt, id, awakeableId } = await started();
    await rt.advance(8_000);
    await heartbeatAwakeable(rt.ingress, awakeableId); // deadline now 18 s

    // Act: the original deadline (10 s) passes without effect, the moved one (18 s) does not
    await rt.advance(4_000);
    expect((await rt.status(id)).status).toBe('suspended');
    await rt.advance(7_000);

    // Assess
    expect(await rt.output(id)).toBe('timed out: no heartbeat for 10000 ms');
    await expect(rt.resolve(awakeableId, '"late"')).rejects.toMatchObject({
      status: 409,
      code: 'already_completed',
      details: { outcome: 'rejected' },
    });
    await expect(heartbeatAwakeable(rt.ingress, awakeableId)).rejects.toBeInstanceOf(IngressError);
  });

  it('lets a resolve that lands before the deadline fires win', async () => {
    // Prepare
    const { rt, id, awakeableId } = await started();

    // Act
    await rt.advance(9_000);
    await rt.resolve(awakeableId, '"just in time"');
    await rt.advance(5_000);

    // Assess
    expect(await rt.output(id)).toBe('just in time');
  });

  it('refuses a heartbeat timeout that is not a positive number', async () => {
    // Prepare
    const rt = new MemoryRuntime([
      service({ name: 'bad', handlers: { h: async (ctx: Context) => ctx.awakeable({ heartbeatTimeoutMs: 0 }).promise } }),
    ]);

    // Act
    const id = await rt.start('bad', 'h');
    await rt.settle();

    // Assess
    await expect(rt.output(id)).rejects.toMatchObject({ failure: { code: 400 } });
  });
});
