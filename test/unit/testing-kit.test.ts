/**
 * The testing kit users import (`dormant-lambda/testing`): TestRuntime as a
 * user's unit test drives it. Each case is something LocalDurableTestRunner
 * users do (skip time, complete a callback by id, read the result) or that
 * Dormant adds (objects, workflows, alwaysReplay, timers raced with awakeables).
 */
import { createHmac } from 'node:crypto';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  CancelledError,
  TerminalError,
  TimeoutError,
  github,
  handlers,
  object,
  service,
  workflow,
  type Context,
  type ObjectContext,
  type ObjectSharedContext,
  type WorkflowContext,
  type WorkflowSharedContext,
} from 'dormant-lambda';
import { TestRuntime } from 'dormant-lambda/testing';

const DAY = 86_400_000;

const review = service({
  name: 'review',
  handlers: {
    request: async (ctx: Context, doc: { title: string }) => {
      const { id, promise } = ctx.awakeable<{ approved: boolean }>();
      await ctx.run('notify', () => `sent ${id}`);
      const verdict = await promise.orTimeout(DAY);
      return { title: doc.title, ...verdict };
    },
    both: async (ctx: Context) => {
      const a = ctx.awakeable<string>();
      const b = ctx.awakeable<string>();
      return [await a.promise, await b.promise];
    },
  },
});

const napper = service({
  name: 'napper',
  handlers: {
    nap: async (ctx: Context, days: number) => {
      const before = await ctx.date.now();
      for (let i = 0; i < days; i++) await ctx.sleep(DAY);
      return (await ctx.date.now()) - before;
    },
  },
});

const counter = object({
  name: 'counter',
  handlers: {
    add: async (ctx: ObjectContext, n: number) => {
      const count = ((await ctx.get<number>('count')) ?? 0) + n;
      ctx.set('count', count);
      return count;
    },
    get: handlers.object.shared(async (ctx: ObjectSharedContext) => (await ctx.get<number>('count')) ?? 0),
  },
});

const signoff = workflow({
  name: 'signoff',
  handlers: {
    run: async (ctx: WorkflowContext, doc: string) => `${doc}: ${await ctx.promise<string>('verdict').get()}`,
    decide: async (ctx: WorkflowSharedContext, verdict: string) => ctx.promise<string>('verdict').resolve(verdict),
  },
});

describe('TestRuntime (dormant-lambda/testing)', () => {
  it('an invocation suspends on its awakeable; resolving it by id completes it', async () => {
    // Prepare
    const rt = new TestRuntime([review], { alwaysReplay: true });

    // Act
    const run = await rt.start(review, 'request', { title: 'Q3' });

    // Assess: suspended, awaiting exactly the awakeable it created
    expect(await run.status()).toBe('suspended');
    const [awakeableId, ...more] = await run.awakeables();
    expect(more).toEqual([]);
    expect(awakeableId).toMatch(/^awk_/);
    const journal = await run.journal();
    expect(journal.find((e) => e.kind === 'awakeable')?.id).toBe(awakeableId);
    await expect(run.output()).rejects.toThrow(`it is suspended, awaiting awakeable ${awakeableId}`);

    await rt.resolveAwakeable(awakeableId!, { approved: true });
    expect(await run.status()).toBe('completed');
    expect(await run.output()).toEqual({ title: 'Q3', approved: true });
    expect(journal.map((e) => e.name ?? e.kind)).toEqual(['awakeable', 'notify', 'sleep']); // the sleep is orTimeout's
  });

  it('a webhook completes with the request delivered by id; a redelivery gets the answer again, another request 409, a bad signature 401 (ctx.webhook)', async () => {
    const signed = service({
      name: 'signed',
      handlers: {
        wait: async (ctx: Context) => {
          const { body } = await ctx.webhook({ verify: github({ secret: 'KIT_HOOK_SECRET' }), respond: { status: 202, body: 'thanks' } })
            .promise;
          return body;
        },
      },
    });
    process.env.KIT_HOOK_SECRET = 'kit-secret';
    try {
      const rt = new TestRuntime([signed], { alwaysReplay: true });
      const run = await rt.start(signed, 'wait', undefined);
      const [id] = await run.awakeables();
      expect(id).toMatch(/^whk_/);
      const body = '{"action":"completed"}';
      const headers = {
        'content-type': 'application/json',
        'x-hub-signature-256': 'sha256=' + createHmac('sha256', 'kit-secret').update(body).digest('hex'),
        'x-github-delivery': 'd-1',
      };
      await expect(rt.deliverWebhook(id!, body, { headers: { ...headers, 'x-hub-signature-256': 'sha256=00' } })).rejects.toMatchObject({
        status: 401,
      });
      expect(await run.status()).toBe('suspended');
      expect(await rt.deliverWebhook(id!, body, { headers })).toMatchObject({ status: 202, body: 'thanks' });
      expect(await run.output()).toEqual({ action: 'completed' });
      expect(await rt.deliverWebhook(id!, body, { headers })).toMatchObject({ status: 202 });
      const other = '{"action":"requested"}';
      const otherHeaders = {
        ...headers,
        'x-github-delivery': 'd-2',
        'x-hub-signature-256': 'sha256=' + createHmac('sha256', 'kit-secret').update(other).digest('hex'),
      };
      await expect(rt.deliverWebhook(id!, other, { headers: otherHeaders })).rejects.toMatchObject({ status: 410 });
    } finally {
      delete process.env.KIT_HOOK_SECRET;
    }
  });

  it('a rejected awakeable fails the handler with a TerminalError; a later completion gets 409', async () => {
    const rt = new TestRuntime([review]);
    const run = await rt.start(review, 'request', { title: 'Q3' });
    const [id] = await run.awakeables();

    await rt.rejectAwakeable(id!, 'too long');

    await expect(run.output()).rejects.toThrow(TerminalError);
    await expect(run.output()).rejects.toThrow('too long');
    expect(await run.result()).toMatchObject({ ok: false, failure: { name: 'TerminalError', message: 'too long' } });
    await expect(rt.resolveAwakeable(id!, { approved: true })).rejects.toMatchObject({ status: 409 });
  });

  it('awakeables() lists every awaited id in creation order, and each completes by id', async () => {
    const rt = new TestRuntime([review]);
    const run = await rt.start(review, 'both');
    const journalIds = (await run.journal()).filter((e) => e.kind === 'awakeable').map((e) => e.id);
    expect(await run.awakeables()).toEqual(journalIds.slice(0, 1)); // it awaits a first, then b
    await rt.resolveAwakeable(journalIds[0]!, 'A');
    expect(await run.awakeables()).toEqual(journalIds.slice(1));
    await rt.resolveAwakeable(journalIds[1]!, 'B');
    expect(await run.output()).toEqual(['A', 'B']);
  });

  it('advance() passes an orTimeout: the awakeable times out with a TimeoutError at its due time', async () => {
    const rt = new TestRuntime([review]);
    const run = await rt.start(review, 'request', { title: 'Q3' });

    await rt.advance(DAY - 1);
    expect(await run.status()).toBe('suspended');
    await rt.advance(1);

    await expect(run.output()).rejects.toThrow(TimeoutError);
  });

  it('advance() stops at every due time on the way: three daily sleeps end after three days, each a day long', async () => {
    const rt = new TestRuntime([napper]);
    const run = await rt.start(napper, 'nap', 3);

    await rt.advance(3 * DAY - 1);
    expect(await run.status()).toBe('suspended');
    await rt.advance(1);

    expect(await run.output()).toBe(3 * DAY);
  });

  it('skipTime lets sleeps pass by themselves, but not a timeout raced with an awakeable', async () => {
    const rt = new TestRuntime([napper, review], { skipTime: true });
    const started = rt.now();

    expect(await rt.call(napper, 'nap', 30)).toBe(30 * DAY);
    expect(rt.now() - started).toBe(30 * DAY);

    const run = await rt.start(review, 'request', { title: 'Q3' });
    expect(await run.status()).toBe('suspended');
    const [id] = await run.awakeables();
    await rt.resolveAwakeable(id!, { approved: false });
    expect(await run.output()).toEqual({ title: 'Q3', approved: false });
  });

  it('a delayed start waits for the clock, or starts at once with skipTime', async () => {
    const rt = new TestRuntime([counter]);
    const run = await rt.start(counter, 'add', 2, { key: 'k', delayMs: 60_000 });
    expect(await run.details()).toMatchObject({ status: 'scheduled', awaiting: [{ key: 'C#start' }] });
    expect(Date.parse((await run.details()).scheduledAt!)).toBe(rt.clock.now() + 60_000);
    await rt.advance(59_999);
    expect(await run.status()).toBe('scheduled');
    await rt.advance(1);
    expect(await run.output()).toBe(2);

    const skipping = new TestRuntime([counter], { skipTime: true });
    expect(await (await skipping.start(counter, 'add', 2, { key: 'k', delayMs: 60_000 })).output()).toBe(2);
  });

  it('objects: exclusive handlers keep state per key; shared handlers read it; state() shows it', async () => {
    const rt = new TestRuntime([counter]);
    await rt.call(counter, 'add', 5, { key: 'a' });
    await rt.call(counter, 'add', 2, { key: 'a' });
    await rt.call(counter, 'add', 1, { key: 'b' });

    expect(await rt.call(counter, 'get', undefined, { key: 'a' })).toBe(7);
    expect(await rt.state(counter, 'a')).toEqual({ count: 7 });
    expect(await rt.state(counter, 'b')).toEqual({ count: 1 });
    expect(await rt.state(counter, 'nobody')).toEqual({});
  });

  it('calls are typed by the definition: input and output as the handler declares them (checked by tsc)', async () => {
    const rt = new TestRuntime([counter, review]);
    // Types only (never called):
    const _types = () => [
      expectTypeOf(rt.call(counter, 'add', 1, { key: 'a' })).resolves.toEqualTypeOf<number>(),
      expectTypeOf(rt.start(review, 'request', { title: 'Q3' })).resolves.toHaveProperty('id'),
      // @ts-expect-error: add takes a number
      rt.start(counter, 'add', 'five', { key: 'a' }),
      // @ts-expect-error: counter has no handler 'subtract'
      rt.start(counter, 'subtract', 1, { key: 'a' }),
    ];
    expect(await rt.call(counter, 'add', 1, { key: 'a' })).toBe(1);
  });

  it('workflows: run waits on a durable promise that a shared handler resolves', async () => {
    const rt = new TestRuntime([signoff], { alwaysReplay: true });
    const run = await rt.start(signoff, 'run', 'design doc', { key: 'doc-7' });
    expect(await run.status()).toBe('suspended');

    await rt.call(signoff, 'decide', 'approved', { key: 'doc-7' });

    expect(await run.output()).toBe('design doc: approved');
  });

  it('alwaysReplay turns a handler that is not deterministic into a failing test', async () => {
    let flip = 0;
    const flaky = service({
      name: 'flaky',
      handlers: {
        go: async (ctx: Context) => {
          // Branching on something not journaled: replay takes the other path.
          if (flip++ % 2 === 0) await ctx.run('a', () => 1);
          else await ctx.sleep(1);
          await ctx.run('b', () => 2);
          return 'done';
        },
      },
    });

    // Without replay after each step the bug goes unnoticed ...
    expect(await new TestRuntime([flaky]).call(flaky, 'go')).toBe('done');
    // ... with it, the replay check stops the invocation and names both calls.
    flip = 0;
    const run = await new TestRuntime([flaky], { alwaysReplay: true }).start(flaky, 'go');
    await expect(run.output()).rejects.toThrow(/its last attempt failed, to be retried: NonDeterminismError: .*'a'/);
    expect((await run.details()).lastFailure?.name).toBe('NonDeterminismError');
  });

  it('heartbeats keep an awakeable with heartbeatTimeoutMs open; without them it times out', async () => {
    const worker = service({
      name: 'worker',
      handlers: { job: async (ctx: Context) => ctx.awakeable<string>({ heartbeatTimeoutMs: 60_000 }).promise },
    });
    const rt = new TestRuntime([worker]);
    const beating = await rt.start(worker, 'job');
    const [id] = await beating.awakeables();
    for (let i = 0; i < 3; i++) {
      await rt.advance(50_000);
      await rt.heartbeatAwakeable(id!);
    }
    expect(await beating.status()).toBe('suspended');
    await rt.resolveAwakeable(id!, 'done');
    expect(await beating.output()).toBe('done');

    const silent = await rt.start(worker, 'job');
    await rt.advance(60_000);
    await expect(silent.output()).rejects.toThrow(TimeoutError);
  });

  it('cancel: the handler sees a CancelledError at its await', async () => {
    const rt = new TestRuntime([review]);
    const run = await rt.start(review, 'request', { title: 'Q3' });
    await rt.cancel(run.id);
    await expect(run.output()).rejects.toThrow(CancelledError);
  });

  it('refuses unknown services and handlers with a message naming what exists', async () => {
    const rt = new TestRuntime([counter]);
    await expect(rt.start('nope', 'x')).rejects.toThrow(
      "no service, object or workflow named 'nope' in this TestRuntime (it has: counter)",
    );
    await expect(rt.start('counter', 'subtract', 1, { key: 'a' })).rejects.toThrow("counter has no handler 'subtract' (it has: add, get)");
    await expect(rt.start(counter, 'add', 1)).rejects.toMatchObject({ status: 400 }); // an object needs a key
    await expect(rt.advance(-1)).rejects.toThrow(RangeError);
  });
});
