/**
 * Journal retention: journal entries expire 30 days after they are written
 * (the first one 3 days before the rest), DynamoDB's TTL deletes them in any
 * order up to 48 hours late (the in-memory store's sweeper does the same on
 * the test clock), the wake puts back a first entry whose invocation still
 * needs it and renews the rest, and a replay that finds entries missing
 * refuses rather than run those steps again.
 */
import { describe, expect, it } from 'vitest';
import { service, type Context } from 'dormant-lambda';
import { MemoryRuntime, TestClock } from 'dormant-lambda/testing';
import {
  IdSigner,
  MemoryStore,
  catalogOf,
  decideWake,
  journalGap,
  registry,
  resolveAwakeable,
  runAttempt,
  startInvocation,
  type AttemptDeps,
  type IngressDeps,
  type ItemChange,
} from 'dormant-lambda/internal';
import { invocationPk, journalSk } from '../../src/store/keys.ts';
import { JOURNAL_TAIL_MARGIN_SECONDS } from '../../src/store/store.ts';
import { Prng } from '../sim/prng.ts';

const DAY = 86_400_000;

function counted() {
  const sent = { n: 0 };
  const def = service({
    name: 'wait',
    handlers: {
      sleep400: async (ctx: Context) => {
        await ctx.run('before', () => ++sent.n);
        await ctx.sleep({ days: 400 });
        return ctx.run('after', () => 'woke');
      },
      approval: async (ctx: Context) => {
        const a = ctx.awakeable<string>();
        await ctx.run('notify', () => ++sent.n);
        return a.promise;
      },
    },
  });
  return { sent, def };
}

/** Lets `days` pass one day at a time: the sweeper deletes what expired, the wake sees its removals, timers fire. */
async function liveThrough(rt: MemoryRuntime, days: number, prng: Prng): Promise<number> {
  let removed = 0;
  for (let d = 0; d < days; d++) {
    rt.clock.advance(DAY);
    removed += rt.store.sweepExpired(rt.clock.now(), () => prng.float());
    await rt.fireDueTimers();
    await rt.settle();
  }
  return removed;
}

describe('journal retention', () => {
  it('a 400-day sleep still replays: the wake renews the journal each time its first entry expires', async () => {
    // Prepare
    const { sent, def } = counted();
    const rt = new MemoryRuntime([def]);
    const id = await rt.start('wait', 'sleep400');
    await rt.settle();
    expect((await rt.status(id)).status).toBe('suspended');

    // Act
    const removed = await liveThrough(rt, 401, new Prng(1, 'ttl'));

    // Assess: finished, the step before the sleep ran once, and the sweeper did delete (and the wake renewed) its first entry
    expect(await rt.output(id)).toBe('woke');
    expect(sent.n).toBe(1);
    expect(removed).toBeGreaterThanOrEqual(12);
  });

  it('an awakeable awaited for 400 days is resolved into a journal that is still whole', async () => {
    const { sent, def } = counted();
    const rt = new MemoryRuntime([def]);
    const id = await rt.start('wait', 'approval');
    await rt.settle();
    const [awakeable] = await rt.awaitedAwakeables(id);

    await liveThrough(rt, 400, new Prng(2, 'ttl'));
    await rt.resolve(awakeable!, '"approved"');
    await rt.settle();

    expect(await rt.output(id)).toBe('approved');
    expect(sent.n).toBe(1);
  });

  it('a finished invocation keeps its journal as long as its meta, then lets it go', async () => {
    const { def } = counted();
    const rt = new MemoryRuntime([def], { retentionMs: 40 * DAY });
    const id = await rt.start('wait', 'approval');
    await rt.settle();
    await rt.resolve((await rt.awaitedAwakeables(id))[0]!, '"ok"');
    await rt.settle();
    const prng = new Prng(3, 'ttl');

    // Past the journal's 30 days (+48 h of TTL lateness): renewed, since meta is kept 40 days.
    await liveThrough(rt, 36, prng);
    expect((await rt.journal(id)).map((e) => e.index)).toEqual([0, 1]);
    // Past the retention: meta gone, and the journal after it.
    await liveThrough(rt, 50, prng);
    expect(await rt.store.getInvocation(id)).toBeUndefined();
    expect(await rt.journal(id)).toEqual([]);
  });
});

describe('a replay that finds entries missing', () => {
  function world(journalTtlSeconds: number) {
    const { sent, def } = counted();
    const store = new MemoryStore({ journalTtlSeconds });
    const clock = new TestClock();
    const signer = new IdSigner('journal-retention-test-key-0123456789');
    const services = registry([def]);
    const deps: AttemptDeps = { store, signer, clock, services };
    const ingress: IngressDeps = { store, signer, clock, catalog: catalogOf(services) };
    return { sent, store, clock, deps, ingress };
  }

  it('with a deliberately short TTL and no wake to renew it, refuses: the invocation fails naming itself, the index and the fix', async () => {
    // Prepare: an approval suspended after its notification step, journal TTL one minute
    const w = world(60);
    const { invocationId: id } = await startInvocation(w.ingress, { service: 'wait', handler: 'approval', body: '' });
    expect(await runAttempt(w.deps, { invocationId: id, epoch: 0 })).toMatchObject({ kind: 'suspended' });
    const meta = (await w.store.getInvocation(id))!;
    expect(meta.journalEntries).toBe(2);
    const awakeableId = Object.values(meta.awakeables ?? {})[0]!;

    // Act: six days pass (TTL plus the margin plus 48 h of lateness), nobody renews, then the approval arrives
    w.clock.advance(6 * DAY);
    expect(w.store.sweepExpired(w.clock.now(), () => 0.99)).toBe(2);
    await resolveAwakeable(w.ingress, awakeableId, '"late"');
    const outcome = await runAttempt(w.deps, { invocationId: id, epoch: meta.epoch });

    // Assess: failed, not re-run
    expect(outcome.kind).toBe('failed');
    const message = outcome.kind === 'failed' ? outcome.failure.message : '';
    expect(message).toContain(`invocation ${id} cannot replay its journal: 2 entries are missing, the first at index 0`);
    expect(message).toContain('start the invocation again');
    expect(w.sent.n).toBe(1);
    expect((await w.store.getInvocation(id))?.status).toBe('failed');
  });

  it('with only the first entry gone (the wake is putting it back), backs off and replays once it is back', async () => {
    // Prepare
    const w = world(30 * 86_400);
    const { invocationId: id } = await startInvocation(w.ingress, { service: 'wait', handler: 'approval', body: '' });
    await runAttempt(w.deps, { invocationId: id, epoch: 0 });
    const meta = (await w.store.getInvocation(id))!;
    const changes: ItemChange[] = [];
    w.store.onChange((c) => changes.push(c));
    w.clock.advance(31 * DAY);
    w.store.sweepExpired(w.clock.now(), () => 0); // no lateness: the first entry only
    await resolveAwakeable(w.ingress, Object.values(meta.awakeables ?? {})[0]!, '"yes"');

    // Act: an attempt before the wake has renewed the journal
    const early = await runAttempt(w.deps, { invocationId: id, epoch: meta.epoch });

    // Assess: retrying, the journal untouched; then the wake's renewal, and the retry completes
    expect(early).toMatchObject({ kind: 'retrying', failure: { message: expect.stringContaining('the wake is putting it back') } });
    const removal = changes.find((c) => c.eventName === 'REMOVE' && c.sk === journalSk(0))!;
    expect(removal).toMatchObject({ pk: invocationPk(id), byTtl: true });
    const actions = await decideWake(removal, w.store);
    expect(actions).toMatchObject([{ type: 'renew', invocationId: id, head: { index: 0, kind: 'awakeable' } }]);
    const renew = actions[0];
    if (renew?.type !== 'renew') throw new Error('expected a renewal');
    await w.store.renewJournal(id, { head: renew.head, now: w.clock.now() });
    const retried = (await w.store.getInvocation(id))!;
    expect(await runAttempt(w.deps, { invocationId: id, epoch: retried.epoch })).toMatchObject({ kind: 'completed', output: '"yes"' });
    expect(w.sent.n).toBe(1);
  });

  it('rule 13: a meta of the previous release (no journalEntries) and 365-day entries replay as before', async () => {
    const w = world(365 * 86_400);
    const { invocationId: id } = await startInvocation(w.ingress, { service: 'wait', handler: 'approval', body: '' });
    await runAttempt(w.deps, { invocationId: id, epoch: 0 });
    const meta = (await w.store.getInvocation(id))!;
    // As the previous release left it: no count of entries on meta.
    await w.store.suspend(id, { epoch: meta.epoch, now: w.clock.now(), awaiting: meta.awaiting!, timers: [] });
    expect(journalGap(new Map([[0, {}]]), undefined)).toBeUndefined();

    await resolveAwakeable(w.ingress, Object.values(meta.awakeables ?? {})[0]!, '"fine"');

    expect(await runAttempt(w.deps, { invocationId: id, epoch: meta.epoch })).toMatchObject({ kind: 'completed', output: '"fine"' });
  });

  it('an attempt that loads a journal past half its expiry renews it (so no first entry expires under a running invocation)', async () => {
    const w = world(30 * 86_400);
    const { invocationId: id } = await startInvocation(w.ingress, { service: 'wait', handler: 'approval', body: '' });
    await runAttempt(w.deps, { invocationId: id, epoch: 0 });
    const meta = (await w.store.getInvocation(id))!;
    const ttlOf = (sk: string) => w.store.items().find((i) => i.pk === invocationPk(id) && i.sk === sk)?.ttl as number;
    const before = ttlOf(journalSk(0));
    w.clock.advance(28 * DAY);
    await resolveAwakeable(w.ingress, Object.values(meta.awakeables ?? {})[0]!, '"renewed"');

    expect(await runAttempt(w.deps, { invocationId: id, epoch: meta.epoch })).toMatchObject({ kind: 'completed' });

    expect(ttlOf(journalSk(0))).toBe(Math.floor(w.clock.now() / 1000) + 30 * 86_400);
    expect(ttlOf(journalSk(0))).toBeGreaterThan(before);
    expect(ttlOf(journalSk(1))).toBe(ttlOf(journalSk(0)) + JOURNAL_TAIL_MARGIN_SECONDS);
  });

  it('parallel steps that never finished leave holes that are not losses', () => {
    expect(journalGap(new Map([[1, {}]]), 1)).toBeUndefined();
    // The first entry missing and none counted lost: unfinished, unless the journal is old enough for it to have expired.
    const young = new Map([[1, { writtenAt: 0 }]]);
    expect(journalGap(young, 0, { now: DAY, journalTtlMs: 30 * DAY })).toBeUndefined();
    expect(journalGap(young, 0, { now: 30 * DAY, journalTtlMs: 30 * DAY })).toEqual({ missing: 0, lost: 1, renewing: true });
    expect(
      journalGap(
        new Map([
          [0, {}],
          [2, {}],
        ]),
        2,
      ),
    ).toBeUndefined();
    expect(
      journalGap(
        new Map([
          [1, {}],
          [2, {}],
        ]),
        3,
      ),
    ).toEqual({ missing: 0, lost: 1, renewing: true });
    expect(
      journalGap(
        new Map([
          [0, {}],
          [2, {}],
        ]),
        3,
      ),
    ).toEqual({ missing: 1, lost: 1, renewing: false });
    expect(journalGap(new Map(), 2)).toEqual({ missing: 0, lost: 2, renewing: false });
  });
});

describe('the wake on a removed first journal entry', () => {
  const removal = (id: string, byTtl: boolean): ItemChange => ({
    eventName: 'REMOVE',
    pk: invocationPk(id),
    sk: journalSk(0),
    oldItem: { pk: invocationPk(id), sk: journalSk(0), index: 0, kind: 'now', value: '1', ttl: 1 },
    ...(byTtl ? { byTtl: true } : {}),
  });

  it('renews a suspended invocation’s journal, keeps a retained finished one until its meta expires, and ignores purges and unknown ids', async () => {
    const { def } = counted();
    const rt = new MemoryRuntime([def]);
    const id = await rt.start('wait', 'approval');
    await rt.settle();
    const reads: string[] = [];
    const reader = { getInvocation: (i: string) => (reads.push(i), rt.store.getInvocation(i)), existingCompletions: async () => [] };

    expect(await decideWake(removal(id, true), reader)).toEqual([
      { type: 'renew', invocationId: id, head: { index: 0, kind: 'now', value: '1' } },
    ]);
    // A purge deletes the journal on purpose: no read, nothing renewed.
    expect(await decideWake(removal(id, false), reader)).toEqual([]);
    expect(reads).toEqual([id]);

    await rt.resolve((await rt.awaitedAwakeables(id))[0]!, '"ok"');
    await rt.settle();
    const finished = (await rt.store.getInvocation(id))!;
    expect(await decideWake(removal(id, true), reader)).toMatchObject([{ type: 'renew', keepUntil: finished.ttl }]);
    expect(await decideWake(removal('inv_AAAAAAAAAAAAAAAAAAAAAA', true), reader)).toEqual([]);
  });
});
