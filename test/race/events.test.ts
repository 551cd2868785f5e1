/**
 * Rule 3 (no lost wake-up) for `ctx.waitForEvent`: the wait records itself
 * under its correlation key, then reads the events stored there; a new
 * event's stream record hands it to the waiters recorded there. Every
 * order of those writes, a crash between the waiter record and its entry,
 * duplicated deliveries and records, two waiters on one event, a
 * non-matching event, an expired lookback and a timeout end with each
 * waiter completed once, with the event it matched, on DynamoDB Local's
 * real stream and in memory.
 */
import { describe, expect, it } from 'vitest';
import { github, service, TimeoutError, type Context } from '../../src/index.ts';
import { executeWake, runAttempt, startInvocation } from '../../src/internal.ts';
import { META, completionKey } from '../../src/store/keys.ts';
import type { ItemChange } from '../../src/store/store.ts';
import { decideWake, type WakeAction } from '../../src/runtime/wake.ts';
import { checkEndpoints, publishEvent, type EndpointDeps } from '../../src/runtime/endpoints.ts';
import { eventPartition } from '../../src/store/events.ts';
import { interceptCalls } from '../support/intercept.ts';
import { BACKENDS, Gates, Waker, invokes, useBackend, type BackendRuntime } from './support.ts';

type Payment = { id: string; status: string };

const shop = service({
  name: 'shop',
  handlers: {
    awaitPayment: async (ctx: Context, pi: string) => {
      const event = await ctx.waitForEvent<Payment>('payments', { match: { 'body.id': pi } });
      return `${event.id}: ${event.body.status}`;
    },
    awaitPaid: async (ctx: Context, pi: string) => {
      const event = await ctx.waitForEvent<Payment>('payments', { match: { 'body.id': pi, 'body.status': 'paid' } });
      return `${event.id}: ${event.body.status}`;
    },
    awaitBriefly: async (ctx: Context, pi: string) => {
      try {
        await ctx.waitForEvent('payments', { match: { 'body.id': pi }, timeout: 1_000 });
        return 'got it';
      } catch (error) {
        return error instanceof TimeoutError ? 'timed out' : `failed: ${String(error)}`;
      }
    },
  },
});

/** The waiter's completion: entry 0 is its `event-await`. */
const DELIVERED = completionKey(0);
const LOOKBACK_MS = 60_000;
const suspendedRecord = (changes: ItemChange[]) => changes.some((c) => c.sk === META && c.newItem?.status === 'suspended');
const insertedKey = (sk: string) => (changes: ItemChange[]) => changes.some((c) => c.sk === sk && c.eventName === 'INSERT');

describe.each(BACKENDS)('rule 3 on $label: a handler waiting for an event', ({ open }) => {
  const rt = useBackend(open, [shop]);
  const endpoints = (): EndpointDeps => ({
    ...rt.ingress,
    endpoints: checkEndpoints({
      payments: { verify: github({ secret: 'UNUSED' }), correlate: ['body.id', 'body.status'], lookback: LOOKBACK_MS },
    }),
  });
  let n = 0;
  const fresh = () => `pi_${Date.now().toString(36)}_${++n}`;

  async function start(waker: Waker, handler: string, pi: string): Promise<string> {
    const { invocationId } = await startInvocation(rt.ingress, { service: 'shop', handler, body: JSON.stringify(pi) });
    expect(invokes(await waker.drain(invocationId, insertedKey(META))).map((a) => a.epoch)).toEqual([0]);
    return invocationId;
  }

  async function publish(pi: string, status: string, id: string): Promise<{ stored: number; duplicate: boolean }> {
    const answer = await publishEvent(endpoints(), 'payments', JSON.stringify({ id: pi, status }), id);
    expect(answer.statusCode).toBe(202);
    return JSON.parse(answer.body) as { stored: number; duplicate: boolean };
  }

  it('the event lands after the wait suspended: its record delivers to the waiter, and the delivery’s record wakes it', async () => {
    // Prepare
    const waker = new Waker(rt.backend);
    const pi = fresh();
    const waiter = await start(waker, 'awaitPayment', pi);
    await expect(runAttempt(rt.deps, { invocationId: waiter, epoch: 0 })).resolves.toMatchObject({ kind: 'suspended' });
    expect(invokes(await waker.drain(waiter, suspendedRecord))).toEqual([]);

    // Act
    await publish(pi, 'paid', 'evt_after');
    const onEvent = await relayed(rt, pi);
    const onDelivery = await waker.drain(waiter, insertedKey(DELIVERED));

    // Assess
    expect(onEvent.delivered).toEqual([{ invocationId: waiter, key: DELIVERED }]);
    expect(invokes(onDelivery)).toEqual([{ type: 'invoke', invocationId: waiter, epoch: 1, service: 'shop' }]);
    await expect(runAttempt(rt.deps, invokes(onDelivery)[0]!)).resolves.toMatchObject({ kind: 'completed', output: '"evt_after: paid"' });
  });

  it('the event lands after the waiter looked, before it suspended: the event’s record delivers, the suspension’s record wakes it', async () => {
    // Prepare: the waiter recorded itself and found no event; it is held there.
    const waker = new Waker(rt.backend);
    const pi = fresh();
    const waiter = await start(waker, 'awaitPayment', pi);
    const gates = new Gates(rt.backend.store);
    const looked = gates.hold('findEvents', () => true, 'after');
    const first = runAttempt({ ...rt.deps, store: gates.store }, { invocationId: waiter, epoch: 0 });
    await looked.reached;

    // Act
    await publish(pi, 'paid', 'evt_between');
    const onEvent = await relayed(rt, pi);
    const onDelivery = await waker.drain(waiter, insertedKey(DELIVERED));
    looked.open();
    await expect(first).resolves.toMatchObject({ kind: 'suspended' });
    const onSuspension = await waker.drain(waiter, suspendedRecord);

    // Assess: delivered once (while running, the delivery wakes nobody); the suspension wakes it
    expect(onEvent.delivered).toEqual([{ invocationId: waiter, key: DELIVERED }]);
    expect(invokes(onDelivery)).toEqual([]);
    expect(invokes(onSuspension)).toEqual([{ type: 'invoke', invocationId: waiter, epoch: 1, service: 'shop' }]);
    await expect(runAttempt(rt.deps, invokes(onSuspension)[0]!)).resolves.toMatchObject({
      kind: 'completed',
      output: '"evt_between: paid"',
    });
  });

  it('the event lands between the waiter recording itself and looking: the waiter takes it at once; the later relay changes nothing', async () => {
    // Prepare
    const waker = new Waker(rt.backend);
    const pi = fresh();
    const waiter = await start(waker, 'awaitPayment', pi);
    const gates = new Gates(rt.backend.store);
    const recorded = gates.hold('addEventWaiter', () => true, 'after');
    const first = runAttempt({ ...rt.deps, store: gates.store }, { invocationId: waiter, epoch: 0 });
    await recorded.reached;

    // Act
    await publish(pi, 'paid', 'evt_race');
    recorded.open();
    const outcome = await first;
    const onEvent = await relayed(rt, pi);

    // Assess: finished in its first attempt; the relay lost to the waiter's own write (first writer wins)
    expect(outcome).toMatchObject({ kind: 'completed', output: '"evt_race: paid"' });
    expect(onEvent.delivered).toEqual([{ invocationId: waiter, key: DELIVERED }]);
    expect(JSON.parse((await rt.backend.store.getCompletion(waiter, DELIVERED))!.value!)).toMatchObject({ id: 'evt_race' });
    expect(invokes(await waker.drain(waiter))).toEqual([]);
  });

  it('the event came before the wait (within the lookback): the wait completes at once, in its first attempt', async () => {
    // Prepare
    const waker = new Waker(rt.backend);
    const pi = fresh();
    await publish(pi, 'paid', 'evt_before');
    expect((await relayed(rt, pi)).delivered).toEqual([]);

    // Act
    const waiter = await start(waker, 'awaitPayment', pi);
    const outcome = await runAttempt(rt.deps, { invocationId: waiter, epoch: 0 });

    // Assess
    expect(outcome).toMatchObject({ kind: 'completed', output: '"evt_before: paid"' });
  });

  it('an event older than the lookback is not seen: the wait suspends and takes the next one', async () => {
    // Prepare: the event is stored, then the clock passes its lookback.
    const waker = new Waker(rt.backend);
    const pi = fresh();
    await publish(pi, 'paid', 'evt_stale');
    await relayed(rt, pi);
    rt.clock.advance(LOOKBACK_MS + 1);

    // Act
    const waiter = await start(waker, 'awaitPayment', pi);
    const outcome = await runAttempt(rt.deps, { invocationId: waiter, epoch: 0 });
    await publish(pi, 'paid', 'evt_fresh');
    const onEvent = await relayed(rt, pi);

    // Assess
    expect(outcome).toMatchObject({ kind: 'suspended' });
    expect(onEvent.delivered).toEqual([{ invocationId: waiter, key: DELIVERED }]);
    const woken = invokes(await waker.drain(waiter, insertedKey(DELIVERED)));
    await expect(runAttempt(rt.deps, woken[0]!)).resolves.toMatchObject({ kind: 'completed', output: '"evt_fresh: paid"' });
  });

  it('a duplicate delivery writes nothing and wakes nobody twice; two waiters are matched by one event; a non-matching one by none', async () => {
    // Prepare: two waiters on the same payment, one of them only for 'paid'.
    const waker = new Waker(rt.backend);
    const pi = fresh();
    const a = await start(waker, 'awaitPayment', pi);
    const b = await start(waker, 'awaitPaid', pi);
    for (const id of [a, b]) {
      await expect(runAttempt(rt.deps, { invocationId: id, epoch: 0 })).resolves.toMatchObject({ kind: 'suspended' });
      expect(invokes(await waker.drain(id, suspendedRecord))).toEqual([]);
    }

    // Act: another payment's event, then 'pending' (only a matches), then 'paid' twice
    await publish(fresh(), 'paid', 'evt_other');
    const pending = await publish(pi, 'pending', 'evt_pending');
    const onPending = await relayed(rt, pi);
    const paid = await publish(pi, 'paid', 'evt_paid');
    const again = await publish(pi, 'paid', 'evt_paid');
    const onPaid = await relayed(rt, pi);

    // Assess
    expect(pending).toMatchObject({ stored: 2, duplicate: false });
    expect(paid).toMatchObject({ stored: 2, duplicate: false });
    expect(again).toMatchObject({ stored: 2, duplicate: true });
    expect(onPending.delivered).toEqual([{ invocationId: a, key: DELIVERED }]);
    expect(onPaid.delivered.map((d) => d.invocationId).sort()).toEqual([a, b].sort()); // a loses its second: first writer wins
    const woken = [...invokes(await waker.drain(a, insertedKey(DELIVERED))), ...invokes(await waker.drain(b, insertedKey(DELIVERED)))];
    expect(woken.map((w) => w.invocationId).sort()).toEqual([a, b].sort());
    const outputs = await Promise.all(woken.map((w) => runAttempt(rt.deps, w)));
    expect(outputs.map((o) => (o as { output?: string }).output).sort()).toEqual(['"evt_paid: paid"', '"evt_pending: pending"']);
    // Records delivered again (a duplicated stream) complete nothing twice.
    expect((await relayed(rt, pi, true)).won).toEqual([]);
  });

  it('a crash between the waiter record and its entry: the event reaches the recorded waiter, and the replayed wait takes the same event', async () => {
    // Prepare: the attempt records the waiter, then dies before its entry is written.
    const waker = new Waker(rt.backend);
    const pi = fresh();
    const waiter = await start(waker, 'awaitPayment', pi);
    const crashing = interceptCalls(rt.backend.store, async (method, args, call) => {
      if (method === 'append' && (args[1] as { kind: string }).kind === 'event-await') throw new Error('crash before the entry');
      return call();
    });
    const first = await runAttempt({ ...rt.deps, store: crashing }, { invocationId: waiter, epoch: 0 }).catch((e: unknown) => e);
    expect(await rt.backend.store.getEntry(waiter, 0)).toBeUndefined();

    // Act: the event arrives; its record completes the recorded waiter's C#0; a fresh attempt replays the wait as new
    await publish(pi, 'paid', 'evt_crash');
    const onEvent = await relayed(rt, pi);
    const meta = await rt.backend.store.getInvocation(waiter);
    const second = await runAttempt(rt.deps, { invocationId: waiter, epoch: meta!.epoch });

    // Assess
    expect(first).toBeDefined();
    expect(onEvent.won).toEqual([{ invocationId: waiter, key: DELIVERED }]);
    expect(second).toMatchObject({ kind: 'completed', output: '"evt_crash: paid"' });
  });

  it('a timeout ends the wait; an event after it completes nothing the handler sees', async () => {
    // Prepare
    const waker = new Waker(rt.backend);
    const pi = fresh();
    const waiter = await start(waker, 'awaitBriefly', pi);
    await expect(runAttempt(rt.deps, { invocationId: waiter, epoch: 0 })).resolves.toMatchObject({ kind: 'suspended' });

    // Act: the timer fires (its completion), the handler resumes and ends; then the event comes
    rt.clock.advance(1_001);
    const meta = await rt.backend.store.getInvocation(waiter);
    const timer = meta!.timers![0]!;
    await rt.backend.store.complete(waiter, { key: timer.key, at: rt.clock.now() });
    const ended = await runAttempt(rt.deps, { invocationId: waiter, epoch: meta!.epoch });
    await publish(pi, 'paid', 'evt_late');
    const onEvent = await relayed(rt, pi);

    // Assess: the wait was closed at its timeout, so the late event loses
    expect(ended).toMatchObject({ kind: 'completed', output: '"timed out"' });
    expect(onEvent.won).toEqual([]);
  });
});

/**
 * Feeds the new records of the payment's correlation partition to the wake
 * rule and carries out what it decides; returns the completions the relay
 * wrote to waiters (`delivered`, won or not) and those it won.
 */
async function relayed(
  rt: BackendRuntime,
  pi: string,
  again = false,
): Promise<{ actions: WakeAction[]; delivered: { invocationId: string; key: string }[]; won: { invocationId: string; key: string }[] }> {
  const partition = eventPartition('payments', 'body.id', pi);
  const changes = await rt.backend.changes(partition);
  const seen = again ? 0 : (SEEN.get(partition) ?? 0);
  SEEN.set(partition, changes.length);
  const actions: WakeAction[] = [];
  for (const change of changes.slice(seen)) actions.push(...(await decideWake(change, rt.backend.store)));
  const delivered: { invocationId: string; key: string }[] = [];
  const won: { invocationId: string; key: string }[] = [];
  const store = rt.backend.store;
  await executeWake(actions, {
    store: {
      enqueueLock: store.enqueueLock.bind(store),
      releaseLock: store.releaseLock.bind(store),
      grantLock: store.grantLock.bind(store),
      promiseWaiters: store.promiseWaiters.bind(store),
      eventWaiters: store.eventWaiters.bind(store),
      renewJournal: store.renewJournal.bind(store),
      complete: async (invocationId, completion) => {
        delivered.push({ invocationId, key: completion.key });
        const written = await store.complete(invocationId, completion);
        if (written.won) won.push({ invocationId, key: completion.key });
        return written;
      },
    },
    now: rt.clock.now(),
    invoke: async () => undefined,
    schedule: async () => undefined,
  });
  return { actions, delivered, won };
}

const SEEN = new Map<string, number>();
