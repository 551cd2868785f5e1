/**
 * Restate's call shapes on the engine: unnamed steps, Restate's run options,
 * durations, `ctx.console`, `null` for missing state, and programming
 * errors that fail the invocation once with a message naming the call and
 * its journal position.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TerminalError, object, service, type Context, type ObjectContext } from 'dormant-lambda';
import { completionKey, journalSk } from '../../src/store/keys.ts';
import { MemoryRuntime } from 'dormant-lambda/testing';

describe("Restate's call shapes", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  describe('ctx.run without a name', () => {
    it('runs ctx.run(fn) and ctx.run(fn, options) to completion, each step once, journaled without a name', async () => {
      // Prepare
      const bodies: string[] = [];
      const rt = new MemoryRuntime(
        [
          service({
            name: 's',
            handlers: {
              h: async (ctx: Context) => {
                const a = await ctx.run(() => {
                  bodies.push('a');
                  return 1;
                });
                const b = await ctx.run(
                  async () => {
                    bodies.push('b');
                    return a + 1;
                  },
                  { maxRetryAttempts: 3 },
                );
                const c = await ctx.run('named', () => {
                  bodies.push('c');
                  return b + 1;
                });
                return [a, b, c];
              },
            },
          }),
        ],
        { alwaysReplay: true },
      );

      // Act
      const id = await rt.start('s', 'h');
      await rt.settle();

      // Assess: always-replay mode replayed every entry, yet each body ran once
      expect(await rt.output(id)).toEqual([1, 2, 3]);
      expect(bodies).toEqual(['a', 'b', 'c']);
      const journal = await rt.journal(id);
      expect(journal.map((e) => [e.kind, e.name])).toEqual([
        ['run', undefined],
        ['run', undefined],
        ['run', 'named'],
      ]);
    });

    it('replays a journal written by named steps, and refuses an unnamed step where the journal has a named one', async () => {
      // Prepare: a journal as today's code writes it (named steps), suspended on an awakeable.
      let unnamed = false;
      const rt = new MemoryRuntime([
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              const a = unnamed ? await ctx.run(() => 'new') : await ctx.run('first', () => 'old');
              await ctx.awakeable().promise;
              return a;
            },
          },
        }),
      ]);
      const id = await rt.start('s', 'h');
      await rt.settle();
      expect((await rt.journal(id)).map((e) => [e.kind, e.name])).toEqual([
        ['run', 'first'],
        ['awakeable', undefined],
      ]);
      const [awakeable] = await rt.awaitedAwakeables(id);

      // Act: the code changed to an unnamed step at the same position
      unnamed = true;
      await rt.resolve(awakeable!);
      await rt.settle();

      // Assess: a NonDeterminismError naming both; the journal is untouched
      const last = rt.outcomes.at(-1)!;
      expect(last.kind).toBe('retrying');
      expect(last.kind === 'retrying' && last.failure.message).toContain("journal has run 'first', code called an unnamed run");
      expect((await rt.journal(id)).map((e) => e.name)).toEqual(['first', undefined]);

      // Act: the named code is back: the old journal replays to the end
      unnamed = false;
      await rt.advance(60_000);
      expect(await rt.output(id)).toBe('old');
    });

    it('replays a journal as the previous release wrote it, items put in place by hand', async () => {
      // Prepare: entries and a completion in the item shapes of the release before this one
      const bodies: string[] = [];
      const rt = new MemoryRuntime([
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              const charged = await ctx.run('charge', () => void bodies.push('charge'));
              const verdict = await ctx.awakeable<string>().promise;
              const more = await ctx.run(() => {
                bodies.push('unnamed');
                return 'new step';
              });
              return { charged, verdict, more };
            },
          },
        }),
      ]);
      const id = await rt.start('s', 'h');
      expect(await rt.store.append(id, { index: 0, kind: 'run', name: 'charge', value: '"charged before"' })).toBe(true);
      expect(await rt.store.append(id, { index: 1, kind: 'awakeable', id: rt.signer.awakeableId(id, 1) })).toBe(true);
      await rt.store.complete(id, { key: completionKey(1), value: '"approved"', at: rt.clock.now() });

      // Act
      await rt.settle();

      // Assess: the recorded step did not run again; the new one, past the journal, did
      expect(await rt.output(id)).toEqual({ charged: 'charged before', verdict: 'approved', more: 'new step' });
      expect(bodies).toEqual(['unnamed']);
      expect((await rt.journal(id)).map((e) => [e.index, e.kind, e.name])).toEqual([
        [0, 'run', 'charge'],
        [1, 'awakeable', undefined],
        [2, 'run', undefined],
      ]);
    });

    it('takes the step result from the journal on replay, whatever the body would return now', async () => {
      // Prepare: an entry written before this release, unnamed steps being new, read back by position
      let value = 'first';
      const rt = new MemoryRuntime([
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              const v = await ctx.run(() => value);
              await ctx.awakeable().promise;
              return v;
            },
          },
        }),
      ]);
      const id = await rt.start('s', 'h');
      await rt.settle();
      const stored = rt.store.items().find((i) => i.pk === `I#${id}` && i.sk === journalSk(0));
      expect(stored).toMatchObject({ kind: 'run', value: '"first"' });
      expect(stored).not.toHaveProperty('name');

      // Act
      value = 'second';
      await rt.resolve((await rt.awaitedAwakeables(id))[0]!);
      await rt.settle();

      // Assess
      expect(await rt.output(id)).toBe('first');
    });

    it("honours Restate's flat retry options: gives up after maxRetryAttempts with a TerminalError", async () => {
      // Prepare
      let attempts = 0;
      const rt = new MemoryRuntime([
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              try {
                await ctx.run(
                  () => {
                    attempts++;
                    throw new Error('down');
                  },
                  { maxRetryAttempts: 3, initialRetryInterval: { milliseconds: 10 }, retryIntervalFactor: 1 },
                );
              } catch (e) {
                return `${(e as Error).name}: ${(e as Error).message}`;
              }
            },
          },
        }),
      ]);

      // Act
      const id = await rt.start('s', 'h');
      await rt.settle();

      // Assess
      expect(attempts).toBe(3);
      expect(await rt.output(id)).toBe('TerminalError: step at entry 0 failed after 3 attempt(s): down');
    });
  });

  describe('programming errors fail once, clearly', () => {
    const failing = (body: (ctx: ObjectContext) => Promise<unknown>) =>
      new MemoryRuntime([object({ name: 'o', handlers: { h: async (ctx: ObjectContext) => body(ctx) } })]);

    it.each([
      [
        'a step without a body',
        async (ctx: ObjectContext) => (ctx.run as unknown as (n: string) => Promise<unknown>)('charge'),
        'ctx.run at journal entry 0 of o.h (invocation',
        'the step body must be a function: ctx.run(name, fn), got undefined',
      ],
      [
        'a number where the step belongs',
        async (ctx: ObjectContext) => {
          await ctx.run('one', () => 1);
          return (ctx.run as unknown as (n: number) => Promise<unknown>)(42);
        },
        'ctx.run at journal entry 1 of o.h',
        'got a first argument 42',
      ],
      [
        'a value JSON cannot hold',
        async (ctx: ObjectContext) => ctx.set('n', 10n),
        "ctx.set('n') at journal entry 0 of o.h",
        'the value could not be serialized',
      ],
      [
        'a state name that is not a string',
        async (ctx: ObjectContext) => ctx.get(7 as unknown as string),
        'ctx.get at journal entry 0 of o.h',
        'the state name must be a string, got 7',
      ],
      [
        'a duration in words',
        async (ctx: ObjectContext) => ctx.sleep('5s' as unknown as number),
        'ctx.sleep at journal entry 0 of invocation',
        'expected milliseconds or { days, hours, minutes, seconds, milliseconds }, got "5s"',
      ],
      [
        'a step whose result JSON cannot hold',
        async (ctx: ObjectContext) => ctx.run('big', () => 10n),
        "ctx.run 'big' (entry 0) of invocation",
        'its result could not be serialized',
      ],
    ])('%s: the invocation fails at once, naming the call and its position', async (_what, body, where, problem) => {
      // Prepare
      const rt = failing(body);

      // Act
      const id = await rt.start('o', 'h', '', 'k');
      await rt.settle();
      await rt.advance(3_600_000); // any retry timer would have fired by now

      // Assess: one attempt, failed for good (no retry scheduled), with a message that says where
      expect(rt.outcomes.filter((o) => o.invocationId === id).map((o) => o.kind)).toEqual(['failed']);
      const failure = (await rt.status(id)).failure;
      expect(failure?.name).toBe('TerminalError');
      expect(failure?.code).toBe(400);
      expect(failure?.message).toContain(where);
      expect(failure?.message).toContain(problem);
    });
  });

  describe('durations', () => {
    it('sleeps for a duration object, and times out after one', async () => {
      // Prepare
      const rt = new MemoryRuntime([
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              const start = await ctx.date.now();
              await ctx.sleep({ minutes: 1, seconds: 30 });
              const slept = (await ctx.date.now()) - start;
              const late = await ctx
                .awakeable<string>()
                .promise.orTimeout({ hours: 1 })
                .catch((e: unknown) => (e as Error).name);
              return { slept, late };
            },
          },
        }),
      ]);
      const id = await rt.start('s', 'h');
      await rt.settle();
      expect(rt.timers.map((t) => t.timer.at - rt.clock.now())).toEqual([90_000]);

      // Act
      await rt.advance(90_000);
      expect(rt.timers.map((t) => t.timer.at - rt.clock.now())).toEqual([3_600_000]);
      await rt.advance(3_600_000);

      // Assess
      expect(await rt.output(id)).toEqual({ slept: 90_000, late: 'TimeoutError' });
    });

    it('delays a send by a duration object', async () => {
      // Prepare
      const target = service({ name: 'target', handlers: { hit: async (_ctx: Context, n: number) => n } });
      const rt = new MemoryRuntime([
        target,
        service({
          name: 's',
          handlers: { h: async (ctx: Context) => void ctx.serviceSendClient(target, { delay: { seconds: 5 } }).hit(1) },
        }),
      ]);

      // Act
      await rt.start('s', 'h');
      await rt.settle();

      // Assess: the callee waits on its start timer, 5 s out
      expect(rt.timers.map((t) => [t.timer.key, t.timer.at - rt.clock.now()])).toEqual([['C#start', 5_000]]);
    });
  });

  it('ctx.console prints new work once, and nothing while replaying', async () => {
    // Prepare
    const lines: unknown[][] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args));
    const rt = new MemoryRuntime([
      service({
        name: 's',
        handlers: {
          h: async (ctx: Context) => {
            ctx.console.log('before %s', 'waiting');
            await ctx.awakeable().promise;
            ctx.console.log('after');
          },
        },
      }),
    ]);
    const id = await rt.start('s', 'h');
    await rt.settle();

    // Act: the second attempt replays the awakeable, then carries on
    await rt.resolve((await rt.awaitedAwakeables(id))[0]!);
    await rt.settle();

    // Assess
    expect(rt.outcomes.map((o) => o.kind)).toEqual(['suspended', 'completed']);
    expect(lines).toEqual([[`[s/h][${id}] before %s`, 'waiting'], [`[s/h][${id}] after`]]);
  });

  it('reads a missing state value as null, as Restate does', async () => {
    // Prepare
    const rt = new MemoryRuntime([
      object({
        name: 'o',
        handlers: { h: async (ctx: ObjectContext) => ({ missing: await ctx.get('nothing'), isNull: (await ctx.get('nothing')) === null }) },
      }),
    ]);

    // Act
    const id = await rt.start('o', 'h', '', 'k');
    await rt.settle();

    // Assess
    expect(await rt.output(id)).toEqual({ missing: null, isNull: true });
  });

  it('TerminalError takes Restate’s errorCode', () => {
    expect(new TerminalError('gone', { errorCode: 410 }).code).toBe(410);
  });
});
