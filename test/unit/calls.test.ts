import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  TerminalError,
  object,
  service,
  workflow,
  type Context,
  type ObjectContext,
  type WorkflowContext,
  type WorkflowSharedContext,
} from 'dormant-lambda';
import { approver } from '../support/approver.ts';
import { MemoryRuntime } from 'dormant-lambda/testing';

const ledger = object({
  name: 'ledger',
  handlers: {
    add: async (ctx: ObjectContext, n: number) => {
      const v = ((await ctx.get<number>('v')) ?? 0) + n;
      ctx.set('v', v);
      return v;
    },
  },
});

const flow = workflow({
  name: 'flow',
  handlers: {
    run: async (ctx: WorkflowContext, doc: string) => `${doc}:${await ctx.promise<string>('go').get()}`,
    go: async (ctx: WorkflowSharedContext, v: string) => ctx.promise<string>('go').resolve(v),
  },
});

const caller = service({
  name: 'caller',
  handlers: {
    callApprover: async (ctx: Context, doc: string) => ctx.serviceClient(approver).approve(doc),
    callFail: async (ctx: Context) => {
      try {
        await ctx.serviceClient(approver).fail();
        return 'no error';
      } catch (e) {
        return `${(e as TerminalError).code} ${(e as Error).message}`;
      }
    },
    addTwice: async (ctx: Context) => {
      const a = await ctx.objectClient(ledger, 'acct').add(5);
      const b = await ctx.genericCall<number>({ service: 'ledger', handler: 'add', key: 'acct', input: 10 });
      return [a, b];
    },
    sendLater: async (ctx: Context) => {
      ctx.objectSendClient(ledger, 'acct', { delayMs: 60_000 }).add(1);
      ctx.serviceSendClient(approver).approve('fire-and-forget');
      return 'sent';
    },
    attachToRun: async (ctx: Context) => ctx.workflowClient(flow, 'k').run('doc'),
    sleepThenCall: async (ctx: Context) => {
      await ctx.sleep(10);
      return ctx.serviceClient(approver).approve('late');
    },
    compensating: async (ctx: Context) => {
      const steps: string[] = [];
      try {
        await ctx.run('book', () => steps.push('book'));
        await ctx.serviceClient(approver).approve('trip');
        return 'done';
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        await ctx.run('unbook', () => 'unbooked');
        throw e;
      }
    },
  },
});

const all = [approver, ledger, flow, caller];

/** An object whose `hold` keeps its key until its awakeable is completed; `next` queues behind it. */
const blocker = object({
  name: 'blocker',
  handlers: {
    hold: async (ctx: ObjectContext) => ctx.awakeable().promise,
    next: async () => 'ran',
  },
});

describe('calls between handlers', () => {
  it('a caller suspends while its callee waits on an awakeable; one resolve completes both', async () => {
    const rt = new MemoryRuntime(all);
    const id = await rt.start('caller', 'callApprover', '"doc"');
    await rt.settle();
    const status = await rt.status(id);
    expect(status.status).toBe('suspended');
    const journal = await rt.journal(id);
    const callee = journal.find((e) => e.kind === 'call')!.value!;
    expect(journal[0]).toMatchObject({ kind: 'call', name: 'approver.approve' });
    expect((await rt.status(callee)).status).toBe('suspended');
    const [awk] = await rt.awaitedAwakeables(callee);
    await rt.resolve(awk!, 'true');
    await rt.settle();
    expect(await rt.output(callee)).toBe('doc approved');
    expect(await rt.output(id)).toBe('doc approved');
  });

  it("a callee's terminal failure reaches the caller as a TerminalError with its code", async () => {
    const rt = new MemoryRuntime(all);
    const id = await rt.start('caller', 'callFail');
    await rt.settle();
    expect(await rt.output(id)).toBe('422 no way');
  });

  it('object calls by typed and generic clients compose state on the key, in order', async () => {
    const rt = new MemoryRuntime(all, { alwaysReplay: true });
    const id = await rt.start('caller', 'addTwice');
    await rt.settle();
    expect(await rt.output(id)).toEqual([5, 15]);
  });

  it('one-way sends start their targets; a delayed send waits for its timer', async () => {
    const rt = new MemoryRuntime(all);
    const id = await rt.start('caller', 'sendLater');
    await rt.settle();
    expect(await rt.output(id)).toBe('sent');
    const sends = (await rt.journal(id)).filter((e) => e.kind === 'send');
    expect(sends).toHaveLength(2);
    const delayed = sends[0]!.value!;
    expect((await rt.status(delayed)).status).toBe('scheduled');
    expect((await rt.status(sends[1]!.value!)).status).toBe('suspended'); // the approver waits on its awakeable
    await rt.advance(59_999);
    expect((await rt.status(delayed)).status).toBe('scheduled');
    await rt.advance(1);
    expect(await rt.output(delayed)).toBe(1);
  });

  it('a workflow client attaches to an existing run and gets its result', async () => {
    const rt = new MemoryRuntime(all);
    const run = await rt.start('flow', 'run', '"doc"', 'k');
    await rt.settle();
    const c = await rt.start('caller', 'attachToRun');
    await rt.settle();
    expect((await rt.status(c)).status).toBe('suspended');
    await rt.start('flow', 'go', '"yes"', 'k');
    await rt.settle();
    expect(await rt.output(run)).toBe('doc:yes');
    expect(await rt.output(c)).toBe('doc:yes');
    // After the run finished, a new attach takes the result at once.
    const late = await rt.start('caller', 'attachToRun');
    await rt.settle();
    expect(await rt.output(late)).toBe('doc:yes');
  });
});

describe('cancellation', () => {
  it('cancel surfaces as CancelledError at the next await, runs compensation, and propagates to callees', async () => {
    const rt = new MemoryRuntime(all, { alwaysReplay: true });
    const id = await rt.start('caller', 'compensating');
    await rt.settle();
    const callee = (await rt.journal(id)).find((e) => e.kind === 'call')!.value!;
    await rt.cancel(id);
    await rt.settle();
    await expect(rt.output(id)).rejects.toMatchObject({ failure: { name: 'CancelledError' } });
    const journal = await rt.journal(id);
    expect(journal.map((e) => e.kind)).toEqual(['run', 'call', 'cancel', 'run']);
    expect(journal[3]).toMatchObject({ name: 'unbook', value: '"unbooked"' });
    await expect(rt.output(callee)).rejects.toMatchObject({ failure: { name: 'CancelledError' } });
    await expect(rt.cancel(id)).rejects.toMatchObject({ status: 409 });
  });

  it('reaches a callee started in the same attempt that delivers the cancellation', async () => {
    // Prepare: suspended on its sleep; the cancel lands before the timer's attempt
    //
    //   attempt 1: sleep → suspend
    //   cancel, timer fires
    //   attempt 2: replay sleep → call approver (new) → await → cancel delivered:
    //              the new callee must be cancelled too, not left waiting forever
    const rt = new MemoryRuntime(all);
    const id = await rt.start('caller', 'sleepThenCall');
    await rt.settle();
    await rt.cancel(id);

    // Act
    await rt.advance(10);

    // Assess
    await expect(rt.output(id)).rejects.toMatchObject({ failure: { name: 'CancelledError' } });
    const callee = (await rt.journal(id)).find((e) => e.kind === 'call')!.value!;
    await expect(rt.output(callee)).rejects.toMatchObject({ failure: { name: 'CancelledError' } });
  });

  it('kill ends an invocation without running its code and releases its object key', async () => {
    const rt = new MemoryRuntime([blocker]);
    const hold = await rt.start('blocker', 'hold', '', 'k');
    const queued = await rt.start('blocker', 'next', '', 'k');
    await rt.settle();
    expect((await rt.status(queued)).status).toBe('pending'); // queued behind hold, never started
    const attempts = rt.outcomes.length;
    await rt.kill(hold);
    await rt.settle();
    await expect(rt.output(hold)).rejects.toMatchObject({ failure: { name: 'CancelledError', message: 'killed' } });
    expect(await rt.output(queued)).toBe('ran');
    expect(rt.outcomes.slice(attempts).every((o) => o.invocationId === queued)).toBe(true);
  });

  it('a key granted to a call that was killed while queued is handed on (a stale record re-queued it)', async () => {
    const rt = new MemoryRuntime([blocker]);
    const hold = await rt.start('blocker', 'hold', '', 'k');
    const killed = await rt.start('blocker', 'next', '', 'k');
    await rt.settle();
    const insert = rt.store.items().find((i) => i.pk === `I#${killed}` && i.sk === 'meta')!;
    await rt.kill(killed);
    await rt.settle();
    // The stale INSERT record of the killed call arrives again, re-queuing it.
    rt.changes.push({
      eventName: 'INSERT',
      pk: `I#${killed}`,
      sk: 'meta',
      newItem: { ...insert, status: 'suspended', awaiting: ['C#lock'] },
    });
    await rt.settle();
    const later = await rt.start('blocker', 'next', '', 'k');
    await rt.settle();
    const [awk] = await rt.awaitedAwakeables(hold);
    await rt.resolve(awk!);
    await rt.settle();
    expect(await rt.output(later)).toBe('ran');
  });
});
