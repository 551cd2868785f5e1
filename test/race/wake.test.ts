/**
 * Rule 3 (no lost wake-up) and rule 4 (duplicates are harmless) where they
 * meet: a suspension and the completion it awaits, written in either order,
 * with the wake rule fed the real stream records when it would see them.
 */
import { describe, expect, it } from 'vitest';
import { service, type Context } from '../../src/index.ts';
import { resolveAwakeable, runAttempt, startInvocation } from '../../src/internal.ts';
import { META, completionKey } from '../../src/store/keys.ts';
import type { ItemChange } from '../../src/store/store.ts';
import { BACKENDS, Gates, Waker, attempt, invokes, useBackend } from './support.ts';

/** Awakeable ids by invocation, published by the handler's `notify` step. */
const published = new Map<string, string>();
const notifyRuns = new Map<string, number>();

const approval = service({
  name: 'approval',
  handlers: {
    request: async (ctx: Context, doc: string) => {
      const { id, promise } = ctx.awakeable<string>();
      await ctx.run('notify', () => {
        const me = ctx.request().id;
        notifyRuns.set(me, (notifyRuns.get(me) ?? 0) + 1);
        published.set(me, id);
        return id;
      });
      return `${doc}: ${await promise}`;
    },
  },
});

const AWAKEABLE = completionKey(0);
const inserted = (sk: string) => (changes: ItemChange[]) => changes.some((c) => c.sk === sk && c.eventName === 'INSERT');
const suspendedRecord = (changes: ItemChange[]) => changes.some((c) => c.sk === META && c.newItem?.status === 'suspended');

describe.each(BACKENDS)('rule 3 and 4 on $label: suspension vs completion', ({ open }) => {
  const rt = useBackend(open, [approval]);

  /** Starts an invocation and takes its start invoke from the stream. */
  async function start(waker: Waker, doc: string): Promise<string> {
    const { invocationId } = await startInvocation(rt.ingress, { service: 'approval', handler: 'request', body: JSON.stringify(doc) });
    expect(invokes(await waker.drain(invocationId, inserted(META)))).toEqual([
      { type: 'invoke', invocationId, epoch: 0, service: 'approval' },
    ]);
    return invocationId;
  }

  it('rule 3: the completion lands first, while the attempt is about to suspend: the suspension record wakes it, exactly once', async () => {
    // Prepare
    const waker = new Waker(rt.backend);
    const id = await start(waker, 'doc-1');
    const gates = new Gates(rt.backend.store);
    const suspend = gates.hold('suspend');
    const first = runAttempt({ ...rt.deps, store: gates.store }, { invocationId: id, epoch: 0 });
    await suspend.reached;

    // Act: resolver writes C#0; the wake sees it while meta is still running.
    await resolveAwakeable(rt.ingress, published.get(id)!, '"approved"');
    const onCompletion = await waker.drain(id, inserted(AWAKEABLE));
    suspend.open();
    await expect(first).resolves.toMatchObject({ kind: 'suspended' });
    const onSuspension = await waker.drain(id, suspendedRecord);

    // Assess
    expect(invokes(onCompletion)).toEqual([]);
    expect(invokes(onSuspension)).toEqual([{ type: 'invoke', invocationId: id, epoch: 1, service: 'approval' }]);
    await expect(runAttempt(rt.deps, invokes(onSuspension)[0]!)).resolves.toEqual({
      kind: 'completed',
      invocationId: id,
      output: '"doc-1: approved"',
    });
    expect(notifyRuns.get(id)).toBe(1);
  });

  it('rule 3 and 4: the suspension lands first: the completion record wakes it, exactly once; a stale duplicate invoke is skipped', async () => {
    // Prepare
    const waker = new Waker(rt.backend);
    const id = await start(waker, 'doc-2');
    await expect(runAttempt(rt.deps, { invocationId: id, epoch: 0 })).resolves.toMatchObject({ kind: 'suspended' });
    const onSuspension = await waker.drain(id, suspendedRecord);

    // Act
    await resolveAwakeable(rt.ingress, published.get(id)!, '"approved"');
    const onCompletion = await waker.drain(id, inserted(AWAKEABLE));

    // Assess: a late duplicate of the start invoke stops at its acquire.
    await expect(attempt(rt.deps, { invocationId: id, epoch: 0 })).resolves.toMatchObject({ kind: 'skipped' });
    expect(invokes(onSuspension)).toEqual([]);
    expect(invokes(onCompletion)).toEqual([{ type: 'invoke', invocationId: id, epoch: 1, service: 'approval' }]);
    await expect(runAttempt(rt.deps, invokes(onCompletion)[0]!)).resolves.toEqual({
      kind: 'completed',
      invocationId: id,
      output: '"doc-2: approved"',
    });
    expect(notifyRuns.get(id)).toBe(1);
  });

  it('rule 4: every record delivered late and twice: several invokes, one resumed attempt, no step run again', async () => {
    // Prepare: both writes land before the wake sees anything.
    const waker = new Waker(rt.backend);
    const { invocationId: id } = await startInvocation(rt.ingress, { service: 'approval', handler: 'request', body: '"doc-3"' });
    await runAttempt(rt.deps, { invocationId: id, epoch: 0 });
    await resolveAwakeable(rt.ingress, published.get(id)!, '"approved"');
    await rt.backend.changes(`I#${id}`, (c) => inserted(AWAKEABLE)(c) && suspendedRecord(c));

    // Act: the whole partition's records, delivered twice; every invoke sent, all at once.
    const wakeUps = invokes([...(await waker.redeliverAll(id)), ...(await waker.redeliverAll(id))]);
    const outcomes = await Promise.all(wakeUps.map((w) => attempt(rt.deps, w)));
    // Lambda retries the invokes that met a live lease; by then the invocation has finished.
    const retried = await Promise.all(wakeUps.filter((_w, i) => outcomes[i]!.kind === 'lease-held').map((w) => attempt(rt.deps, w)));

    // Assess
    expect(wakeUps.filter((w) => w.epoch === 1).length).toBeGreaterThanOrEqual(2);
    expect(outcomes.filter((o) => o.kind === 'completed')).toEqual([{ kind: 'completed', invocationId: id, output: '"doc-3: approved"' }]);
    expect(outcomes.filter((o) => o.kind !== 'completed').every((o) => o.kind === 'skipped' || o.kind === 'lease-held')).toBe(true);
    expect(retried.every((o) => o.kind === 'skipped')).toBe(true);
    expect(notifyRuns.get(id)).toBe(1);
  });
});
