/**
 * The runtime bugs the simulator found, each replayed as a scripted scenario
 * (independent of the simulator's PRNG, so they stay meaningful when the
 * simulator changes). The seeds that found them are kept in sim.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { object, service, workflow, type ObjectContext, type WorkflowContext, type WorkflowSharedContext } from 'dormant-lambda';
import { runAttempt, type ItemChange, type Store } from 'dormant-lambda/internal';
import { META, stateScope } from '../../src/store/keys.ts';
import { MemoryRuntime } from 'dormant-lambda/testing';

/** A view of `store` whose `op` calls wait until `open()`; `reached` resolves at the first such call. */
function gated(store: Store, op: keyof Store) {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const view = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      const method = (value as (...args: unknown[]) => unknown).bind(target);
      if (prop !== op) return method;
      return async (...args: unknown[]) => {
        reach();
        await opened;
        return method(...args);
      };
    },
  });
  return { store: view, reached, open };
}

/** A view of `store` whose `op` calls never return: the process died there. */
function dyingAt(store: Store, op: keyof Store): Store {
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === op) return () => new Promise<never>(() => undefined);
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
}

const LEASE = 60_000;

describe('simulator regressions', () => {
  describe('an invoke whose attempt died under a live lease (seeds 144, 14)', () => {
    const defs = [service({ name: 's', handlers: { h: async () => 'done' } })];

    it('fails the retried invoke while the lease runs, so Lambda retries it, and takes over after', async () => {
      // Prepare: an attempt acquired at epoch 0 and died (or its reply was lost)
      const rt = new MemoryRuntime(defs, { leaseMs: LEASE });
      const id = await rt.start('s', 'h');
      await rt.store.acquire(id, { seenEpoch: 0, now: rt.clock.now(), leaseMs: LEASE });

      // Act: Lambda's retry of the same invoke, a minute later but inside the lease
      rt.clock.advance(LEASE / 2);
      const retry = runAttempt(rt.deps, { invocationId: id, epoch: 0 });

      // Assess: an error (Lambda retries, then recovery re-checks), not a quiet skip
      await expect(retry).rejects.toMatchObject({ name: 'LeaseHeldError', invocationId: id });
      rt.clock.advance(LEASE);
      expect((await runAttempt(rt.deps, { invocationId: id, epoch: 0 })).kind).toBe('completed');
      // A duplicate of an invoke that has nothing left to do is still skipped quietly.
      expect((await runAttempt(rt.deps, { invocationId: id, epoch: 0 })).kind).toBe('skipped');
    });

    it('with invoke ids: a second wake of the same epoch stops at once; only the lease holder’s own retry waits it out', async () => {
      // Prepare: the direct wake's invoke A acquired epoch 0 and runs (or died holding the lease)
      const rt = new MemoryRuntime(defs, { leaseMs: LEASE });
      const id = await rt.start('s', 'h');
      const held = await rt.store.acquire(id, { seenEpoch: 0, now: rt.clock.now(), leaseMs: LEASE, invokeId: 'A' });
      expect(held?.invokeId).toBe('A');

      // Act / Assess: the stream's invoke B of the same epoch is a duplicate wake: skipped, no error for Lambda to retry
      const duplicate = await runAttempt(rt.deps, { invocationId: id, epoch: 0, invokeId: 'B' });
      expect(duplicate).toMatchObject({ kind: 'skipped', reason: expect.stringContaining('another invoke') });
      // A's own retry (same payload, same id) and an invoke of an earlier release (no id) wait the lease out
      await expect(runAttempt(rt.deps, { invocationId: id, epoch: 0, invokeId: 'A' })).rejects.toMatchObject({ name: 'LeaseHeldError' });
      await expect(runAttempt(rt.deps, { invocationId: id, epoch: 0 })).rejects.toMatchObject({ name: 'LeaseHeldError' });
      // After the lease anyone takes over, and its id replaces A's
      rt.clock.advance(LEASE + 1);
      expect((await runAttempt(rt.deps, { invocationId: id, epoch: 0, invokeId: 'B' })).kind).toBe('completed');
    });

    it('rule 13: a lease taken by an invoke without an id (an earlier release) is waited out by every invoke', async () => {
      const rt = new MemoryRuntime(defs, { leaseMs: LEASE });
      const id = await rt.start('s', 'h');
      await rt.store.acquire(id, { seenEpoch: 0, now: rt.clock.now(), leaseMs: LEASE });
      expect((await rt.store.getInvocation(id))?.invokeId).toBeUndefined();
      await expect(runAttempt(rt.deps, { invocationId: id, epoch: 0, invokeId: 'B' })).rejects.toMatchObject({ name: 'LeaseHeldError' });
    });

    it('judges the lease at the acquire, not at the read after it', async () => {
      const rt = new MemoryRuntime(defs, { leaseMs: LEASE });
      const id = await rt.start('s', 'h');
      await rt.store.acquire(id, { seenEpoch: 0, now: rt.clock.now(), leaseMs: LEASE });
      rt.clock.advance(LEASE - 1);
      // The lease runs out between the lost acquire and the read of meta.
      const slow = new Proxy(rt.store, {
        get(target, prop) {
          const value = Reflect.get(target, prop) as (...args: unknown[]) => unknown;
          if (prop !== 'getInvocation') return typeof value === 'function' ? value.bind(target) : value;
          return (...args: unknown[]) => {
            rt.clock.advance(10);
            return value.apply(target, args);
          };
        },
      });
      await expect(runAttempt({ ...rt.deps, store: slow }, { invocationId: id, epoch: 0 })).rejects.toMatchObject({
        name: 'LeaseHeldError',
      });
    });
  });

  it('a late duplicate of a finished exclusive call’s first record does not hold its key forever (seed 97)', async () => {
    // Prepare: one call on the key runs and finishes; keep its first stream record
    const counter = object({
      name: 'counter',
      handlers: {
        add: async (ctx: ObjectContext, n: number) => {
          const v = ((await ctx.get<number>('n')) ?? 0) + n;
          ctx.set('n', v);
          return v;
        },
      },
    });
    const rt = new MemoryRuntime([counter]);
    const first = await rt.start('counter', 'add', '1', 'k');
    const born = rt.changes.find((c) => c.sk === META && c.eventName === 'INSERT') as ItemChange;
    await rt.settle();
    expect(await rt.output(first)).toBe(1);

    // Act: the stream delivers that record again (a retried batch), then a second call arrives
    rt.changes.push(structuredClone(born));
    await rt.settle();
    const second = await rt.start('counter', 'add', '2', 'k');
    await rt.settle();

    // Assess: the key is not held by the finished call
    expect(await rt.output(second)).toBe(3);
    expect((await rt.store.readLock(stateScope('counter', 'k')))?.holder).toBeUndefined();
  });

  describe('workflows', () => {
    const flow = workflow({
      name: 'flow',
      handlers: {
        run: async (ctx: WorkflowContext) => {
          ctx.set('stage', 'waiting');
          const v = await ctx.promise<string>('approval').get();
          ctx.set('stage', v);
          return v;
        },
        approve: async (ctx: WorkflowSharedContext, v: string) => {
          try {
            await ctx.promise<string>('approval').resolve(v);
            return 'won';
          } catch (e) {
            return `lost:${(e as { code?: number }).code}`;
          }
        },
      },
    });

    it('a newer attempt re-running an entry a zombie journaled does not roll state back (seed 233)', async () => {
      // Prepare: the promise is resolved before run starts
      const rt = new MemoryRuntime([flow], { leaseMs: 1_000 });
      await rt.start('flow', 'approve', '"ok"', 'k');
      await rt.settle();
      const id = await rt.start('flow', 'run', '', 'k');

      // Act: attempt 1 stalls before its first state write; past its lease attempt 2 takes over and stalls too
      const one = gated(rt.store, 'readState');
      const zombie = runAttempt({ ...rt.deps, store: one.store }, { invocationId: id, epoch: 0 });
      await one.reached;
      rt.clock.advance(2_000);
      const two = gated(rt.store, 'readState');
      const newer = runAttempt({ ...rt.deps, store: two.store, leaseMs: LEASE }, { invocationId: id, epoch: 0 });
      await two.reached;
      one.open(); // the zombie journals set(waiting) and set(ok), then loses its finish
      expect((await zombie).kind).toBe('lost');
      two.open(); // the newer attempt re-runs set(waiting) for entry 0
      await newer;
      await rt.settle();
      await rt.advance(60_000);

      // Assess: state agrees with the journal and the output
      expect(await rt.output(id)).toBe('ok');
      expect((await rt.store.readState(stateScope('flow', 'k'))).get('stage')).toBe('"ok"');
    });

    it('an approver that crashed between writing the promise and journaling it is still told it won (seed 148)', async () => {
      // Prepare
      const rt = new MemoryRuntime([flow], { leaseMs: 1_000 });
      const approver = await rt.start('flow', 'approve', '"yes"', 'k');

      // Act: the first attempt writes P#approval and dies before its journal entry
      void runAttempt({ ...rt.deps, store: dyingAt(rt.store, 'append') }, { invocationId: approver, epoch: 0 });
      for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
      rt.clock.advance(2_000);
      const retried = await runAttempt(rt.deps, { invocationId: approver, epoch: 0 });

      // Assess: its own write is not a lost race
      expect(retried.kind).toBe('completed');
      expect(await rt.output(approver)).toBe('won');
    });
  });
});
