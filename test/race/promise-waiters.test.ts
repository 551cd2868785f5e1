/**
 * Rule 3 (no lost wake-up) for a shared workflow handler waiting on the
 * run's durable promise. The waiter records itself beside the promise, then
 * reads it; the promise's stream record hands its outcome to the recorded
 * waiters. Every order of those writes ends with the waiter woken and its
 * completion written once, on DynamoDB Local's real stream and in memory.
 */
import { describe, expect, it } from 'vitest';
import { workflow, type WorkflowContext, type WorkflowSharedContext } from '../../src/index.ts';
import { executeWake, runAttempt, startInvocation } from '../../src/internal.ts';
import { META, completionKey, promiseKey, promiseWaitersPrefix } from '../../src/store/keys.ts';
import type { ItemChange } from '../../src/store/store.ts';
import type { WakeAction } from '../../src/runtime/wake.ts';
import { workflowInvocationId } from '../../src/engine/ids.ts';
import { BACKENDS, Gates, Waker, invokes, useBackend, type BackendRuntime } from './support.ts';

const flow = workflow({
  name: 'flow',
  handlers: {
    run: async (ctx: WorkflowContext) => `run saw ${await ctx.promise<string>('verdict')}`,
    waitFor: async (ctx: WorkflowSharedContext) => `waiter saw ${await ctx.promise<string>('verdict')}`,
    decide: async (ctx: WorkflowSharedContext, verdict: string) => {
      await ctx.promise<string>('verdict').resolve(verdict);
      return 'decided';
    },
  },
});

/** The waiter's completion: entry 0 is its `promise-await`. */
const DELIVERED = completionKey(0);
const PROMISE = promiseKey('verdict');
const inserted = (sk: string) => (changes: ItemChange[]) => changes.some((c) => c.sk === sk && c.eventName === 'INSERT');
const suspendedRecord = (changes: ItemChange[]) => changes.some((c) => c.sk === META && c.newItem?.status === 'suspended');

describe.each(BACKENDS)('rule 3 on $label: a shared handler waiting on the run’s promise', ({ open }) => {
  const rt = useBackend(open, [flow]);

  /** Starts a handler of `flow` for `key` and takes its start invoke from the stream. */
  async function start(waker: Waker, key: string, handler: string, body = ''): Promise<string> {
    const { invocationId } = await startInvocation(rt.ingress, { service: 'flow', handler, key, body });
    expect(invokes(await waker.drain(invocationId, inserted(META))).map((a) => a.epoch)).toEqual([0]);
    return invocationId;
  }

  /** Resolves the promise through the shared handler `decide`, start to finish. */
  async function decide(waker: Waker, key: string, verdict: string): Promise<void> {
    const id = await start(waker, key, 'decide', JSON.stringify(verdict));
    await expect(runAttempt(rt.deps, { invocationId: id, epoch: 0 })).resolves.toMatchObject({ kind: 'completed' });
  }

  it('the promise lands after the waiter looked (and before it suspended): the promise’s record delivers to it, and its suspension record wakes it', async () => {
    // Prepare: the waiter has recorded itself and read the promise (absent); it is held there.
    const waker = new Waker(rt.backend);
    const key = 'k1';
    const runId = workflowInvocationId('flow', key);
    const waiter = await start(waker, key, 'waitFor');
    const gates = new Gates(rt.backend.store);
    const looked = gates.hold('getCompletion', (id: string, k: string) => id === runId && k === PROMISE, 'after');
    const first = runAttempt({ ...rt.deps, store: gates.store }, { invocationId: waiter, epoch: 0 });
    await looked.reached;

    // Act: the promise is resolved; the wake sees its record while the waiter still runs.
    await decide(waker, key, 'yes');
    const onPromise = await relayed(rt, waker, runId);
    const onDelivery = await waker.drain(waiter, inserted(DELIVERED));
    looked.open();
    await expect(first).resolves.toMatchObject({ kind: 'suspended', awaiting: [DELIVERED, 'C#cancel'].sort() });
    const onSuspension = await waker.drain(waiter, suspendedRecord);

    // Assess: delivered once, by the promise's record; woken once, by the suspension's record
    expect(onPromise.delivered).toEqual([{ invocationId: waiter, key: DELIVERED }]);
    expect(invokes(onDelivery)).toEqual([]);
    expect(invokes(onSuspension)).toEqual([{ type: 'invoke', invocationId: waiter, epoch: 1, service: 'flow' }]);
    await expect(runAttempt(rt.deps, invokes(onSuspension)[0]!)).resolves.toMatchObject({
      kind: 'completed',
      output: '"waiter saw yes"',
    });
  });

  it('the waiter suspends first: the promise’s record delivers to it, and the delivery’s record wakes it', async () => {
    // Prepare
    const waker = new Waker(rt.backend);
    const key = 'k2';
    const runId = workflowInvocationId('flow', key);
    const waiter = await start(waker, key, 'waitFor');
    await expect(runAttempt(rt.deps, { invocationId: waiter, epoch: 0 })).resolves.toMatchObject({ kind: 'suspended' });
    expect(invokes(await waker.drain(waiter, suspendedRecord))).toEqual([]);

    // Act
    await decide(waker, key, 'no');
    const onPromise = await relayed(rt, waker, runId);
    const onDelivery = await waker.drain(waiter, inserted(DELIVERED));

    // Assess
    expect(onPromise.delivered).toEqual([{ invocationId: waiter, key: DELIVERED }]);
    expect(invokes(onDelivery)).toEqual([{ type: 'invoke', invocationId: waiter, epoch: 1, service: 'flow' }]);
    await expect(runAttempt(rt.deps, invokes(onDelivery)[0]!)).resolves.toMatchObject({ kind: 'completed', output: '"waiter saw no"' });
  });

  it('the promise lands between the waiter recording itself and looking: the waiter takes it at once; the later delivery changes nothing', async () => {
    // Prepare: the waiter is held after recording itself, before it reads the promise.
    const waker = new Waker(rt.backend);
    const key = 'k3';
    const runId = workflowInvocationId('flow', key);
    const waiter = await start(waker, key, 'waitFor');
    const gates = new Gates(rt.backend.store);
    const recorded = gates.hold('addPromiseWaiter', () => true, 'after');
    const first = runAttempt({ ...rt.deps, store: gates.store }, { invocationId: waiter, epoch: 0 });
    await recorded.reached;

    // Act
    await decide(waker, key, 'maybe');
    recorded.open();
    const outcome = await first;
    const onPromise = await relayed(rt, waker, runId);

    // Assess: finished in its first attempt; the record's delivery lost to the waiter's own (first writer wins)
    expect(outcome).toMatchObject({ kind: 'completed', output: '"waiter saw maybe"' });
    expect(onPromise.delivered).toEqual([{ invocationId: waiter, key: DELIVERED }]);
    expect((await rt.backend.store.getCompletion(waiter, DELIVERED))?.value).toBe('"maybe"');
    expect(invokes(await waker.drain(waiter))).toEqual([]);
  });

  it('the promise was complete before the waiter came: it takes it at once, and the run gets it too', async () => {
    // Prepare
    const waker = new Waker(rt.backend);
    const key = 'k4';
    const runId = workflowInvocationId('flow', key);
    await decide(waker, key, 'early');
    expect((await relayed(rt, waker, runId)).delivered).toEqual([]);

    // Act
    const waiter = await start(waker, key, 'waitFor');
    const waited = await runAttempt(rt.deps, { invocationId: waiter, epoch: 0 });
    const run = await start(waker, key, 'run');
    const ran = await runAttempt(rt.deps, { invocationId: run, epoch: 0 });

    // Assess
    expect(waited).toMatchObject({ kind: 'completed', output: '"waiter saw early"' });
    expect(ran).toMatchObject({ kind: 'completed', output: '"run saw early"' });
  });

  it('keeps one promise’s waiters apart from another’s whose name starts the same', async () => {
    // A name is encoded in the waiter's key, so 'a' and 'a#b' never share waiters.
    expect(promiseWaitersPrefix('a')).not.toEqual(promiseWaitersPrefix('a#b').slice(0, promiseWaitersPrefix('a').length));
    await rt.backend.store.addPromiseWaiter('inv_x', 'a#b', { invocationId: 'inv_w', key: 'C#00000000' });
    expect(await rt.backend.store.promiseWaiters('inv_x', 'a')).toEqual([]);
    expect(await rt.backend.store.promiseWaiters('inv_x', 'a#b')).toEqual([{ invocationId: 'inv_w', key: 'C#00000000' }]);
  });
});

/**
 * Feeds the run partition's new records to the wake rule and carries out
 * what it decides; returns the relays' deliveries (the completions written
 * to waiters, whether they won or not).
 */
async function relayed(
  rt: BackendRuntime,
  waker: Waker,
  runId: string,
): Promise<{ actions: WakeAction[]; delivered: { invocationId: string; key: string }[] }> {
  const actions = await waker.drain(runId, inserted(PROMISE));
  const delivered: { invocationId: string; key: string }[] = [];
  const store = rt.backend.store;
  await executeWake(actions, {
    store: {
      ...pick(store),
      complete: async (invocationId, completion) => {
        delivered.push({ invocationId, key: completion.key });
        return store.complete(invocationId, completion);
      },
    },
    now: rt.clock.now(),
    invoke: async () => undefined,
    schedule: async () => undefined,
  });
  return { actions, delivered };
}

function pick(store: BackendRuntime['backend']['store']) {
  return {
    enqueueLock: store.enqueueLock.bind(store),
    releaseLock: store.releaseLock.bind(store),
    grantLock: store.grantLock.bind(store),
    promiseWaiters: store.promiseWaiters.bind(store),
    renewJournal: store.renewJournal.bind(store),
    eventWaiters: store.eventWaiters.bind(store),
  };
}
