/**
 * DynamoDB's 400 KB item limit meets the engine: a step result or an output
 * too large to store is refused before anything is written, and the
 * invocation fails at once with an error naming the limit (retrying could
 * only fail the same way). Before the fix in `Attempt`, an oversized step
 * retried forever and an oversized output left the invocation running.
 */
import { describe, expect, it } from 'vitest';
import { service, type Context } from '../../src/index.ts';
import { runAttempt, startInvocation } from '../../src/internal.ts';
import { BACKENDS, useBackend } from '../race/support.ts';

const big = service({
  name: 'big',
  handlers: {
    step: async (ctx: Context) => {
      await ctx.run('small', () => 'ok');
      return ctx.run('huge', () => 'x'.repeat(450 * 1024));
    },
    output: async () => 'y'.repeat(450 * 1024),
  },
});

describe.each(BACKENDS)('payloads over the item limit on $label', ({ open }) => {
  const rt = useBackend(open, [big]);

  it('a step result too large to journal fails the invocation at once, naming the entry and the limit; earlier entries stand', async () => {
    const { invocationId } = await startInvocation(rt.ingress, { service: 'big', handler: 'step', body: '' });

    const outcome = await runAttempt(rt.deps, { invocationId, epoch: 0 });

    expect(outcome).toMatchObject({ kind: 'failed', failure: { name: 'PayloadTooLargeError', code: 413 } });
    expect(outcome.kind === 'failed' && outcome.failure.message).toMatch(
      /journal entry 1 \(run 'huge'\) .* over DynamoDB's 409600-byte item limit; nothing was written/,
    );
    await expect(rt.backend.store.getInvocation(invocationId)).resolves.toMatchObject({
      status: 'failed',
      failure: { name: 'PayloadTooLargeError' },
    });
    expect([...(await rt.backend.store.load(invocationId)).journal.keys()]).toEqual([0]);
  });

  it('an output too large to store fails the invocation with that error instead of leaving it running', async () => {
    const { invocationId } = await startInvocation(rt.ingress, { service: 'big', handler: 'output', body: '' });

    const outcome = await runAttempt(rt.deps, { invocationId, epoch: 0 });

    expect(outcome).toMatchObject({ kind: 'failed', failure: { name: 'PayloadTooLargeError', code: 413 } });
    await expect(rt.backend.store.getInvocation(invocationId)).resolves.toMatchObject({
      status: 'failed',
      failure: { name: 'PayloadTooLargeError' },
    });
  });
});
