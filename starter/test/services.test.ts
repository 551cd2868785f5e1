import { describe, expect, it } from 'vitest';
import { TimeoutError } from 'dormant-lambda';
import { TestRuntime } from 'dormant-lambda/testing';
import { approval } from '../src/services.ts';

describe('approval.request', () => {
  it('waits for the approver, then returns the verdict', async () => {
    const rt = new TestRuntime([approval], { alwaysReplay: true });
    const run = await rt.start(approval, 'request', { item: 'laptop' });

    expect(await run.status()).toBe('suspended');
    const [awakeableId] = await run.awakeables();
    await rt.resolveAwakeable(awakeableId!, { approved: true, comment: 'fine' });

    expect(await run.output()).toEqual({ item: 'laptop', approved: true, comment: 'fine' });
  });

  it('gives up after three days', async () => {
    const rt = new TestRuntime([approval]);
    const run = await rt.start(approval, 'request', { item: 'laptop' });

    await rt.advance(3 * 86_400_000);

    await expect(run.output()).rejects.toThrow(TimeoutError);
  });
});
