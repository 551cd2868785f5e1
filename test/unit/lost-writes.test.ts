/**
 * A lost conditional write is one outcome, whatever wrote it: when another
 * attempt (a zombie, or a duplicate) wrote journal entry i first, the attempt
 * that loses it ends `lost`, hands the invocation back as pending, counts no
 * retry and records no failure; a fresh attempt replays what the winner wrote.
 *
 *   zombie (epoch 1):  … append J#i ✓
 *   this   (epoch 2):  … append J#i ✗ → lost, release → pending
 *   fresh  (epoch 3):  replays J#i as the zombie wrote it, carries on
 *
 * One case per journal entry kind: with `invocationRetry: { maxAttempts: 1 }`
 * a lost write mistaken for a handler failure would fail the invocation.
 */
import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  github,
  object,
  service,
  workflow,
  type Context,
  type ObjectContext,
  type WorkflowContext,
  type WorkflowSharedContext,
} from 'dormant-lambda';
import { type JournalEntry } from 'dormant-lambda/internal';
import type { EntryKind } from '../../src/store/store.ts';
import { MemoryRuntime } from 'dormant-lambda/testing';
import { interceptCalls } from '../support/intercept.ts';

const callee = service({ name: 'callee', handlers: { echo: async (_ctx: Context, n: number) => n } });

/** An awakeable of a parked invocation, for resolve/reject-awakeable to complete. */
const target = service({
  name: 'target',
  handlers: {
    wait: async (ctx: Context) => {
      const { promise } = ctx.awakeable<string>();
      try {
        return `got ${await promise}`;
      } catch (e) {
        return `rejected ${(e as Error).message}`;
      }
    },
  },
});

const tour = service({
  name: 'tour',
  handlers: {
    run: async (ctx: Context) => ctx.run('a', () => 1),
    call: async (ctx: Context) => ctx.serviceClient(callee).echo(7),
    send: async (ctx: Context) => {
      ctx.serviceSendClient(callee).echo(8);
      return 'sent';
    },
    awakeable: async (ctx: Context) => {
      const { promise } = ctx.awakeable<string>();
      return promise;
    },
    webhook: async (ctx: Context) => {
      const { promise } = ctx.webhook();
      return ((await promise).body as { status: string }).status;
    },
    waitForEvent: async (ctx: Context) => {
      const event = await ctx.waitForEvent<{ order: string; status: string }>('orders', { match: { 'body.order': 'o-1' } });
      return event.body.status;
    },
    sleep: async (ctx: Context) => {
      await ctx.sleep(10);
      return 'slept';
    },
    combinator: async (ctx: Context) => ctx.all([ctx.run('a', () => 1), ctx.run('b', () => 2)]),
    now: async (ctx: Context) => typeof (await ctx.date.now()),
    resolveAwakeable: async (ctx: Context, id: string) => {
      ctx.resolveAwakeable(id, 'yes');
      return 'resolved';
    },
    rejectAwakeable: async (ctx: Context, id: string) => {
      ctx.rejectAwakeable(id, 'no');
      return 'rejected';
    },
    cancelOther: async (ctx: Context, id: string) => {
      ctx.cancel(id);
      return 'cancelled it';
    },
    attachTo: async (ctx: Context, id: string) => ctx.attach<number>(id),
    cancellable: async (ctx: Context) => {
      try {
        await ctx.awakeable<string>().promise;
        return 'not cancelled';
      } catch (e) {
        return e instanceof CancelledError ? 'cancelled' : 'other';
      }
    },
  },
});

const box = object({
  name: 'box',
  handlers: {
    get: async (ctx: ObjectContext) => (await ctx.get<number>('n')) ?? 0,
    set: async (ctx: ObjectContext) => {
      ctx.set('n', 1);
      return 'set';
    },
    clear: async (ctx: ObjectContext) => {
      ctx.clear('n');
      return 'cleared';
    },
    clearAll: async (ctx: ObjectContext) => {
      ctx.clearAll();
      return 'cleared all';
    },
    stateKeys: async (ctx: ObjectContext) => ctx.stateKeys(),
  },
});

const flow = workflow({
  name: 'flow',
  handlers: {
    run: async (ctx: WorkflowContext, op: 'peek' | 'resolve' | 'reject') => {
      const p = ctx.promise<string>('p');
      if (op === 'peek') return (await p.peek()) ?? 'nothing yet';
      if (op === 'resolve') await p.resolve('v');
      else await p.reject('r');
      return op;
    },
    // A shared handler waits on the run's promise (resolved by then, or not yet).
    wait: async (ctx: WorkflowSharedContext) => `waited ${await ctx.promise<string>('p')}`,
  },
});

interface Case {
  kind: EntryKind;
  start: (rt: MemoryRuntime) => Promise<string>;
  /** Runs until the entry is written (resolving or cancelling on the way where needed). */
  drive?: (rt: MemoryRuntime, id: string) => Promise<void>;
  output: unknown;
}

/** An awakeable id of a `target.wait` invocation that is suspended on it. */
async function parkedAwakeable(rt: MemoryRuntime): Promise<string> {
  const waiter = await rt.start('target', 'wait');
  await rt.settle();
  return (await rt.awaitedAwakeables(waiter))[0]!;
}

const CASES: Case[] = [
  { kind: 'run', start: (rt) => rt.start('tour', 'run'), output: 1 },
  { kind: 'call', start: (rt) => rt.start('tour', 'call'), output: 7 },
  { kind: 'send', start: (rt) => rt.start('tour', 'send'), output: 'sent' },
  {
    kind: 'awakeable',
    start: (rt) => rt.start('tour', 'awakeable'),
    drive: async (rt, id) => {
      await rt.settle();
      await rt.resolve((await rt.awaitedAwakeables(id))[0]!, '"ok"');
    },
    output: 'ok',
  },
  {
    kind: 'webhook',
    start: (rt) => rt.start('tour', 'webhook'),
    drive: async (rt, id) => {
      await rt.settle();
      await rt.deliver((await rt.awaitedAwakeables(id))[0]!, '{"status":"ok"}');
    },
    output: 'ok',
  },
  {
    kind: 'sleep',
    start: (rt) => rt.start('tour', 'sleep'),
    drive: async (rt) => {
      await rt.settle();
      await rt.advance(10);
    },
    output: 'slept',
  },
  { kind: 'combinator', start: (rt) => rt.start('tour', 'combinator'), output: [1, 2] },
  { kind: 'now', start: (rt) => rt.start('tour', 'now'), output: 'number' },
  {
    kind: 'resolve-awakeable',
    start: async (rt) => rt.start('tour', 'resolveAwakeable', JSON.stringify(await parkedAwakeable(rt))),
    output: 'resolved',
  },
  {
    kind: 'reject-awakeable',
    start: async (rt) => rt.start('tour', 'rejectAwakeable', JSON.stringify(await parkedAwakeable(rt))),
    output: 'rejected',
  },
  {
    kind: 'cancel',
    start: (rt) => rt.start('tour', 'cancellable'),
    drive: async (rt, id) => {
      await rt.settle();
      await rt.cancel(id);
    },
    output: 'cancelled',
  },
  { kind: 'get', start: (rt) => rt.start('box', 'get', '', 'k'), output: 0 },
  { kind: 'set', start: (rt) => rt.start('box', 'set', '', 'k'), output: 'set' },
  { kind: 'clear', start: (rt) => rt.start('box', 'clear', '', 'k'), output: 'cleared' },
  { kind: 'clear-all', start: (rt) => rt.start('box', 'clearAll', '', 'k'), output: 'cleared all' },
  { kind: 'state-keys', start: (rt) => rt.start('box', 'stateKeys', '', 'k'), output: [] },
  { kind: 'promise-peek', start: (rt) => rt.start('flow', 'run', '"peek"', 'w1'), output: 'nothing yet' },
  { kind: 'promise-resolve', start: (rt) => rt.start('flow', 'run', '"resolve"', 'w2'), output: 'resolve' },
  { kind: 'promise-reject', start: (rt) => rt.start('flow', 'run', '"reject"', 'w3'), output: 'reject' },
  {
    kind: 'cancel-invocation',
    start: async (rt) => {
      const waiter = await rt.start('target', 'wait');
      await rt.settle();
      return rt.start('tour', 'cancelOther', JSON.stringify(waiter));
    },
    output: 'cancelled it',
  },
  {
    kind: 'attach',
    start: async (rt) => {
      const echoed = await rt.start('callee', 'echo', '5');
      await rt.settle();
      return rt.start('tour', 'attachTo', JSON.stringify(echoed));
    },
    output: 5,
  },
  {
    kind: 'event-await',
    start: (rt) => {
      rt.declareEndpoints({ orders: { verify: github({ secret: 'UNUSED_SECRET' }), correlate: ['body.order'] } });
      return rt.start('tour', 'waitForEvent');
    },
    drive: async (rt) => {
      await rt.settle();
      await rt.publish('orders', '{"order":"o-1","status":"shipped"}');
    },
    output: 'shipped',
  },
  {
    kind: 'promise-await',
    start: (rt) => rt.start('flow', 'wait', '', 'w4'),
    drive: async (rt) => {
      await rt.settle();
      await rt.start('flow', 'run', '"resolve"', 'w4');
    },
    output: 'waited v',
  },
];

describe('a lost journal write ends the attempt as lost, whatever its kind', () => {
  it('covers every entry kind', () => {
    const kinds: Record<EntryKind, true> = {
      run: true,
      call: true,
      send: true,
      cancel: true,
      awakeable: true,
      webhook: true,
      sleep: true,
      combinator: true,
      now: true,
      'resolve-awakeable': true,
      'reject-awakeable': true,
      get: true,
      set: true,
      clear: true,
      'clear-all': true,
      'state-keys': true,
      'promise-peek': true,
      'promise-resolve': true,
      'promise-reject': true,
      'promise-await': true,
      'event-await': true,
      'cancel-invocation': true,
      attach: true,
    };
    expect(CASES.map((c) => c.kind).sort()).toEqual(Object.keys(kinds).sort());
  });

  it.each(CASES)(
    '$kind: a zombie wrote the entry first → lost, handed back, no retry, no failure; the next attempt finishes',
    async ({ kind, start, drive, output }) => {
      // Prepare: the attempts' store lets "another attempt" write the entry of
      // this kind just before this attempt's own append of it.
      const rt = new MemoryRuntime([tour, callee, target, box, flow], { invocationRetry: { maxAttempts: 1 } });
      let stolen: JournalEntry | undefined;
      rt.deps.store = interceptCalls(rt.store, async (method, args, call) => {
        const entry = args[1] as JournalEntry;
        if (method === 'append' && entry.kind === kind && stolen === undefined) {
          const zombies: JournalEntry = { ...entry };
          stolen = zombies;
          expect(await rt.store.append(args[0] as string, zombies)).toBe(true);
        }
        return call();
      });
      const id = await start(rt);

      // Act
      if (drive) await drive(rt, id);
      await rt.settle();
      const lost = rt.outcomes.filter((o) => o.invocationId === id && o.kind !== 'suspended');

      // Assess: the loser ended lost and left no trace of a failure
      expect(stolen, `no ${kind} entry was appended`).toBeDefined();
      expect(lost[0]).toMatchObject({
        kind: 'lost',
        reason: expect.stringMatching(new RegExp(`entry ${stolen!.index} .*already written`)),
      });
      const status = await rt.status(id);
      expect(status.lastFailure).toBeUndefined();
      expect(status.retries ?? 0).toBe(0);
      expect(status.status).toBe('completed');
      expect(await rt.output(id)).toEqual(output);
      expect(rt.outcomes.filter((o) => o.invocationId === id).map((o) => o.kind)).not.toContain('retrying');
    },
  );

  it('set: a state write fenced off by a newer attempt → lost, not a failure', async () => {
    // Prepare: before this attempt (epoch 1) writes entry 0's state, an
    // attempt at epoch 2 wrote it: this one is the zombie now.
    const rt = new MemoryRuntime([box], { invocationRetry: { maxAttempts: 1 } });
    let fenced = false;
    rt.deps.store = interceptCalls(rt.store, async (method, args, call) => {
      if (method === 'writeState' && !fenced) {
        fenced = true;
        const pad = (n: number) => String(n).padStart(12, '0');
        expect(await rt.store.writeState(args[0] as string, 'n', '1', `${pad(1)}:${pad(0)}:${pad(2)}`)).toBe(true);
      }
      return call();
    });
    const id = await rt.start('box', 'set', '', 'k');

    // Act
    await rt.settle();

    // Assess: lost, handed back; the next attempt (epoch 3) writes and finishes
    expect(rt.outcomes[0]).toMatchObject({ kind: 'lost', reason: expect.stringMatching(/state 'n' .*newer attempt/) });
    const status = await rt.status(id);
    expect(status.lastFailure).toBeUndefined();
    expect(status.retries ?? 0).toBe(0);
    expect(await rt.output(id)).toBe('set');
  });
});

/** What the handlers below saw, in order: `<label> returned` or `<label> caught <error>`. */
const seen: string[] = [];

/** A handler that awaits `body` and records whether it returned or threw. */
function watched<C>(label: string, body: (ctx: C) => PromiseLike<unknown>) {
  return async (ctx: C) => {
    try {
      const value = await body(ctx);
      seen.push(`${label} returned`);
      return value;
    } catch (e) {
      seen.push(`${label} caught ${(e as Error).name}`);
      return 'carried on';
    }
  };
}

const awaits = service({
  name: 'awaits',
  handlers: { run: watched('run', (ctx: Context) => ctx.run('a', () => 1)) },
});
const awaitsState = object({
  name: 'awaitsState',
  handlers: {
    get: watched('get', (ctx: ObjectContext) => ctx.get('n')),
    stateKeys: watched('state-keys', (ctx: ObjectContext) => ctx.stateKeys()),
  },
});
const awaitsPromise = workflow({
  name: 'awaitsPromise',
  handlers: {
    run: async (ctx: WorkflowContext, op: 'promise-peek' | 'promise-resolve' | 'promise-reject') => {
      const p = ctx.promise<string>('p');
      return watched(op, () => (op === 'promise-peek' ? p.peek() : op === 'promise-resolve' ? p.resolve('v') : p.reject('r')))(ctx);
    },
  },
});

describe('a lost write the handler awaits never reaches the handler', () => {
  it.each([
    { kind: 'run', start: (rt: MemoryRuntime) => rt.start('awaits', 'run') },
    { kind: 'get', start: (rt: MemoryRuntime) => rt.start('awaitsState', 'get', '', 'k') },
    { kind: 'state-keys', start: (rt: MemoryRuntime) => rt.start('awaitsState', 'stateKeys', '', 'k') },
    { kind: 'promise-peek', start: (rt: MemoryRuntime) => rt.start('awaitsPromise', 'run', '"promise-peek"', 'w1') },
    { kind: 'promise-resolve', start: (rt: MemoryRuntime) => rt.start('awaitsPromise', 'run', '"promise-resolve"', 'w2') },
    { kind: 'promise-reject', start: (rt: MemoryRuntime) => rt.start('awaitsPromise', 'run', '"promise-reject"', 'w3') },
  ])('$kind: the losing attempt neither returns past the await nor sees an error it could catch', async ({ kind, start }) => {
    // Prepare: "another attempt" writes the entry just before this attempt's append of it
    const rt = new MemoryRuntime([awaits, awaitsState, awaitsPromise]);
    let stolen = false;
    rt.deps.store = interceptCalls(rt.store, async (method, args, call) => {
      const entry = args[1] as JournalEntry;
      if (method === 'append' && entry.kind === kind && !stolen) {
        stolen = true;
        expect(await rt.store.append(args[0] as string, { ...entry })).toBe(true);
      }
      return call();
    });
    seen.length = 0;
    const id = await start(rt);

    // Act
    await rt.settle();

    // Assess: the loser ended lost and its handler stopped at the await; only the fresh attempt returned
    expect(stolen).toBe(true);
    expect(rt.outcomes.filter((o) => o.invocationId === id).map((o) => o.kind)).toEqual(['lost', 'completed']);
    expect(seen).toEqual([`${kind} returned`]);
  });
});
