/**
 * An attempt's ending is a store write (suspend, finish, release) like any
 * other, and it can fail. A failure must reject `runAttempt` at once, so that
 * Lambda fails the invoke and retries it, instead of leaving the attempt
 * pending until the Lambda timeout; and the next attempt must carry on from
 * the journal as if nothing had happened.
 *
 * Every test has a short timeout: a hung attempt fails it.
 */
import { describe, expect, it } from 'vitest';
import { object, service, type Context, type AnyDefinition, type ObjectContext } from 'dormant-lambda';
import { runAttempt } from 'dormant-lambda/internal';
import { MemoryRuntime } from 'dormant-lambda/testing';
import { StoreFaults } from '../support/store-faults.ts';

const HANG = { timeout: 3_000 };

/** A runtime whose attempts (not its ingress or wake) go through a store with faults. */
function faultyRuntime(definitions: AnyDefinition[], options: ConstructorParameters<typeof MemoryRuntime>[1] = {}) {
  const rt = new MemoryRuntime(definitions, options);
  const faults = new StoreFaults(rt.store);
  rt.deps.store = faults.store;
  return { rt, faults };
}

/** A review: an awakeable whose id leaves through a step, then a step after the wait. */
function review(runs: { notify: number; archive: number }) {
  return service({
    name: 'review',
    handlers: {
      request: async (ctx: Context, doc: string) => {
        const { id, promise } = ctx.awakeable<string>();
        await ctx.run('notify reviewer', () => {
          runs.notify++;
          return id;
        });
        const verdict = await promise;
        await ctx.run('archive', () => {
          runs.archive++;
        });
        return `${doc}: ${verdict}`;
      },
    },
  });
}

describe('attempt endings that fail in the store', () => {
  it(
    'a suspend that throws rejects runAttempt, naming the invocation and its wait; the next attempt suspends and completes, each step once',
    HANG,
    async () => {
      // Prepare
      const runs = { notify: 0, archive: 0 };
      const { rt, faults } = faultyRuntime([review(runs)]);
      faults.fail('suspend');
      const id = await rt.start('review', 'request', '"doc-1"');

      // Act
      const first = rt.settle();

      // Assess: a prompt rejection that says what failed and what happens next
      await expect(first).rejects.toMatchObject({ name: 'AttemptInterruptedError', invocationId: id, handedBack: true });
      await expect(first).rejects.toThrow(
        new RegExp(`invocation ${id}: .*suspending on C#00000000.*ProvisionedThroughputExceeded.*handed back as pending`),
      );
      expect((await rt.status(id)).status).toBe('pending');

      await rt.settle();
      expect((await rt.status(id)).status).toBe('suspended');
      const [awk] = await rt.awaitedAwakeables(id);
      await rt.resolve(awk!, '"approved"');
      await rt.settle();
      expect(await rt.output(id)).toBe('doc-1: approved');
      expect(runs).toEqual({ notify: 1, archive: 1 });
      expect((await rt.journal(id)).map((e) => [e.index, e.kind, e.name])).toEqual([
        [0, 'awakeable', undefined],
        [1, 'run', 'notify reviewer'],
        [2, 'run', 'archive'],
      ]);
    },
  );

  it(
    'a finish that throws rejects runAttempt; the next attempt replays the journal and completes without re-running a step',
    HANG,
    async () => {
      const runs = { notify: 0, archive: 0 };
      const { rt, faults } = faultyRuntime([review(runs)]);
      const id = await rt.start('review', 'request', '"doc-2"');
      await rt.settle();
      const [awk] = await rt.awaitedAwakeables(id);
      await rt.resolve(awk!, '"approved"');
      faults.fail('finish');

      await expect(rt.settle()).rejects.toThrow(new RegExp(`invocation ${id}: .*recording its output`));
      expect((await rt.status(id)).status).toBe('pending');

      await rt.settle();
      expect(await rt.output(id)).toBe('doc-2: approved');
      expect(runs).toEqual({ notify: 1, archive: 1 });
      expect((await rt.journal(id)).map((e) => e.kind)).toEqual(['awakeable', 'run', 'run']);
    },
  );

  it(
    'an append that throws mid-handler rejects at once; only the step whose result was not journaled runs again, and no retry is charged',
    HANG,
    async () => {
      const bodies: string[] = [];
      const { rt, faults } = faultyRuntime([
        service({
          name: 's',
          handlers: {
            h: async (ctx: Context) => {
              const a = await ctx.run('a', () => (bodies.push('a'), 1));
              const b = await ctx.run('b', () => (bodies.push('b'), 2));
              const c = await ctx.run('c', () => (bodies.push('c'), 3));
              return a + b + c;
            },
          },
        }),
      ]);
      faults.fail('append', { when: (_id, entry) => entry.index === 1 });
      const id = await rt.start('s', 'h');

      await expect(rt.settle()).rejects.toThrow(new RegExp(`invocation ${id}: .*journaling entry 1 \\(run 'b'\\)`));
      expect(bodies).toEqual(['a', 'b']); // step c never started on an unjournaled b

      await rt.settle();
      expect(await rt.output(id)).toBe(6);
      expect(bodies).toEqual(['a', 'b', 'b', 'c']);
      expect((await rt.journal(id)).map((e) => e.name)).toEqual(['a', 'b', 'c']);
      // A store failure is not the handler's failure: no invocation retry was spent on it.
      const meta = await rt.store.getInvocation(id);
      expect(meta?.retries).toBeUndefined();
      expect(meta?.lastFailure).toBeUndefined();
    },
  );

  it('a poll while lingering that throws rejects, naming the poll; the next attempt suspends and completes', HANG, async () => {
    // Prepare: attempts linger before suspending, and the first poll fails
    const runs = { notify: 0, archive: 0 };
    const { rt, faults } = faultyRuntime([review(runs)], { lingerMs: 300 });
    faults.fail('existingCompletions');
    const id = await rt.start('review', 'request', '"doc-3"');

    // Act
    const first = rt.settle();

    // Assess: the error says the attempt was polling, not which store call it was
    await expect(first).rejects.toThrow(
      new RegExp(`invocation ${id}: the store failed while polling C#00000000, C#cancel before suspending .*handed back as pending`),
    );
    await rt.settle();
    expect((await rt.status(id)).status).toBe('suspended');
    await rt.resolve((await rt.awaitedAwakeables(id))[0]!, '"approved"');
    await rt.settle();
    expect(await rt.output(id)).toBe('doc-3: approved');
    expect(runs).toEqual({ notify: 1, archive: 1 });
  });

  it("a step's long-backoff suspend that throws rejects, naming the step; the next attempt retries it", HANG, async () => {
    let calls = 0;
    const { rt, faults } = faultyRuntime([
      service({
        name: 's',
        handlers: {
          h: async (ctx: Context) =>
            ctx.run(
              'call partner',
              () => {
                if (++calls < 2) throw new Error('partner down');
                return 'up';
              },
              { retry: { initialIntervalMs: 60_000 } },
            ),
        },
      }),
    ]);
    faults.fail('suspend');
    const id = await rt.start('s', 'h');

    await expect(rt.settle()).rejects.toThrow(new RegExp(`invocation ${id}: .*step 'call partner' \\(entry 0\\).*C#t00000000\\.0001\\.`));

    await rt.settle();
    expect(await rt.output(id)).toBe('up');
    expect(calls).toBe(2);
  });

  it('a retry-timer suspend after a handler error that throws rejects, naming the handler error', HANG, async () => {
    let calls = 0;
    const { rt, faults } = faultyRuntime([
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
    faults.fail('suspend');
    const id = await rt.start('s', 'h');

    await expect(rt.settle()).rejects.toThrow(new RegExp(`invocation ${id}: .*scheduling retry 1 .*database unavailable`));
    await rt.settle();
    expect(await rt.output(id)).toBe('recovered');
  });

  it('a non-determinism ending whose suspend throws rejects instead of hanging', HANG, async () => {
    let name = 'charge';
    const { rt, faults } = faultyRuntime([
      service({
        name: 's',
        handlers: {
          h: async (ctx: Context) => {
            await ctx.run(name, () => 1);
            await ctx.awakeable().promise;
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
    faults.fail('suspend');

    await expect(rt.settle()).rejects.toMatchObject({ name: 'AttemptInterruptedError', invocationId: id });
    expect(await rt.journal(id)).toEqual(before);
  });

  it('an always-replay hand-on whose release throws rejects', HANG, async () => {
    const { rt, faults } = faultyRuntime(
      [service({ name: 's', handlers: { h: async (ctx: Context) => (await ctx.run('a', () => 1)) + (await ctx.run('b', () => 2)) } })],
      { alwaysReplay: true },
    );
    faults.fail('release');
    const id = await rt.start('s', 'h');

    // The hand-on and the hand-back after it both need `release`: the second one works.
    await expect(rt.settle()).rejects.toThrow(new RegExp(`invocation ${id}: .*handing the invocation on`));
    await rt.settle();
    expect(await rt.output(id)).toBe(3);
  });

  it('an exclusive call whose suspend on its object key throws rejects, and is handed back', HANG, async () => {
    const { rt, faults } = faultyRuntime([
      object({
        name: 'counter',
        handlers: {
          add: async (ctx: ObjectContext, n: number) => {
            const v = ((await ctx.get<number>('n')) ?? 0) + n;
            ctx.set('n', v);
            return v;
          },
        },
      }),
    ]);
    faults.fail('suspend', { when: (_id, o) => o.awaiting.includes('C#lock') });
    const id = await rt.start('counter', 'add', '2', 'k');

    // Woken before the grant (a duplicate or stray invoke): it suspends on the key again, and that write fails.
    await expect(runAttempt(rt.deps, { invocationId: id, epoch: 0 })).rejects.toThrow(
      new RegExp(`invocation ${id}: .*its object key \\(C#lock\\)`),
    );
    expect((await rt.status(id)).status).toBe('pending');
    await rt.settle();
    expect(await rt.output(id)).toBe(2);
  });

  it('a suspend that landed but lost its reply rejects saying the attempt already ended it, not that it stays running', HANG, async () => {
    const runs = { notify: 0, archive: 0 };
    const { rt, faults } = faultyRuntime([review(runs)]);
    faults.fail('suspend', { landed: true });
    const id = await rt.start('review', 'request', '"doc-4"');

    await expect(rt.settle()).rejects.toMatchObject({
      name: 'AttemptInterruptedError',
      handedBack: false,
      found: { status: 'suspended', epoch: 1, newer: false },
      message: expect.stringMatching(/own ending had landed after all \(it is suspended\), so nothing of this attempt is left running/),
    });

    // The suspension stands: a resolve carries it on, each step once.
    const [awk] = await rt.awaitedAwakeables(id);
    await rt.resolve(awk!, '"approved"');
    await rt.settle();
    expect(await rt.output(id)).toBe('doc-4: approved');
    expect(runs).toEqual({ notify: 1, archive: 1 });
  });

  it('when the store cannot take the invocation back either, the error says so and the lease lets the next attempt in', HANG, async () => {
    const runs = { notify: 0, archive: 0 };
    const { rt, faults } = faultyRuntime([review(runs)], { leaseMs: 60_000 });
    faults.fail('suspend');
    faults.fail('release');
    const id = await rt.start('review', 'request', '"doc-3"');

    await expect(rt.settle()).rejects.toMatchObject({
      name: 'AttemptInterruptedError',
      handedBack: false,
      message: expect.stringMatching(/stays running until its lease ends/),
    });
    expect((await rt.status(id)).status).toBe('running');

    // Lambda's retry (or the on-failure recovery) after the lease takes over.
    rt.clock.advance(60_001);
    await expect(runAttempt(rt.deps, { invocationId: id, epoch: 0 })).resolves.toMatchObject({ kind: 'suspended' });
    expect(runs.notify).toBe(1);
  });
});
