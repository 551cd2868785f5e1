import { describe, expect, it } from 'vitest';
import { CancelledError, service, type Context } from 'dormant-lambda';
import { MemoryRuntime } from 'dormant-lambda/testing';

describe('time: long handlers, linger, durable step backoff', () => {
  it('rule 6: a handler that outlives one Lambda deadline continues in fresh attempts, each step journaled once', async () => {
    const bodies: number[] = [];
    let remaining = 0;
    const rt = new MemoryRuntime(
      [
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              let sum = 0;
              for (let i = 0; i < 10; i++) {
                sum += await ctx.run(`step ${i}`, () => {
                  bodies.push(i);
                  remaining -= 4_000; // each step burns 4 s of a 15 s Lambda
                  return i;
                });
              }
              return sum;
            },
          },
        }),
      ],
      // Each attempt starts with a full 15 s budget.
      { remainingMs: () => remaining, deadlineMarginMs: 5_000 },
    );
    const origRun = rt.deps.store.acquire.bind(rt.deps.store);
    rt.deps.store.acquire = async (...args) => {
      remaining = 15_000;
      return origRun(...args);
    };
    const id = await rt.start('s', 'h');
    await rt.settle();
    expect(await rt.output(id)).toBe(45);
    expect(bodies).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const yielded = rt.outcomes.filter((o) => o.kind === 'yielded').length;
    expect(yielded).toBeGreaterThanOrEqual(3);
    expect((await rt.journal(id)).filter((e) => e.kind === 'run')).toHaveLength(10);
  });

  it('an attempt that starts inside the deadline margin still makes one step of progress (no livelock)', async () => {
    const rt = new MemoryRuntime(
      [
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => (await ctx.run('a', () => 1)) + (await ctx.run('b', () => 2)) + (await ctx.run('c', () => 3)),
          },
        }),
      ],
      { remainingMs: () => 1_000, deadlineMarginMs: 5_000 },
    );
    const id = await rt.start('s', 'h');
    await rt.settle(50);
    expect(await rt.output(id)).toBe(6);
    expect(rt.outcomes.map((o) => o.kind)).toEqual(['yielded', 'yielded', 'completed']);
  });

  it('linger picks up a completion that arrives moments after the await, without suspending', async () => {
    let resolveLater: (() => Promise<unknown>) | undefined;
    const rt = new MemoryRuntime(
      [
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              const a = ctx.awakeable<string>();
              await ctx.run('publish', () => {
                resolveLater = () => rt.resolve(a.id, '"quick"');
              });
              return a.promise;
            },
          },
        }),
      ],
      { lingerMs: 1_000 },
    );
    const sleep = rt.clock.sleep.bind(rt.clock);
    let sleeps = 0;
    rt.clock.sleep = async (ms: number) => {
      if (++sleeps === 3) await resolveLater?.();
      return sleep(ms);
    };
    const id = await rt.start('s', 'h');
    await rt.settle();
    expect(await rt.output(id)).toBe('quick');
    expect(rt.outcomes.map((o) => o.kind)).toEqual(['completed']);
  });

  it('linger delivers a cancellation that arrives while it waits, instead of hanging (simulator seed 36)', { timeout: 3_000 }, async () => {
    // Prepare: the cancel lands during the linger's second poll
    const rt = new MemoryRuntime(
      [
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              try {
                return await ctx.awakeable<string>().promise;
              } catch (e) {
                return e instanceof CancelledError ? 'cancelled' : 'other';
              }
            },
          },
        }),
      ],
      { lingerMs: 1_000 },
    );
    const id = await rt.start('s', 'h');
    const sleep = rt.clock.sleep.bind(rt.clock);
    let sleeps = 0;
    rt.clock.sleep = async (ms: number) => {
      if (++sleeps === 2) await rt.cancel(id);
      return sleep(ms);
    };

    // Act
    await rt.settle();

    // Assess: one attempt, no suspension
    expect(await rt.output(id)).toBe('cancelled');
    expect(rt.outcomes.map((o) => o.kind)).toEqual(['completed']);
  });

  it('linger gives up after lingerMs and suspends', async () => {
    const rt = new MemoryRuntime([service({ name: 's', handlers: { h: async (ctx: Context) => ctx.awakeable().promise } })], {
      lingerMs: 500,
    });
    const start = rt.clock.now();
    const id = await rt.start('s', 'h');
    await rt.settle();
    expect((await rt.status(id)).status).toBe('suspended');
    expect(rt.clock.now() - start).toBe(500);
  });

  it('rule 6: a long ctx.run backoff suspends on a durable timer (no attempt in flight) and resumes the count', async () => {
    let calls = 0;
    const rt = new MemoryRuntime([
      service({
        name: 's',
        handlers: {
          h: async (ctx: Context) =>
            ctx.run(
              'call partner',
              () => {
                if (++calls < 4) throw new Error(`partner down (${calls})`);
                return 'up';
              },
              { retry: { initialIntervalMs: 60_000, factor: 2, maxAttempts: 10 } },
            ),
        },
      }),
    ]);
    const id = await rt.start('s', 'h');
    await rt.settle();
    let status = await rt.status(id);
    expect(status.status).toBe('suspended');
    expect(status.lastFailure?.message).toBe('partner down (1)');
    expect(calls).toBe(1);
    await rt.advance(60_000);
    expect(calls).toBe(2);
    await rt.advance(120_000);
    expect(calls).toBe(3);
    status = await rt.status(id);
    expect(status.awaiting.map((a) => a.key)).toHaveLength(1);
    expect(status.awaiting[0]?.key).toMatch(/^C#t00000000\.0003\.\d+$/);
    await rt.advance(240_000);
    expect(await rt.output(id)).toBe('up');
    expect(calls).toBe(4);
  });

  it('a step retry budget spent across suspensions ends in a terminal failure naming the last error', async () => {
    let calls = 0;
    const rt = new MemoryRuntime([
      service({
        name: 's',
        handlers: {
          h: async (ctx: Context) =>
            ctx.run(
              'doomed',
              () => {
                throw new Error(`nope ${++calls}`);
              },
              { retry: { initialIntervalMs: 10_000, factor: 1, maxAttempts: 3 } },
            ),
        },
      }),
    ]);
    const id = await rt.start('s', 'h');
    await rt.settle();
    await rt.advance(10_000);
    await rt.advance(10_000);
    await expect(rt.output(id)).rejects.toMatchObject({ failure: { message: "step 'doomed' failed after 3 attempt(s): nope 3" } });
  });

  it('an awakeable that timed out is closed: a late resolve gets 409, never a second outcome', async () => {
    const rt = new MemoryRuntime([
      service({
        name: 's',
        handlers: {
          h: async (ctx: Context) => {
            const approval = ctx.awakeable<string>();
            await ctx.run('publish', () => approval.id);
            let first: string;
            try {
              first = await approval.promise.orTimeout(60_000);
            } catch (e) {
              first = (e as Error).name;
            }
            // Still running afterwards: the late resolver must not get a 202.
            const next = ctx.awakeable<string>();
            return `${first} then ${await next.promise}`;
          },
        },
      }),
    ]);
    const id = await rt.start('s', 'h');
    await rt.settle();
    const [approval] = await rt.awaitedAwakeables(id);
    await rt.advance(60_000);
    await expect(rt.resolve(approval!, '"too late"')).rejects.toMatchObject({
      status: 409,
      details: { outcome: 'rejected' },
    });
    const [next] = await rt.awaitedAwakeables(id);
    await rt.resolve(next!, '"second"');
    await rt.settle();
    expect(await rt.output(id)).toBe('TimeoutError then second');
  });
});
