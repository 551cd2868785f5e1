/**
 * Request units on DynamoDB Local, as the store reports them from each
 * answer's `ConsumedCapacity`: per `ctx.run` step, and per role for whole
 * round trips through an awakeable with the table's real stream.
 *
 * The round trip runs the production roles in this process, in the order
 * AWS would run them: the ingress core starts the invocation and wakes it
 * directly (the handler runs before the stream delivers); each stream
 * record (read through the DynamoDB Streams API) that passes the wake's event
 * filter goes through `decideWake` / `executeWake` as the wake Lambda would;
 * each invoke runs `runAttempt` as the handler Lambda would; the ingress core
 * resolves the awakeable and reads the output. Each role's calls are timed,
 * as the estimate of that Lambda invocation's billed duration.
 */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DynamoDbStore } from '../src/store/dynamodb.ts';
import { entryToItem } from '../src/store/items.ts';
import { META, invocationPk } from '../src/store/keys.ts';
import { itemBytes } from '../src/store/limits.ts';
import {
  IdSigner,
  catalogOf,
  decideWake,
  executeWake,
  getOutput,
  registry,
  resolveAwakeable,
  runAttempt,
  startInvocation,
  systemClock,
  type AttemptDeps,
  type AttemptOutcome,
  type IngressDeps,
  type WakeAction,
} from '../src/internal.ts';
import type { CapacityUnits } from '../src/store/dynamodb.ts';
import { listInvocations, parseListQuery } from '../src/runtime/list.ts';
import { CapacityLedger, type BenchDynamoDb, type BenchTable, type Charge, type ReadRecord } from './dynamodb.ts';
import { median, since } from './report.ts';
import { BENCH_SERVICES, RESULT_100_BYTES } from './workflows.ts';

const SIGNER = new IdSigner('bench-signing-key-0123456789abcdef');

/**
 * Units per `ctx.run` step with a 100-byte result.
 *
 * @example
 * ```ts
 * { writeUnitsPerStep: 1, readUnitsPerStep: 0, … }
 * ```
 */
export interface StepUnits {
  steps: number;
  writeUnitsPerStep: number;
  readUnitsPerStep: number;
  /** The same, as billed on demand (at least one unit per request). */
  billedWriteUnitsPerStep: number;
  billedReadUnitsPerStep: number;
  /** The whole run with n steps and with none (ingress start + one attempt), as reported and as billed. */
  withSteps: CapacityUnits;
  withoutSteps: CapacityUnits;
  billedWithSteps: CapacityUnits;
  billedWithoutSteps: CapacityUnits;
  /** A journal item of one such step, in bytes by DynamoDB's sizing, and the write units AWS charges for it. */
  entryBytes: number;
  entryUnitsByAwsRule: number;
}

/**
 * Runs `steps.run(n)` and `steps.run(0)` from start to finish and divides
 * the difference of their units by n.
 *
 * @example
 * ```ts
 * const u = await measureStepUnits(await db.table('units'), 100);
 * ```
 */
export async function measureStepUnits(table: BenchTable, steps: number): Promise<StepUnits> {
  const services = registry(BENCH_SERVICES);
  const deps: AttemptDeps = { store: table.store, signer: SIGNER, clock: systemClock, services };
  const ingress: IngressDeps = { store: table.store, signer: SIGNER, clock: systemClock, catalog: catalogOf(services) };
  const run = async (n: number): Promise<{ reported: CapacityUnits; billed: CapacityUnits }> => {
    table.ledger.take();
    const { invocationId } = await startInvocation(ingress, { service: 'steps', handler: 'run', body: String(n) });
    const outcome = await runAttempt(deps, { invocationId, epoch: 0 });
    if (outcome.kind !== 'completed') throw new Error(`units per step: the attempt ended ${outcome.kind}`);
    const charges = table.ledger.take();
    return { reported: CapacityLedger.total(charges), billed: CapacityLedger.total(charges.map((c) => ({ units: c.billed }))) };
  };
  await run(1); // warm-up
  const without = await run(0);
  const withN = await run(steps);
  const entryBytes = itemBytes({
    ...entryToItem('inv_AAAAAAAAAAAAAAAAAAAAAA', { index: 0, kind: 'run', name: 'step-0', value: JSON.stringify(RESULT_100_BYTES) }),
    ttl: 1_800_000_000,
  });
  return {
    steps,
    writeUnitsPerStep: (withN.reported.write - without.reported.write) / steps,
    readUnitsPerStep: (withN.reported.read - without.reported.read) / steps,
    billedWriteUnitsPerStep: (withN.billed.write - without.billed.write) / steps,
    billedReadUnitsPerStep: (withN.billed.read - without.billed.read) / steps,
    withSteps: withN.reported,
    withoutSteps: without.reported,
    billedWithSteps: withN.billed,
    billedWithoutSteps: without.billed,
    entryBytes,
    entryUnitsByAwsRule: Math.max(1, Math.ceil(entryBytes / 1024)),
  };
}

/**
 * What listing costs (`GET /restate/invocations`), per page and per listed
 * invocation, and what the list index adds to a start.
 *
 * @example
 * ```ts
 * { pageSize: 20, indexRead: 2, metaRead: 10, perRow: 0.6, startWrite: 2 }
 * ```
 */
export interface ListUnits {
  pageSize: number;
  /** The index Queries (one per bucket of the service). */
  indexRead: number;
  /** The BatchGetItem of the listed rows' meta (eventually consistent). */
  metaRead: number;
  perRow: number;
  /** A start's write units, the list index's row included. */
  startWrite: number;
}

/**
 * Starts `count` invocations (not run) and lists the newest `pageSize` of them.
 *
 * @example
 * ```ts
 * const list = await measureListUnits(table, 40, 20);
 * ```
 */
export async function measureListUnits(table: BenchTable, count: number, pageSize: number): Promise<ListUnits> {
  const ingress: IngressDeps = { store: table.store, signer: SIGNER, clock: systemClock, catalog: catalogOf(registry(BENCH_SERVICES)) };
  table.ledger.take();
  await startInvocation(ingress, { service: 'steps', handler: 'run', body: '0' });
  const startWrite = CapacityLedger.total(table.ledger.take()).write;
  for (let i = 1; i < count; i++) await startInvocation(ingress, { service: 'steps', handler: 'run', body: '0' });
  table.ledger.take();
  const page = await listInvocations(ingress, parseListQuery({ service: 'steps', limit: String(pageSize) }));
  const charges = table.ledger.take();
  const indexRead = CapacityLedger.total(charges.filter((c) => c.operation === 'listIndex')).read;
  const metaRead = CapacityLedger.total(charges.filter((c) => c.operation === 'getInvocations')).read;
  return { pageSize: page.invocations.length, indexRead, metaRead, perRow: (indexRead + metaRead) / page.invocations.length, startWrite };
}

/** The Lambda functions (and HTTP routes) of a round trip. */
export type Role = 'ingress: start' | 'wake' | 'handler attempt' | 'ingress: resolve' | 'ingress: output';

/** Every role, in the order a round trip meets them. */
export const ROLES: Role[] = ['ingress: start', 'wake', 'handler attempt', 'ingress: resolve', 'ingress: output'];

/**
 * What one role cost over one round trip.
 *
 * @example
 * ```ts
 * { invocations: 2, read: 2, write: 10, billedRead: 2, billedWrite: 10, requests: 'acquire×2, load×2, …', medianMs: 14.2 }
 * ```
 */
export interface RoleCost {
  invocations: number;
  /** Units as DynamoDB Local reported them. */
  read: number;
  write: number;
  /** Units as billed on demand (at least one per request). */
  billedRead: number;
  billedWrite: number;
  /** The store requests, by operation. */
  requests: string;
  /** Median wall time of one invocation of this role, milliseconds (the billed-duration estimate). */
  medianMs: number;
}

/**
 * A measured round trip: create → suspend → resolve → resume → complete.
 */
export interface RoundTrip {
  service: string;
  handler: string;
  roles: Record<Role, RoleCost>;
  writeUnits: number;
  readUnits: number;
  billedWriteUnits: number;
  billedReadUnits: number;
  handlerInvocations: number;
  /** Stream records of the invocation's partition, all of them. */
  streamRecords: number;
  /** Of which pass the wake's event filter (reach the wake Lambda). */
  wakeRecords: number;
  /** Wake Lambda invocations: one per record passing the filter (no batching, as at low traffic). */
  wakeInvocations: number;
  /** Timers scheduled (SQS messages); 0 for these workflows. */
  timersScheduled: number;
  /** API Gateway requests: start, resolve, one output read. */
  apiRequests: number;
  reps: number;
  /** Whether every repetition consumed the same units. */
  stable: boolean;
  /** What the finished invocation leaves in the table, bytes as DynamoDB bills storage (item size + 100 bytes each). */
  /** Bytes left in the table (item size + 100 each): `meta`, everything else, and of that the journal entries (`J#`, the 30-day TTL). */
  stored: { metaBytes: number; journalBytes: number; journalItems: number; entryBytes: number };
}

/**
 * Runs `reps` round trips (after one unmeasured warm-up) of a handler that
 * suspends once on one awakeable, and returns the per-role units (of the
 * last repetition) and median durations.
 *
 * @example
 * ```ts
 * const trip = await measureRoundTrip(db, 'approval', 'request', 5);
 * ```
 */
export async function measureRoundTrip(db: BenchDynamoDb, service: string, handler: string, reps: number): Promise<RoundTrip> {
  const table = await db.table(`trip-${service}`);
  try {
    const runs: Trip[] = [];
    for (let rep = 0; rep <= reps; rep++) {
      const trip = await oneRoundTrip(db, table, service, handler);
      if (rep > 0) runs.push(trip);
    }
    const last = runs[runs.length - 1]!;
    const signature = (t: Trip) => JSON.stringify(ROLES.map((r) => t.charges[r].map((c) => [c.operation, c.units.read, c.units.write])));
    const roles = Object.fromEntries(
      ROLES.map((role): [Role, RoleCost] => {
        const charges = last.charges[role];
        const reported = CapacityLedger.total(charges);
        const billed = CapacityLedger.total(charges.map((c) => ({ units: c.billed })));
        return [
          role,
          {
            invocations: last.invocations[role],
            read: reported.read,
            write: reported.write,
            billedRead: billed.read,
            billedWrite: billed.write,
            requests: describeRequests(charges),
            medianMs: median(runs.flatMap((t) => t.durations[role])),
          },
        ];
      }),
    ) as Record<Role, RoleCost>;
    const sum = (f: (c: RoleCost) => number) => ROLES.reduce((s, r) => s + f(roles[r]), 0);
    return {
      service,
      handler,
      roles,
      writeUnits: sum((c) => c.write),
      readUnits: sum((c) => c.read),
      billedWriteUnits: sum((c) => c.billedWrite),
      billedReadUnits: sum((c) => c.billedRead),
      handlerInvocations: last.invocations['handler attempt'],
      streamRecords: last.streamRecords,
      wakeRecords: last.wakeRecords,
      wakeInvocations: last.invocations.wake,
      timersScheduled: last.timersScheduled,
      apiRequests: last.invocations['ingress: start'] + last.invocations['ingress: resolve'] + last.invocations['ingress: output'],
      reps,
      stable: runs.every((t) => signature(t) === signature(last)),
      stored: last.stored,
    };
  } finally {
    await table.drop().catch(() => undefined);
  }
}

interface Trip {
  charges: Record<Role, Charge[]>;
  durations: Record<Role, number[]>;
  invocations: Record<Role, number>;
  streamRecords: number;
  wakeRecords: number;
  timersScheduled: number;
  stored: RoundTrip['stored'];
}

/** DynamoDB bills storage by item size plus 100 bytes of overhead per item. */
const STORAGE_OVERHEAD_BYTES = 100;

async function oneRoundTrip(db: BenchDynamoDb, table: BenchTable, service: string, handler: string): Promise<Trip> {
  const services = registry(BENCH_SERVICES);
  const store = table.store;
  // The benchmark's own look-ups (the awakeable id a real handler would have
  // sent out from its step) go through a store nobody charges.
  const uncharged = new DynamoDbStore({ client: db.uncounted, tableName: table.tableName });
  const deps: AttemptDeps = { store, signer: SIGNER, clock: systemClock, services };
  const invokes: Extract<WakeAction, { type: 'invoke' }>[] = [];
  // The direct wake: the ingress invokes what it makes runnable, through the wake's own Dispatch.invoke shape.
  const ingress: IngressDeps = {
    store,
    signer: SIGNER,
    clock: systemClock,
    catalog: catalogOf(services),
    dispatch: { invoke: async (svc, p) => void invokes.push({ type: 'invoke', service: svc, ...p }) },
  };
  const trip: Trip = {
    charges: Object.fromEntries(ROLES.map((r) => [r, []])) as unknown as Record<Role, Charge[]>,
    durations: Object.fromEntries(ROLES.map((r) => [r, []])) as unknown as Record<Role, number[]>,
    invocations: Object.fromEntries(ROLES.map((r) => [r, 0])) as Record<Role, number>,
    streamRecords: 0,
    wakeRecords: 0,
    timersScheduled: 0,
    stored: { metaBytes: 0, journalBytes: 0, journalItems: 0, entryBytes: 0 },
  };
  /** Runs one invocation of a role: times it and charges what it consumed to the role. */
  const as = async <T>(role: Role, work: () => Promise<T>): Promise<T> => {
    table.ledger.take();
    const t0 = performance.now();
    const result = await work();
    trip.durations[role].push(since(t0));
    trip.invocations[role]++;
    trip.charges[role].push(...table.ledger.take());
    return result;
  };

  const { invocationId } = await as('ingress: start', () => startInvocation(ingress, { service, handler, body: '' }));
  const pk = invocationPk(invocationId);
  let delivered = 0;
  /** Runs the handler attempts invoked so far (directly by the ingress, or by the wake). */
  const runInvoked = async (): Promise<AttemptOutcome[]> => {
    const outcomes: AttemptOutcome[] = [];
    for (let invoke = invokes.shift(); invoke; invoke = invokes.shift()) {
      const request = { invocationId: invoke.invocationId, epoch: invoke.epoch };
      outcomes.push(await as('handler attempt', () => runAttempt(deps, request)));
    }
    return outcomes;
  };
  /**
   * Waits for the stream to show `done`, delivers every new record to the
   * wake, then runs what it invoked. As on AWS, a directly invoked attempt
   * runs before the stream delivers the record behind it (tens of
   * milliseconds against hundreds).
   */
  const deliver = async (done: (records: ReadRecord[]) => boolean): Promise<AttemptOutcome[]> => {
    const records = await table.stream.until(pk, done);
    for (const record of records.slice(delivered)) {
      delivered++;
      trip.streamRecords++;
      if (!record.toWake) continue;
      trip.wakeRecords++;
      await as('wake', async () =>
        executeWake(await decideWake(record.change, store), {
          store,
          now: Date.now(),
          invoke: async (action) => void invokes.push(action),
          schedule: async () => void trip.timersScheduled++,
        }),
      );
    }
    return runInvoked();
  };
  const metaBecame = (status: string) => (records: ReadRecord[]) =>
    records.some((r) => r.change.sk === META && r.change.newItem?.status === status);

  const first = await runInvoked();
  if (first.length !== 1 || first[0]!.kind !== 'suspended')
    throw new Error(`round trip: the first attempt ended ${first.map((o) => o.kind).join(', ') || 'never'}, expected suspended`);
  const afterSuspend = await deliver(metaBecame('suspended'));
  if (afterSuspend.length > 0) throw new Error('round trip: the stream invoked the handler again before the resolve');

  const meta = await uncharged.getInvocation(invocationId);
  const [key, awakeableId] = Object.entries(meta?.awakeables ?? {})[0] ?? [];
  if (!key || !awakeableId) throw new Error(`round trip: ${invocationId} is not suspended on an awakeable`);
  await as('ingress: resolve', () => resolveAwakeable(ingress, awakeableId, '"approved"'));

  const resumed = await runInvoked();
  if (resumed.length !== 1 || resumed[0]!.kind !== 'completed')
    throw new Error(`round trip: the resuming attempt ended ${resumed.map((o) => o.kind).join(', ') || 'never'}, expected completed`);
  const afterFinish = await deliver((records) => records.some((r) => r.change.sk === key) && metaBecame('completed')(records));
  if (afterFinish.length > 0) throw new Error('round trip: the stream invoked the handler again after its direct wake');

  const output = await as('ingress: output', () => getOutput(ingress, invocationId));
  if (!output.ready || !('output' in output) || output.output !== '"approved"')
    throw new Error(`round trip: unexpected output ${JSON.stringify(output)}`);

  const items = await db.uncounted.send(
    new QueryCommand({
      TableName: table.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: pk } },
      ConsistentRead: true,
    }),
  );
  for (const item of (items.Items ?? []).map((i) => unmarshall(i))) {
    const bytes = itemBytes(item) + STORAGE_OVERHEAD_BYTES;
    if (item.sk === META) trip.stored.metaBytes += bytes;
    else {
      trip.stored.journalBytes += bytes;
      trip.stored.journalItems++;
      if (String(item.sk).startsWith('J#')) trip.stored.entryBytes += bytes;
    }
  }
  return trip;
}

function describeRequests(charges: Charge[]): string {
  const counts = new Map<string, number>();
  for (const c of charges) counts.set(c.operation, (counts.get(c.operation) ?? 0) + 1);
  return [...counts].map(([op, n]) => (n > 1 ? `${op}×${n}` : op)).join(', ') || '—';
}
