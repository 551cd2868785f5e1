/**
 * Calls between handlers, idempotent starts and cancellation over HTTP on the
 * local plane.
 */
import { CancelledError, service, type Context } from 'dormant';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPlane } from '../../src/local/plane.ts';
import { call, eventually, send, startTestPlane, untilAwakeable, untilOutput, untilStatus } from './support.ts';

const approver = service({
  name: 'approver',
  handlers: {
    approve: async (ctx: Context, doc: string) => {
      const a = ctx.awakeable<boolean>();
      await ctx.run('ask', () => a.id);
      return (await a.promise) ? `${doc} approved` : `${doc} refused`;
    },
  },
});

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

describe('calls and cancellation over HTTP', () => {
  let plane: LocalPlane;

  beforeAll(async () => {
    plane = await startTestPlane([approver, trips]);
  });

  afterAll(async () => {
    await plane?.stop();
  });

  it('a caller suspends while its callee waits on an awakeable; one resolve completes both', async () => {
    const trip = await send(plane, '/trips/book', 'lisbon');
    await untilStatus(plane, trip, 'suspended');
    const approverId = await findCallee(trip);
    const awakeableId = await untilAwakeable(plane, approverId);
    expect((await call(plane, 'POST', `/restate/awakeables/${awakeableId}/resolve`, 'true')).status).toBe(202);
    expect((await untilOutput(plane, approverId)).json).toBe('lisbon approved');
    expect((await untilOutput(plane, trip)).json).toBe('lisbon approved');
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

  /** The callee a trip started: its id is in the trip's `call` journal entry. */
  async function findCallee(trip: string): Promise<string> {
    const { DynamoDbStore } = await import('../../src/store/dynamodb.ts');
    const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
    const { localClientConfig } = await import('../../src/local/dynamodb-local.ts');
    const store = new DynamoDbStore({ client: new DynamoDBClient(localClientConfig(plane.endpoints.dynamodb)), tableName: plane.tableName });
    return eventually(async () => [...(await store.load(trip)).journal.values()].find((e) => e.kind === 'call')?.value, 'the call entry');
  }
});
