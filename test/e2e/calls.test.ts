/**
 * Calls between handlers, idempotent starts and cancellation over HTTP on the
 * local plane.
 */
import { CancelledError, service, type Context } from 'dormant-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPlane } from '../../src/local/plane.ts';
import { approver } from '../support/approver.ts';
import { call, eventually, send, startTestPlane, untilAwakeable, untilOutput, untilStatus } from './support.ts';

const compensations: string[] = [];

const trips = service({
  name: 'trips',
  handlers: {
    book: async (ctx: Context, trip: string) => {
      await ctx.run('reserve', () => `reserved ${trip}`);
      try {
        return await ctx.serviceClient(approver).approve(trip);
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        await ctx.run('release', () => {
          compensations.push(trip);
        });
        throw e;
      }
    },
  },
});

// Starts its call first and awaits it only after an awakeable: the suspension
// on the call comes from a replay of the call's journal entry.
const later = service({
  name: 'later',
  handlers: {
    both: async (ctx: Context, doc: string) => {
      const approval = ctx.serviceClient(approver).approve(doc);
      const go = ctx.awakeable<void>();
      await ctx.run('ask', () => go.id);
      await go.promise;
      return approval;
    },
  },
});

describe('calls and cancellation over HTTP', () => {
  let plane: LocalPlane;

  beforeAll(async () => {
    plane = await startTestPlane([approver, trips, later]);
  });

  afterAll(async () => {
    await plane?.stop();
  });

  it('a caller suspends while its callee waits on an awakeable; one resolve completes both', async () => {
    const trip = await send(plane, '/trips/book', 'lisbon');
    const approverId = await findCallee(trip);
    // The caller's status names the callee it awaits: entry 1 (after 'reserve') is the call.
    expect((await call(plane, 'GET', `/restate/invocation/${trip}`)).json).toMatchObject({
      status: 'suspended',
      awaiting: [{ key: 'C#00000001', callee: approverId }],
    });
    expect((await call(plane, 'GET', `/restate/invocation/${approverId}`)).json).toMatchObject({ service: 'approver', handler: 'approve' });
    const awakeableId = await untilAwakeable(plane, approverId);
    expect((await call(plane, 'POST', `/restate/awakeables/${awakeableId}/resolve`, 'true')).status).toBe(202);
    expect((await untilOutput(plane, approverId)).json).toBe('lisbon approved');
    expect((await untilOutput(plane, trip)).json).toBe('lisbon approved');
  });

  it('a caller that awaits its call only after a later wake still names the callee', async () => {
    const id = await send(plane, '/later/both', 'memo');
    const go = await untilAwakeable(plane, id);
    // Entry 0 is the call, entry 1 the awakeable: only the awakeable is awaited yet.
    expect((await call(plane, 'GET', `/restate/invocation/${id}`)).json.awaiting).toEqual([{ key: 'C#00000001', awakeableId: go }]);

    expect((await call(plane, 'POST', `/restate/awakeables/${go}/resolve`)).status).toBe(202);

    // The next attempt replays the call's entry and suspends on its result.
    const approverId = await findCallee(id);
    expect((await call(plane, 'GET', `/restate/invocation/${id}`)).json.awaiting).toEqual([{ key: 'C#00000000', callee: approverId }]);
    const approval = await untilAwakeable(plane, approverId);
    expect((await call(plane, 'POST', `/restate/awakeables/${approval}/resolve`, 'true')).status).toBe(202);
    expect((await untilOutput(plane, id)).json).toBe('memo approved');
  });

  it('an idempotent start submitted twice is one invocation with one result', async () => {
    const headers = { 'idempotency-key': 'trip-42' };
    const first = await call(plane, 'POST', '/trips/book/send', '"oslo"', headers);
    const second = await call(plane, 'POST', '/trips/book/send', '"oslo"', headers);
    expect(first.json).toMatchObject({ status: 'Accepted' });
    expect(second.json).toEqual({ invocationId: first.json.invocationId, status: 'PreviouslyAccepted' });
    const other = await call(plane, 'POST', '/trips/book/send', '"rome"', headers);
    expect(other.status).toBe(409);
  });

  it('a cancelled invocation runs its compensation, fails with CancelledError, and cancels its callee', async () => {
    const trip = await send(plane, '/trips/book', 'paris');
    await untilStatus(plane, trip, 'suspended');
    const approverId = await findCallee(trip);
    expect((await call(plane, 'DELETE', `/restate/invocation/${trip}`)).status).toBe(202);
    const out = await untilOutput(plane, trip);
    expect(out.json).toMatchObject({ code: 'CancelledError' });
    expect(compensations).toEqual(['paris']);
    expect((await untilOutput(plane, approverId)).json).toMatchObject({ code: 'CancelledError' });
    expect((await call(plane, 'PATCH', `/restate/invocation/${trip}/cancel`)).status).toBe(409);
  });

  it('kill ends an invocation without running its code', async () => {
    const id = await send(plane, '/approver/approve', 'kill me');
    await untilStatus(plane, id, 'suspended');
    expect((await call(plane, 'DELETE', `/restate/invocation/${id}?mode=kill`)).status).toBe(202);
    expect((await untilOutput(plane, id)).json).toMatchObject({ code: 'CancelledError', message: 'killed' });
    expect((await call(plane, 'DELETE', `/restate/invocation/${id}?mode=nonsense`)).status).toBe(400);
  });

  /** The callee a caller awaits, as the caller's status names it. */
  async function findCallee(caller: string): Promise<string> {
    return eventually(async () => {
      const view = (await call(plane, 'GET', `/restate/invocation/${caller}`)).json;
      return view?.status === 'suspended'
        ? (view.awaiting?.find((w: { callee?: string }) => w.callee)?.callee as string | undefined)
        : undefined;
    }, `${caller} to await a callee`);
  }
});
