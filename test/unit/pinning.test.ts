/**
 * Rule 12 in the runtime's parts: where an invoke goes (the alias, or the
 * pinned version), which version an attempt pins, and an attempt that
 * reaches a version its invocation is not pinned to.
 */
import { describe, expect, it } from 'vitest';
import { service, type Context } from 'dormant-lambda';
import {
  IdSigner,
  MemoryStore,
  PinnedElsewhereError,
  decideWake,
  invokePayload,
  invokeTarget,
  newInvocationMeta,
  pinnableVersion,
  registry,
  runAttempt,
  systemClock,
  type AttemptDeps,
  type InvocationMeta,
  type ItemChange,
} from 'dormant-lambda/internal';
import { metaToItem } from '../../src/store/items.ts';

/** The stream record of `meta` turning suspended. */
function metaChange(meta: InvocationMeta): ItemChange {
  const item = metaToItem(meta);
  return { eventName: 'MODIFY', pk: String(item.pk), sk: 'meta', newItem: item, oldItem: metaToItem({ ...meta, status: 'running' }) };
}

describe('invokeTarget', () => {
  it('new work goes to the route (the alias); a pinned invocation to its version, on names and ARNs', () => {
    const arn = 'arn:aws:lambda:eu-west-1:123456789012:function:handlers';
    expect(invokeTarget(`${arn}:live`, undefined)).toBe(`${arn}:live`);
    expect(invokeTarget(`${arn}:live`, '7')).toBe(`${arn}:7`);
    expect(invokeTarget(arn, '12')).toBe(`${arn}:12`);
    expect(invokeTarget('handlers:live', '3')).toBe('handlers:3');
    expect(invokeTarget('handlers', '3')).toBe('handlers:3');
    expect(invokeTarget('123456789012:function:handlers:live', '3')).toBe('123456789012:function:handlers:3');
  });

  it('refuses a version that is not a published one, naming it', () => {
    expect(() => invokeTarget('handlers:live', '$LATEST')).toThrow("'$LATEST' is not a published function version");
    expect(() => invokeTarget('handlers:live', 'live')).toThrow(/not a published function version/);
  });

  it('the payload carries the pin only when there is one (unpinned payloads are as before pinning), and a fresh invoke id', () => {
    const invokeId = expect.stringMatching(/^[\w-]{12}$/);
    expect(invokePayload({ invocationId: 'inv_a', epoch: 2, version: undefined })).toEqual({ invocationId: 'inv_a', epoch: 2, invokeId });
    expect(invokePayload({ invocationId: 'inv_a', epoch: 2, version: '5' })).toEqual({
      invocationId: 'inv_a',
      epoch: 2,
      version: '5',
      invokeId,
    });
    const ids = new Set(Array.from({ length: 100 }, () => invokePayload({ invocationId: 'inv_a', epoch: 2 }).invokeId));
    expect(ids.size).toBe(100);
  });
});

describe('pinnableVersion', () => {
  it('pins published versions, never $LATEST', () => {
    expect(pinnableVersion('7')).toBe('7');
    expect(pinnableVersion('$LATEST')).toBeUndefined();
    expect(pinnableVersion(undefined)).toBeUndefined();
  });
});

const approvals = (tag: string, extraStep: boolean) =>
  service({
    name: 'orders',
    handlers: {
      place: async (ctx: Context, order: string) => {
        if (extraStep) await ctx.run('check stock', () => 'ok');
        const { promise } = ctx.awakeable<string>();
        return `${tag} ${order}: ${await promise}`;
      },
    },
  });

function deps(store: MemoryStore, version: string | undefined, extraStep = false): AttemptDeps {
  return {
    store,
    signer: new IdSigner({ current: 'pinning-test-key-0123456789' }),
    clock: systemClock,
    services: registry([approvals(`v${version}`, extraStep)]),
    version,
  };
}

async function suspendedOn(store: MemoryStore, version: string): Promise<string> {
  const meta = newInvocationMeta({
    id: 'inv_AAAAAAAAAAAAAAAAAAAAAA',
    service: 'orders',
    handler: 'place',
    kind: 'service',
    shared: false,
    input: '"a"',
    now: 0,
  });
  await store.createInvocation(meta);
  expect((await runAttempt(deps(store, version), { invocationId: meta.id, epoch: 0 })).kind).toBe('suspended');
  return meta.id;
}

describe('an attempt and its pin', () => {
  it('the first attempt pins the version it runs; the wake invokes that version', async () => {
    const store = new MemoryStore();
    const id = await suspendedOn(store, '4');
    const meta = (await store.getInvocation(id))!;
    expect(meta.version).toBe('4');

    await store.complete(id, { key: meta.awaiting![0]!, value: '"yes"', at: 1 });
    const actions = await decideWake(metaChange(meta), store);
    expect(actions).toEqual([{ type: 'invoke', invocationId: id, epoch: 1, service: 'orders', version: '4' }]);
  });

  it('an attempt on another version is refused with PinnedElsewhereError, and the invocation is unchanged', async () => {
    const store = new MemoryStore();
    const id = await suspendedOn(store, '4');
    const before = await store.getInvocation(id);

    await expect(runAttempt(deps(store, '5'), { invocationId: id, epoch: 1 })).rejects.toThrow(PinnedElsewhereError);
    await expect(runAttempt(deps(store, '5'), { invocationId: id, epoch: 1 })).rejects.toThrow(
      `is pinned to function version 4, not 5: recovery invokes version 4`,
    );
    expect(await store.getInvocation(id)).toEqual(before);
  });

  it('after an upgrade, a replay on changed code fails with a NonDeterminismError naming both versions', async () => {
    const store = new MemoryStore();
    const id = await suspendedOn(store, '4');
    const key = (await store.getInvocation(id))!.awaiting![0]!;
    await store.complete(id, { key, value: '"yes"', at: 1 });
    expect(await store.unpin(id, { now: 2 })).toEqual({ kind: 'upgraded', from: '4' });

    const outcome = await runAttempt(deps(store, '5', true), { invocationId: id, epoch: 1 });

    expect(outcome.kind).toBe('retrying');
    const failure = (outcome as { failure: { name: string; message: string } }).failure;
    expect(failure.name).toBe('NonDeterminismError');
    expect(failure.message).toContain('(journal written on function version 4, replayed on version 5)');
  });
});
