/**
 * Rule 1 (append-only journal, one writer) and rule 4 (duplicate invokes are
 * harmless): two attempts of one invocation, and a zombie attempt (its lease
 * taken over by a newer one) that wakes up and tries to append, suspend,
 * finish or write state. Each interleaving is fixed by gates on the store.
 */
import { describe, expect, it } from 'vitest';
import { service, workflow, type Context, type WorkflowContext } from '../../src/index.ts';
import { runAttempt, startInvocation, type AttemptDeps } from '../../src/internal.ts';
import { stateScope } from '../../src/store/keys.ts';
import type { JournalEntry, Store } from '../../src/store/store.ts';
import { BACKENDS, Gates, attempt, useBackend } from './support.ts';

const LEASE_MS = 60_000;

/** Step bodies that ran, by invocation, with the attempt (epoch) that ran them. */
const bodies = new Map<string, string[]>();
function ran(ctx: Context, step: string): void {
  const { id, attempt } = ctx.request();
  bodies.set(id, [...(bodies.get(id) ?? []), `${step}@${attempt}`]);
}

const pipeline = service({
  name: 'pipeline',
  handlers: {
    /** Two steps, then done. */
    steps: async (ctx: Context) => {
      const a = await ctx.run('first', () => (ran(ctx, 'first'), `first by ${ctx.request().attempt}`));
      const b = await ctx.run('second', () => (ran(ctx, 'second'), `second by ${ctx.request().attempt}`));
      return [a, b];
    },
    /** One step, then waits for an awakeable nobody resolves. */
    waits: async (ctx: Context) => {
      const { promise } = ctx.awakeable<string>();
      await ctx.run('notify', () => (ran(ctx, 'notify'), 'sent'));
      return promise;
    },
  },
});

const ledger = workflow({
  name: 'ledger',
  handlers: {
    /** Writes which attempt it is into state; a zombie's write must not win. */
    run: async (ctx: WorkflowContext) => {
      const n = await ctx.run('compute', () => (ran(ctx, 'compute'), 42));
      ctx.set('total', n);
      ctx.set('writer', ctx.request().attempt);
      return n;
    },
  },
});

describe.each(BACKENDS)('rules 1 and 4 on $label: attempts race', ({ open }) => {
  const rt = useBackend(open, [pipeline, ledger], { leaseMs: LEASE_MS });

  async function start(handler: 'steps' | 'waits'): Promise<string> {
    return (await startInvocation(rt.ingress, { service: 'pipeline', handler, body: '' })).invocationId;
  }

  /** Deps whose store calls pass through gates. */
  function gated(): { gates: Gates<Store>; deps: AttemptDeps } {
    const gates = new Gates<Store>(rt.backend.store);
    return { gates, deps: { ...rt.deps, store: gates.store } };
  }

  it('rule 4: two attempts of one invoke (a Lambda retry) acquire at once: one runs, the other stops after one write', async () => {
    // Prepare
    const id = await start('steps');
    const a = gated();
    const b = gated();
    const acquireA = a.gates.hold('acquire');
    const acquireB = b.gates.hold('acquire');
    const outcomes = Promise.all([attempt(a.deps, { invocationId: id, epoch: 0 }), attempt(b.deps, { invocationId: id, epoch: 0 })]);
    await Promise.all([acquireA.reached, acquireB.reached]);

    // Act
    acquireA.open();
    acquireB.open();

    // Assess: the loser met a live lease and failed the invoke (Lambda retries
    // it), or met the finished invocation and was skipped; its retry is skipped.
    const kinds = (await outcomes).map((o) => o.kind).sort();
    expect(kinds[0]).toBe('completed');
    expect(['lease-held', 'skipped']).toContain(kinds[1]);
    await expect(attempt(rt.deps, { invocationId: id, epoch: 0 })).resolves.toMatchObject({ kind: 'skipped' });
    expect(bodies.get(id)).toEqual(['first@1', 'second@1']);
    expect((await rt.backend.store.load(id)).journal.size).toBe(2);
  });

  it('rule 1: a zombie that loses its append stops: no later step runs, and it neither finishes nor suspends', async () => {
    // Prepare: attempt 1 ran `first` and is about to append it when it stalls.
    const id = await start('steps');
    const zombie = gated();
    const append = zombie.gates.hold('append', (_id: string, e: JournalEntry) => e.index === 0);
    const stalled = runAttempt(zombie.deps, { invocationId: id, epoch: 0 });
    await append.reached;

    // Act: its lease runs out; a recovery attempt takes over and completes; then the zombie resumes.
    rt.clock.advance(LEASE_MS + 1);
    const fresh = await runAttempt(rt.deps, { invocationId: id, epoch: 0 });
    append.open();
    const late = await stalled;

    // Assess
    expect(fresh).toEqual({ kind: 'completed', invocationId: id, output: JSON.stringify(['first by 2', 'second by 2']) });
    expect(late.kind).toBe('lost');
    expect(bodies.get(id)).toEqual(['first@1', 'first@2', 'second@2']); // the zombie never reached `second`
    const meta = await rt.backend.store.getInvocation(id);
    expect(meta).toMatchObject({ status: 'completed', epoch: 2, output: JSON.stringify(['first by 2', 'second by 2']) });
    expect((await rt.backend.store.load(id)).journal.get(0)?.value).toBe('"first by 2"');
  });

  it("rule 1: a zombie that appends first keeps that entry; the newer attempt loses it and stops, and a fresh one replays the zombie's journal", async () => {
    // Prepare: attempt 1 stalls before sending its first append; attempt 2 takes over.
    const id = await start('steps');
    const zombie = gated();
    const append = zombie.gates.hold('append', (_id: string, e: JournalEntry) => e.index === 0);
    const stalled = runAttempt(zombie.deps, { invocationId: id, epoch: 0 });
    await append.reached;
    rt.clock.advance(LEASE_MS + 1);
    const newer = gated();
    const newerAppend = newer.gates.hold('append', (_id: string, e: JournalEntry) => e.index === 0);
    const second = runAttempt(newer.deps, { invocationId: id, epoch: 0 });
    await newerAppend.reached;

    // Act: the zombie's append lands first, then the newer attempt's.
    const landed = zombie.gates.hold('append', (_id: string, e: JournalEntry) => e.index === 0, 'after');
    append.open();
    await landed.reached;
    landed.open();
    newerAppend.open();
    const outcomes = await Promise.all([stalled, second]);

    // Assess: the newer attempt stopped at the entry it lost and handed the
    // invocation back; the zombie's append won (first writer), but past its
    // lease it started no further step. A fresh attempt replays what the
    // zombie wrote and runs no journaled step body again.
    expect(outcomes.map((o) => o.kind)).toEqual(['lost', 'lost']);
    const meta = (await rt.backend.store.getInvocation(id))!;
    expect(meta).toMatchObject({ status: 'pending', epoch: 2 });
    const third = await runAttempt(rt.deps, { invocationId: id, epoch: meta.epoch });
    expect(third).toEqual({ kind: 'completed', invocationId: id, output: JSON.stringify(['first by 1', 'second by 3']) });
    expect(bodies.get(id)).toEqual(['first@1', 'first@2', 'second@3']);
  });

  it('rule 4: an attempt that outlived its lease starts no new step, even before anyone took over', async () => {
    // Prepare: attempt 1 stalls after journaling its first step, past its lease
    const id = await start('steps');
    const stalling = gated();
    const landed = stalling.gates.hold('append', (_id: string, e: JournalEntry) => e.index === 0, 'after');
    const first = runAttempt(stalling.deps, { invocationId: id, epoch: 0 });
    await landed.reached;
    rt.clock.advance(LEASE_MS + 1);

    // Act: it wakes up; nobody has taken over yet
    landed.open();
    const outcome = await first;

    // Assess: it handed the invocation back instead of running step two; a fresh attempt runs it once
    expect(outcome.kind).toBe('yielded');
    expect(bodies.get(id)).toEqual(['first@1']);
    const meta = (await rt.backend.store.getInvocation(id))!;
    expect(meta).toMatchObject({ status: 'pending', epoch: 1 });
    expect(await runAttempt(rt.deps, { invocationId: id, epoch: meta.epoch })).toMatchObject({
      kind: 'completed',
      output: JSON.stringify(['first by 1', 'second by 2']),
    });
    expect(bodies.get(id)).toEqual(['first@1', 'second@2']);
  });

  it('rule 1: a zombie suspending after a newer attempt took over loses; the newer suspension stands', async () => {
    // Prepare
    const id = await start('waits');
    const zombie = gated();
    const suspend = zombie.gates.hold('suspend');
    const stalled = runAttempt(zombie.deps, { invocationId: id, epoch: 0 });
    await suspend.reached;

    // Act
    rt.clock.advance(LEASE_MS + 1);
    const fresh = await runAttempt(rt.deps, { invocationId: id, epoch: 0 });
    const standing = await rt.backend.store.getInvocation(id);
    suspend.open();

    // Assess
    expect(fresh.kind).toBe('suspended');
    expect(await stalled).toMatchObject({ kind: 'lost' });
    expect(standing).toMatchObject({ status: 'suspended', epoch: 2 });
    await expect(rt.backend.store.getInvocation(id)).resolves.toEqual(standing);
    expect(bodies.get(id)).toEqual(['notify@1']); // journaled once, replayed by attempt 2
  });

  it('rule 1: a zombie finishing after a newer attempt finished loses; the newer output stands', async () => {
    // Prepare
    const id = await start('steps');
    const zombie = gated();
    const finish = zombie.gates.hold('finish');
    const stalled = runAttempt(zombie.deps, { invocationId: id, epoch: 0 });
    await finish.reached;

    // Act: attempt 2 replays both steps from the journal and finishes first.
    rt.clock.advance(LEASE_MS + 1);
    const fresh = await runAttempt(rt.deps, { invocationId: id, epoch: 0 });
    const standing = await rt.backend.store.getInvocation(id);
    finish.open();

    // Assess
    expect(fresh.kind).toBe('completed');
    expect(await stalled).toMatchObject({ kind: 'lost' });
    await expect(rt.backend.store.getInvocation(id)).resolves.toEqual(standing);
    expect(standing).toMatchObject({ status: 'completed', epoch: 2 });
    expect(bodies.get(id)).toEqual(['first@1', 'second@1']);
  });

  it('rule 1: a zombie writing state after a newer attempt cannot roll it back', async () => {
    // Prepare: the zombie (attempt 1) stalls before writing `writer`.
    const { invocationId: id } = await startInvocation(rt.ingress, {
      service: 'ledger',
      handler: 'run',
      key: `k-${Math.random()}`,
      body: '',
    });
    const meta = (await rt.backend.store.getInvocation(id))!;
    const scope = stateScope('ledger', meta.key!);
    const zombie = gated();
    const write = zombie.gates.hold('writeState', (_scope: string, name: string) => name === 'writer');
    const stalled = runAttempt(zombie.deps, { invocationId: id, epoch: 0 });
    await write.reached;

    // Act
    rt.clock.advance(LEASE_MS + 1);
    const fresh = await runAttempt(rt.deps, { invocationId: id, epoch: 0 });
    write.open();
    const late = await stalled;

    // Assess
    expect(fresh).toEqual({ kind: 'completed', invocationId: id, output: '42' });
    expect(late.kind).not.toBe('completed');
    await expect(rt.backend.store.readState(scope)).resolves.toEqual(
      new Map([
        ['total', '42'],
        ['writer', '2'],
      ]),
    );
    await expect(rt.backend.store.getInvocation(id)).resolves.toMatchObject({ status: 'completed', epoch: 2, output: '42' });
  });
});
