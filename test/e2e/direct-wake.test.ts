/**
 * The direct wake on the local plane under the AWS latency profile: a start
 * and a resolve over HTTP invoke the handler through the plane's Lambda
 * Invoke API, marked on `meta`, and a duplicate from the stream (which the
 * profile delays by hundreds of milliseconds) finds the invocation moved on
 * and runs nothing twice.
 */
import { service, type Context } from 'dormant-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPlane } from '../../src/local/plane.ts';
import { decodeChange } from '../../src/store/changes.ts';
import type { ItemChange } from '../../src/store/store.ts';
import { call, send, startTestPlane, untilAwakeable, untilOutput } from './support.ts';

let sideEffects = 0;
const approvals = service({
  name: 'approvals',
  handlers: {
    ask: async (ctx: Context, who: string) => {
      const { id, promise } = ctx.awakeable<string>();
      await ctx.run('notify', () => (sideEffects++, `asked ${who} with ${id.slice(0, 8)}`));
      return `${who}: ${await promise}`;
    },
  },
});

describe('the direct wake over HTTP, under the AWS latency profile', () => {
  let plane: LocalPlane;
  const changes: ItemChange[] = [];

  beforeAll(async () => {
    plane = await startTestPlane([approvals], { latency: 'aws', latencySeed: 3, directWake: true });
    plane.changes.onChange((c) => void changes.push(c));
  });
  afterAll(() => plane?.stop());

  it('a start and a resolve wake the handler directly; the stream’s late records run nothing twice', async () => {
    // Act
    const id = await send(plane, '/approvals/ask', 'ada');
    const awakeableId = await untilAwakeable(plane, id);
    const resolved = await call(plane, 'POST', `/restate/awakeables/${awakeableId}/resolve`, '"yes"');
    const output = await untilOutput(plane, id);
    // Let the profile's delayed stream batches arrive and act (p99 552 ms).
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    // Assess
    expect(resolved.status).toBe(202);
    expect(output.json).toBe('ada: yes');
    expect(sideEffects).toBe(1);
    const metas = changes.map((c) => decodeChange(c)).filter((c) => c.kind === 'meta' && c.meta.id === id);
    expect(metas[0]).toMatchObject({ kind: 'meta', meta: { status: 'pending', directWake: true } });
    const status = await call(plane, 'GET', `/restate/invocation/${id}`);
    // Two attempts at most: the direct ones; a stream duplicate fails its acquire and counts none.
    expect(status.json).toMatchObject({ status: 'completed', attempts: 2 });
  });
});
