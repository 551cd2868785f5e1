import { describe, expect, it } from 'vitest';
import { handlers, object, type ObjectContext, type ObjectSharedContext } from 'dormant-lambda';
import { MemoryRuntime } from 'dormant-lambda/testing';

const counter = object({
  name: 'counter',
  handlers: {
    // Waits for an approval before adding: holds the key meanwhile.
    addApproved: async (ctx: ObjectContext, n: number) => {
      await ctx.awakeable().promise;
      const v = ((await ctx.get<number>('n')) ?? 0) + n;
      ctx.set('n', v);
      return v;
    },
    add: async (ctx: ObjectContext, n: number) => {
      const v = ((await ctx.get<number>('n')) ?? 0) + n;
      ctx.set('n', v);
      return v;
    },
    read: handlers.object.shared(async (ctx: ObjectSharedContext) => (await ctx.get<number>('n')) ?? 0),
  },
});

describe('virtual objects', () => {
  it('queues exclusive calls on a key behind one suspended on an awakeable, and runs them in order', async () => {
    const rt = new MemoryRuntime([counter]);
    const first = await rt.start('counter', 'addApproved', '1', 'k');
    rt.clock.advance(1);
    const second = await rt.start('counter', 'add', '10', 'k');
    rt.clock.advance(1);
    const third = await rt.start('counter', 'add', '100', 'k');
    const other = await rt.start('counter', 'add', '5', 'other-key');
    await rt.settle();

    expect((await rt.status(second)).awaiting).toEqual([{ key: 'C#lock', lockHeldBy: first, queuePosition: 1 }]);
    expect((await rt.status(third)).awaiting[0]?.queuePosition).toBe(2);
    expect(await rt.output(other)).toBe(5); // other keys are not blocked
    const read = await rt.start('counter', 'read', '', 'k');
    await rt.settle();
    expect(await rt.output(read)).toBe(0); // shared handlers do not queue

    const [awk] = await rt.awaitedAwakeables(first);
    await rt.resolve(awk!);
    await rt.settle();
    expect([await rt.output(first), await rt.output(second), await rt.output(third)]).toEqual([1, 11, 111]);
  });

  it('a failed exclusive call releases the key for the next one', async () => {
    const boom = object({
      name: 'boom',
      handlers: {
        fail: async () => {
          throw new (await import('dormant-lambda')).TerminalError('nope');
        },
        ok: async () => 'ran',
      },
    });
    const rt = new MemoryRuntime([boom]);
    const a = await rt.start('boom', 'fail', '', 'k');
    const b = await rt.start('boom', 'ok', '', 'k');
    await rt.settle();
    expect((await rt.status(a)).status).toBe('failed');
    expect(await rt.output(b)).toBe('ran');
  });
});
