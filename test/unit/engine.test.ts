import { describe, expect, it } from 'vitest';
import {
  NonDeterminismError,
  TerminalError,
  TimeoutError,
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
import { MemoryRuntime } from 'dormant-lambda/testing';

/** The seeds' human review: an awakeable whose id leaves through a step. */
function reviewService(sent: string[], runs: { count: number }) {
  return service({
    name: 'review',
    handlers: {
      request: async (ctx: Context, doc: string) => {
        const { id, promise } = ctx.awakeable<{ verdict: string }>();
        await ctx.run('notify reviewer', () => {
          runs.count++;
          sent.push(id);
        });
        const { verdict } = await promise;
        return `${doc}: ${verdict}`;
      },
    },
  });
}

describe('replay engine', () => {
  describe('awakeables', () => {
    it('suspends on an unresolved awakeable and completes after the resolve, running each step once', async () => {
      // Prepare
      const sent: string[] = [];
      const runs = { count: 0 };
      const rt = new MemoryRuntime([reviewService(sent, runs)]);
      const id = await rt.start('review', 'request', '"doc-1"');

      // Act
      await rt.settle();

      // Assess: suspended, naming the awakeable it waits on
      const status = await rt.status(id);
      expect(status.status).toBe('suspended');
      expect(await rt.awaitedAwakeables(id)).toEqual(sent);
      expect(runs.count).toBe(1);

      await rt.resolve(sent[0]!, '{"verdict":"approved"}');
      await rt.settle();

      expect(await rt.output(id)).toBe('doc-1: approved');
      expect(runs.count).toBe(1); // replay returned the journaled result
      expect(rt.outcomes.map((o) => o.kind)).toEqual(['suspended', 'completed']);
      expect((await rt.journal(id)).map((e) => e.kind)).toEqual(['awakeable', 'run']);
    });

    it('a rejected awakeable surfaces as a TerminalError the handler can catch', async () => {
      const rt = new MemoryRuntime([
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              const a = ctx.awakeable<string>();
              try {
                return await a.promise;
              } catch (e) {
                return `caught ${(e as Error).name}: ${(e as Error).message}`;
              }
            },
          },
        }),
      ]);
      const id = await rt.start('s', 'h');
      await rt.settle();
      const [awk] = await rt.awaitedAwakeables(id);
      await rt.reject(awk!, 'reviewer declined');
      await rt.settle();
      expect(await rt.output(id)).toBe('caught TerminalError: reviewer declined');
    });

    it('a completion that lands before the suspension still wakes the invocation', async () => {
      // The handler resolves its own awakeable from a step, then awaits it:
      // the completion exists before the suspension is written.
      const rt = new MemoryRuntime([
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              const a = ctx.awakeable<number>();
              await ctx.run('resolve it elsewhere', async () => {
                await rt.resolve(a.id, '42');
              });
              return a.promise;
            },
          },
        }),
      ]);
      const id = await rt.start('s', 'h');
      await rt.settle();
      expect(await rt.output(id)).toBe(42);
    });

    it('ctx.resolveAwakeable completes another invocation exactly once', async () => {
      const rt = new MemoryRuntime([
        service({
          name: 's',
          handlers: {
            waiter: async (ctx: Context) => {
              const a = ctx.awakeable<string>();
              await ctx.run('publish', () => a.id);
              return a.promise;
            },
            resolver: async (ctx: Context, awakeableId: string) => {
              ctx.resolveAwakeable(awakeableId, 'from resolver');
              ctx.resolveAwakeable(awakeableId, 'second'); // first writer wins
              return 'done';
            },
          },
        }),
      ]);
      const waiter = await rt.start('s', 'waiter');
      await rt.settle();
      const [awk] = await rt.awaitedAwakeables(waiter);
      const resolver = await rt.start('s', 'resolver', JSON.stringify(awk));
      await rt.settle();
      expect(await rt.output(resolver)).toBe('done');
      expect(await rt.output(waiter)).toBe('from resolver');
    });
  });

  describe('workflows', () => {
    const reviewFlow = workflow({
      name: 'reviewFlow',
      handlers: {
        run: async (ctx: WorkflowContext, doc: string) => {
          ctx.set('status', 'waiting for review');
          const verdict = await ctx.promise<string>('review').get();
          ctx.set('status', `reviewed: ${verdict}`);
          return `${doc} ${verdict}`;
        },
        submitReview: async (ctx: WorkflowSharedContext, verdict: string) => {
          await ctx.promise<string>('review').resolve(verdict);
          return 'thanks';
        },
        status: async (ctx: WorkflowSharedContext) => ctx.get<string>('status'),
      },
    });

    it('run waits on ctx.promise("review") until a shared handler resolves it', async () => {
      const rt = new MemoryRuntime([reviewFlow]);
      const run = await rt.start('reviewFlow', 'run', '"doc-9"', 'doc-9');
      await rt.settle();
      expect((await rt.status(run)).status).toBe('suspended');
      const status = await rt.start('reviewFlow', 'status', '', 'doc-9');
      await rt.settle();
      expect(await rt.output(status)).toBe('waiting for review');

      const submit = await rt.start('reviewFlow', 'submitReview', '"approved"', 'doc-9');
      await rt.settle();
      expect(await rt.output(submit)).toBe('thanks');
      expect(await rt.output(run)).toBe('doc-9 approved');
    });

    it('a promise resolved before run is submitted is seen by the later await', async () => {
      const rt = new MemoryRuntime([reviewFlow]);
      const submit = await rt.start('reviewFlow', 'submitReview', '"early"', 'k');
      await rt.settle();
      expect(await rt.output(submit)).toBe('thanks');
      const run = await rt.start('reviewFlow', 'run', '"doc"', 'k');
      await rt.settle();
      expect(await rt.output(run)).toBe('doc early');
      expect(rt.outcomes.filter((o) => o.kind === 'suspended')).toHaveLength(0);
    });

    it('run executes once per key: a second submit returns the same invocation', async () => {
      const rt = new MemoryRuntime([reviewFlow]);
      const a = await rt.start('reviewFlow', 'run', '"doc"', 'same');
      const b = await rt.start('reviewFlow', 'run', '"doc"', 'same');
      expect(b).toBe(a);
    });

    it('resolving a durable promise twice answers the second with a 409 TerminalError', async () => {
      const rt = new MemoryRuntime([
        workflow({
          name: 'wf',
          handlers: {
            run: async (ctx: WorkflowContext) => {
              await ctx.promise<number>('p').resolve(1);
              try {
                await ctx.promise<number>('p').resolve(2);
                return 'no error';
              } catch (e) {
                return `${(e as TerminalError).code} ${await ctx.promise<number>('p').get()}`;
              }
            },
          },
        }),
      ]);
      const id = await rt.start('wf', 'run', '', 'k');
      await rt.settle();
      expect(await rt.output(id)).toBe('409 1');
    });

    it('peek sees undefined before and the value after resolution, and replays identically', async () => {
      const rt = new MemoryRuntime(
        [
          workflow({
            name: 'wf',
            handlers: {
              run: async (ctx: WorkflowContext) => {
                const before = await ctx.promise<string>('p').peek();
                const a = ctx.awakeable();
                await a.promise;
                const after = await ctx.promise<string>('p').peek();
                return { before: before ?? null, after: after ?? null };
              },
              set: async (ctx: WorkflowSharedContext, v: string) => ctx.promise<string>('p').resolve(v),
            },
          }),
        ],
        { alwaysReplay: true },
      );
      const run = await rt.start('wf', 'run', '', 'k');
      await rt.settle();
      await rt.start('wf', 'set', '"x"', 'k');
      await rt.settle();
      const [awk] = await rt.awaitedAwakeables(run);
      await rt.resolve(awk!);
      await rt.settle();
      expect(await rt.output(run)).toEqual({ before: null, after: 'x' });
    });
  });

  describe('ctx.run', () => {
    it('retries a failing step with backoff until it succeeds', async () => {
      let calls = 0;
      const rt = new MemoryRuntime([
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) =>
              ctx.run(
                'flaky',
                () => {
                  if (++calls < 3) throw new Error(`transient ${calls}`);
                  return 'ok';
                },
                { retry: { maxAttempts: 5, initialIntervalMs: 100, factor: 2 } },
              ),
          },
        }),
      ]);
      const started = rt.clock.now();
      const id = await rt.start('s', 'h');
      await rt.settle();
      expect(await rt.output(id)).toBe('ok');
      expect(calls).toBe(3);
      expect(rt.clock.now() - started).toBe(100 + 200);
    });

    it('ends in a terminal failure with the last error once attempts run out, journaled once', async () => {
      let calls = 0;
      const rt = new MemoryRuntime([
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              try {
                await ctx.run(
                  'always fails',
                  () => {
                    calls++;
                    throw new Error('boom');
                  },
                  { retry: { maxAttempts: 3, initialIntervalMs: 1 } },
                );
              } catch (e) {
                return (e as Error).message;
              }
            },
          },
        }),
      ]);
      const id = await rt.start('s', 'h');
      await rt.settle();
      expect(await rt.output(id)).toBe("step 'always fails' failed after 3 attempt(s): boom");
      expect(calls).toBe(3);
      const [entry] = await rt.journal(id);
      expect(entry?.failure?.message).toContain('boom');
    });

    it('never retries a TerminalError, and a TerminalError from the handler fails the invocation', async () => {
      let calls = 0;
      const rt = new MemoryRuntime([
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              await ctx.run('refuse', () => {
                calls++;
                throw new TerminalError('card declined', { code: 402 });
              });
            },
          },
        }),
      ]);
      const id = await rt.start('s', 'h');
      await rt.settle();
      await expect(rt.output(id)).rejects.toMatchObject({ failure: { code: 402, message: 'card declined', name: 'TerminalError' } });
      expect(calls).toBe(1);
      expect((await rt.status(id)).status).toBe('failed');
    });

    it('a retryable handler error backs off by a durable timer and then succeeds', async () => {
      let calls = 0;
      const rt = new MemoryRuntime([
        service({
          name: 's',
          handlers: {
            h: async () => {
              if (++calls === 1) throw new Error('database unavailable');
              return 'recovered';
            },
          },
        }),
      ]);
      const id = await rt.start('s', 'h');
      await rt.settle();
      const status = await rt.status(id);
      expect(status.status).toBe('backing-off');
      expect(status.lastFailure?.message).toBe('database unavailable');
      expect(Date.parse(status.nextRetryAt!)).toBe(rt.timers[0]!.timer.at);
      expect(rt.timers).toHaveLength(1);
      await rt.advance(1_000);
      expect(await rt.output(id)).toBe('recovered');
    });
  });

  describe('determinism', () => {
    it('rule 5: a changed call on replay stops with a NonDeterminismError naming both, journal untouched', async () => {
      let name = 'charge';
      const rt = new MemoryRuntime([
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              await ctx.run(name, () => 1);
              await ctx.awakeable().promise;
              await ctx.run('after', () => 2);
            },
          },
        }),
      ]);
      const id = await rt.start('s', 'h');
      await rt.settle();
      const before = await rt.journal(id);
      name = 'refund';
      const [awk] = await rt.awaitedAwakeables(id);
      await rt.resolve(awk!);
      await rt.settle();

      const last = rt.outcomes.at(-1)!;
      expect(last.kind).toBe('retrying');
      const failure = last.kind === 'retrying' ? last.failure : undefined;
      expect(failure?.name).toBe('NonDeterminismError');
      expect(failure?.message).toContain("journal has run 'charge', code called run 'refund'");
      expect(failure?.message).toContain(`invocation ${id} entry 0`);
      expect(await rt.journal(id)).toEqual(before);
      expect(new NonDeterminismError(id, 0, { kind: 'run', name: 'a' }, { kind: 'sleep' }).message).toContain("run 'a', code called sleep");
    });

    it('ctx.rand and ctx.date.now replay identically (always-replay mode)', async () => {
      const rt = new MemoryRuntime(
        [
          service({
            name: 's',
            handlers: {
              h: async (ctx: Context) => {
                const r = ctx.rand.random();
                const u = ctx.rand.uuidv4();
                const t = await ctx.date.now();
                const seen = await ctx.run('record', () => ({ r, u, t }));
                await ctx.sleep(1);
                return { same: seen.r === r && seen.u === u && seen.t === t, u };
              },
            },
          }),
        ],
        { alwaysReplay: true },
      );
      const id = await rt.start('s', 'h');
      await rt.settle();
      await rt.advance(1);
      const out = (await rt.output(id)) as { same: boolean; u: string };
      expect(out.same).toBe(true);
      expect(out.u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(rt.outcomes.filter((o) => o.kind === 'yielded').length).toBeGreaterThanOrEqual(3);
    });
  });

  describe('timers and combinators', () => {
    it('ctx.sleep suspends with a timer and resumes when it fires, even for 30 days', async () => {
      const rt = new MemoryRuntime([
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              await ctx.sleep(30 * 86_400_000);
              return 'woke';
            },
          },
        }),
      ]);
      const id = await rt.start('s', 'h');
      await rt.settle();
      expect((await rt.status(id)).awaiting[0]?.timerAt).toBeDefined();
      await rt.advance(30 * 86_400_000 - 1);
      expect((await rt.status(id)).status).toBe('suspended');
      await rt.advance(1);
      expect(await rt.output(id)).toBe('woke');
    });

    it('orTimeout rejects with TimeoutError when nobody resolves in time', async () => {
      const rt = new MemoryRuntime([
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              try {
                return await ctx.awakeable<string>().promise.orTimeout(60_000);
              } catch (e) {
                return e instanceof TimeoutError ? 'timed out' : 'other';
              }
            },
          },
        }),
      ]);
      const id = await rt.start('s', 'h');
      await rt.settle();
      await rt.advance(60_000);
      expect(await rt.output(id)).toBe('timed out');
    });

    it('orTimeout yields the value when resolved in time; the later timer wakes nobody', async () => {
      const rt = new MemoryRuntime([
        service({ name: 's', handlers: { h: async (ctx: Context) => ctx.awakeable<string>().promise.orTimeout(60_000) } }),
      ]);
      const id = await rt.start('s', 'h');
      await rt.settle();
      const [awk] = await rt.awaitedAwakeables(id);
      await rt.resolve(awk!, '"in time"');
      await rt.settle();
      expect(await rt.output(id)).toBe('in time');
      const attempts = rt.outcomes.length;
      await rt.advance(60_000);
      expect(rt.outcomes.length).toBe(attempts);
    });

    it('race, all, any and allSettled decide deterministically and replay from the journal', async () => {
      const rt = new MemoryRuntime(
        [
          service({
            name: 's',
            handlers: {
              h: async (ctx: Context) => {
                const a = ctx.awakeable<string>();
                const b = ctx.awakeable<string>();
                const c = ctx.awakeable<string>();
                await ctx.run('publish', () => [a.id, b.id, c.id]);
                const first = await ctx.race([a.promise, b.promise]);
                const both = await ctx.all([a.promise, b.promise]);
                const any = await ctx.any([c.promise, a.promise]);
                const settled = await ctx.allSettled([a.promise, c.promise]);
                return { first, both, any, settled: settled.map((s) => s.status) };
              },
            },
          }),
        ],
        { alwaysReplay: true },
      );
      const id = await rt.start('s', 'h');
      await rt.settle();
      const journal = await rt.journal(id);
      const ids = JSON.parse(journal.find((e) => e.kind === 'run')!.value!) as string[];
      await rt.resolve(ids[1]!, '"b"');
      await rt.settle();
      await rt.resolve(ids[0]!, '"a"');
      await rt.reject(ids[2]!, 'c failed');
      await rt.settle();
      expect(await rt.output(id)).toEqual({ first: 'b', both: ['a', 'b'], any: 'a', settled: ['fulfilled', 'rejected'] });
      const combinators = (await rt.journal(id)).filter((e) => e.kind === 'combinator');
      expect(combinators.map((e) => [e.name, e.settled])).toEqual([
        ['race', [1]],
        ['all', [0, 1]],
        ['any', [1]],
        ['allSettled', [0, 1]],
      ]);
    });

    it('race between an awakeable and a sleep: the timer wins when nobody answers', async () => {
      const rt = new MemoryRuntime([
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              const r = await ctx.race([ctx.awakeable<string>().promise, ctx.sleep(5_000).then(() => 'slept') as never]);
              return r;
            },
          },
        }),
      ]);
      // ctx.sleep(...).then() is a plain promise, not durable: combinators refuse it,
      // once and for good (a programming error; .map() is the durable way).
      const id = await rt.start('s', 'h');
      await rt.settle();
      const refused = rt.outcomes.at(-1);
      expect(refused?.kind).toBe('failed');
      expect(refused?.kind === 'failed' && refused.failure.message).toContain('ctx.race() at journal entry 2 takes durable promises');
      const rt2 = new MemoryRuntime([
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              const a = ctx.awakeable<string>();
              const s = ctx.sleep(5_000);
              const winner = await ctx.race([a.promise, s]);
              return winner ?? 'timer';
            },
          },
        }),
      ]);
      const id2 = await rt2.start('s', 'h');
      await rt2.settle();
      await rt2.advance(5_000);
      expect(await rt2.output(id2)).toBe('timer');
      void id;
    });
  });

  describe('state', () => {
    const ledger = object({
      name: 'ledger',
      handlers: {
        add: async (ctx: ObjectContext, n: number) => {
          const v = ((await ctx.get<number>('total')) ?? 0) + n;
          ctx.set('total', v);
          ctx.set('last', n);
          return v;
        },
        reset: async (ctx: ObjectContext) => {
          ctx.clear('last');
          const keys = await ctx.stateKeys();
          ctx.clearAll();
          return keys;
        },
        total: handlers.object.shared(async (ctx: ObjectSharedContext) => (await ctx.get<number>('total')) ?? 0),
        cheat: handlers.object.shared(async (ctx: ObjectSharedContext) => {
          (ctx as unknown as ObjectContext).set('total', 1_000_000);
        }),
      },
    });

    it('get/set/clear/clearAll/stateKeys persist per key and replay deterministically', async () => {
      const rt = new MemoryRuntime([ledger], { alwaysReplay: true });
      for (const n of [5, 7]) {
        await rt.start('ledger', 'add', String(n), 'alice');
        await rt.settle();
      }
      await rt.start('ledger', 'add', '100', 'bob');
      await rt.settle();
      const total = await rt.start('ledger', 'total', '', 'alice');
      await rt.settle();
      expect(await rt.output(total)).toBe(12);
      const reset = await rt.start('ledger', 'reset', '', 'alice');
      await rt.settle();
      expect(await rt.output(reset)).toEqual(['total']);
      const after = await rt.start('ledger', 'total', '', 'alice');
      const bob = await rt.start('ledger', 'total', '', 'bob');
      await rt.settle();
      expect(await rt.output(after)).toBe(0);
      expect(await rt.output(bob)).toBe(100);
    });

    it('shared handlers cannot write state', async () => {
      const rt = new MemoryRuntime([ledger]);
      const id = await rt.start('ledger', 'cheat', '', 'alice');
      await rt.settle();
      await expect(rt.output(id)).rejects.toMatchObject({
        failure: { code: 400, message: expect.stringContaining('not allowed in a shared handler') },
      });
    });
  });

  describe('serde', () => {
    it('uses a custom serde per call and JSON by default, with undefined round-tripping', async () => {
      // Dates travel as JSON strings, so the same serde reads an HTTP resolve body.
      const dates = {
        serialize: (d: Date) => JSON.stringify(d.toISOString()),
        deserialize: (s: string) => new Date(JSON.parse(s) as string),
      };
      const rt = new MemoryRuntime(
        [
          service({
            name: 's',
            handlers: {
              h: async (ctx: Context) => {
                const d = await ctx.run('date', () => new Date(Date.UTC(2030, 0, 2)), { serde: dates });
                const nothing = await ctx.run('nothing', () => undefined);
                const a = ctx.awakeable<Date>({ serde: dates });
                const resolved = await a.promise;
                return {
                  isDate: d instanceof Date && resolved instanceof Date,
                  year: d.getUTCFullYear(),
                  nothing: nothing === undefined,
                  resolved: resolved.toISOString(),
                };
              },
            },
          }),
        ],
        { alwaysReplay: true },
      );
      const id = await rt.start('s', 'h');
      await rt.settle();
      const [awk] = await rt.awaitedAwakeables(id);
      await rt.resolve(awk!, '"2031-05-06T00:00:00.000Z"');
      await rt.settle();
      expect(await rt.output(id)).toEqual({ isDate: true, year: 2030, nothing: true, resolved: '2031-05-06T00:00:00.000Z' });
      const journal = await rt.journal(id);
      expect(journal.find((e) => e.name === 'date')?.value).toBe('"2030-01-02T00:00:00.000Z"');
      expect(journal.find((e) => e.name === 'nothing')?.value).toBe('');
    });
  });
});
