/**
 * The wake's event filters against the wake rule they serve: a workload that
 * makes `decideWake` take every kind of action runs on the in-memory runtime,
 * each decision is recorded with its change at the moment it is made, and
 * each change is put through the filters as the stream record Lambda would
 * see. A record the filters drop is one the wake never sees, so every change
 * the rule acts on must pass; and a finished `meta` passes only when the rule
 * has something to do with it (cost: one wake invocation per finished
 * invocation otherwise).
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  TerminalError,
  object,
  service,
  workflow,
  type Context,
  type ObjectContext,
  type WorkflowContext,
  type WorkflowSharedContext,
} from 'dormant-lambda';
import { type ItemChange, type WakeAction } from 'dormant-lambda/internal';
import { passesWakeFilter } from '../../src/local/event-filter.ts';
import { MemoryRuntime } from 'dormant-lambda/testing';

/** Every decision of the runtime's wake loop, with the change it decided on. */
const decisions = vi.hoisted(() => [] as { change: ItemChange; actions: WakeAction[] }[]);

// The runtime decides through the wake rule's `decideWake`; record each
// decision when it is made, so its reads see the store as the wake would.
vi.mock('../../src/runtime/wake.ts', async (importOriginal) => {
  const wake = await importOriginal<typeof import('../../src/runtime/wake.ts')>();
  return {
    ...wake,
    decideWake: async (...args: Parameters<typeof wake.decideWake>) => {
      const actions = await wake.decideWake(...args);
      decisions.push({ change: args[0], actions });
      return actions;
    },
  };
});

/** The change as Lambda's event source mapping delivers it (DynamoDB JSON images). */
const passes = passesWakeFilter;
const describeChange = (c: ItemChange) => `${c.eventName} ${c.pk} ${c.sk} ${JSON.stringify(c.newItem ?? {})}`;
const isFinishedMeta = (c: ItemChange) =>
  c.sk === 'meta' && c.eventName !== 'REMOVE' && (c.newItem?.status === 'completed' || c.newItem?.status === 'failed');

const plain = service({
  name: 'plain',
  handlers: {
    ok: async (ctx: Context) => ctx.run('step', () => 'done'),
    fail: async () => {
      throw new TerminalError('no');
    },
    nap: async (ctx: Context) => {
      await ctx.sleep(1_000);
      return 'rested';
    },
  },
});

const approver = service({
  name: 'approver',
  handlers: {
    approve: async (ctx: Context) => ctx.awakeable<string>().promise,
    refuse: async () => {
      throw new TerminalError('refused');
    },
  },
});

const caller = service({
  name: 'caller',
  handlers: {
    ask: async (ctx: Context) => ctx.serviceClient(approver).approve(),
    askRefused: async (ctx: Context) => {
      try {
        return await ctx.serviceClient(approver).refuse();
      } catch (e) {
        return (e as Error).message;
      }
    },
  },
});

const keyed = object({
  name: 'keyed',
  handlers: {
    /** Holds its key until an awakeable is resolved. */
    hold: async (ctx: ObjectContext) => ctx.awakeable<string>().promise,
    touch: async () => 'touched',
  },
});

const flow = workflow({
  name: 'flow',
  handlers: {
    run: async (ctx: WorkflowContext) => ctx.promise<string>('go').get(),
    go: async (ctx: WorkflowSharedContext, v: string) => ctx.promise<string>('go').resolve(v),
    wait: async (ctx: WorkflowSharedContext) => ctx.promise<string>('go').get(),
  },
});

/** Runs a workload that makes the wake rule take every kind of action. */
async function everyKindOfWake(rt: MemoryRuntime): Promise<void> {
  // Plain runs that finish with nothing to hand on.
  await rt.start('plain', 'ok');
  await rt.start('plain', 'fail');
  // A timer scheduled by a suspension, then fired.
  await rt.start('plain', 'nap');
  await rt.settle();
  await rt.advance(1_000);

  // An exclusive call holds key k; a second queues behind it; a third is killed while queued.
  const holder = await rt.start('keyed', 'hold', '', 'k');
  rt.clock.advance(1);
  await rt.start('keyed', 'touch', '', 'k');
  rt.clock.advance(1);
  const doomed = await rt.start('keyed', 'touch', '', 'k');
  await rt.settle();
  await rt.kill(doomed);
  await rt.settle();
  const [held] = await rt.awaitedAwakeables(holder);
  await rt.resolve(held!, '"go"');
  await rt.settle();

  // Calls: a callee answers its caller with a result, and with a failure.
  const asking = await rt.start('caller', 'ask');
  await rt.start('caller', 'askRefused');
  await rt.settle();
  const callee = (await rt.status(asking)).awaiting[0]?.callee;
  const [approval] = await rt.awaitedAwakeables(callee!);
  await rt.resolve(approval!, '"yes"');
  await rt.settle();

  // A durable promise resolved by a shared handler, relayed to another that waits on it.
  await rt.start('flow', 'run', '', 'f');
  await rt.start('flow', 'wait', '', 'f');
  await rt.settle();
  await rt.start('flow', 'go', '"now"', 'f');
  await rt.settle();
}

describe('the wake filters and the wake rule', () => {
  beforeEach(() => {
    decisions.length = 0;
  });

  it('pass every record the wake rule acts on, for every kind of action it takes', async () => {
    // Prepare
    const rt = new MemoryRuntime([plain, approver, caller, keyed, flow]);

    // Act
    await everyKindOfWake(rt);

    // Assess: the workload reached every branch, so the check below covers them all.
    const kinds: WakeAction['type'][] = ['invoke', 'schedule', 'enqueue', 'release', 'grant', 'granted', 'deliver', 'relay'];
    expect(new Set(decisions.flatMap((d) => d.actions.map((a) => a.type)))).toEqual(new Set(kinds));
    const acted = decisions.filter((d) => d.actions.length > 0);
    for (const { change, actions } of acted)
      expect(passes(change), `${describeChange(change)} → ${actions.map((a) => a.type).join(', ')}`).toBe(true);
  });

  it('pass a finished meta exactly when the rule has a key to hand on or callers to answer', async () => {
    // Prepare
    const rt = new MemoryRuntime([plain, approver, caller, keyed, flow]);

    // Act
    await everyKindOfWake(rt);

    // Assess
    const finished = decisions.filter((d) => isFinishedMeta(d.change));
    for (const { change, actions } of finished) expect(passes(change), describeChange(change)).toBe(actions.length > 0);
    // Both sides occur: finishes with a lock or callers (released, delivered) and bare ones (dropped).
    const withWork = finished.filter((d) => d.actions.length > 0).map((d) => d.change.newItem!);
    expect(withWork.some((m) => m.lockScope !== undefined && m.status === 'completed')).toBe(true);
    expect(withWork.some((m) => m.lockScope !== undefined && m.status === 'failed')).toBe(true); // killed while queued
    expect(withWork.some((m) => Array.isArray(m.callers) && m.status === 'completed')).toBe(true);
    expect(withWork.some((m) => Array.isArray(m.callers) && m.status === 'failed')).toBe(true);
    const bare = finished.filter((d) => d.actions.length === 0).map((d) => d.change.newItem!);
    expect(bare.map((m) => `${String(m.service)}.${String(m.handler)} ${String(m.status)}`)).toEqual(
      expect.arrayContaining(['plain.ok completed', 'plain.fail failed']),
    );
  });

  it('drop a finished meta with neither an object key nor callers, and keep one with either', () => {
    const finished = (extra: Record<string, unknown>): ItemChange => ({
      eventName: 'MODIFY',
      pk: 'I#inv_x',
      sk: 'meta',
      oldItem: { pk: 'I#inv_x', sk: 'meta', status: 'running', epoch: 1 },
      newItem: { pk: 'I#inv_x', sk: 'meta', status: 'completed', epoch: 1, output: '"ok"', ...extra },
    });

    expect(passes(finished({}))).toBe(false);
    expect(passes(finished({ callers: [] }))).toBe(false);
    expect(passes(finished({ lockScope: 'O#counter#k' }))).toBe(true);
    expect(passes(finished({ callers: [{ invocationId: 'inv_c', key: 'C#00000001' }] }))).toBe(true);
    expect(passes({ ...finished({ lockScope: 'O#counter#k' }), eventName: 'REMOVE' })).toBe(false);
  });
});
