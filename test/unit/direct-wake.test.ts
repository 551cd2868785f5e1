/**
 * The direct wake: the ingress (start, resolve, reject, cancel) and the
 * timer invoke the handler they make runnable through `Dispatch.invoke`,
 * and the table's stream stays the backstop (DESIGN rules 3 and 4).
 */
import { describe, expect, it } from 'vitest';
import { service, type Context } from 'dormant-lambda';
import {
  IdSigner,
  MemoryStore,
  cancelInvocation,
  catalogOf,
  decideWake,
  registry,
  rejectAwakeable,
  resolveAwakeable,
  runAttempt,
  startInvocation,
  systemClock,
  type AttemptDeps,
  type IngressDeps,
  type ItemChange,
} from 'dormant-lambda/internal';
import type { Dispatch, InvokePayload, WakeTarget } from '../../src/runtime/dispatch.ts';
import { createTimerHandler } from '../../src/runtime/timer.ts';
import { META } from '../../src/store/keys.ts';

const review = service({
  name: 'review',
  handlers: {
    request: async (ctx: Context) => {
      const a = ctx.awakeable<string>();
      return a.promise;
    },
    nap: async (ctx: Context) => {
      await ctx.sleep(60_000);
      return 'rested';
    },
  },
});

const SIGNER = new IdSigner('direct-wake-test-key-0123456789abcdef');

function world(options: { failInvoke?: boolean } = {}) {
  const store = new MemoryStore();
  const changes: ItemChange[] = [];
  store.onChange((c) => changes.push(c));
  const invoked: { service: string; payload: InvokePayload }[] = [];
  const scheduled: { key: string; wake?: WakeTarget | undefined }[] = [];
  const dispatch: Dispatch = {
    invoke: async (name, payload) => {
      if (options.failInvoke) throw new Error('Lambda throttled the invoke');
      // Every invoke carries a fresh id (its retries keep it); the assertions compare the rest.
      const { invokeId, ...rest } = payload;
      expect(invokeId).toMatch(/^[\w-]{12}$/);
      invoked.push({ service: name, payload: rest });
    },
    schedule: async (_id, timer, wake) => void scheduled.push({ key: timer.key, wake }),
    send: async () => undefined,
  };
  const services = registry([review]);
  const logged: string[] = [];
  const ingress: IngressDeps = {
    store,
    signer: SIGNER,
    clock: systemClock,
    catalog: catalogOf(services),
    dispatch,
    log: (_level, message) => void logged.push(message),
  };
  const attempt: AttemptDeps = { store, signer: SIGNER, clock: systemClock, services };
  return { store, changes, invoked, scheduled, dispatch, ingress, attempt, logged };
}

/** Starts review.request and runs its first attempt to the suspension; returns its awakeable id. */
async function suspended(w: ReturnType<typeof world>) {
  const { invocationId } = await startInvocation(w.ingress, { service: 'review', handler: 'request', body: '' });
  expect(await runAttempt(w.attempt, { invocationId, epoch: 0 })).toMatchObject({ kind: 'suspended' });
  const meta = (await w.store.getInvocation(invocationId))!;
  w.invoked.length = 0;
  return { invocationId, meta, awakeableId: Object.values(meta.awakeables!)[0]! };
}

describe('the direct wake', () => {
  it('a start invokes the new invocation at epoch 0 and marks it; the wake on its record then reads meta and invokes only if still pending', async () => {
    // Prepare
    const w = world();

    // Act
    const { invocationId } = await startInvocation(w.ingress, { service: 'review', handler: 'request', body: '' });
    const insert = w.changes.find((c) => c.sk === META && c.eventName === 'INSERT')!;
    const beforeAcquire = await decideWake(insert, w.store);
    await runAttempt(w.attempt, { invocationId, epoch: 0 });
    const afterAcquire = await decideWake(insert, w.store);

    // Assess
    expect(w.invoked).toEqual([{ service: 'review', payload: { invocationId, epoch: 0 } }]);
    expect(insert.newItem?.directWake).toBe(true);
    expect(beforeAcquire).toEqual([{ type: 'invoke', invocationId, epoch: 0, service: 'review' }]);
    expect(afterAcquire).toEqual([]);
  });

  it('rule 13: a pending meta of the previous release (no directWake) is invoked by its record without a read', async () => {
    // Prepare: the ingress without a dispatch writes meta as the previous release did
    const w = world();
    const { invocationId } = await startInvocation(
      { ...w.ingress, dispatch: undefined },
      { service: 'review', handler: 'request', body: '' },
    );
    const insert = w.changes.find((c) => c.sk === META && c.eventName === 'INSERT')!;
    let reads = 0;

    // Act
    const actions = await decideWake(insert, {
      getInvocation: async (id) => (reads++, w.store.getInvocation(id)),
      existingCompletions: async (id, keys) => (reads++, w.store.existingCompletions(id, keys)),
    });

    // Assess
    expect(insert.newItem?.directWake).toBeUndefined();
    expect(w.invoked).toEqual([]);
    expect(actions).toEqual([{ type: 'invoke', invocationId, epoch: 0, service: 'review' }]);
    expect(reads).toBe(0);
  });

  it('a resolve and a reject of an awaited awakeable invoke the handler at the suspension’s epoch; a redelivery invokes nothing', async () => {
    // Prepare
    const w = world();
    const first = await suspended(w);
    const second = await suspended(w);

    // Act
    await expect(resolveAwakeable(w.ingress, first.awakeableId, '"yes"')).resolves.toBe('completed');
    await expect(resolveAwakeable(w.ingress, first.awakeableId, '"yes"')).resolves.toBe('redelivered');
    await expect(rejectAwakeable(w.ingress, second.awakeableId, 'no')).resolves.toBe('completed');

    // Assess
    expect(w.invoked).toEqual([
      { service: 'review', payload: { invocationId: first.invocationId, epoch: first.meta.epoch } },
      { service: 'review', payload: { invocationId: second.invocationId, epoch: second.meta.epoch } },
    ]);
    expect(await runAttempt(w.attempt, w.invoked[0]!.payload)).toMatchObject({ kind: 'completed', output: '"yes"' });
  });

  it('a resolve while the handler is still running invokes nothing: its suspension record finds the completion (rule 3)', async () => {
    // Prepare: started, not yet run; the awakeable is minted as the first attempt would
    const w = world();
    const { invocationId, awakeableId, meta } = await suspended(w);
    expect(await w.store.acquire(invocationId, { seenEpoch: meta.epoch, now: Date.now(), leaseMs: 60_000 })).toBeDefined();

    // Act
    await resolveAwakeable(w.ingress, awakeableId, '"early"');

    // Assess
    expect(w.invoked).toEqual([]);
    expect(await w.store.getCompletion(invocationId, Object.keys(meta.awakeables!)[0]!)).toMatchObject({ value: '"early"' });
  });

  it('a failed direct invoke still answers the resolve, keeps the completion and leaves the wake to the stream', async () => {
    // Prepare
    const w = world({ failInvoke: true });
    const { invocationId, awakeableId, meta } = await suspended(w);
    const key = Object.keys(meta.awakeables!)[0]!;

    // Act
    const answer = await resolveAwakeable(w.ingress, awakeableId, '"ok"');
    const record = w.changes.find((c) => c.sk === key && c.eventName === 'INSERT')!;

    // Assess
    expect(answer).toBe('completed');
    expect(w.logged.some((m) => m.includes('direct wake') && m.includes(invocationId))).toBe(true);
    expect(await decideWake(record, w.store)).toEqual([{ type: 'invoke', invocationId, epoch: meta.epoch, service: 'review' }]);
  });

  it('a cancel of a suspended invocation invokes it directly', async () => {
    // Prepare
    const w = world();
    const { invocationId, meta } = await suspended(w);

    // Act
    await cancelInvocation(w.ingress, invocationId);

    // Assess
    expect(w.invoked).toEqual([{ service: 'review', payload: { invocationId, epoch: meta.epoch } }]);
  });

  it('a due timer wakes the handler named in its message once it wins the completion; a message of the previous release does not', async () => {
    // Prepare: review.nap suspended on its timer; the wake on the suspension schedules it with the wake target
    const w = world();
    const { invocationId } = await startInvocation(w.ingress, { service: 'review', handler: 'nap', body: '' });
    await runAttempt(w.attempt, { invocationId, epoch: 0 });
    const meta = (await w.store.getInvocation(invocationId))!;
    const suspension = w.changes.filter((c) => c.sk === META && c.newItem?.status === 'suspended').at(-1)!;
    const [schedule] = await decideWake(suspension, w.store);
    expect(schedule).toMatchObject({ type: 'schedule', wake: { service: 'review', epoch: meta.epoch } });
    const timer = (schedule as { timer: { key: string } }).timer;
    w.invoked.length = 0;
    const handle = createTimerHandler({ store: w.store, dispatch: w.dispatch, clock: systemClock });
    const message = (body: object, id: string) => ({ messageId: id, receiptHandle: id, body: JSON.stringify(body), attributes: {} });

    // Act: the same due timer twice (a duplicate), then an old-format one of another invocation
    const due = { type: 'timer', invocationId, key: timer.key, at: 0, service: 'review', epoch: meta.epoch };
    await handle({ Records: [message(due, 'm1')] } as never);
    await handle({ Records: [message(due, 'm2')] } as never);
    const other = await startInvocation({ ...w.ingress, dispatch: undefined }, { service: 'review', handler: 'nap', body: '' });
    await runAttempt(w.attempt, { invocationId: other.invocationId, epoch: 0 });
    await handle({ Records: [message({ type: 'timer', invocationId: other.invocationId, key: timer.key, at: 0 }, 'm3')] } as never);

    // Assess: one invoke, for the winner of the new-format message only
    expect(w.invoked).toEqual([{ service: 'review', payload: { invocationId, epoch: meta.epoch } }]);
    expect(await w.store.getCompletion(other.invocationId, timer.key)).toBeDefined();
    expect(await runAttempt(w.attempt, w.invoked[0]!.payload)).toMatchObject({ kind: 'completed', output: '"rested"' });
  });
});
