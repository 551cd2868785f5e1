/**
 * Request units of the real engine on DynamoDB Local, counted through the
 * store's `onCapacity`: the cost model of DESIGN.md as assertions (one write
 * per `ctx.run` step, one Query per attempt load, nothing read twice in an
 * attempt), and the measured units of a step, of an awakeable through to its
 * resumption, and of resolving it, printed as a table.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { service, type Context } from '../../src/index.ts';
import { getOutput, newInvocationId, newInvocationMeta, resolveAwakeable, runAttempt, startInvocation } from '../../src/internal.ts';
import type { CapacityUnits, StoreOperation } from '../../src/store/dynamodb.ts';
import { entryToItem, metaToItem } from '../../src/store/items.ts';
import { itemBytes } from '../../src/store/limits.ts';
import { openTable, type LocalTable } from '../contract/harness.ts';
import { Waker, invokes, tableBackend, useBackend } from '../race/support.ts';
import { passesWakeFilter } from '../../src/local/event-filter.ts';
import { invocationPk } from '../../src/store/keys.ts';
import type { ItemChange } from '../../src/store/store.ts';
import { github } from '../../src/index.ts';
import { checkEndpoints, publishEvent, type EndpointDeps } from '../../src/runtime/endpoints.ts';
import { eventPartition } from '../../src/store/events.ts';
import { decideWake, executeWake, type WakeAction } from '../../src/runtime/wake.ts';

const READS: StoreOperation[] = ['getInvocation', 'load', 'getCompletion', 'existingCompletions', 'readState', 'readLock'];
const RESULT_100_BYTES = 'r'.repeat(98); // serialized as a 100-byte JSON string

const steps = service({
  name: 'steps',
  handlers: {
    five: async (ctx: Context) => {
      for (let i = 0; i < 5; i++) await ctx.run(`step-${i}`, () => RESULT_100_BYTES);
      return 'done';
    },
  },
});

const orders = service({
  name: 'orders',
  handlers: {
    awaitShipment: async (ctx: Context, orderId: string) =>
      (await ctx.waitForEvent<{ status: string }>('orders', { match: { 'body.orderId': orderId } })).body.status,
  },
});

const echo = service({ name: 'echo', handlers: { length: async (_ctx: Context, text: string) => String(text.length) } });

const approval = service({
  name: 'approval',
  handlers: {
    request: async (ctx: Context) => {
      const { id, promise } = ctx.awakeable<string>();
      await ctx.run('notify', () => `sent ${id}`);
      return promise;
    },
  },
});

type Entry = { operation: StoreOperation; units: CapacityUnits };
const rows: { phase: string; requests: string; read: number; write: number }[] = [];

function summarize(phase: string, entries: Entry[]): CapacityUnits {
  const total = entries.reduce((s, e) => ({ read: s.read + e.units.read, write: s.write + e.units.write }), { read: 0, write: 0 });
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e.operation, (counts.get(e.operation) ?? 0) + 1);
  rows.push({ phase, requests: [...counts].map(([op, n]) => (n > 1 ? `${op}×${n}` : op)).join(', ') || '—', ...total });
  return total;
}

describe('request units of the engine on DynamoDB Local', () => {
  let table: LocalTable;
  const rt = useBackend(async () => tableBackend((table = await openTable('units'))), [steps, approval, echo, orders]);
  afterAll(() => {
    console.log('\nDynamoDB request units, measured on DynamoDB Local (strongly consistent reads):');
    console.table(rows);
  });

  it('a ctx.run step with a ~100-byte result costs exactly 1 write unit; an attempt loads with one Query and reads nothing else', async () => {
    // Prepare
    const { invocationId } = await startInvocation(rt.ingress, { service: 'steps', handler: 'five', body: '' });
    rt.backend.ledger.take();

    // Act
    const outcome = await runAttempt(rt.deps, { invocationId, epoch: 0 });

    // Assess
    expect(outcome.kind).toBe('completed');
    const entries = rt.backend.ledger.take();
    const appends = entries.filter((e) => e.operation === 'append');
    expect(appends).toHaveLength(5);
    expect(appends.every((e) => e.units.write === 1 && e.units.read === 0)).toBe(true);
    expect(entries.filter((e) => READS.includes(e.operation)).map((e) => e.operation)).toEqual(['load']);
    expect(entries.map((e) => e.operation)).toEqual(['acquire', 'load', 'append', 'append', 'append', 'append', 'append', 'finish']);
    summarize('attempt running 5 ctx.run steps (100-byte results), start to finish', entries);
    summarize('one ctx.run step (100-byte result)', appends.slice(0, 1));
  });

  it('the largest step result that still costs 1 write unit is measured and printed', async () => {
    // Binary search on the real write cost: the item carries keys, attribute names and the ttl besides the value.
    const cost = async (length: number): Promise<number> => {
      rt.backend.ledger.take();
      await rt.backend.store.append(`inv_${String(length).padStart(22, 'A')}`, {
        index: 0,
        kind: 'run',
        name: 'step-0',
        value: 'v'.repeat(length),
      });
      return rt.backend.ledger.take()[0]!.units.write;
    };
    let fits = 0;
    let over = 2048;
    while (over - fits > 1) {
      const mid = Math.floor((fits + over) / 2);
      if ((await cost(mid)) === 1) fits = mid;
      else over = mid;
    }
    const estimated = itemBytes({
      ...entryToItem('inv_AAAAAAAAAAAAAAAAAAAAAA', { index: 0, kind: 'run', name: 'step-0', value: 'v'.repeat(fits) }),
      ttl: 1_800_000_000,
    });

    expect(fits).toBeGreaterThan(900);
    // The store's own size estimate (used for the 400 KB refusal) never undercounts.
    expect(estimated).toBeGreaterThanOrEqual(1024 - 8);
    rows.push({
      phase: `largest 1-unit step result: ${fits} bytes (item ${estimated} bytes by the store's estimate)`,
      requests: 'append',
      read: 0,
      write: 1,
    });
  });

  it('an awakeable: create and await it through to resumption, and resolve it; each attempt reads only its one Query', async () => {
    // Prepare
    const waker = new Waker(rt.backend);
    const { invocationId: id } = await startInvocation(rt.ingress, { service: 'approval', handler: 'request', body: '' });
    const start = summarize('start the invocation (ingress)', rt.backend.ledger.take());
    const startWake = invokes(await waker.drain(id, (c) => c.length >= 1));
    summarize('wake on the new invocation record', rt.backend.ledger.take());

    // Act: attempt 1 creates the awakeable, journals its notify step, suspends.
    const first = await runAttempt(rt.deps, startWake[0]!);
    const attempt1 = rt.backend.ledger.take();
    const onSuspend = invokes(await waker.drain(id, (c) => c.some((x) => x.newItem?.status === 'suspended')));
    const suspendWake = rt.backend.ledger.take();
    const awakeableId = (await rt.backend.store.getInvocation(id))!.awakeables!['C#00000000']!;
    rt.backend.ledger.take();
    await resolveAwakeable(rt.ingress, awakeableId, '"approved"');
    const resolve = rt.backend.ledger.take();
    const onComplete = invokes(await waker.drain(id, (c) => c.some((x) => x.sk === 'C#00000000')));
    const completeWake = rt.backend.ledger.take();
    const resumed = await runAttempt(rt.deps, onComplete[0]!);
    const attempt2 = rt.backend.ledger.take();

    // Assess
    expect(first.kind).toBe('suspended');
    expect(onSuspend).toEqual([]);
    expect(onComplete).toHaveLength(1);
    expect(resumed).toEqual({ kind: 'completed', invocationId: id, output: '"approved"' });
    // 1 on the table + 1 on the list index (written once, at creation: docs/table.md, "List index").
    expect(start).toEqual({ read: 0, write: 2 });
    for (const attempt of [attempt1, attempt2]) {
      expect(attempt.filter((e) => READS.includes(e.operation)).map((e) => e.operation)).toEqual(['load']);
      expect(attempt.every((e) => e.units.write <= 1 && e.units.read <= 1)).toBe(true);
    }
    expect(attempt1.map((e) => e.operation)).toEqual(['acquire', 'load', 'append', 'append', 'suspend']);
    expect(attempt2.map((e) => e.operation)).toEqual(['acquire', 'load', 'finish']);
    expect(suspendWake.map((e) => e.operation)).toEqual(['existingCompletions']);
    // Awaiting the awakeable and C#cancel: one keys-only Query (at most 1 unit), not a BatchGetItem's unit per key.
    expect(suspendWake.reduce((n, e) => n + e.units.read, 0)).toBeLessThanOrEqual(1);
    expect(resolve.map((e) => e.operation)).toEqual(['getInvocation', 'complete']);
    expect(summarize('resolve the awakeable (ingress)', resolve)).toEqual({ read: 1, write: 1 });
    expect(completeWake.map((e) => e.operation)).toEqual(['getInvocation']);

    const a1 = summarize('attempt 1: awakeable + notify step, then suspend', attempt1);
    const w1 = summarize('wake on the suspension record', suspendWake);
    const w2 = summarize('wake on the completion record', completeWake);
    const a2 = summarize('attempt 2: resume, replay, finish', attempt2);
    rows.push({
      phase: 'create + await an awakeable through to resumption (attempt 1 + both wakes + attempt 2)',
      requests: '',
      read: a1.read + w1.read + w2.read + a2.read,
      write: a1.write + w1.write + w2.write + a2.write,
    });
  });

  it('an event wait: the wait records itself and reads its key (1 W, 1 R), an event costs 1 W per correlation key, its relay 1 R and 1 W per waiter', async () => {
    // Prepare
    const waker = new Waker(rt.backend);
    const deps: EndpointDeps = {
      ...rt.ingress,
      endpoints: checkEndpoints({ orders: { verify: github({ secret: 'UNUSED' }), correlate: ['body.orderId'] } }),
    };
    const { invocationId: id } = await startInvocation(rt.ingress, { service: 'orders', handler: 'awaitShipment', body: '"o-units"' });
    const startWake = invokes(await waker.drain(id, (c) => c.length >= 1));
    rt.backend.ledger.take();

    // Act: attempt 1 records the wait and suspends; the event is published; its record's wake relays it; attempt 2 finishes.
    const first = await runAttempt(rt.deps, startWake[0]!);
    const attempt1 = rt.backend.ledger.take();
    await waker.drain(id, (c) => c.some((x) => x.newItem?.status === 'suspended'));
    rt.backend.ledger.take();
    await publishEvent(deps, 'orders', JSON.stringify({ orderId: 'o-units', status: 'shipped' }), 'evt-units');
    const publish = rt.backend.ledger.take();
    const partition = eventPartition('orders', 'body.orderId', 'o-units');
    const actions: WakeAction[] = [];
    for (const change of await rt.backend.changes(partition, (c) => c.some((x) => x.sk.startsWith('E#'))))
      actions.push(...(await decideWake(change, rt.backend.store)));
    await executeWake(actions, {
      store: rt.backend.store,
      now: rt.clock.now(),
      invoke: async () => undefined,
      schedule: async () => undefined,
    });
    const relay = rt.backend.ledger.take();
    const onDelivery = invokes(await waker.drain(id, (c) => c.some((x) => x.sk === 'C#00000000')));
    const deliveryWake = rt.backend.ledger.take();
    const resumed = await runAttempt(rt.deps, onDelivery[0]!);
    const attempt2 = rt.backend.ledger.take();

    // Assess
    expect(first.kind).toBe('suspended');
    expect(resumed).toMatchObject({ kind: 'completed', output: '"shipped"' });
    expect(attempt1.map((e) => e.operation)).toEqual(['acquire', 'load', 'addEventWaiter', 'findEvents', 'append', 'suspend']);
    expect(publish.map((e) => e.operation)).toEqual(['putEvent']);
    expect(summarize('publish an event with one correlation key (ingress)', publish)).toEqual({ read: 0, write: 1 });
    expect(relay.map((e) => e.operation)).toEqual(['eventWaiters', 'complete']);
    summarize('attempt 1: ctx.waitForEvent (waiter, read of its key), then suspend', attempt1);
    summarize('wake on the event record: its waiters, one completion each', relay);
    summarize('wake on the completion record', deliveryWake);
    summarize('attempt 2: resume, replay, finish', attempt2);
  });

  it('the direct wake, in the order AWS runs it: no more units and no more handler or wake invocations per awakeable round trip', async () => {
    // Prepare: the ingress invokes directly; each handler runs before the stream delivers the record behind it
    const direct: { invocationId: string; epoch: number }[] = [];
    const ingress = {
      ...rt.ingress,
      dispatch: { invoke: async (_s: string, p: { invocationId: string; epoch: number }) => void direct.push(p) },
    };
    const waker = new Waker(rt.backend);
    const all: Entry[] = [];
    let handlerRuns = 0;
    let wakeRuns = 0;
    const take = () => all.push(...rt.backend.ledger.take());
    const runDirect = async () => {
      for (let p = direct.shift(); p; p = direct.shift()) {
        handlerRuns++;
        await runAttempt(rt.deps, p);
        take();
      }
    };
    /** The stream's records behind the handler: each one that passes the filter is a wake invocation. */
    const countedWakes = new Map<string, number>();
    const stream = async (id: string, done: (c: ItemChange[]) => boolean) => {
      take();
      const changes = await rt.backend.changes(invocationPk(id), done);
      const actions = await waker.drain(id, done);
      wakeRuns += changes.filter((c) => passesWakeFilter(c)).length - countedWakes.get(id)!;
      countedWakes.set(id, changes.filter((c) => passesWakeFilter(c)).length);
      take();
      return invokes(actions);
    };

    // Act
    const { invocationId: id } = await startInvocation(ingress, { service: 'approval', handler: 'request', body: '' });
    countedWakes.set(id, 0);
    take();
    await runDirect();
    const afterStart = await stream(id, (c) => c.some((x) => x.newItem?.status === 'suspended'));
    const awakeableId = (await rt.backend.store.getInvocation(id))!.awakeables!['C#00000000']!;
    rt.backend.ledger.take();
    await resolveAwakeable(ingress, awakeableId, '"approved"');
    take();
    await runDirect();
    const afterResolve = await stream(id, (c) => c.some((x) => x.newItem?.status === 'completed'));
    await getOutput(ingress, id);
    take();

    // Assess: today's floor is 8 write and 7 read units, 2 handler and 3 wake invocations
    const total = all.reduce((t, e) => ({ read: t.read + e.units.read, write: t.write + e.units.write }), { read: 0, write: 0 });
    expect(afterStart).toEqual([]);
    expect(afterResolve).toEqual([]);
    expect(handlerRuns).toBe(2);
    expect(wakeRuns).toBeLessThanOrEqual(3);
    expect(total.write).toBeLessThanOrEqual(8 + 1); // + the list index's row, once
    expect(total.read).toBeLessThanOrEqual(7);
    // As billed on demand (a read request costs at least one unit even when it finds nothing): still 7.
    expect(
      all.filter((e) => READS.includes(e.operation)).reduce((n, e) => n + Math.max(1, Math.ceil(e.units.read)), 0),
    ).toBeLessThanOrEqual(7);
    rows.push({
      phase: `awakeable round trip with the direct wake (start, attempt, resolve, attempt, output; ${handlerRuns} handler + ${wakeRuns} wake invocations)`,
      requests: '',
      ...total,
    });
  });

  it('a 100 KB input costs nothing to each poll of a waiting call: meta stays one read unit; an old meta with its input inline still runs (rule 13)', async () => {
    // Prepare: the same 100 KB input started now (its own item) and as the earlier release stored it (inline on meta)
    const input = JSON.stringify('i'.repeat(100 * 1024));
    const { invocationId: current } = await startInvocation(rt.ingress, { service: 'echo', handler: 'length', body: input });
    const create = summarize('start with a 100 KB input (meta + input item, one transaction)', rt.backend.ledger.take());
    const old = newInvocationMeta({
      id: newInvocationId(),
      service: 'echo',
      handler: 'length',
      kind: 'service',
      shared: false,
      input,
      now: Date.now(),
    });
    await table.client.send(
      new PutItemCommand({ TableName: table.tableName, Item: marshall(metaToItem(old), { removeUndefinedValues: true }) }),
    );
    rt.backend.ledger.take();

    // Act: one poll of each (what awaitOutput and a status read), then an attempt of each
    await getOutput(rt.ingress, current);
    const pollCurrent = rt.backend.ledger.take();
    await getOutput(rt.ingress, old.id);
    const pollOld = rt.backend.ledger.take();
    const ran = await runAttempt(rt.deps, { invocationId: current, epoch: 0 });
    const attemptCurrent = rt.backend.ledger.take();
    const ranOld = await runAttempt(rt.deps, { invocationId: old.id, epoch: 0 });
    const attemptOld = rt.backend.ledger.take();

    // Assess
    expect(summarize('one poll of a call with a 100 KB input', pollCurrent)).toEqual({ read: 1, write: 0 });
    expect(summarize('one poll, meta with its 100 KB input inline (earlier release)', pollOld).read).toBeGreaterThanOrEqual(25);
    expect(ran).toMatchObject({ kind: 'completed', output: JSON.stringify(String(100 * 1024)) });
    expect(ranOld).toMatchObject({ kind: 'completed', output: JSON.stringify(String(100 * 1024)) });
    const writes = (entries: typeof attemptCurrent) => entries.filter((e) => e.operation !== 'load').reduce((n, e) => n + e.units.write, 0);
    // acquire and finish each write meta: 1 unit apiece now, about 100 apiece with the input inline.
    expect(writes(attemptCurrent)).toBe(2);
    expect(writes(attemptOld)).toBeGreaterThanOrEqual(100);
    // + the list index's row, counted transactional (2) by DynamoDB Local.
    expect(create.write).toBeLessThanOrEqual(2 * 102 + 2);
    summarize('attempt, 100 KB input in its own item (acquire, load, finish)', attemptCurrent);
    summarize('attempt, 100 KB input inline on meta (earlier release)', attemptOld);
  });
});
