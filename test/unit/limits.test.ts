/**
 * DESIGN rule 11: every limit is checked before any write. Keys and names
 * the table cannot hold (partition keys over 2,048 bytes, sort keys over
 * 1,024) and delays past 365 days are refused where they enter: at the
 * ingress with a 400, in a handler as a terminal failure naming the limit.
 */
import { describe, expect, it } from 'vitest';
import {
  handlers,
  object,
  service,
  workflow,
  type Context,
  type ObjectContext,
  type WorkflowContext,
  type WorkflowSharedContext,
} from 'dormant-lambda';
import { MAX_DELAY_MS, parseDelay } from '../../src/runtime/invocations.ts';
import { MAX_LOCK_QUEUE, MAX_NAME_BYTES, MAX_OBJECT_KEY_BYTES, assertKeysFit, KeyTooLongError } from '../../src/store/limits.ts';
import { MemoryRuntime } from 'dormant-lambda/testing';

const ledger = object({ name: 'ledger', handlers: { add: async (_ctx: ObjectContext, n: number) => n } });
const caller = service({
  name: 'caller',
  handlers: {
    callLong: async (ctx: Context) => ctx.objectClient(ledger, 'x'.repeat(3_000)).add(1),
    sendLong: async (ctx: Context) => {
      ctx.objectSendClient(ledger, 'y'.repeat(3_000)).add(1);
      return 'sent';
    },
  },
});
const notes = object({
  name: 'notes',
  handlers: {
    longName: async (ctx: ObjectContext) => {
      ctx.set('n'.repeat(MAX_NAME_BYTES + 1), 1);
      return 'set';
    },
    atLimit: async (ctx: ObjectContext) => {
      ctx.set('n'.repeat(MAX_NAME_BYTES), 1);
      return (await ctx.get<number>('n'.repeat(MAX_NAME_BYTES))) ?? 0;
    },
  },
});
const flow = workflow({
  name: 'flow',
  handlers: {
    run: async (ctx: WorkflowContext) => ctx.promise<string>('p'.repeat(2_000)).get(),
    resolveLong: handlers.workflow.shared(async (ctx: WorkflowSharedContext) => {
      await ctx.promise<string>('p'.repeat(2_000)).resolve('x');
      return 'resolved';
    }),
  },
});

describe('limits before any write (rule 11)', () => {
  it('refuses keys over the limit at the ingress, by UTF-8 bytes, and writes nothing', async () => {
    const rt = new MemoryRuntime([ledger, flow, caller]);
    await expect(rt.start('ledger', 'add', '1', 'k'.repeat(MAX_OBJECT_KEY_BYTES + 1))).rejects.toMatchObject({
      status: 400,
      code: 'key_too_long',
    });
    await expect(rt.start('ledger', 'add', '1', 'é'.repeat(513))).rejects.toMatchObject({ status: 400, code: 'key_too_long' });
    await expect(rt.start('flow', 'run', '', 'w'.repeat(1_025))).rejects.toMatchObject({ status: 400, code: 'key_too_long' });
    await expect(rt.start('caller', 'callLong', '', undefined, 'i'.repeat(1_025))).rejects.toMatchObject({ status: 400 });
    await expect(rt.start('caller', 'callLong', '', undefined, undefined, MAX_DELAY_MS + 1)).rejects.toMatchObject({
      status: 400,
      code: 'invalid_delay',
    });
    await expect(rt.start('caller', 'callLong', '', undefined, undefined, 1.5)).rejects.toMatchObject({ code: 'invalid_delay' });
    expect(rt.store.items()).toEqual([]);
    // At the limit: accepted.
    await rt.start('ledger', 'add', '1', 'é'.repeat(512));
  });

  it('fails a handler that calls or sends to an object key over the limit, and creates no callee', async () => {
    const rt = new MemoryRuntime([ledger, caller]);
    const call = await rt.start('caller', 'callLong');
    const send = await rt.start('caller', 'sendLong');

    await rt.settle();

    for (const id of [call, send]) {
      await expect(rt.output(id)).rejects.toMatchObject({ failure: { name: 'KeyTooLongError', code: 400 } });
    }
    expect(rt.store.items().filter((item) => item.service === 'ledger')).toEqual([]);
  });

  it('fails a handler that writes a state key or awaits a promise name over the limit; at the limit it works', async () => {
    const rt = new MemoryRuntime([notes, flow]);
    const long = await rt.start('notes', 'longName', '', 'a');
    const atLimit = await rt.start('notes', 'atLimit', '', 'b');
    const run = await rt.start('flow', 'run', '', 'c');
    await rt.settle();
    const resolve = await rt.start('flow', 'resolveLong', '', 'c');

    await rt.settle();

    await expect(rt.output(long)).rejects.toMatchObject({ failure: { name: 'KeyTooLongError', code: 400 } });
    expect(await rt.output(atLimit)).toBe(1);
    await expect(rt.output(resolve)).rejects.toMatchObject({ failure: { name: 'KeyTooLongError', code: 400 } });
    // Awaiting writes nothing; the run waits on, and no promise item was written.
    expect((await rt.status(run)).status).toBe('suspended');
    expect(rt.store.items().filter((item) => String(item.sk).startsWith('P#'))).toEqual([]);
    expect(() => assertKeysFit('I#inv_x', `P#${'p'.repeat(2_000)}`)).toThrow(KeyTooLongError);
  });

  it('reads ?delay= as whole milliseconds up to 365 days, and nothing else', () => {
    expect(parseDelay('1500ms')).toBe(1500);
    expect(parseDelay('1.5s')).toBe(1500);
    expect(parseDelay('365d')).toBe(MAX_DELAY_MS);
    for (const bad of ['366d', '31536000001', '9007199254740993', '1e3', 'Infinity', '-1', 'NaN', '', '0x10', '1'.repeat(400)]) {
      expect(() => parseDelay(bad), bad).toThrow(expect.objectContaining({ status: 400, code: 'invalid_delay' }));
    }
  });
});

describe('the per-key lock queue is bounded (rule 11)', () => {
  const sheet = object({
    name: 'sheet',
    handlers: {
      sign: async (ctx: ObjectContext) => ctx.awakeable<string>().promise,
      quick: async () => 'ok',
    },
  });

  it(`queues at most ${MAX_LOCK_QUEUE} calls per key; the next gets 429 and nothing is written, other keys are not held up`, async () => {
    // Prepare: one call holds the key on its awakeable, MAX_LOCK_QUEUE wait behind it
    const rt = new MemoryRuntime([sheet]);
    const holder = await rt.start('sheet', 'sign', '', 'doc-1');
    await rt.settle();
    for (let i = 0; i < MAX_LOCK_QUEUE; i++) await rt.start('sheet', 'quick', '', 'doc-1', `q-${i}`);
    await rt.settle();
    const before = rt.store.items();

    // Act
    const refused = rt.start('sheet', 'quick', '', 'doc-1');
    const retry = rt.start('sheet', 'quick', '', 'doc-1', 'q-7'); // already queued: its own retry is answered

    // Assess
    await expect(refused).rejects.toMatchObject({ status: 429, code: 'lock_queue_full', headers: { 'retry-after': '1' } });
    await expect(retry).resolves.toMatch(/^inv_/);
    expect(rt.store.items()).toEqual(before);
    const other = await rt.start('sheet', 'quick', '', 'doc-2');
    await rt.settle();
    expect(await rt.output(other)).toBe('ok');

    // Once the holder finishes, the queue moves and takes newcomers again.
    const [awk] = await rt.awaitedAwakeables(holder);
    await rt.resolve(awk!, '"signed"');
    await rt.settle();
    expect(await rt.output(holder)).toBe('signed');
    const later = await rt.start('sheet', 'quick', '', 'doc-1');
    await rt.settle();
    expect(await rt.output(later)).toBe('ok');
  }, 180_000); // about 6 s alone; a loaded 2-core machine is many times slower

  it('a start that raced past the check meets the lock item refusing it: 429, and the call it created fails at once instead of waiting', async () => {
    // Prepare: a full queue, and a store whose check read an older lock (another start raced it)
    const rt = new MemoryRuntime([sheet]);
    await rt.start('sheet', 'sign', '', 'doc-1');
    await rt.settle();
    const full = 3;
    for (let i = 0; i < full; i++) await rt.store.enqueueLock('O#sheet#doc-1', `inv_waiter${i}`, `9#${i}`);
    rt.store.readLock = async () => undefined;
    const enqueue = rt.store.enqueueLock.bind(rt.store);
    rt.store.enqueueLock = (scope, id, order) => enqueue(scope, id, order, full);

    // Act
    const refused = await rt.start('sheet', 'quick', '', 'doc-1', 'raced').catch((e: unknown) => e);

    // Assess
    expect(refused).toMatchObject({ status: 429, code: 'lock_queue_full' });
    const created = rt.store.items().find((item) => item.idempotencyKey === 'raced');
    expect(created).toMatchObject({ status: 'failed', failure: { name: 'LockQueueFullError', code: 429 } });
  });
});
