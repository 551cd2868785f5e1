/**
 * Time to resume an invocation whose journal holds n entries.
 *
 * The journal is built by running `steps.thenAwait(n)`: n `ctx.run` steps,
 * then an awakeable it awaits, so the attempt suspends with n + 1 entries.
 * The awakeable is resolved, and the attempt that resumes it is timed:
 * acquire, load (one Query, paged), replay of the n recorded steps, finish.
 * Building and resolving are not timed. On DynamoDB the journal is built in
 * memory and copied in (see `buildAndCopy`).
 *
 * Before each timed attempt a minor GC empties V8's young generation, so the
 * attempt never pays for collecting the build's garbage, and GC pauses inside
 * the timed attempt are recorded: they are the attempt's own (collecting its
 * live journal), and show where a ratio above 10 comes from.
 */
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BatchWriteItemCommand, type BatchWriteItemCommandOutput, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import {
  IdSigner,
  MemoryStore,
  catalogOf,
  registry,
  resolveAwakeable,
  runAttempt,
  startInvocation,
  systemClock,
  type AttemptDeps,
  type IngressDeps,
  type Store,
} from '../src/internal.ts';
import { DEFAULT_JOURNAL_TTL_SECONDS } from '../src/store/dynamodb.ts';
import { invocationPk, META } from '../src/store/keys.ts';
import { CapacityLedger } from './dynamodb.ts';
import { median, since } from './report.ts';
import { BENCH_SERVICES } from './workflows.ts';

const SIGNER = new IdSigner('bench-signing-key-0123456789abcdef');

/** V8's `gc()`; `{ type: 'minor' }` runs only a scavenge of the young generation. */
type Collect = (options?: { type?: 'minor' | 'major' }) => void;

/**
 * V8's `gc()`: the global one under `node --expose-gc`, otherwise read from a
 * fresh context with the flag switched on for that moment (as jest's leak
 * detector does), so `npm run bench` needs no node option. Undefined where
 * neither works; the replay is then timed without it, and says so.
 *
 * @example
 * ```ts
 * collectGarbage?.({ type: 'minor' }); // an empty young generation
 * ```
 */
export const collectGarbage: Collect | undefined = (() => {
  const global = (globalThis as { gc?: Collect }).gc;
  if (typeof global === 'function') return global;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as Collect) : undefined;
  } catch {
    return undefined;
  } finally {
    // Only the function is wanted: contexts made later get no `gc` global.
    setFlagsFromString('--no-expose-gc');
  }
})();

/**
 * V8's GC pauses, as `perf_hooks` reports them (late: a turn or two of the
 * event loop after the pause), kept with their start times so that they can
 * be attributed to timed windows afterwards.
 */
class GcPauses {
  readonly #entries: PerformanceEntry[] = [];
  readonly #observer = new PerformanceObserver((list) => void this.#entries.push(...list.getEntries()));

  constructor() {
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  /** Stops observing once every pause so far has been delivered. */
  async settle(): Promise<void> {
    await nextTurn();
    await nextTurn();
    await nextTurn();
    this.#observer.disconnect();
  }

  /** Pauses that began inside [t0, t1) (`performance.now()` readings): count and total milliseconds. */
  within(t0: number, t1: number): { pauses: number; ms: number } {
    const inside = this.#entries.filter((e) => e.startTime >= t0 && e.startTime < t1);
    return { pauses: inside.length, ms: inside.reduce((sum, e) => sum + e.duration, 0) };
  }
}

/**
 * One timed resuming attempt.
 *
 * @example
 * ```ts
 * { cpuMs: 21.4, wallMs: 21.1, loadMs: 4.2, buildMs: 70, gcMs: 3.1, gcPauses: 1 }
 * ```
 */
export interface ReplaySample {
  cpuMs: number;
  wallMs: number;
  loadMs: number;
  buildMs: number;
  /** GC pauses of the main thread that began during the attempt: their total and their number. */
  gcMs: number;
  gcPauses: number;
}

/**
 * One journal size's timings, milliseconds (medians over the repetitions).
 *
 * @example
 * ```ts
 * { entries: 1001, resumeMs: 12.3, loadMs: 4.1, buildMs: 250 }
 * ```
 */
export interface ReplayTiming {
  steps: number;
  /** Journal entries the resumed attempt loads (steps + the awakeable). */
  entries: number;
  /** The resuming attempt, start to finish (wall). */
  resumeMs: number;
  /** The same, CPU time of this process (user + system): on a busy machine, what the engine itself spent. */
  resumeCpuMs: number;
  /** Of which: the store's `load` (the Query and its pages). */
  loadMs: number;
  /** Building the journal (the first attempt), for scale. */
  buildMs: number;
  /** Of the resume: GC pauses (median total ms, median count). */
  gcMs: number;
  gcPauses: number;
  reps: number;
  /** Every measured repetition, in order (for interleaved rounds: round by round). */
  samples: ReplaySample[];
  /** On DynamoDB: the Query pages of the load, and the read units they consumed. */
  loadRequests?: number | undefined;
  loadReadUnits?: number | undefined;
}

/**
 * Builds a journal of `steps` entries, resolves its awakeable and times the
 * resuming attempt, `reps` times; returns the medians.
 *
 * @example
 * ```ts
 * const t = await measureReplay(() => new MemoryStore(), 1000, 5);
 * ```
 */
export async function measureReplay(
  storeOf: Store | (() => Store),
  steps: number,
  reps: number,
  dynamo?: { copyInto: CopyTarget; ledger: CapacityLedger },
  warmup = 1,
): Promise<ReplayTiming> {
  const services = registry(BENCH_SERVICES);
  let loadMs = 0;
  /** The store, with its `load` timed. */
  const timedLoad = (store: Store): Store =>
    new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (property !== 'load' || typeof value !== 'function')
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        return async (...args: unknown[]) => {
          const t0 = performance.now();
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } finally {
            loadMs += since(t0);
          }
        };
      },
    });

  let loadRequests: number | undefined;
  let loadReadUnits: number | undefined;
  const gcPauses = new GcPauses();
  const measured: (ReplaySample & { t0: number; t1: number })[] = [];
  for (let rep = -warmup; rep < reps; rep++) {
    // A fresh in-memory store each time: one that kept every earlier journal
    // would grow the heap, and the garbage collector's share with it.
    const store = typeof storeOf === 'function' ? storeOf() : storeOf;
    const deps: AttemptDeps = { store: timedLoad(store), signer: SIGNER, clock: systemClock, services };
    const ingress: IngressDeps = { store, signer: SIGNER, clock: systemClock, catalog: catalogOf(services) };
    const b0 = performance.now();
    const invocationId = dynamo ? await buildAndCopy(dynamo.copyInto, steps) : await buildJournal(deps, ingress, steps);
    const buildMs = since(b0);
    const meta = await store.getInvocation(invocationId);
    const awakeableId = Object.values(meta?.awakeables ?? {})[0];
    if (!meta || !awakeableId) throw new Error(`replay: invocation ${invocationId} is not suspended on an awakeable`);
    await resolveAwakeable(ingress, awakeableId, '"resumed"');

    loadMs = 0;
    dynamo?.ledger.take();
    // The build's garbage is still in the young generation; whichever attempt
    // ran next would pay to scavenge it, by chance of where it falls.
    collectGarbage?.({ type: 'minor' });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const outcome = await runAttempt(deps, { invocationId, epoch: meta.epoch });
    const t1 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    if (outcome.kind !== 'completed') throw new Error(`replay: the resuming attempt ended ${outcome.kind}, expected completed`);
    if (rep < 0) continue;
    measured.push({ cpuMs: (cpu.user + cpu.system) / 1000, wallMs: t1 - t0, loadMs, buildMs, gcMs: 0, gcPauses: 0, t0, t1 });
    if (dynamo) {
      const loads = dynamo.ledger.take().filter((c) => c.operation === 'load');
      loadRequests = loads.length;
      loadReadUnits = CapacityLedger.total(loads).read;
    }
  }
  await gcPauses.settle();
  const samples = measured.map(({ t0, t1, ...sample }): ReplaySample => {
    const gc = gcPauses.within(t0, t1);
    return { ...sample, gcMs: gc.ms, gcPauses: gc.pauses };
  });
  return { ...summarize(steps, samples), loadRequests, loadReadUnits };
}

/** Medians of each figure over the samples of one size. */
function summarize(steps: number, samples: ReplaySample[]): ReplayTiming {
  const of = (f: (s: ReplaySample) => number) => median(samples.map(f));
  return {
    steps,
    entries: steps + 1,
    resumeMs: of((s) => s.wallMs),
    resumeCpuMs: of((s) => s.cpuMs),
    loadMs: of((s) => s.loadMs),
    buildMs: of((s) => s.buildMs),
    gcMs: of((s) => s.gcMs),
    gcPauses: of((s) => s.gcPauses),
    reps: samples.length,
    samples,
  };
}

/** Runs `steps.thenAwait(steps)` until it suspends; returns its id. */
async function buildJournal(deps: AttemptDeps, ingress: IngressDeps, steps: number): Promise<string> {
  const { invocationId } = await startInvocation(ingress, { service: 'steps', handler: 'thenAwait', body: String(steps) });
  const first = await runAttempt(deps, { invocationId, epoch: 0 });
  if (first.kind !== 'suspended') throw new Error(`replay: building the journal ended ${first.kind}, expected suspended`);
  return invocationId;
}

/**
 * A DynamoDB table to copy a journal built in memory into.
 *
 * @example
 * ```ts
 * { client, tableName: 'replay-1a2b3c4d' }
 * ```
 */
export interface CopyTarget {
  client: DynamoDBClient;
  tableName: string;
}

const BATCH_WRITE_LIMIT = 25;
const COPY_CONCURRENCY = 4;

/**
 * Builds the journal by running the handler on the in-memory store (which
 * writes the same items as the DynamoDB store), then copies the partition
 * item for item into DynamoDB with BatchWriteItem, adding the expiry the
 * DynamoDB store puts on journal entries and completions. The store's own
 * appends are one request each, in order; on DynamoDB Local that is minutes
 * for 10,000 entries, and what is timed is only the resuming attempt.
 */
async function buildAndCopy(target: CopyTarget, steps: number): Promise<string> {
  const memory = new MemoryStore();
  const services = registry(BENCH_SERVICES);
  const invocationId = await buildJournal(
    { store: memory, signer: SIGNER, clock: systemClock, services },
    { store: memory, signer: SIGNER, clock: systemClock, catalog: catalogOf(services) },
    steps,
  );
  const ttl = Math.floor(Date.now() / 1000) + DEFAULT_JOURNAL_TTL_SECONDS;
  const items = memory
    .items()
    .filter((item) => item.pk === invocationPk(invocationId))
    .map((item) => (item.sk === META ? item : { ...item, ttl }));
  const batches: WriteRequest[][] = [];
  for (let i = 0; i < items.length; i += BATCH_WRITE_LIMIT) {
    batches.push(
      items.slice(i, i + BATCH_WRITE_LIMIT).map((item) => ({ PutRequest: { Item: marshall(item, { removeUndefinedValues: true }) } })),
    );
  }
  await Promise.all(
    Array.from({ length: COPY_CONCURRENCY }, async () => {
      for (let batch = batches.shift(); batch; batch = batches.shift()) {
        let pending: WriteRequest[] | undefined = batch;
        for (let round = 0; pending && pending.length > 0; round++) {
          if (round > 10) throw new Error('replay: DynamoDB Local kept items of a batch write unprocessed');
          const out: BatchWriteItemCommandOutput = await target.client.send(
            new BatchWriteItemCommand({ RequestItems: { [target.tableName]: pending } }),
          );
          pending = out.UnprocessedItems?.[target.tableName];
        }
      }
    }),
  );
  return invocationId;
}

/**
 * The in-memory replay timings of several journal sizes, measured in
 * interleaved rounds (one of each size per round, each on a fresh store, the
 * order rotating from round to round, after `warmup` unmeasured rounds), so
 * that every size meets the same JIT state, heap and machine load; medians
 * per size. Measured one size after the other, the ratio of two sizes swings
 * by ±40 % from one process to the next.
 *
 * @example
 * ```ts
 * const [t100, t1000, t10000] = await measureReplayInterleaved([100, 1000, 10000], 15);
 * ```
 */
export async function measureReplayInterleaved(sizes: number[], reps: number, warmup = 2): Promise<ReplayTiming[]> {
  const samples = new Map<number, ReplaySample[]>(sizes.map((n) => [n, []]));
  for (let round = -warmup; round < reps; round++) {
    const start = ((round % sizes.length) + sizes.length) % sizes.length;
    for (const n of [...sizes.slice(start), ...sizes.slice(0, start)]) {
      const one = await measureReplay(() => new MemoryStore(), n, 1, undefined, 0);
      if (round >= 0) samples.get(n)!.push(...one.samples);
    }
  }
  return sizes.map((n) => summarize(n, samples.get(n)!));
}

/**
 * `big / small` of one figure, round by round, and the median of those
 * ratios: the two sizes of a round ran within a fraction of a second of each
 * other, under the same load from the rest of the machine, so a busy spell
 * moves both and cancels out of their ratio. `figure` picks what is divided.
 *
 * @example
 * ```ts
 * pairedRatio(t10000, t1000, (s) => s.cpuMs) // ≈ 10 when linear
 * ```
 */
export function pairedRatio(big: ReplayTiming, small: ReplayTiming, figure: (s: ReplaySample) => number): number {
  const rounds = Math.min(big.samples.length, small.samples.length);
  if (rounds === 0) return Number.NaN;
  return median(Array.from({ length: rounds }, (_, i) => figure(big.samples[i]!) / figure(small.samples[i]!)));
}
