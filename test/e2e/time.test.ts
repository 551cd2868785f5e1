/**
 * Durable time on the local plane (real SQS emulator delays, the stream, the
 * Lambda stand-in with a short function timeout): orTimeout both ways, a late
 * resolve after a timeout, a long ctx.run backoff spent with nothing in
 * flight, and a handler that outlives one Lambda deadline.
 */
import { TimeoutError, service, type Context } from 'dormant-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPlane } from '../../src/local/plane.ts';
import { call, eventually, expectDormant, send, untilAwakeable, untilOutput } from './support.ts';
import { startTestPlane } from './support.ts';

let partnerCalls = 0;
const stepsRun: number[] = [];

const timed = service({
  name: 'timed',
  handlers: {
    approval: async (ctx: Context, ms: number) => {
      const a = ctx.awakeable<string>();
      await ctx.run('publish', () => a.id);
      try {
        return await a.promise.orTimeout(ms);
      } catch (e) {
        if (!(e instanceof TimeoutError)) throw e;
        // Still running after the timeout, so a late resolve meets a live invocation.
        await ctx.sleep(1_000);
        return 'timed out';
      }
    },
    partner: async (ctx: Context) =>
      ctx.run(
        'call partner',
        () => {
          if (++partnerCalls < 3) throw new Error(`partner down (${partnerCalls})`);
          return 'partner up';
        },
        { retry: { initialIntervalMs: 1_500, factor: 1, maxAttempts: 5 } },
      ),
    long: async (ctx: Context, steps: number) => {
      let sum = 0;
      for (let i = 0; i < steps; i++) {
        sum += await ctx.run(`step ${i}`, async () => {
          stepsRun.push(i);
          await new Promise((r) => setTimeout(r, 400));
          return i;
        });
      }
      return sum;
    },
  },
});

describe('durable time on the local plane', () => {
  let plane: LocalPlane;

  beforeAll(async () => {
    // A 2.5 s Lambda timeout: the long handler needs several invocations.
    plane = await startTestPlane([timed], { functionTimeoutMs: 2_500 });
  });

  afterAll(async () => {
    await plane?.stop();
  });

  it('orTimeout fails the wait with a TimeoutError when nobody resolves, and a late resolve gets 409', async () => {
    const id = await send(plane, '/timed/approval', 1_000);
    const awakeableId = await untilAwakeable(plane, id);
    // After the timeout the handler sleeps: it awaits a timer, no awakeable.
    await eventually(
      async () => {
        const view = (await call(plane, 'GET', `/restate/invocation/${id}`)).json;
        return view?.status === 'suspended' && view.awaiting.every((w: { awakeableId?: string }) => !w.awakeableId) ? view : undefined;
      },
      'the timeout to fire',
      20_000,
    );
    const late = await call(plane, 'POST', `/restate/awakeables/${awakeableId}/resolve`, '"too late"');
    expect(late.status).toBe(409);
    expect(late.json).toMatchObject({ code: 'already_completed', outcome: 'rejected' });
    expect((await untilOutput(plane, id, 20_000)).json).toBe('timed out');
  });

  it('orTimeout yields the value when resolved in time', async () => {
    const id = await send(plane, '/timed/approval', 30_000);
    const awakeableId = await untilAwakeable(plane, id);
    expect((await call(plane, 'POST', `/restate/awakeables/${awakeableId}/resolve`, '"in time"')).status).toBe(202);
    expect((await untilOutput(plane, id)).json).toBe('in time');
  });

  it('a long ctx.run backoff suspends on a durable timer: nothing in flight while it waits', async () => {
    const id = await send(plane, '/timed/partner', null);
    await eventually(async () => (partnerCalls >= 1 ? true : undefined), 'the first call');
    await expectDormant(plane, id, 500);
    expect((await untilOutput(plane, id, 30_000)).json).toBe('partner up');
    expect(partnerCalls).toBe(3);
  });

  it('a handler that outlives one Lambda deadline completes, every step journaled and run once', async () => {
    const id = await send(plane, '/timed/long', 12);
    expect((await untilOutput(plane, id, 60_000)).json).toBe(66);
    expect(stepsRun).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const status = (await call(plane, 'GET', `/restate/invocation/${id}`)).json;
    expect(status.attempts).toBeGreaterThan(1);
  });
});
